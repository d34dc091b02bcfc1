//! The eight treatment actions (Oberst & Sontag 2019, Section 5; reference note section 2).
//!
//! a = 4 abx + 2 vent + vaso. Trap: the *state* stores the treatments as (abx, vaso, vent), the
//! *action* index orders its bits as (abx, vent, vaso).

use crate::error::{Result, SepsisError};

/// Number of actions.
pub const N_ACTIONS: usize = 8;

/// One of the eight combinations of antibiotics, ventilation and vasopressors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Action(u8);

impl Action {
    /// The action with index `index` (0..8).
    pub fn new(index: usize) -> Result<Self> {
        if index < N_ACTIONS {
            Ok(Self(index as u8))
        } else {
            Err(SepsisError::ActionOutOfRange(index))
        }
    }

    /// From the three treatment bits.
    pub fn from_bits(abx: bool, vent: bool, vaso: bool) -> Self {
        Self(4 * u8::from(abx) + 2 * u8::from(vent) + u8::from(vaso))
    }

    /// All eight actions in index order.
    pub fn all() -> impl Iterator<Item = Action> {
        (0..N_ACTIONS as u8).map(Action)
    }

    /// The index 4 abx + 2 vent + vaso.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Antibiotics on.
    pub fn abx(self) -> bool {
        self.0 & 4 != 0
    }

    /// Ventilation on.
    pub fn vent(self) -> bool {
        self.0 & 2 != 0
    }

    /// Vasopressors on.
    pub fn vaso(self) -> bool {
        self.0 & 1 != 0
    }

    /// Builds an action from an index already known to be below 8 (internal hot loops).
    pub(crate) fn from_index_unchecked(index: usize) -> Self {
        debug_assert!(index < N_ACTIONS);
        Self(index as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_abx_vent_vaso_order() {
        let a = Action::new(5).unwrap();
        assert!(a.abx() && !a.vent() && a.vaso());
        let b = Action::new(2).unwrap();
        assert!(!b.abx() && b.vent() && !b.vaso());
        for a in Action::all() {
            assert_eq!(Action::from_bits(a.abx(), a.vent(), a.vaso()), a);
        }
        assert_eq!(Action::new(8), Err(SepsisError::ActionOutOfRange(8)));
    }
}
