//! Seeded trajectories of the simulator under any policy (DataGenerator.py `simulate`), in parallel.
//!
//! A trajectory starts from the initial distribution, takes at most `horizon` steps and stops at the
//! first non-zero reward. Trajectories are generated in blocks of [`BLOCK`]; block b draws from
//! `rng::stream(seed, b)`, so the batch depends on the seed only, not on the thread count.
//! Per trajectory the draws come in the authors' order: initial state, then per step the action and
//! the transition's uniforms.

use gumbel_core::rng::stream;
use rayon::prelude::*;

use crate::dynamics::{step, UniformDraw};
use crate::error::{Result, SepsisError};
use crate::initial::{InitialDistribution, P_DIABETES};
use crate::policy::Policy;
use crate::state::{Outcome, State};

/// Trajectories per random stream.
pub const BLOCK: usize = 1024;

/// The padding of states past the end of a trajectory.
pub const NO_STATE: u16 = u16::MAX;
/// The padding of actions past the end of a trajectory.
pub const NO_ACTION: u8 = u8::MAX;

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulationConfig {
    /// Number of trajectories.
    pub trajectories: usize,
    /// The most steps per trajectory (the authors: 20).
    pub horizon: usize,
    /// The prior P(diabetic) before the rejection of absorbing starts (the authors: 0.2).
    pub p_diabetes: f64,
    /// The seed.
    pub seed: u64,
}

impl SimulationConfig {
    /// `trajectories` trajectories of the paper's horizon 20 with P(diabetic) = 0.2.
    pub fn new(trajectories: usize, seed: u64) -> Self {
        Self { trajectories, horizon: 20, p_diabetes: P_DIABETES, seed }
    }
}

/// A batch of trajectories in flat arrays (obs state indices; diabetes recorded but hidden).
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectories {
    horizon: usize,
    diabetic: Vec<bool>,
    /// horizon + 1 states per trajectory, padded with [`NO_STATE`].
    states: Vec<u16>,
    /// horizon actions per trajectory, padded with [`NO_ACTION`].
    actions: Vec<u8>,
    lengths: Vec<u16>,
    rewards: Vec<i8>,
}

impl Trajectories {
    /// The number of trajectories.
    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// The horizon.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Whether patient i is diabetic.
    pub fn diabetic(&self, i: usize) -> bool {
        self.diabetic[i]
    }

    /// The number of steps of trajectory i.
    pub fn length(&self, i: usize) -> usize {
        usize::from(self.lengths[i])
    }

    /// The visited obs states of trajectory i (length + 1 of them).
    pub fn states(&self, i: usize) -> &[u16] {
        let start = i * (self.horizon + 1);
        &self.states[start..start + self.length(i) + 1]
    }

    /// The actions of trajectory i (length of them).
    pub fn actions(&self, i: usize) -> &[u8] {
        let start = i * self.horizon;
        &self.actions[start..start + self.length(i)]
    }

    /// The return of trajectory i (undiscounted, as in the paper): -1 death, +1 discharge, 0 none.
    pub fn reward(&self, i: usize) -> f64 {
        f64::from(self.rewards[i])
    }

    /// Trajectory i in projected states: its states (length + 1) and actions (length).
    pub fn projected(&self, i: usize) -> (Vec<usize>, Vec<usize>) {
        let states = self
            .states(i)
            .iter()
            .map(|&s| State::from_obs_unchecked(usize::from(s)).proj_index())
            .collect();
        (states, self.actions(i).iter().map(|&a| usize::from(a)).collect())
    }

    /// Every return.
    pub fn returns(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.reward(i)).collect()
    }
}

/// Simulates `config.trajectories` trajectories under `policy`.
pub fn simulate(policy: &Policy, config: &SimulationConfig) -> Result<Trajectories> {
    if config.horizon == 0 || config.horizon >= usize::from(u16::MAX) {
        return Err(SepsisError::Parameter {
            what: "horizon",
            value: config.horizon as f64,
            expected: "1..65535",
        });
    }
    let initial = InitialDistribution::new(config.p_diabetes)?;
    let (n, h) = (config.trajectories, config.horizon);
    let mut out = Trajectories {
        horizon: h,
        diabetic: vec![false; n],
        states: vec![NO_STATE; n * (h + 1)],
        actions: vec![NO_ACTION; n * h],
        lengths: vec![0; n],
        rewards: vec![0; n],
    };
    out.states
        .par_chunks_mut(BLOCK * (h + 1))
        .zip(out.actions.par_chunks_mut(BLOCK * h))
        .zip(out.diabetic.par_chunks_mut(BLOCK))
        .zip(out.lengths.par_chunks_mut(BLOCK))
        .zip(out.rewards.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each(|(block, ((((states, actions), diabetic), lengths), rewards))| {
            let mut rng = stream(config.seed, block as u64);
            for (i, length) in lengths.iter_mut().enumerate() {
                let (d, mut s) = initial.sample(&mut rng);
                diabetic[i] = d;
                let states = &mut states[i * (h + 1)..(i + 1) * (h + 1)];
                let actions = &mut actions[i * h..(i + 1) * h];
                states[0] = s.obs_index() as u16;
                *length = h as u16;
                for t in 0..h {
                    let a = policy.sample(d, &s, &mut rng);
                    s = step(d, s, a, &mut UniformDraw(&mut rng));
                    actions[t] = a.index() as u8;
                    states[t + 1] = s.obs_index() as u16;
                    let outcome = s.outcome();
                    if outcome != Outcome::Continue {
                        rewards[i] = outcome.reward() as i8;
                        *length = (t + 1) as u16;
                        break;
                    }
                }
            }
        });
    Ok(out)
}
