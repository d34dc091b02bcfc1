//! Gadget 2 (the paper's Section 5.2, Appendix H): a latent z ~ pi(z) drawn independently of p, then
//! Gumbel-max on a learned pi(x | z, p) whose mixture over z is exactly p.
//!
//! pi(x | z, p) is built from the network's `[|Z|, K]` output R as the authors' code does
//! (official-gadgets.md section 3): T Sinkhorn sweeps, each normalising the rows to pi(z)
//! (R <- R + log pi_z - logsumexp_x R) and then the columns to p (R <- R + log p_x - logsumexp_z R),
//! the first in log space and the rest on exp(R) (see [`sinkhorn_correct`]);
//! then the accept-reject correction of Eq. (14) on the row-normalised proposal A,
//! c_x = p(x) / sum_z A_zx, pi(x | z, p) = c_x A_zx / (c* pi_z) + (1 - d_z / c*) p(x) with
//! d_z = sum_x A_zx c_x / pi_z, which makes sum_z pi_z pi(x | z, p) = p(x) for any R (Appendix H).
//! Zero-probability outcomes (log p_x = -inf) are masked so that neither values nor gradients are NaN.

use gumbel_core::rng::SeededRng;
use tch::{nn, Device, Kind, Tensor};

use crate::batch::PairBatch;
use crate::config::GadgetConfig;
use crate::error::Result;
use crate::gadget1::{decide, in_kind};
use crate::mlp::Mlp;
use crate::noise::{gumbel, top_down, uniform, NoiseSource};

/// Gadget 2's parameters: the network and the logits of the prior over z.
#[derive(Debug)]
pub struct Gadget2 {
    net: Mlp,
    prior_logits: Tensor,
    latent: i64,
    outcomes: i64,
    iterations: usize,
}

impl Gadget2 {
    /// Registers the parameters under `path`.
    pub fn new(path: &nn::Path, config: &GadgetConfig, rngs: &mut [SeededRng]) -> Result<Self> {
        let (latent, outcomes) = (config.latent, config.outcomes);
        let net = Mlp::new(&path.sub("net"), outcomes, &config.hidden, latent * outcomes, rngs)?;
        // A learned prior is a parameter of each run: `[R, |Z|]` in a stack of R.
        let prior_logits = if config.learned_prior {
            let shape = match rngs.len() {
                1 => vec![latent as i64],
                runs => vec![runs as i64, latent as i64],
            };
            path.f_zeros("prior_logits", &shape)?
        } else {
            path.f_zeros_no_train("prior_logits", &[latent as i64])?
        };
        Ok(Self {
            net,
            prior_logits,
            latent: latent as i64,
            outcomes: outcomes as i64,
            iterations: config.sinkhorn_iterations,
        })
    }

    /// log pi(z), `[|Z|]` (in a stack with a learned prior, `[R, |Z|]`: run r's in row r), in `kind`.
    pub fn log_prior(&self, kind: Kind) -> Tensor {
        in_kind(self.prior_logits.shallow_clone(), kind).log_softmax(-1, kind)
    }

    /// log pi(z) of each of `rows` batch rows, broadcastable as `[rows, |Z|]`: `[1, |Z|]` when every
    /// row has the same prior, else row i the prior of run i mod R.
    fn log_prior_rows(&self, kind: Kind, rows: i64) -> Tensor {
        let log_prior = self.log_prior(kind);
        match log_prior.size().as_slice() {
            [latent] => log_prior.view([1, *latent]),
            [runs, _] => {
                let run = Tensor::arange(rows, (Kind::Int64, log_prior.device())).remainder(*runs);
                log_prior.index_select(0, &run)
            }
            _ => unreachable!("the prior is `[|Z|]` or `[R, |Z|]`"),
        }
    }

    /// log pi(x | z, p) for normalised `log_p` `[B, K]`: `[B, |Z|, K]` in the kind of `log_p` (the
    /// network runs in f32; with f64 input the Sinkhorn and correction run in f64, so the marginal is
    /// exact to double precision).
    pub fn log_conditionals(&self, log_p: &Tensor) -> Tensor {
        self.weighted_log_conditionals(log_p, None, Masks::new(log_p))
    }

