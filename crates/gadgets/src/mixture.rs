//! Hard samples of a gadget over many logit pairs at once, pooled: the Monte Carlo estimate of the
//! mixture coupling (1/D) sum_d pi_d(x, y), or of the mixture counterfactual (1/D) sum_d pi_d(y | x_obs),
//! over D pairs (the sepsis study's perturbed (p, q), Section 7.3). Used where no closed form exists
//! (Gadget 1).

use gumbel_core::pairs::LogitPair;
use gumbel_core::rng::from_seed;
use gumbel_core::Categorical;
use tch::{Kind, Tensor};

use crate::batch::PairBatch;
use crate::error::{GadgetError, Result};
use crate::gadget::Gadget;

/// Upper bound on latent x outcome x sample cells of one chunk (the memory of its noise tensor).
const CHUNK_CELLS: usize = 1 << 22;

/// `per_pair` hard samples for every pair of `pairs`, from `seed`, as (x, y) index pairs in pair
/// order: joint samples with common random numbers when `observed` is `None`, else (x_obs, y) with y
/// a counterfactual given x = x_obs under that pair's p. Errors on an empty request, a length that
/// is not the gadget's K, or an observation impossible under some p.
pub fn mixture_samples(
    gadget: &Gadget,
    pairs: &[LogitPair],
    per_pair: usize,
    observed: Option<usize>,
    seed: u64,
) -> Result<Vec<(usize, usize)>> {
    let k = gadget.outcomes();
    if pairs.is_empty() || per_pair == 0 {
        return Err(GadgetError::InvalidConfig(
            "mixture_samples needs at least one pair and one sample per pair".into(),
        ));
    }
    if let Some(x) = observed {
        for pair in pairs {
            Categorical::from_logits(&pair.p)?.check_observation(x)?;
        }
    }
    let per_chunk = (CHUNK_CELLS / (gadget.config().latent_rows() * k)).max(1);
    let group = (per_chunk / per_pair).max(1);
    let mut rng = from_seed(seed);
    let mut out = Vec::with_capacity(pairs.len() * per_pair);
    for chunk in pairs.chunks(group) {
        let batch = PairBatch::from_pairs(chunk, k, Kind::Float, gadget.device())?;
        let b = chunk.len() as i64;
        let mut drawn = vec![Vec::with_capacity(per_pair); chunk.len()];
        let mut left = per_pair;
        while left > 0 {
            let n = left.min(per_chunk);
            let (x, y) = tch::no_grad(|| match observed {
                None => gadget.sample_batch(&batch, n, &mut rng, false),
                Some(obs) => {
                    let x = Tensor::full([b, n as i64], obs as i64, (Kind::Int64, gadget.device()));
                    let y = gadget.counterfactual_batch(&batch, &x, &mut rng, false);
                    (x, y)
                }
            });
            let (x, y) = (indices(&x)?, indices(&y)?);
            for (i, row) in drawn.iter_mut().enumerate() {
                row.extend((i * n..(i + 1) * n).map(|c| (x[c], y[c])));
            }
            left -= n;
        }
        out.extend(drawn.into_iter().flatten());
    }
    Ok(out)
}

/// All entries of a `[B, n]` index tensor, row-major, on the CPU.
fn indices(t: &Tensor) -> Result<Vec<usize>> {
    let values = Vec::<i64>::try_from(t.f_to_device(tch::Device::Cpu)?.f_flatten(0, -1)?)?;
    Ok(values.into_iter().map(|v| v as usize).collect())
}
