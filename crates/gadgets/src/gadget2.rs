//! Gadget 2 (the paper's Section 5.2, Appendix H): a latent z ~ pi(z) drawn independently of p, then
//! Gumbel-max on a learned pi(x | z, p) whose mixture over z is exactly p.
//!
//! pi(x | z, p) is built from the network's `[|Z|, K]` output R in log space, as the authors' code does
//! (official-gadgets.md section 3): T Sinkhorn sweeps, each normalising the rows to log pi(z)
//! (R <- R + log pi_z - logsumexp_x R) and then the columns to log p (R <- R + log p_x - logsumexp_z R);
//! then the accept-reject correction of Eq. (14) on the row-normalised proposal A,
//! c_x = p(x) / sum_z A_zx, pi(x | z, p) = c_x A_zx / (c* pi_z) + (1 - d_z / c*) p(x) with
//! d_z = sum_x A_zx c_x / pi_z, which makes sum_z pi_z pi(x | z, p) = p(x) for any R (Appendix H).
//! Zero-probability outcomes (log p_x = -inf) are masked so that neither values nor gradients are NaN.

use gumbel_core::rng::SeededRng;
use tch::{nn, Kind, Tensor};

use crate::batch::PairBatch;
use crate::config::GadgetConfig;
use crate::error::Result;
use crate::gadget1::decide;
use crate::mlp::Mlp;
use crate::noise::{gumbel, top_down, uniform};

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
    pub fn new(path: &nn::Path, config: &GadgetConfig, rng: &mut SeededRng) -> Result<Self> {
        let (latent, outcomes) = (config.latent, config.outcomes);
        let net = Mlp::new(&path.sub("net"), outcomes, &config.hidden, latent * outcomes, rng)?;
        let prior_logits = if config.learned_prior {
            path.f_zeros("prior_logits", &[latent as i64])?
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

    /// log pi(z), `[|Z|]`, in `kind`.
    pub fn log_prior(&self, kind: Kind) -> Tensor {
        self.prior_logits.to_kind(kind).log_softmax(-1, kind)
    }

    /// log pi(x | z, p) for normalised `log_p` `[B, K]`: `[B, |Z|, K]` in the kind of `log_p` (the
    /// network runs in f32; with f64 input the Sinkhorn and correction run in f64, so the marginal is
    /// exact to double precision).
    pub fn log_conditionals(&self, log_p: &Tensor) -> Tensor {
        let kind = log_p.kind();
        let r = self.net.forward(log_p).view([-1, self.latent, self.outcomes]).to_kind(kind);
        sinkhorn_correct(&r, log_p, &self.log_prior(kind), self.iterations)
    }

    /// Marginal sum_z pi(z) pi(x | z, p), `[B, K]` probabilities (equal to p by construction).
    pub fn marginal(&self, log_p: &Tensor) -> Tensor {
        let kind = log_p.kind();
        (self.log_conditionals(log_p) + self.log_prior(kind).view([1, -1, 1])).logsumexp(1, false).exp()
    }

    /// Sets the output layer to a constant R: every pi(x | z, p) is then p, and Gadget 2 is the
    /// Gumbel-max mechanism (Section 5.2, last paragraph).
    pub fn set_gumbel_max_parameters(&mut self) {
        let bias = Tensor::zeros([self.latent * self.outcomes], (Kind::Float, self.prior_logits.device()));
        self.net.set_output(&bias);
    }

    /// The latent z, shared by p and q: Gumbel-max on log pi(z), `[B, n]`.
    fn sample_latent(&self, rng: &mut SeededRng, b: i64, n: i64) -> Tensor {
        let g = gumbel(rng, &[b, n, self.latent], self.prior_logits.device());
        (g + self.log_prior(Kind::Float).view([1, 1, -1])).argmax(-1, false)
    }

    /// `[B, n, K]` hard (argmax) or relaxed (softmax at `temperature`) samples of x and y sharing z and
    /// the outcome Gumbels (Eqs. 12-13 with common random numbers); relaxation only over x | z.
    pub fn pairs(&self, batch: &PairBatch, n: i64, rng: &mut SeededRng, temperature: Option<f64>) -> (Tensor, Tensor) {
        let b = batch.len() as i64;
        let (cond_p, cond_q) = self.both_conditionals(batch);
        let z = self.sample_latent(rng, b, n);
        let g = gumbel(rng, &[b, n, self.outcomes], cond_p.device()).to_kind(cond_p.kind());
        let index = z.unsqueeze(-1).expand([b, n, self.outcomes], false);
        let scores_p = cond_p.gather(1, &index, false) + &g;
        let scores_q = cond_q.gather(1, &index, false) + &g;
        (decide(scores_p, temperature), decide(scores_q, temperature))
    }

    /// Counterfactual y given x_obs `[B, n]` (Section 5.2): z from the posterior
    /// pi(z | x_obs) ∝ pi(z) pi(x_obs | z, p), top-down Gumbels for pi(. | z, p) with argmax x_obs, then
    /// argmax over y of those Gumbels plus log pi(y | z, q). `[B, n]` indices.
    pub fn counterfactuals(&self, batch: &PairBatch, x_obs: &Tensor, rng: &mut SeededRng) -> Tensor {
        let b = batch.len() as i64;
        let n = x_obs.size()[1];
        let (cond_p, cond_q) = self.both_conditionals(batch);
        let log_post = self.log_posterior(&cond_p, x_obs);
        let g = gumbel(rng, &[b, n, self.latent], cond_p.device()).to_kind(log_post.kind());
        let z = (log_post + g).argmax(-1, false);
        let index = z.unsqueeze(-1).expand([b, n, self.outcomes], false);
        let row_p = cond_p.gather(1, &index, false);
        let row_q = cond_q.gather(1, &index, false);
        let u = uniform(rng, &[b, n, self.outcomes], cond_p.device()).to_kind(row_p.kind());
        (top_down(&row_p, x_obs, &u) + row_q).argmax(-1, false)
    }

    /// The relaxed counterfactual used by the counterfactual training loss (gadgets-part2.md, item
    /// 9): sum_z pi(z | x_obs) softmax((g_z + log pi(. | z, q)) / tau), with top-down Gumbels g_z for
    /// every z; `[B, n, K]`.
    pub fn relaxed_counterfactuals(&self, batch: &PairBatch, x_obs: &Tensor, rng: &mut SeededRng, tau: f64) -> Tensor {
        let b = batch.len() as i64;
        let n = x_obs.size()[1];
        let shape = [b, n, self.latent, self.outcomes];
        let (cond_p, cond_q) = self.both_conditionals(batch);
        let post = self.log_posterior(&cond_p, x_obs).exp();
        let u = uniform(rng, &shape, cond_p.device()).to_kind(cond_p.kind());
        let observed = x_obs.unsqueeze(-1).expand([b, n, self.latent], false);
        let noise = top_down(&cond_p.unsqueeze(1).expand(shape, false), &observed, &u);
        let soft = ((noise + cond_q.unsqueeze(1)) / tau).softmax(-1, cond_q.kind());
        (soft * post.unsqueeze(-1)).sum_dim_intlist(2, false, cond_q.kind())
    }

    /// log pi(x | z, p) and log pi(y | z, q), `[B, |Z|, K]` each, from one network pass over both.
    pub fn both_conditionals(&self, batch: &PairBatch) -> (Tensor, Tensor) {
        let both = self.log_conditionals(&Tensor::cat(&[&batch.log_p, &batch.log_q], 0));
        let b = batch.len() as i64;
        (both.narrow(0, 0, b), both.narrow(0, b, b))
    }

    /// log pi(z | x_obs) ∝ log pi(z) + log pi(x_obs | z, p), `[B, n, |Z|]`.
    fn log_posterior(&self, cond_p: &Tensor, x_obs: &Tensor) -> Tensor {
        let index = x_obs.unsqueeze(1).expand([-1, self.latent, -1], false);
        let likelihood = cond_p.gather(2, &index, false).transpose(1, 2);
        (likelihood + self.log_prior(cond_p.kind()).view([1, 1, -1])).log_softmax(-1, cond_p.kind())
    }
}

/// log pi(x | z, p), `[B, |Z|, K]`, from network output `r` `[B, |Z|, K]`, normalised `log_p` `[B, K]`
/// and `log_prior` `[|Z|]`: T log-space Sinkhorn sweeps, then the accept-reject correction of Eq. (14).
pub fn sinkhorn_correct(r: &Tensor, log_p: &Tensor, log_prior: &Tensor, iterations: usize) -> Tensor {
    let kind = r.kind();
    let impossible = log_p.isneginf().unsqueeze(1);
    let safe_p = log_p.masked_fill(&log_p.isneginf(), 0.0).unsqueeze(1);
    let log_pi = log_prior.view([1, -1, 1]);
    let neg_inf = f64::NEG_INFINITY;
    // Impossible columns are -inf throughout; every other entry stays finite.
    let mut r = r.masked_fill(&impossible, neg_inf);
    let normalise_rows = |r: &Tensor| r + &log_pi - r.logsumexp(-1, true);
    for _ in 0..iterations {
        r = normalise_rows(&r);
        let finite = r.masked_fill(&impossible, 0.0);
        r = (&finite + &safe_p - finite.logsumexp(1, true)).masked_fill(&impossible, neg_inf);
    }
    // The proposal A (rows summing to pi_z) and the correction, all in log space.
    let log_a = normalise_rows(&r);
    let column_mass = log_a.masked_fill(&impossible, 0.0).logsumexp(1, true);
    let log_c = (&safe_p - column_mass).masked_fill(&impossible, neg_inf);
    let log_c = &log_c - log_c.amax(-1, true);
    let proposal = log_a.log_softmax(-1, kind) + &log_c;
    let kappa = proposal.logsumexp(-1, true);
    // log(1 - exp(kappa)) as log(-expm1(kappa)), exact near kappa = 0 (a converged Sinkhorn gives
    // kappa ~ 0); -inf where exp(kappa) rounds to 1, with the gradient kept off that branch.
    let rejected = kappa.exp().ge(1.0);
    let reject_mass = kappa.masked_fill(&rejected, -1.0).expm1().neg().log().masked_fill(&rejected, neg_inf);
    let fallback = (reject_mass + &safe_p).masked_fill(&impossible, neg_inf);
    let joint = proposal.masked_fill(&impossible, 0.0).logaddexp(&fallback.masked_fill(&impossible, 0.0));
    joint.masked_fill(&impossible, neg_inf).log_softmax(-1, kind)
}