    /// As [`Gadget2::log_conditionals`], with the rejection step's fallback weighted by e^L per row of
    /// `log_p` (`log_scales` `[B]`: the authors' mechanism on the raw logits log p + L), and the
    /// impossible outcomes of `log_p` where `masks` says.
    fn weighted_log_conditionals(
        &self,
        log_p: &Tensor,
        log_scales: Option<&Tensor>,
        masks: Masks,
    ) -> Tensor {
        let kind = log_p.kind();
        let r = in_kind(self.net.forward(log_p).view([-1, self.latent, self.outcomes]), kind);
        let log_prior = self.log_prior_rows(kind, r.size()[0]);
        conditionals(&r, &masks, &log_prior, self.iterations, log_scales)
    }

    /// Marginal sum_z pi(z) pi(x | z, p), `[B, K]` probabilities (equal to p by construction).
    pub fn marginal(&self, log_p: &Tensor) -> Tensor {
        let kind = log_p.kind();
        (self.log_conditionals(log_p) + self.log_prior(kind).view([1, -1, 1]))
            .logsumexp(1, false)
            .exp()
    }

    /// Sets the output layer to a constant R: every pi(x | z, p) is then p, and Gadget 2 is the
    /// Gumbel-max mechanism (Section 5.2, last paragraph).
    pub fn set_gumbel_max_parameters(&mut self) {
        let bias =
            Tensor::zeros([self.latent * self.outcomes], (Kind::Float, self.prior_logits.device()));
        self.net.set_output(&bias);
    }

    /// The latent z, shared by p and q: Gumbel-max on log pi(z), `[B, n]`.
    fn sample_latent(&self, noise: &mut dyn NoiseSource, b: i64, n: i64) -> Tensor {
        let g = gumbel(noise, &[b, n, self.latent], self.prior_logits.device());
        (g + self.log_prior_rows(Kind::Float, b).unsqueeze(1)).argmax(-1, false)
    }

    /// `[B, n, K]` hard (argmax) or relaxed (softmax at `temperature`) samples of x and y sharing z and
    /// the outcome Gumbels (Eqs. 12-13 with common random numbers); relaxation only over x | z.
    pub fn pairs(
        &self,
        batch: &PairBatch,
        n: i64,
        noise: &mut dyn NoiseSource,
        temperature: Option<f64>,
    ) -> (Tensor, Tensor) {
        let b = batch.len() as i64;
        let (cond_p, cond_q) = self.both_conditionals(batch);
        let z = self.sample_latent(noise, b, n);
        let g = in_kind(gumbel(noise, &[b, n, self.outcomes], cond_p.device()), cond_p.kind());
        let scores_p = rows_at(&cond_p, &z) + &g;
        let scores_q = rows_at(&cond_q, &z) + &g;
        (decide(scores_p, temperature), decide(scores_q, temperature))
    }

    /// Counterfactual y given x_obs `[B, n]` (Section 5.2): z from the posterior
    /// pi(z | x_obs) ∝ pi(z) pi(x_obs | z, p), top-down Gumbels for pi(. | z, p) with argmax x_obs, then
    /// argmax over y of those Gumbels plus log pi(y | z, q). `[B, n]` indices.
    pub fn counterfactuals(
        &self,
        batch: &PairBatch,
        x_obs: &Tensor,
        noise: &mut dyn NoiseSource,
    ) -> Tensor {
        let b = batch.len() as i64;
        let n = x_obs.size()[1];
        let (cond_p, cond_q) = self.both_conditionals(batch);
        let log_post = self.log_posterior(&cond_p, x_obs);
        let g = in_kind(gumbel(noise, &[b, n, self.latent], cond_p.device()), log_post.kind());
        let z = (log_post + g).argmax(-1, false);
        let index = z.unsqueeze(-1).expand([b, n, self.outcomes], false);
        let row_p = cond_p.gather(1, &index, false);
        let row_q = cond_q.gather(1, &index, false);
        let u = in_kind(uniform(noise, &[b, n, self.outcomes], cond_p.device()), row_p.kind());
        (top_down(&row_p, x_obs, &u) + row_q).argmax(-1, false)
    }

