//! The random per-state rewards of the sepsis gadget study (gadgets-part2.md section 2, item 7) and
//! the treatment-effect variance averaged over them.
//!
//! A projected state has seven categorical variables (hr 3, sbp 3, o2 2, glucose 5, abx 2, vaso 2,
//! vent 2: 19 categories). Each trial draws one N(0, 1) energy per category; a state's reward is the
//! sum of its seven categories' energies; death is -4 and discharge +4. The projection drops glucose,
//! so a projected state has no glucose of its own: the authors' table gives every projected state the
//! glucose of the last obs state mapping onto it, 4 (very high), and so do we by default (`glucose`).

use anyhow::{ensure, Result};
use gumbel_core::Coupling;
use rand_distr::{Distribution, StandardNormal};
use sepsis_sim::state::{State, N_PROJ, N_PROJ_ABS, PROJ_DEATH, PROJ_DISCHARGE};

/// The number of categories, hence energies per reward draw.
pub const ENERGIES: usize = 19;
/// The reward of discharge; death has its negative.
pub const ABSORBING_REWARD: f64 = 4.0;

/// Which energies each projected state sums, and the fixed rewards of the absorbing states.
#[derive(Debug, Clone)]
pub struct RewardModel {
    /// The seven category indices of each non-absorbing state (none for death and discharge).
    categories: Vec<Option<[usize; 7]>>,
    /// The fixed part of each state's reward (+-4 for the absorbing states, else 0).
    constants: Vec<f64>,
}

impl RewardModel {
    /// The model over the 146 projected states, non-absorbing states read with glucose level `glucose`.
    pub fn new(glucose: u8) -> Result<Self> {
        let mut categories = Vec::with_capacity(N_PROJ_ABS);
        for s in 0..N_PROJ {
            let st = State::from_proj(s, glucose)?;
            categories.push(Some([
                usize::from(st.hr),
                3 + usize::from(st.sbp),
                6 + usize::from(st.o2),
                8 + usize::from(st.glu),
                13 + usize::from(st.abx),
                15 + usize::from(st.vaso),
                17 + usize::from(st.vent),
            ]));
        }
        categories.extend([None, None]);
        let mut constants = vec![0.0; N_PROJ_ABS];
        constants[PROJ_DEATH] = -ABSORBING_REWARD;
        constants[PROJ_DISCHARGE] = ABSORBING_REWARD;
        Ok(Self { categories, constants })
    }

    /// The reward vector r(s) for given energies.
    pub fn rewards(&self, energies: &[f64]) -> Result<Vec<f64>> {
        ensure!(energies.len() == ENERGIES, "expected {ENERGIES} energies, got {}", energies.len());
        Ok(self
            .categories
            .iter()
            .zip(&self.constants)
            .map(|(cats, c)| c + cats.map_or(0.0, |cats| cats.iter().map(|&i| energies[i]).sum()))
            .collect())
    }

    /// One draw of the energies, N(0, 1) each, and the reward vector they give.
    pub fn draw(&self, rng: &mut gumbel_core::rng::SeededRng) -> Result<Vec<f64>> {
        let energies: Vec<f64> = (0..ENERGIES).map(|_| StandardNormal.sample(rng)).collect();
        self.rewards(&energies)
    }

    /// E_r Var_J[r(x) - r(y)], the variance under `coupling` averaged over the reward distribution, in
    /// closed form: with r(x) - r(y) = a_xy . e + b_xy for energies e ~ N(0, I),
    /// E_e Var_J = sum_xy J_xy (|a_xy|^2 + b_xy^2) - |sum_xy J_xy a_xy|^2 - (sum_xy J_xy b_xy)^2.
    pub fn expected_variance(&self, coupling: &Coupling) -> Result<f64> {
        let joint = coupling.joint();
        ensure!(
            joint.nrows() == self.constants.len(),
            "the coupling has {} outcomes, the model {}",
            joint.nrows(),
            self.constants.len()
        );
        let (mut second, mut mean_a, mut mean_b) = (0.0, [0.0; ENERGIES], 0.0);
        for ((x, y), &w) in joint.indexed_iter().filter(|(_, &w)| w > 0.0) {
            let a = self.difference(x, y);
            let b = self.constants[x] - self.constants[y];
            second += w * (a.iter().map(|v| v * v).sum::<f64>() + b * b);
            mean_a.iter_mut().zip(a).for_each(|(m, v)| *m += w * v);
            mean_b += w * b;
        }
        Ok(second - mean_a.iter().map(|v| v * v).sum::<f64>() - mean_b * mean_b)
    }

    /// a_xy: the indicator vector of x's categories minus that of y's.
    fn difference(&self, x: usize, y: usize) -> [f64; ENERGIES] {
        let mut a = [0.0; ENERGIES];
        for (state, sign) in [(x, 1.0), (y, -1.0)] {
            if let Some(cats) = self.categories[state] {
                cats.iter().for_each(|&i| a[i] += sign);
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gumbel_core::rng::from_seed;
    use ndarray::Array2;
    use rand::Rng;

    #[test]
    fn rewards_sum_the_categories_of_each_state() {
        let model = RewardModel::new(4).unwrap();
        let energies: Vec<f64> = (0..ENERGIES).map(|i| 2f64.powi(i as i32)).collect();
        let r = model.rewards(&energies).unwrap();
        // Projected state 0: hr 0, sbp 0, o2 0, glucose 4, no treatment -> categories 0, 3, 6, 12, 13, 15, 17.
        assert_eq!(r[0], [0, 3, 6, 12, 13, 15, 17].iter().map(|&i| energies[i]).sum::<f64>());
        // Projected state 143: hr 2, sbp 2, o2 1, all treatments -> 2, 5, 7, 12, 14, 16, 18.
        assert_eq!(r[143], [2, 5, 7, 12, 14, 16, 18].iter().map(|&i| energies[i]).sum::<f64>());
        assert_eq!((r[PROJ_DEATH], r[PROJ_DISCHARGE]), (-4.0, 4.0));
        assert!(model.rewards(&energies[..3]).is_err());
    }

    #[test]
    fn expected_variance_matches_the_average_over_reward_draws() {
        // A random sparse joint over the 146 states, death and discharge included.
        let mut rng = from_seed(7);
        let mut joint = Array2::<f64>::zeros((N_PROJ_ABS, N_PROJ_ABS));
        for _ in 0..40 {
            let (x, y) = (rng.random_range(0..N_PROJ_ABS), rng.random_range(0..N_PROJ_ABS));
            joint[[x, y]] += rng.random::<f64>();
        }
        joint[[PROJ_DEATH, 5]] += 1.0;
        joint[[17, PROJ_DISCHARGE]] += 1.0;
        let total = joint.sum();
        let coupling = Coupling::new(joint / total).unwrap();
        let model = RewardModel::new(4).unwrap();
        let exact = model.expected_variance(&coupling).unwrap();
        let draws = 4000;
        let values: Vec<f64> = (0..draws)
            .map(|_| {
                let r = model.draw(&mut rng).unwrap();
                coupling.variance(&r, &r).unwrap()
            })
            .collect();
        let mean = values.iter().sum::<f64>() / draws as f64;
        let sd =
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (draws - 1) as f64).sqrt();
        let se = sd / (draws as f64).sqrt();
        assert!((mean - exact).abs() < 5.0 * se, "Monte Carlo {mean} +- {se}, exact {exact}");
    }
}
