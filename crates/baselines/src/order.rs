//! Outcome orders for the inverse-CDF coupling: the identity, any permutation, the order of sorted
//! rewards (comonotone); the authors' fixed "permuted" order is [`crate::authors::permutation`].

use crate::error::{BaselineError, Result};

/// A permutation of the outcomes `0..K`: `ranks()[r]` is the outcome placed r-th on the unit
/// interval by the inverse-CDF mechanism (the authors' `p[perm]`, official-gadgets.md section 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeOrder {
    ranks: Vec<usize>,
}

impl OutcomeOrder {
    /// Checks that `ranks` lists every outcome of `0..ranks.len()` exactly once.
    pub fn new(ranks: Vec<usize>) -> Result<Self> {
        let len = ranks.len();
        let mut seen = vec![false; len];
        for &o in &ranks {
            if o >= len || std::mem::replace(&mut seen[o], true) {
                return Err(BaselineError::NotAPermutation { order: ranks, len });
            }
        }
        if len == 0 {
            return Err(BaselineError::NotAPermutation { order: ranks, len });
        }
        Ok(Self { ranks })
    }

    /// Index order 0, 1, ..., K-1 (the plain CDF^-1 row of Table 1).
    pub fn identity(k: usize) -> Self {
        Self { ranks: (0..k).collect() }
    }

    /// Outcomes by increasing `h` (ties by index). With this order the inverse-CDF coupling is
    /// comonotone in h, which minimises E[(h(x) - h(y))^2] (Cambanis et al. 1976; paper Section 6).
    /// Errors on a non-finite entry.
    pub fn sorted_by(h: &[f64]) -> Result<Self> {
        if let Some((i, &value)) = h.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(gumbel_core::CoreError::InvalidEntry {
                what: "reward",
                position: (i, 0),
                value,
            }
            .into());
        }
        let mut ranks: Vec<usize> = (0..h.len()).collect();
        ranks.sort_by(|&a, &b| h[a].total_cmp(&h[b]));
        Self::new(ranks)
    }

    /// K.
    pub fn len(&self) -> usize {
        self.ranks.len()
    }

    /// Always false: an order has at least one outcome.
    pub fn is_empty(&self) -> bool {
        self.ranks.is_empty()
    }

    /// The outcome at each rank.
    pub fn ranks(&self) -> &[usize] {
        &self.ranks
    }

    /// The rank of each outcome (the inverse permutation).
    pub fn positions(&self) -> Vec<usize> {
        let mut positions = vec![0; self.len()];
        for (r, &o) in self.ranks.iter().enumerate() {
            positions[o] = r;
        }
        positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_validated_and_inverted() {
        let o = OutcomeOrder::new(vec![2, 0, 1]).unwrap();
        assert_eq!(o.positions(), vec![1, 2, 0]);
        assert!(matches!(
            OutcomeOrder::new(vec![0, 0, 1]),
            Err(BaselineError::NotAPermutation { .. })
        ));
        assert!(matches!(
            OutcomeOrder::new(vec![0, 3, 1]),
            Err(BaselineError::NotAPermutation { .. })
        ));
        assert!(OutcomeOrder::new(vec![]).is_err());
        assert_eq!(OutcomeOrder::sorted_by(&[0.3, -1.0, 0.3, 2.0]).unwrap().ranks(), &[1, 0, 2, 3]);
        assert!(OutcomeOrder::sorted_by(&[0.0, f64::NAN]).is_err());
    }
}