    /// The relaxed counterfactual used by the counterfactual training loss (gadgets-part2.md, item
    /// 9): sum_z pi(z | x_obs) softmax((g_z + log pi(. | z, q)) / tau), with top-down Gumbels g_z for
    /// every z; `[B, n, K]`.
    pub fn relaxed_counterfactuals(
        &self,
        batch: &PairBatch,
        x_obs: &Tensor,
        noise: &mut dyn NoiseSource,
        tau: f64,
    ) -> Tensor {
        let b = batch.len() as i64;
        let n = x_obs.size()[1];
        let shape = [b, n, self.latent, self.outcomes];
        let (cond_p, cond_q) = self.both_conditionals(batch);
        let post = self.log_posterior(&cond_p, x_obs).exp();
        let u = in_kind(uniform(noise, &shape, cond_p.device()), cond_p.kind());
        let observed = x_obs.unsqueeze(-1).expand([b, n, self.latent], false);
        let noise = top_down(&cond_p.unsqueeze(1).expand(shape, false), &observed, &u);
        let soft = ((noise + cond_q.unsqueeze(1)) / tau).softmax(-1, cond_q.kind());
        (soft * post.unsqueeze(-1)).sum_dim_intlist(2, false, cond_q.kind())
    }

    /// log pi(x | z, p) and log pi(y | z, q), `[B, |Z|, K]` each, from one network pass over both (on
    /// the raw logits' scale where the batch keeps it, as the authors' training did).
    pub fn both_conditionals(&self, batch: &PairBatch) -> (Tensor, Tensor) {
        let scales = batch.log_scales.as_ref().map(|(p, q)| Tensor::cat(&[p, q], 0));
        let log_p = Tensor::cat(&[&batch.log_p, &batch.log_q], 0);
        let masks = if batch.impossible { Masks::new(&log_p) } else { Masks::all_possible(&log_p) };
        let both = self.weighted_log_conditionals(&log_p, scales.as_ref(), masks);
        let b = batch.len() as i64;
        (both.narrow(0, 0, b), both.narrow(0, b, b))
    }

    /// log pi(z | x_obs) ∝ log pi(z) + log pi(x_obs | z, p), `[B, n, |Z|]`.
    fn log_posterior(&self, cond_p: &Tensor, x_obs: &Tensor) -> Tensor {
        let likelihood = rows_at(&cond_p.transpose(1, 2), x_obs);
        let log_prior = self.log_prior_rows(cond_p.kind(), cond_p.size()[0]).unsqueeze(1);
        (likelihood + log_prior).log_softmax(-1, cond_p.kind())
    }
}

/// Row `index[b, s]` of `table[b]` for every b and s: `[B, n, C]` from `table` `[B, R, C]` and int64
/// `index` `[B, n]`, with gradient. On CUDA by [`rows_by_mask`], because gather's backward adds the
/// gradients of the n samples into the table with atomics, in an order that changes from run to run
/// (the same seed gave other weights on an H200, docs/gadgets.md); on the CPU by gather, deterministic
/// there (and the bits of every run trained before).
fn rows_at(table: &Tensor, index: &Tensor) -> Tensor {
    if table.device().is_cuda() {
        rows_by_mask(table, index)
    } else {
        let (b, n, c) = (table.size()[0], index.size()[1], table.size()[2]);
        table.gather(1, &index.unsqueeze(-1).expand([b, n, c], false), false)
    }
}

/// [`rows_at`] as a sum over the rows of the table masked to the chosen one: exact (the other terms
/// are zeros; an entry of -inf stays -inf), and its backward is a reduction over the samples, which
/// libtorch computes in a fixed order. Costs a `[B, n, R, C]` temporary.
fn rows_by_mask(table: &Tensor, index: &Tensor) -> Tensor {
    let rows = table.size()[1];
    let chosen = index
        .unsqueeze(-1)
        .eq_tensor(&Tensor::arange(rows, (Kind::Int64, index.device())))
        .unsqueeze(-1);
    let zero = Tensor::zeros([], (table.kind(), table.device()));
    table.unsqueeze(1).where_self(&chosen, &zero).sum_dim_intlist(2, false, table.kind())
}

