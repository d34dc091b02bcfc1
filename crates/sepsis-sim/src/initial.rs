//! The initial state distribution (reference note section 5), exact.
//!
//! Diabetes ~ Bernoulli(p_d), vitals independent given diabetes, treatments off; a draw whose state is
//! absorbing (death or discharge) is redrawn entirely, diabetes included. The accepted distribution
//! is therefore the joint restricted to non-absorbing states and renormalised: with p_d = 0.2 the
//! acceptance is 0.71 (non-diabetic) and 0.665 (diabetic), and P(diabetic) = 0.133 / 0.701 = 0.18973.

use crate::error::{Result, SepsisError};
use crate::state::{full_index, State};

/// P(hr), also P(sbp).
const P_HR_SBP: [f64; 3] = [0.25, 0.5, 0.25];
/// P(o2).
const P_O2: [f64; 2] = [0.2, 0.8];
/// P(glucose | non-diabetic).
const P_GLU_NON_DIABETIC: [f64; 5] = [0.05, 0.15, 0.6, 0.15, 0.05];
/// P(glucose | diabetic).
const P_GLU_DIABETIC: [f64; 5] = [0.01, 0.05, 0.15, 0.6, 0.19];

/// The prior probability of diabetes used by the authors.
pub const P_DIABETES: f64 = 0.2;

/// The exact initial distribution: (probability, diabetic, state) over the 2 x 37 possible starts.
#[derive(Debug, Clone)]
pub struct InitialDistribution {
    entries: Vec<(f64, bool, State)>,
    cumulative: Vec<f64>,
}

impl InitialDistribution {
    /// The distribution for a prior P(diabetic) = `p_diabetes` in [0, 1].
    pub fn new(p_diabetes: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p_diabetes) {
            return Err(SepsisError::Parameter {
                what: "p_diabetes",
                value: p_diabetes,
                expected: "[0, 1]",
            });
        }
        let mut entries = Vec::new();
        for diabetic in [false, true] {
            let p_d = if diabetic { p_diabetes } else { 1.0 - p_diabetes };
            let p_glu = if diabetic { P_GLU_DIABETIC } else { P_GLU_NON_DIABETIC };
            for (hr, p_hr) in P_HR_SBP.iter().enumerate() {
                for (sbp, p_sbp) in P_HR_SBP.iter().enumerate() {
                    for (o2, p_o2) in P_O2.iter().enumerate() {
                        for (glu, p_g) in p_glu.iter().enumerate() {
                            let state = State {
                                hr: hr as u8,
                                sbp: sbp as u8,
                                o2: o2 as u8,
                                glu: glu as u8,
                                abx: false,
                                vaso: false,
                                vent: false,
                            };
                            let p = p_d * p_hr * p_sbp * p_o2 * p_g;
                            if !state.is_absorbing() && p > 0.0 {
                                entries.push((p, diabetic, state));
                            }
                        }
                    }
                }
            }
        }
        let total: f64 = entries.iter().map(|e| e.0).sum();
        entries.iter_mut().for_each(|e| e.0 /= total);
        let mut acc = 0.0;
        let cumulative = entries
            .iter()
            .map(|e| {
                acc += e.0;
                acc
            })
            .collect();
        Ok(Self { entries, cumulative })
    }

    /// The support with its probabilities.
    pub fn entries(&self) -> &[(f64, bool, State)] {
        &self.entries
    }

    /// P(diabetic) among accepted starts.
    pub fn p_diabetic(&self) -> f64 {
        self.entries.iter().filter(|e| e.1).map(|e| e.0).sum()
    }

    /// The distribution as a vector over the 1440 full states.
    pub fn full_vector(&self) -> Vec<f64> {
        let mut v = vec![0.0; crate::state::N_FULL];
        for &(p, d, s) in &self.entries {
            v[full_index(d, s.obs_index())] += p;
        }
        v
    }

    /// One draw by inversion of the cumulative distribution.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> (bool, State) {
        let u: f64 = rng.random::<f64>() * self.cumulative.last().copied().unwrap_or(1.0);
        let i = self.cumulative.partition_point(|&c| c <= u).min(self.entries.len() - 1);
        (self.entries[i].1, self.entries[i].2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_gives_the_effective_diabetes_rate() {
        let init = InitialDistribution::new(P_DIABETES).unwrap();
        assert!((init.p_diabetic() - 0.133 / 0.701).abs() < 1e-12);
        assert_eq!(init.entries().iter().filter(|e| e.1).count(), 37);
        assert_eq!(init.entries().iter().filter(|e| !e.1).count(), 37);
        assert!(InitialDistribution::new(1.5).is_err());
    }
}
