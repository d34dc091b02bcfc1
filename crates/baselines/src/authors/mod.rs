//! The gadgets authors' own random streams, reproduced so that Table 1 is computed on their pairs and
//! rewards: numpy's legacy MT19937 stream ([`numpy_legacy`]), the rewards and fixed pair of Table 1
//! columns 3-4 ([`rewards`]), and the fixed "permuted" outcome order of their permuted CDF^-1 row
//! ([`permutation`]). Not general-purpose: everything here exists to match the authors' code.

pub mod numpy_legacy;
pub mod rewards;

use gumbel_core::jax_random::JaxKey;

use crate::error::Result;
use crate::order::OutcomeOrder;

/// The authors' "permuted" order: the stable `argsort(jax.random.uniform(PRNGKey(seed), [k]))`,
/// bit for bit through [`gumbel_core::jax_random`]. The paper's permuted CDF^-1 rows use seed 1,
/// which for K = 10 is (2, 5, 1, 8, 4, 3, 9, 0, 6, 7) (`gumbel_core::authors::permuted_icdf_permutation`).
pub fn permutation(k: usize, seed: u64) -> Result<OutcomeOrder> {
    let u = JaxKey::from_seed(seed).uniform(k)?;
    let mut ranks: Vec<usize> = (0..k).collect();
    ranks.sort_by(|&a, &b| u[a].total_cmp(&u[b]));
    OutcomeOrder::new(ranks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permutation_is_jaxs() {
        // Printed by jax 0.4.30: argsort(jax.random.uniform(PRNGKey(seed), [k])).
        assert_eq!(permutation(10, 1).unwrap().ranks(), &[2, 5, 1, 8, 4, 3, 9, 0, 6, 7]);
        assert_eq!(permutation(10, 0).unwrap().ranks(), &[3, 6, 7, 4, 0, 2, 5, 1, 9, 8]);
        assert_eq!(permutation(5, 3).unwrap().ranks(), &[0, 1, 4, 3, 2]);
        assert_eq!(permutation(12, 42).unwrap().ranks(), &[4, 1, 8, 5, 11, 10, 2, 9, 7, 0, 6, 3]);
        assert_eq!(
            permutation(10, 1).unwrap().ranks(),
            gumbel_core::authors::permuted_icdf_permutation(10).unwrap()
        );
    }
}