/// log pi(x | z, p), `[B, |Z|, K]`, from network output `r` `[B, |Z|, K]`, normalised `log_p` `[B, K]`
/// and `log_prior` `[|Z|]` (or per row, `[B, |Z|]` or `[1, |Z|]`): T Sinkhorn sweeps, then the
/// accept-reject correction of Eq. (14).
///
/// `log_scales` (`[B]`, L per row, or None for 0) reproduces the authors' mechanism given raw logits
/// l = log p + L rather than log p: their Sinkhorn sweeps and proposal are unchanged by L (every
/// sweep ends in a row normalisation), but their fallback r_z + l_x is e^L times ours, so
/// pi(x | z, p) ∝ c_x A_zx / (c* pi_z) + e^L (1 - d_z / c*) p(x) and the marginal is no longer p
/// (official-gadgets.md section 3; docs/figure1-table1.md measures what it did to Figure 1a).
///
/// The first sweep runs in log space, as the authors' code does throughout: it removes any scale of R
/// and leaves log A_1, whose possible columns hold mass p_x. On a GPU the other T - 1 sweeps run in
/// log space too ([`LaterSweeps`]: no number is read back within a training step). On the CPU they find
/// A = diag(u) M diag(v) with M = exp(log A_1) by the scaling form of Sinkhorn,
/// u <- pi / (M v), v <- p / (M^T u): two matrix-vector products per sweep instead of two
/// logsumexps over the whole matrix (several times cheaper on the CPU, forward and backward), and
/// log A = log A_1 + log u_z + log v_x, without the logarithm of any entry of M, so entries that
/// underflow do not matter. Where the scalings leave a safe range (R spanning more than single
/// precision can scale, [`SCALING_LIMIT`]), the sweeps are redone in log space. Either way the same
/// matrix as T log-space sweeps, to rounding (tested); the correction makes the marginal exact for any A.
pub fn sinkhorn_correct(
    r: &Tensor,
    log_p: &Tensor,
    log_prior: &Tensor,
    iterations: usize,
    log_scales: Option<&Tensor>,
) -> Tensor {
    conditionals(r, &Masks::new(log_p), log_prior, iterations, log_scales)
}

/// [`sinkhorn_correct`] with the impossible outcomes of `masks`.
fn conditionals(
    r: &Tensor,
    masks: &Masks,
    log_prior: &Tensor,
    iterations: usize,
    log_scales: Option<&Tensor>,
) -> Tensor {
    let log_pi = match log_prior.dim() {
        1 => log_prior.view([1, -1, 1]),
        _ => log_prior.unsqueeze(-1),
    };
    let log_a = masks.fill(r, f64::NEG_INFINITY);
    let log_a = sweeps(&log_a, &log_pi, masks, iterations, LaterSweeps::for_device(r.device()));
    correct(&normalise_rows(&log_a, &log_pi), masks, log_scales)
}

/// How Sinkhorn sweeps 2..T run on a device (the first is in log space on every device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaterSweeps {
    /// The scaling form, checked: its scalings' range is read back to the host, and the sweeps are
    /// redone in log space where they left e^+-23 (`SCALING_LIMIT`). On the CPU, where reading a
    /// number back costs nothing and the scaling form is several times cheaper.
    ScaledChecked,
    /// Log space throughout: nothing is read back, so a step on a GPU never waits for the device and
    /// can be captured as a CUDA graph (docs/gadgets.md, "Training with CUDA graphs"). The same
    /// matrix as the checked scaling form to rounding (tested).
    LogSpace,
}

impl LaterSweeps {
    /// [`LaterSweeps::ScaledChecked`] on the CPU, [`LaterSweeps::LogSpace`] on every other device.
    pub fn for_device(device: Device) -> Self {
        match device {
            Device::Cpu => Self::ScaledChecked,
            _ => Self::LogSpace,
        }
    }
}

/// `iterations` Sinkhorn sweeps from `log_a`: the first in log space, the others as `later` says.
fn sweeps(
    log_a: &Tensor,
    log_pi: &Tensor,
    masks: &Masks,
    iterations: usize,
    later: LaterSweeps,
) -> Tensor {
    if iterations == 0 {
        return log_a.shallow_clone();
    }
    let first = log_space_sweeps(log_a, log_pi, masks, 1);
    let rest = iterations - 1;
    if rest == 0 {
        return first;
    }
    match later {
        LaterSweeps::ScaledChecked => scaled_sweeps(&first, log_pi, masks, rest)
            .unwrap_or_else(|| log_space_sweeps(&first, log_pi, masks, rest)),
        LaterSweeps::LogSpace => log_space_sweeps(&first, log_pi, masks, rest),
    }
}

/// Largest |log u_z|, |log v_x| the scaling form accepts: e^23 ~ 1e10 leaves single-precision
/// gradients of the products u M v far from overflow.
const SCALING_LIMIT: f64 = 23.0;

