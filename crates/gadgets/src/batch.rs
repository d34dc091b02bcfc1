//! Batches of logit pairs as tensors of normalised log-probabilities.
//!
//! Every entry point normalises (l - logsumexp l) and validates (NaN and +inf are errors, -inf is an
//! impossible outcome) through [`Categorical`], so the gadgets' marginals are exact for any logits:
//! the authors' Gadget 2 is exact only for normalised logits (official-gadgets.md section 3). A batch
//! made by [`PairBatch::unnormalised`] also keeps each logit vector's logsumexp, so that training can
//! reproduce what the authors' Gadget 2 did with unnormalised logits.

use gumbel_core::logspace::logsumexp;
use gumbel_core::pairs::LogitPair;
use gumbel_core::Categorical;
use tch::{Device, Kind, Tensor};

use crate::device::upload;
use crate::error::{GadgetError, Result};

/// `[B, K]` log-probabilities of p and of q for B pairs.
#[derive(Debug)]
pub struct PairBatch {
    /// log p, `[B, K]`.
    pub log_p: Tensor,
    /// log q, `[B, K]`.
    pub log_q: Tensor,
    /// For a batch kept unnormalised ([`PairBatch::unnormalised`]): L_p and L_q, the logsumexp of each
    /// pair's raw p and q logits, `[B]` each (l = log p + L_p); None for a normalised batch.
    pub log_scales: Option<(Tensor, Tensor)>,
    /// Whether some outcome of some p or q has probability zero (log-probability -inf), known on the
    /// host: when none has, Gadget 2 skips its masking without reading the tensors back.
    pub impossible: bool,
}

impl PairBatch {
    /// From unnormalised logit pairs, each of length `outcomes`; f32 (training) or f64 (evaluation).
    pub fn from_pairs(
        pairs: &[LogitPair],
        outcomes: usize,
        kind: Kind,
        device: Device,
    ) -> Result<Self> {
        let mut p = Vec::with_capacity(pairs.len() * outcomes);
        let mut q = Vec::with_capacity(pairs.len() * outcomes);
        for pair in pairs {
            p.extend(normalised(&pair.p, outcomes, "p")?);
            q.extend(normalised(&pair.q, outcomes, "q")?);
        }
        let shape = [pairs.len() as i64, outcomes as i64];
        let to = |v: &[f64]| -> Result<Tensor> {
            Ok(upload(&Tensor::from_slice(v).f_reshape(shape)?.f_to_kind(kind)?, device))
        };
        let impossible = p.iter().chain(&q).any(|&l| l == f64::NEG_INFINITY);
        Ok(Self { log_p: to(&p)?, log_q: to(&q)?, log_scales: None, impossible })
    }

    /// As [`PairBatch::from_pairs`], remembering each logit vector's logsumexp L: the authors' Gadget 2
    /// is given the raw logits l = log p + L, which weighs its rejection step's fallback by e^L
    /// ([`crate::gadget2::sinkhorn_correct`]).
    pub fn unnormalised(
        pairs: &[LogitPair],
        outcomes: usize,
        kind: Kind,
        device: Device,
    ) -> Result<Self> {
        let batch = Self::from_pairs(pairs, outcomes, kind, device)?;
        let to = |v: Vec<f64>| upload(&Tensor::from_slice(&v).to_kind(kind), device);
        let scales = |side: fn(&LogitPair) -> &[f64]| {
            to(pairs.iter().map(|pair| logsumexp(side(pair))).collect())
        };
        Ok(Self { log_scales: Some((scales(|pair| &pair.p), scales(|pair| &pair.q))), ..batch })
    }

    /// One pair of validated distributions.
    pub fn single(
        p: &Categorical,
        q: &Categorical,
        outcomes: usize,
        kind: Kind,
        device: Device,
    ) -> Result<Self> {
        let pair = LogitPair { p: p.log_probs().to_vec(), q: q.log_probs().to_vec() };
        Self::from_pairs(&[pair], outcomes, kind, device)
    }

    /// A copy on `device`, the values copied without waiting for the device ([`upload`]).
    pub(crate) fn to_device(&self, device: Device) -> PairBatch {
        PairBatch {
            log_p: upload(&self.log_p, device),
            log_q: upload(&self.log_q, device),
            log_scales: self
                .log_scales
                .as_ref()
                .map(|(p, q)| (upload(p, device), upload(q, device))),
            impossible: self.impossible,
        }
    }

    /// Overwrites this batch's tensors in place with `other`'s values (the same shapes; `other` on
    /// the CPU or this batch's device), without waiting for the device, and takes its `impossible`.
    pub(crate) fn copy_from(&mut self, other: &PairBatch) -> Result<()> {
        let device = self.log_p.device();
        self.log_p.f_copy_(&upload(&other.log_p, device))?;
        self.log_q.f_copy_(&upload(&other.log_q, device))?;
        match (&mut self.log_scales, &other.log_scales) {
            (Some((p, q)), Some((from_p, from_q))) => {
                p.f_copy_(&upload(from_p, device))?;
                q.f_copy_(&upload(from_q, device))?;
            }
            (None, None) => {}
            _ => {
                return Err(GadgetError::InvalidConfig(
                    "a normalised and an unnormalised batch mixed".into(),
                ))
            }
        }
        self.impossible = other.impossible;
        Ok(())
    }

    /// B.
    pub fn len(&self) -> usize {
        self.log_p.size()[0] as usize
    }

    /// Whether the batch holds no pair.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Log-probabilities of `logits`, checked to have `outcomes` entries.
fn normalised(logits: &[f64], outcomes: usize, what: &'static str) -> Result<Vec<f64>> {
    if logits.len() != outcomes {
        return Err(GadgetError::OutcomeMismatch { what, expected: outcomes, found: logits.len() });
    }
    Ok(Categorical::from_logits(logits)?.log_probs().to_vec())
}

/// A single log-probability vector `[1, K]`.
pub fn log_probs_tensor(dist: &Categorical, kind: Kind, device: Device) -> Tensor {
    Tensor::from_slice(dist.log_probs())
        .reshape([1, dist.len() as i64])
        .to_kind(kind)
        .to_device(device)
}
