//! The (p, q) pairs of the gadgets paper's Section 7.3 (gadgets-part2.md section 2;
//! run_mdp_experiment.py and sepsis_mdp.py `search_for_relevant_tr_t`).
//!
//! 20,000 physician trajectories, the projected MDP estimated from them and its RL policy; for every
//! observed step (s, a_obs, s'_obs) in projected states, p = T(. | s, a_obs) and
//! q = T(. | s, a_RL(s)). A step is kept when p != q and both have at least `min_support` (5)
//! non-zero entries; pairs with the same (p, q) are kept once (first occurrence, with its s'_obs);
//! the survivors are shuffled and the first `pairs` (6) taken.

use std::collections::HashSet;

use gumbel_core::rng::from_seed;
use rand::Rng;
use serde::Serialize;

use crate::action::Action;
use crate::error::{Result, SepsisError};
use crate::initial::P_DIABETES;
use crate::ope::sub_seed;
use crate::policy::Policy;
use crate::projected::ProjectedMdp;
use crate::trajectories::{simulate, SimulationConfig};

/// Settings of the pair selection (defaults: the authors').
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairConfig {
    /// Physician trajectories (20,000).
    pub trajectories: usize,
    /// The horizon (20).
    pub horizon: usize,
    /// The fewest non-zero entries p and q must each have (5).
    pub min_support: usize,
    /// Pairs to return (6).
    pub pairs: usize,
    /// The prior P(diabetic) (0.2).
    pub p_diabetes: f64,
    /// The seed.
    pub seed: u64,
}

impl PairConfig {
    /// The authors' settings with a seed.
    pub fn paper(seed: u64) -> Self {
        Self {
            trajectories: 20_000,
            horizon: 20,
            min_support: 5,
            pairs: 6,
            p_diabetes: P_DIABETES,
            seed,
        }
    }
}

/// One selected pair with its context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SepsisPair {
    /// p = T(. | s, a_obs) over the 146 projected states.
    pub p: Vec<f64>,
    /// q = T(. | s, a_RL(s)).
    pub q: Vec<f64>,
    /// The observed next state s'_obs (projected, 0..146).
    pub observed_next: usize,
    /// The projected state s.
    pub state: usize,
    /// The physician's action.
    pub observed_action: usize,
    /// The RL policy's action.
    pub rl_action: usize,
    /// The trajectory the step came from.
    pub trajectory: usize,
    /// Its time step.
    pub step: usize,
}

/// The selection with its context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairSelection {
    /// The selected pairs.
    pub pairs: Vec<SepsisPair>,
    /// Distinct (p, q) pairs that passed the filters.
    pub candidates: usize,
    /// The RL policy over the 146 projected states.
    pub rl_policy: Vec<u8>,
}

/// Selects the Section 7.3 pairs from physician data under `physician`. Errors when fewer than
/// `config.pairs` candidates pass the filters.
pub fn select_pairs(physician: &Policy, config: &PairConfig) -> Result<PairSelection> {
    let sim = SimulationConfig {
        trajectories: config.trajectories,
        horizon: config.horizon,
        p_diabetes: config.p_diabetes,
        seed: sub_seed(config.seed, 0),
    };
    let observed = simulate(physician, &sim)?;
    let mdp = ProjectedMdp::estimate(&observed)?;
    let rl = mdp.rl_policy()?;
    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    for i in 0..observed.len() {
        let (states, actions) = observed.projected(i);
        for (t, &a_obs) in actions.iter().enumerate() {
            let s = states[t];
            let p = mdp.row(s, Action::new(a_obs)?);
            let a_rl = usize::from(rl[s]);
            let q = mdp.row(s, Action::new(a_rl)?);
            let support = |row: &[f64]| row.iter().filter(|&&v| v != 0.0).count();
            if p == q || support(p) < config.min_support || support(q) < config.min_support {
                continue;
            }
            let key: Vec<u64> = p.iter().chain(q).map(|v| v.to_bits()).collect();
            if seen.insert(key) {
                candidates.push(SepsisPair {
                    p: p.to_vec(),
                    q: q.to_vec(),
                    observed_next: states[t + 1],
                    state: s,
                    observed_action: a_obs,
                    rl_action: a_rl,
                    trajectory: i,
                    step: t,
                });
            }
        }
    }
    let n_candidates = candidates.len();
    if n_candidates < config.pairs {
        return Err(SepsisError::TooFewCandidates {
            requested: config.pairs,
            found: n_candidates,
            min_support: config.min_support,
        });
    }
    // Fisher-Yates shuffle, then the first `pairs`.
    let mut rng = from_seed(sub_seed(config.seed, 1));
    for k in (1..candidates.len()).rev() {
        candidates.swap(k, rng.random_range(0..=k));
    }
    candidates.truncate(config.pairs);
    Ok(PairSelection { pairs: candidates, candidates: n_candidates, rl_policy: rl })
}