/// log p with impossible outcomes set to 0, and where they are, both `[B, 1, K]`.
struct Masks {
    log_p: Tensor,
    safe_p: Tensor,
    /// None when every outcome of every row is possible: nothing is masked then.
    impossible: Option<Tensor>,
}

impl Masks {
    /// The masks of normalised `log_p` `[B, K]`, whatever it holds.
    fn new(log_p: &Tensor) -> Self {
        let impossible = log_p.isneginf();
        Self {
            log_p: log_p.shallow_clone(),
            safe_p: log_p.masked_fill(&impossible, 0.0).unsqueeze(1),
            impossible: Some(impossible.unsqueeze(1)),
        }
    }

    /// The masks of `log_p` whose every entry the caller knows to be finite: they mask nothing,
    /// and every [`Masks::fill`] is the tensor itself, without an operation.
    fn all_possible(log_p: &Tensor) -> Self {
        Self { log_p: log_p.shallow_clone(), safe_p: log_p.unsqueeze(1), impossible: None }
    }

    /// `t` with the impossible outcomes' entries set to `value`.
    fn fill(&self, t: &Tensor, value: f64) -> Tensor {
        match &self.impossible {
            Some(impossible) => t.masked_fill(impossible, value),
            None => t.shallow_clone(),
        }
    }
}

/// R + log pi_z - logsumexp_x R: rows summing to pi_z.
fn normalise_rows(r: &Tensor, log_pi: &Tensor) -> Tensor {
    r + log_pi - r.logsumexp(-1, true)
}

/// `sweeps` Sinkhorn sweeps in log space (rows to pi, then columns to p), impossible columns -inf.
fn log_space_sweeps(log_a: &Tensor, log_pi: &Tensor, masks: &Masks, sweeps: usize) -> Tensor {
    let mut r = log_a.shallow_clone();
    for _ in 0..sweeps {
        r = normalise_rows(&r, log_pi);
        let finite = masks.fill(&r, 0.0);
        r = masks.fill(&(&finite + &masks.safe_p - finite.logsumexp(1, true)), f64::NEG_INFINITY);
    }
    r
}

/// `sweeps` Sinkhorn sweeps in scaling form from `log_a` (columns already summing to p), or `None` when
/// a scaling leaves e^+-[`SCALING_LIMIT`].
fn scaled_sweeps(log_a: &Tensor, log_pi: &Tensor, masks: &Masks, sweeps: usize) -> Option<Tensor> {
    let kind = log_a.kind();
    let tiny = if kind == Kind::Double { f64::MIN_POSITIVE } else { f64::from(f32::MIN_POSITIVE) };
    // u `[B, |Z|, 1]` and v `[B, 1, K]` broadcast against M `[B, |Z|, K]`; the products M v and M^T u
    // are sums of broadcast products (ATen's batched matrix product is slower at these sizes).
    let m = log_a.exp();
    let (pi, p) = (log_pi.exp(), masks.log_p.exp().unsqueeze(1));
    // The first sweep's v is all ones, so its row sums are M's.
    let mut u = &pi / m.sum_dim_intlist(-1, true, kind);
    let mut v = &p / (&m * &u).sum_dim_intlist(1, true, kind).clamp_min(tiny);
    // The column sums M^T u are clamped: an impossible column's is 0, and so is a column's whose
    // p_x underflows, and 0 / 0 would spread NaN through every later sweep. A row sum M v needs no
    // clamp: it is 0 only where pi_z < 1e-28 (f32; 1e-297 in f64), whose u then leaves the safe
    // range and sends the sweeps to log space, as the clamp did (u = pi_z / tiny > e^23 there);
    // on every accepted path the clamp would not have acted, so the values are the same.
    for _ in 1..sweeps {
        u = &pi / (&m * &v).sum_dim_intlist(-1, true, kind);
        v = &p / (&m * &u).sum_dim_intlist(1, true, kind).clamp_min(tiny);
    }
    let log_u = u.log();
    let log_v = masks.fill(&v, 1.0).log();
    let largest =
        tch::no_grad(|| Tensor::cat(&[log_u.flatten(0, -1), log_v.flatten(0, -1)], 0).abs().max());
    let largest = f64::try_from(largest).unwrap_or(f64::INFINITY);
    (largest <= SCALING_LIMIT)
        .then(|| masks.fill(&(masks.fill(log_a, 0.0) + log_u + log_v), f64::NEG_INFINITY))
}

