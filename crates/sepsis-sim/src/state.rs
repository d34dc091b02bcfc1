//! Patient states and their three index encodings (reference note section 1).
//!
//! Mixed-radix indices, most significant first:
//! - obs (720): 240 hr + 80 sbp + 40 o2 + 8 glu + 4 abx + 2 vaso + vent;
//! - full (1440): 720 diabetes + obs;
//! - projected (144, glucose dropped): 48 hr + 16 sbp + 8 o2 + 4 abx + 2 vaso + vent, extended by the
//!   absorbing death (144) and discharge (145) states of the estimated MDP.

use crate::action::Action;
use crate::error::{Result, SepsisError};

/// Number of observed states (diabetes hidden).
pub const N_OBS: usize = 720;
/// Number of full states (diabetes included).
pub const N_FULL: usize = 2 * N_OBS;
/// Number of projected states (glucose dropped), without the absorbing states.
pub const N_PROJ: usize = 144;
/// Number of projected states with absorbing death and discharge.
pub const N_PROJ_ABS: usize = N_PROJ + 2;
/// The absorbing death state of the projected MDP.
pub const PROJ_DEATH: usize = N_PROJ;
/// The absorbing discharge state of the projected MDP.
pub const PROJ_DISCHARGE: usize = N_PROJ + 1;

/// The outcome an entered state signals (reference note section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Three or more abnormal vitals: reward -1, the episode ends.
    Death,
    /// No abnormal vital and no treatment: reward +1, the episode ends.
    Discharge,
    /// Anything else: reward 0, the episode goes on.
    Continue,
}

impl Outcome {
    /// The reward for entering a state with this outcome.
    pub fn reward(self) -> f64 {
        match self {
            Outcome::Death => -1.0,
            Outcome::Discharge => 1.0,
            Outcome::Continue => 0.0,
        }
    }
}

/// The observed part of a patient's state: four vitals and three treatment flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct State {
    /// Heart rate: 0 low, 1 normal, 2 high.
    pub hr: u8,
    /// Systolic blood pressure: 0 low, 1 normal, 2 high.
    pub sbp: u8,
    /// Oxygen saturation: 0 low, 1 normal.
    pub o2: u8,
    /// Glucose: 0 very low, 1 low, 2 normal, 3 high, 4 very high.
    pub glu: u8,
    /// Antibiotics on.
    pub abx: bool,
    /// Vasopressors on.
    pub vaso: bool,
    /// Ventilation on.
    pub vent: bool,
}

impl State {
    /// The state with obs index `index` (0..720).
    pub fn from_obs(index: usize) -> Result<Self> {
        if index >= N_OBS {
            return Err(SepsisError::StateOutOfRange { space: "obs", index, len: N_OBS });
        }
        Ok(Self::from_obs_unchecked(index))
    }

    /// The state with projected index `index` (0..144) and the given glucose level (0..5), which the
    /// projected encoding drops. The authors' State.py decodes projected indices with glucose 2
    /// (normal); their Section 7.3 reward table (sepsis_mdp.py `states_vector`) ended up with glucose
    /// 4 for every projected state.
    pub fn from_proj(index: usize, glu: u8) -> Result<Self> {
        if index >= N_PROJ {
            return Err(SepsisError::StateOutOfRange { space: "projected", index, len: N_PROJ });
        }
        if glu > 4 {
            return Err(SepsisError::Parameter {
                what: "glucose level",
                value: f64::from(glu),
                expected: "0..=4",
            });
        }
        let low = index % 8;
        Ok(Self::from_obs_unchecked(
            240 * (index / 48)
                + 80 * (index / 16 % 3)
                + 40 * (index / 8 % 2)
                + 8 * usize::from(glu)
                + low,
        ))
    }

    /// Decodes an obs index known to be in range (internal hot loops).
    pub(crate) fn from_obs_unchecked(index: usize) -> Self {
        debug_assert!(index < N_OBS);
        Self {
            hr: (index / 240) as u8,
            sbp: (index / 80 % 3) as u8,
            o2: (index / 40 % 2) as u8,
            glu: (index / 8 % 5) as u8,
            abx: index / 4 % 2 == 1,
            vaso: index / 2 % 2 == 1,
            vent: index % 2 == 1,
        }
    }

