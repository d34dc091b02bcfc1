//! The gadgets authors' own random draws, reproduced bit for bit through [`crate::jax_random`], so that
//! Table 1 is computed on their pairs and compares number for number with their printed values. Not
//! general-purpose: everything here exists to match the authors' code (JAX 0.2.21).
//!
//! The paper's Table 1 (columns 1-2, Section 7.2) averages each coupling's E[(x - y)^2] over 10,000
//! pairs per evaluation seed 1001..1005, drawn by the authors' `evaluate_joint`. Those 10,000 pairs
//! are one particular sample: the per-seed numbers the authors printed (for instance 16.5083 for the
//! independent coupling, seed 1001) are reproduced to 1e-4 only on *their* pairs, which
//! [`evaluation_pairs`] regenerates.

use ndarray::Array2;

use crate::error::{CoreError, Result};
use crate::jax_random::JaxKey;
use crate::logspace::argmax;
use crate::pairs::{log_softmax, LogitPair, PairMode, SoftmaxUniform};
use crate::Coupling;

/// The seed of the permutation in the authors' `permuted_inverse_cdf_coupling`.
const PERMUTATION_SEED: u64 = 1;
/// The seed of the authors' "fixed" pair (`fixed_p_q_seed`).
const FIXED_PAIR_SEED: u64 = 123_456;

/// The permutation of the authors' permuted inverse-CDF coupling (`permuted_inverse_cdf_coupling`,
/// `permutation_seed=1`): `argsort(uniform(PRNGKey(1), K))`, a stable sort. For K = 10 it is
/// [2, 5, 1, 8, 4, 3, 9, 0, 6, 7]; the coupling lays out the outcomes perm[0], perm[1], ... along the
/// unit interval, the same order for p and q.
pub fn permuted_icdf_permutation(outcomes: usize) -> Result<Vec<usize>> {
    let u = JaxKey::from_seed(PERMUTATION_SEED).uniform(outcomes)?;
    let mut order: Vec<usize> = (0..outcomes).collect();
    order.sort_by(|&a, &b| u[a].total_cmp(&u[b]));
    Ok(order)
}

/// One logit vector of the authors' `softmax_uniform_logits`: log_softmax(scale U[0,1]^K) with JAX's
/// float32 uniforms. The product and the log-softmax are taken in f64 (for scale 8 the product is the
/// authors' float32 value exactly; their float32 log-softmax differs from this one by under 1e-6).
fn softmax_uniform_logits(key: JaxKey, dist: &SoftmaxUniform) -> Result<Vec<f64>> {
    let raw: Vec<f64> =
        key.uniform(dist.outcomes)?.into_iter().map(|u| dist.scale * f64::from(u)).collect();
    Ok(log_softmax(&raw))
}

/// The authors' `softmax_uniform_logit_pair_distribution_fn` for one key: "independent" draws p and q
/// from the two halves of `split(key)`, "reverse" (our mirrored) draws p from the key itself.
fn pair_from_key(key: JaxKey, dist: &SoftmaxUniform) -> Result<LogitPair> {
    match dist.mode {
        PairMode::Independent => {
            let keys = key.split(2)?;
            Ok(LogitPair {
                p: softmax_uniform_logits(keys[0], dist)?,
                q: softmax_uniform_logits(keys[1], dist)?,
            })
        }
        PairMode::Mirrored => {
            let p = softmax_uniform_logits(key, dist)?;
            let q = p.iter().rev().copied().collect();
            Ok(LogitPair { p, q })
        }
    }
}

/// The per-pair keys of the authors' `evaluate_joint(..., seed, num_pairs)`: pair i gets
/// `split(split(PRNGKey(seed), num_pairs)[i], 2)` = (k1, k2); k1 draws the pair, k2 the samples of a
/// sampled coupling.
fn evaluation_keys(seed: u64, num_pairs: usize) -> Result<Vec<(JaxKey, JaxKey)>> {
    JaxKey::from_seed(seed)
        .split(num_pairs)?
        .into_iter()
        .map(|key| key.split(2).map(|k| (k[0], k[1])))
        .collect()
}

/// The authors' evaluation pairs: the `num_pairs` logit pairs their `evaluate_joint` scores every
/// coupling on for evaluation seed `seed` (Table 1 columns 1-2: `SoftmaxUniform::paper(mode)`, seeds
/// 1001..1005, 10,000 pairs). Pair i depends on `num_pairs` (JAX's split is not prefix-stable).
pub fn evaluation_pairs(
    dist: &SoftmaxUniform,
    seed: u64,
    num_pairs: usize,
) -> Result<Vec<LogitPair>> {
    if dist.outcomes == 0 {
        return Err(CoreError::Empty);
    }
    evaluation_keys(seed, num_pairs)?.into_iter().map(|(k1, _)| pair_from_key(k1, dist)).collect()
}

/// The authors' "fixed" pair (`p_q_mode="fixed"`): drawn as an independent pair from PRNGKey(123456),
/// whatever the mode of `dist`.
pub fn fixed_pair(dist: &SoftmaxUniform) -> Result<LogitPair> {
    if dist.outcomes == 0 {
        return Err(CoreError::Empty);
    }
    pair_from_key(
        JaxKey::from_seed(FIXED_PAIR_SEED),
        &SoftmaxUniform { mode: PairMode::Independent, ..*dist },
    )
}

/// The authors' Gumbel-max baseline as they estimate it per pair (`joint_from_samples` of
/// `gumbel_max_sampler`, no `loop_size`): for each of `split(key, num_samples)` one shared Gumbel
/// vector g, and the pair (argmax(g + p), argmax(g + q)).
pub fn gumbel_max_estimate(pair: &LogitPair, key: JaxKey, num_samples: usize) -> Result<Coupling> {
    let k = pair.p.len();
    if pair.q.len() != k {
        return Err(CoreError::LengthMismatch {
            what: "q logits",
            expected: k,
            found: pair.q.len(),
        });
    }
    let mut counts = Array2::<u64>::zeros((k, k));
    for sample_key in key.split(num_samples)? {
        let g = sample_key.gumbel(k)?;
        let shifted = |l: &[f64]| -> Vec<f64> { l.iter().zip(&g).map(|(a, b)| a + b).collect() };
        counts[[argmax(&shifted(&pair.p)), argmax(&shifted(&pair.q))]] += 1;
    }
    Coupling::from_counts(&counts)
}

/// The sample keys k2 that go with [`evaluation_pairs`] (same `seed` and `num_pairs`), for
/// [`gumbel_max_estimate`].
pub fn evaluation_sample_keys(seed: u64, num_pairs: usize) -> Result<Vec<JaxKey>> {
    Ok(evaluation_keys(seed, num_pairs)?.into_iter().map(|(_, k2)| k2).collect())
}