/// The accept-reject correction of Eq. (14) on the proposal `log_a` (rows summing to pi_z), all in
/// log space: c_x = p(x) / sum_z A_zx, then pi(x | z, p) = c_x A_zx / (c* pi_z) + (1 - d_z / c*) p(x),
/// the fallback weighted by e^L where `log_scales` gives L (see [`sinkhorn_correct`]).
fn correct(log_a: &Tensor, masks: &Masks, log_scales: Option<&Tensor>) -> Tensor {
    let safe_p = &masks.safe_p;
    let kind = log_a.kind();
    let neg_inf = f64::NEG_INFINITY;
    let column_mass = masks.fill(log_a, 0.0).logsumexp(1, true);
    let log_c = masks.fill(&(safe_p - column_mass), neg_inf);
    let log_c = &log_c - log_c.amax(-1, true);
    let proposal = log_a.log_softmax(-1, kind) + &log_c;
    let kappa = proposal.logsumexp(-1, true);
    // log(1 - exp(kappa)) as log(-expm1(kappa)), exact near kappa = 0 (a converged Sinkhorn gives
    // kappa ~ 0); -inf where exp(kappa) rounds to 1, with the gradient kept off that branch.
    let rejected = kappa.exp().ge(1.0);
    let reject_mass =
        kappa.masked_fill(&rejected, -1.0).expm1().neg().log().masked_fill(&rejected, neg_inf);
    let fallback = match log_scales {
        Some(scales) => reject_mass + safe_p + scales.view([-1, 1, 1]),
        None => reject_mass + safe_p,
    };
    let fallback = masks.fill(&fallback, neg_inf);
    let joint = masks.fill(&proposal, 0.0).logaddexp(&masks.fill(&fallback, 0.0));
    masks.fill(&joint, neg_inf).log_softmax(-1, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// T sweeps all in log space and the correction: the authors' form.
    fn reference(r: &Tensor, log_p: &Tensor, log_prior: &Tensor, iterations: usize) -> Tensor {
        let (masks, log_pi) = (Masks::new(log_p), log_prior.view([1, -1, 1]));
        let r = masks.fill(r, f64::NEG_INFINITY);
        correct(
            &normalise_rows(&log_space_sweeps(&r, &log_pi, &masks, iterations), &log_pi),
            &masks,
            None,
        )
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
        f64::try_from((a - b).abs().max()).unwrap_or(f64::INFINITY)
    }

    fn all_finite(t: &Tensor) -> bool {
        bool::try_from(t.isfinite().all()).unwrap_or(false)
    }

    #[test]
    fn mixed_sweeps_equal_log_space_sweeps() {
        tch::manual_seed(3);
        let options = (Kind::Double, Device::Cpu);
        let log_prior = Tensor::randn([20], options).log_softmax(-1, Kind::Double);
        let log_p = Tensor::randn([16, 10], options).log_softmax(-1, Kind::Double);
        let with_zero = log_p
            .index_fill(1, &Tensor::from_slice(&[3i64]), f64::NEG_INFINITY)
            .log_softmax(-1, Kind::Double);
        // Spans of R from O(1) (a fresh network) to hundreds (near-deterministic conditionals).
        for scale in [1.0, 10.0, 300.0] {
            let r = Tensor::randn([16, 20, 10], options) * scale;
            for log_p in [&log_p, &with_zero] {
                for iterations in [1, 2, 10] {
                    let want = reference(&r, log_p, &log_prior, iterations).exp();
                    let got = sinkhorn_correct(&r, log_p, &log_prior, iterations, None).exp();
                    let gap = max_abs_diff(&want, &got);
                    assert!(gap < 1e-12, "scale {scale}, T = {iterations}: {gap}");
                }
            }
        }
    }

    /// The authors' mechanism as official-gadgets.md section 3 transcribes it, given the raw logits
    /// `l` `[B, K]` as they are: T log-space sweeps (rows to pi, columns to l), then
    /// F = R + log pi - logsumexp_x R, a = l - logsumexp_z F less its maximum,
    /// A~ = log_softmax_x F + a, kappa = logsumexp_x A~, r = log(1 - e^kappa) (or -inf),
    /// J = log pi + logaddexp(A~, r + l), log pi(x | z) = log_softmax_x J.
    fn authors_on_raw_logits(
        r: &Tensor,
        l: &Tensor,
        log_prior: &Tensor,
        iterations: usize,
    ) -> Tensor {
        let (kind, log_pi, l) = (r.kind(), log_prior.view([1, -1, 1]), l.unsqueeze(1));
        let mut r = r.shallow_clone();
        for _ in 0..iterations {
            r = &r + &log_pi - r.logsumexp(-1, true);
            r = &r + &l - r.logsumexp(1, true);
        }
        let f = &r + &log_pi - r.logsumexp(-1, true);
        let a = &l - f.logsumexp(1, true);
        let accepted = f.log_softmax(-1, kind) + (&a - a.amax(-1, true));
        let kappa = accepted.logsumexp(-1, true);
        let reject = kappa.exp().neg().log1p().masked_fill(&kappa.exp().ge(1.0), f64::NEG_INFINITY);
        (log_pi + accepted.logaddexp(&(reject + l))).log_softmax(-1, kind)
    }

    #[test]
    fn without_impossible_outcomes_skipping_the_masks_changes_no_bit() {
        tch::manual_seed(7);
        let options = (Kind::Float, Device::Cpu);
        let log_prior = Tensor::zeros([20], options).log_softmax(-1, Kind::Float);
        let log_p = (Tensor::randn([8, 10], options) * 2.0).log_softmax(-1, Kind::Float);
        // A fresh network's spread (scaling form) and a wide one (log space).
        for scale in [1.0, 300.0] {
            let r = Tensor::randn([8, 20, 10], options) * scale;
            let run = |masks: &Masks| {
                let leaf = r.detach().set_requires_grad(true);
                let out = conditionals(&leaf, masks, &log_prior, 10, None);
                (out.exp() * Tensor::arange(10, options)).sum(Kind::Float).backward();
                (out.detach(), leaf.grad())
            };
            let (masked, masked_grad) = run(&Masks::new(&log_p));
            let (plain, plain_grad) = run(&Masks::all_possible(&log_p));
            assert!(masked.equal(&plain), "scale {scale}: values");
            assert!(masked_grad.equal(&plain_grad), "scale {scale}: gradients");
        }
    }

    #[test]
    fn cuda_devices_sweep_in_log_space_and_both_forms_give_the_same_conditionals() {
        assert_eq!(LaterSweeps::for_device(Device::Cpu), LaterSweeps::ScaledChecked);
        for index in [0, 1] {
            assert_eq!(LaterSweeps::for_device(Device::Cuda(index)), LaterSweeps::LogSpace);
        }
        tch::manual_seed(8);
        for kind in [Kind::Double, Kind::Float] {
            let options = (kind, Device::Cpu);
            let log_pi = Tensor::randn([20], options).log_softmax(-1, kind).view([1, -1, 1]);
            let log_p = (Tensor::randn([8, 10], options) * 2.0).log_softmax(-1, kind);
            let masks = Masks::new(&log_p);
            // A fresh network's spread (the checked scaling form accepted) and a wide one (refused).
            for scale in [1.0, 300.0] {
                let r = Tensor::randn([8, 20, 10], options) * scale;
                let form = |later| {
                    let a = sweeps(&r, &log_pi, &masks, 10, later);
                    correct(&normalise_rows(&a, &log_pi), &masks, None).exp()
                };
                let gap =
                    max_abs_diff(&form(LaterSweeps::ScaledChecked), &form(LaterSweeps::LogSpace));
                let bound = if kind == Kind::Double { 1e-12 } else { 1e-5 };
                assert!(gap < bound, "{kind:?} scale {scale}: {gap}");
            }
        }
    }

    #[test]
    fn weighting_the_fallback_by_e_l_is_the_authors_mechanism_on_raw_logits() {
        tch::manual_seed(5);
        let options = (Kind::Double, Device::Cpu);
        let log_prior = Tensor::zeros([20], options).log_softmax(-1, Kind::Double);
        // Raw logits with a different logsumexp L per row (from about -1 to 5).
        let raw = Tensor::randn([6, 10], options) * 1.5
            + Tensor::linspace(-3.0, 3.0, 6, options).unsqueeze(1);
        let (log_p, scales) = (raw.log_softmax(-1, Kind::Double), raw.logsumexp(-1, false));
        let r = Tensor::randn([6, 20, 10], options) * 2.0;
        let marginal = |conditionals: &Tensor| {
            (conditionals + log_prior.view([1, -1, 1])).logsumexp(1, false).exp()
        };

        let weighted = sinkhorn_correct(&r, &log_p, &log_prior, 10, Some(&scales));
        let gap = max_abs_diff(&weighted, &authors_on_raw_logits(&r, &raw, &log_prior, 10));
        assert!(gap < 1e-10, "raw logits: {gap}");
        // The distortion is real: the marginal is off p by far more than rounding...
        let off = max_abs_diff(&marginal(&weighted), &log_p.exp());
        assert!(off > 1e-3, "raw-logit marginal off by only {off}");
        // ... while on normalised logits (L = 0) the two mechanisms agree and the marginal is p.
        let exact = sinkhorn_correct(&r, &log_p, &log_prior, 10, None);
        assert!(max_abs_diff(&exact, &authors_on_raw_logits(&r, &log_p, &log_prior, 10)) < 1e-10);
        assert!(max_abs_diff(&marginal(&exact), &log_p.exp()) < 1e-12);
    }

    #[test]
    fn rows_by_mask_is_gather_in_value_and_gradient() {
        tch::manual_seed(6);
        let options = (Kind::Double, Device::Cpu);
        let table = (Tensor::randn([3, 5, 4], options) * 3.0).set_requires_grad(true);
        // -inf entries (impossible outcomes) must come through as -inf, not NaN.
        let table_with_inf =
            table.masked_fill(&Tensor::rand([3, 5, 4], options).lt(0.2), f64::NEG_INFINITY);
        let index = Tensor::randint(5, [3, 7], (Kind::Int64, Device::Cpu));
        let weights = Tensor::randn([3, 7, 4], options);
        let gathered = rows_at(&table_with_inf, &index);
        let masked = rows_by_mask(&table_with_inf, &index);
        assert!(
            gathered.isneginf().equal(&masked.isneginf())
                && gathered.isneginf().any().int64_value(&[]) == 1
        );
        let finite = |t: &Tensor| t.masked_fill(&t.isneginf(), 0.0);
        assert!(finite(&gathered).equal(&finite(&masked)), "values");
        let gradient = |rows: &Tensor| {
            let loss = (finite(rows) * &weights).sum(Kind::Double);
            Tensor::run_backward(&[loss], &[&table], true, false).remove(0)
        };
        assert!(max_abs_diff(&gradient(&gathered), &gradient(&masked)) < 1e-12, "gradients");
    }

    #[test]
    fn single_precision_sweeps_stay_finite_and_close() {
        tch::manual_seed(4);
        let options = (Kind::Float, Device::Cpu);
        let log_prior = Tensor::zeros([20], options).log_softmax(-1, Kind::Float);
        // (spread of R, spread of the logits, whether the scaling form is expected to be accepted):
        // both paths are exercised, the scaling form at a fresh network's spread, log space far beyond.
        for (scale, p_scale, scaled_expected) in
            [(1.0, 1.0, Some(true)), (30.0, 5.0, None), (300.0, 5.0, Some(false))]
        {
            let log_p = (Tensor::randn([8, 10], options) * p_scale).log_softmax(-1, Kind::Float);
            let r = (Tensor::randn([8, 20, 10], options) * scale).set_requires_grad(true);
            let want = reference(&r, &log_p, &log_prior, 10).exp();
            let out = sinkhorn_correct(&r, &log_p, &log_prior, 10, None);
            let gap = max_abs_diff(&want, &out.exp());
            assert!(gap < 1e-4, "scale {scale}: {gap}");
            out.exp().sum(Kind::Float).backward();
            assert!(all_finite(&r.grad()), "scale {scale}: non-finite gradient");
            let (masks, log_pi) = (Masks::new(&log_p), log_prior.view([1, -1, 1]));
            let first = tch::no_grad(|| log_space_sweeps(&r, &log_pi, &masks, 1));
            let scaled = tch::no_grad(|| scaled_sweeps(&first, &log_pi, &masks, 9));
            if let Some(expected) = scaled_expected {
                assert_eq!(scaled.is_some(), expected, "scale {scale}");
            }
        }
    }
}