    /// The obs index (0..720).
    pub fn obs_index(&self) -> usize {
        240 * usize::from(self.hr)
            + 80 * usize::from(self.sbp)
            + 40 * usize::from(self.o2)
            + 8 * usize::from(self.glu)
            + self.treatment_bits()
    }

    /// The projected index (0..144): glucose dropped.
    pub fn proj_index(&self) -> usize {
        48 * usize::from(self.hr)
            + 16 * usize::from(self.sbp)
            + 8 * usize::from(self.o2)
            + self.treatment_bits()
    }

    /// 4 abx + 2 vaso + vent, the low bits shared by the obs and projected encodings.
    fn treatment_bits(&self) -> usize {
        4 * usize::from(self.abx) + 2 * usize::from(self.vaso) + usize::from(self.vent)
    }

    /// The number of abnormal vitals among hr != 1, sbp != 1, o2 != 1, glu != 2.
    pub fn num_abnormal(&self) -> u8 {
        u8::from(self.hr != 1)
            + u8::from(self.sbp != 1)
            + u8::from(self.o2 != 1)
            + u8::from(self.glu != 2)
    }

    /// Whether any treatment is on.
    pub fn on_treatment(&self) -> bool {
        self.abx || self.vaso || self.vent
    }

    /// The outcome of entering this state (reference note section 4).
    pub fn outcome(&self) -> Outcome {
        match self.num_abnormal() {
            n if n >= 3 => Outcome::Death,
            0 if !self.on_treatment() => Outcome::Discharge,
            _ => Outcome::Continue,
        }
    }

    /// Whether entering this state ends an episode.
    pub fn is_absorbing(&self) -> bool {
        self.outcome() != Outcome::Continue
    }

    /// Whether the treatment flags equal the bits of `action` (true after any step).
    pub fn treatments_match(&self, action: Action) -> bool {
        self.abx == action.abx() && self.vent == action.vent() && self.vaso == action.vaso()
    }
}

/// The full index 720 diabetes + obs.
pub fn full_index(diabetic: bool, obs: usize) -> usize {
    N_OBS * usize::from(diabetic) + obs
}

/// The projected index of an obs index (0..720 -> 0..144).
pub fn proj_of_obs(obs: usize) -> Result<usize> {
    Ok(State::from_obs(obs)?.proj_index())
}

/// The outcome of entering obs state `obs`, tabulated once.
pub fn outcome_table() -> Vec<Outcome> {
    (0..N_OBS).map(|s| State::from_obs_unchecked(s).outcome()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obs_encoding_round_trips() {
        for i in 0..N_OBS {
            assert_eq!(State::from_obs(i).unwrap().obs_index(), i);
        }
        assert!(matches!(State::from_obs(N_OBS), Err(SepsisError::StateOutOfRange { .. })));
    }

    #[test]
    fn projection_drops_glucose_only() {
        let mut hits = vec![0; N_PROJ];
        for i in 0..N_OBS {
            hits[proj_of_obs(i).unwrap()] += 1;
            let s = State::from_obs(i).unwrap();
            assert_eq!(State::from_proj(s.proj_index(), s.glu).unwrap(), s);
        }
        assert!(hits.iter().all(|&h| h == 5));
        assert!(State::from_proj(N_PROJ, 2).is_err());
        assert!(State::from_proj(0, 5).is_err());
    }

    #[test]
    fn there_are_416_death_states_and_one_discharge_state() {
        let outcomes = outcome_table();
        assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Death).count(), 416);
        let discharge: Vec<usize> =
            (0..N_OBS).filter(|&i| outcomes[i] == Outcome::Discharge).collect();
        assert_eq!(discharge, vec![376]);
        assert_eq!(State::from_obs(376).unwrap().proj_index(), 72);
    }
}
