//! The reward vectors of Table 1 columns 3-4, bit for bit as the authors drew them with numpy's legacy
//! generator (gadgets-part2.md section 1): `np.random.seed(t)` (MT19937 `init_genrand`), then
//! monotone h = cumsum(rand(10)) and non-monotone h = sin(30 * normal(0, 1, 10)) from the same stream
//! (`rand`: 53-bit doubles; `normal`: the legacy polar Box-Muller with its cached second value).

use rand_mt::Mt;

/// numpy's legacy RandomState for one integer seed.
struct LegacyState {
    mt: Mt,
    cached: Option<f64>,
}

impl LegacyState {
    fn new(seed: u32) -> Self {
        Self { mt: Mt::new(seed), cached: None }
    }

    /// `random_sample()`: (a >> 5) * 2^26 + (b >> 6), over 2^53.
    fn double(&mut self) -> f64 {
        let a = f64::from(self.mt.next_u32() >> 5);
        let b = f64::from(self.mt.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `legacy_gauss()`: polar Box-Muller, returning the second value of each pair first-cached.
    fn gauss(&mut self) -> f64 {
        if let Some(value) = self.cached.take() {
            return value;
        }
        loop {
            let x1 = 2.0 * self.double() - 1.0;
            let x2 = 2.0 * self.double() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached = Some(f * x1);
                return f * x2;
            }
        }
    }
}

/// (monotone, non-monotone) rewards of trial `trial`.
pub fn rewards(trial: u32) -> (Vec<f64>, Vec<f64>) {
    let mut state = LegacyState::new(trial);
    let monotone = (0..10)
        .scan(0.0, |sum, _| {
            *sum += state.double();
            Some(*sum)
        })
        .collect();
    let non_monotone = (0..10).map(|_| (30.0 * state.gauss()).sin()).collect();
    (monotone, non_monotone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_zero_matches_the_authors_monotone_reward() {
        let expected = [0.5488, 1.264, 1.8668, 2.4116, 2.8353, 3.4812, 3.9188, 4.8106, 5.7742, 6.1577];
        let (monotone, non_monotone) = rewards(0);
        for (a, b) in monotone.iter().zip(expected) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        assert!(non_monotone.iter().all(|h| h.abs() <= 1.0));
    }
}
