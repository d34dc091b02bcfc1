//! numpy's legacy `RandomState` stream (MT19937), reproduced so that the rewards of Table 1
//! columns 3-4 are the authors' own (gadgets-part2.md section 1: `np.random.RandomState(t)`).
//!
//! - Seeding an integer t: MT19937's `init_genrand(t)` (numpy's `_legacy_seeding` for an int).
//! - `random_sample`: a 53-bit double from two 32-bit outputs, ((a >> 5) 2^26 + (b >> 6)) / 2^53.
//! - `standard_normal` (`legacy_gauss`): the Marsaglia polar method on 2 u - 1 pairs, rejecting
//!   r^2 >= 1 or r^2 = 0; it returns f x2 and caches f x1 (f = sqrt(-2 ln r^2 / r^2)) for the next call.

use rand_mt::Mt;

/// numpy's `np.random.RandomState(seed)`: the generator and the cached second normal.
#[derive(Debug, Clone)]
pub struct RandomState {
    mt: Mt,
    cached_normal: Option<f64>,
}

impl RandomState {
    /// `np.random.RandomState(seed)`.
    pub fn new(seed: u32) -> Self {
        Self { mt: Mt::new(seed), cached_normal: None }
    }

    /// `random_sample()`: uniform on [0, 1) with 53 random bits.
    pub fn random_sample(&mut self) -> f64 {
        let a = f64::from(self.mt.next_u32() >> 5);
        let b = f64::from(self.mt.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `rand(n)`.
    pub fn rand(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.random_sample()).collect()
    }

    /// `standard_normal()`, the legacy polar method with its cache.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(z) = self.cached_normal.take() {
            return z;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached_normal = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale, n)`.
    pub fn normal(&mut self, loc: f64, scale: f64, n: usize) -> Vec<f64> {
        (0..n).map(|_| loc + scale * self.standard_normal()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_legacy_values() {
        // Printed by numpy 2.4: RandomState(0).rand(10)[:3], then .normal(0, 1, 10) from the same stream.
        let mut rs = RandomState::new(0);
        let u = rs.rand(10);
        assert_eq!(u[..3], [0.5488135039273248, 0.7151893663724195, 0.6027633760716439]);
        assert_eq!(u[9], 0.3834415188257777);
        let z = rs.normal(0.0, 1.0, 10);
        let expected_z = [0.144043571160878, 1.454273506962975, 0.7610377251469934];
        for (a, b) in z.iter().zip(expected_z) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
        assert!((z[9] - -0.8540957393017248).abs() < 1e-15);
        let mut rs1 = RandomState::new(1);
        assert_eq!(rs1.random_sample(), 0.417022004702574);
        let z1 = {
            rs1.rand(9);
            rs1.normal(0.0, 1.0, 10)
        };
        assert!((z1[0] - 1.74481176421648).abs() < 1e-15);
        assert!((z1[9] - -1.0998912673140309).abs() < 1e-15);
    }
}
