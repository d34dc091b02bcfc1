//! Gadget 1 (the paper's Section 5.1, Appendix G): Gumbel-max over a learned auxiliary joint
//! pi(x, z | p) on K x K whose z-marginal is p, with the noise transposed for q (Eqs. 10-11).
//!
//! The network's `[K, K]` output R (rows z, columns x) becomes
//! log pi(x, z | p) = R_zx - logsumexp_z R_.x + log p_x, so sum_z pi(x, z | p) = p(x) for any R and any
//! logits (official-gadgets.md section 2). One network serves p and q (the authors' JAX code) unless the
//! configuration asks for separate ones (the paper's Appendix I).

use gumbel_core::rng::SeededRng;
use tch::{nn, Kind, Tensor};

use crate::batch::PairBatch;
use crate::config::GadgetConfig;
use crate::error::Result;
use crate::mlp::Mlp;
use crate::noise::{gumbel, top_down, uniform, NoiseSource};

/// Offset of the off-diagonal entries of R in the Gumbel-max parameters: exp(-1e4) is zero in f32.
const OFF_DIAGONAL: f64 = -1.0e4;

/// Gadget 1's parameters: one network, or one for p and one for q.
#[derive(Debug)]
pub struct Gadget1 {
    nets: Vec<Mlp>,
    outcomes: i64,
}

impl Gadget1 {
    /// Registers the parameters under `path`.
    pub fn new(path: &nn::Path, config: &GadgetConfig, rngs: &mut [SeededRng]) -> Result<Self> {
        let k = config.outcomes;
        let names: &[&str] = if config.separate_networks { &["net_p", "net_q"] } else { &["net"] };
        let nets = names
            .iter()
            .map(|name| Mlp::new(&path.sub(*name), k, &config.hidden, k * k, rngs))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { nets, outcomes: k as i64 })
    }

    /// log pi(x, z | p), `[B, K (z), K (x)]`, from network `net` for normalised `log_p` `[B, K]`.
    fn log_joint_with(&self, net: &Mlp, log_p: &Tensor) -> Tensor {
        let k = self.outcomes;
        let r = in_kind(net.forward(log_p).view([-1, k, k]), log_p.kind());
        &r - r.logsumexp(1, true) + log_p.unsqueeze(1)
    }

    /// log pi(x, z | p) and log pi(y, z | q), from one pass over both when the network is shared.
    pub fn both_joints(&self, batch: &PairBatch) -> (Tensor, Tensor) {
        match self.nets.as_slice() {
            [net] => {
                let both = self.log_joint_with(net, &Tensor::cat(&[&batch.log_p, &batch.log_q], 0));
                let b = batch.len() as i64;
                (both.narrow(0, 0, b), both.narrow(0, b, b))
            }
            nets => (
                self.log_joint_with(&nets[0], &batch.log_p),
                self.log_joint_with(&nets[nets.len() - 1], &batch.log_q),
            ),
        }
    }

    /// log pi(x, z | p), `[B, K (z), K (x)]`, for normalised `log_p` `[B, K]` (p's network).
    pub fn log_joint(&self, log_p: &Tensor) -> Tensor {
        self.log_joint_with(&self.nets[0], log_p)
    }

    /// Marginal sum_z pi(x, z | p), `[B, K]` probabilities (equal to p by construction).
    pub fn marginal(&self, log_p: &Tensor) -> Tensor {
        self.log_joint(log_p).logsumexp(1, false).exp()
    }

    /// Sets the output layers so that pi(x = k, z = k | p) = p_k and every other cell is (numerically)
    /// zero: Gadget 1 is then the Gumbel-max mechanism (Section 5.1, last paragraph).
    pub fn set_gumbel_max_parameters(&mut self) {
        let k = self.outcomes;
        let eye = Tensor::eye(k, (Kind::Float, tch::Device::Cpu));
        let bias: Tensor = (eye.ones_like() - &eye).g_mul_scalar(OFF_DIAGONAL).view([k * k]);
        for net in &mut self.nets {
            net.set_output(&bias);
        }
    }

    /// `[B, n, K]` hard or relaxed samples of x and y from shared Gumbels G (Eqs. 10-11): x from
    /// max_z (log pi(x, z | p) + G_zx), y from max_z (log pi(y, z | q) + G_yz) (G transposed). The
    /// relaxation is a softmax over outcomes after the hard max over z (the authors' code).
    pub fn pairs(
        &self,
        batch: &PairBatch,
        n: i64,
        noise: &mut dyn NoiseSource,
        temperature: Option<f64>,
    ) -> (Tensor, Tensor) {
        let (joint_p, joint_q) = self.both_joints(batch);
        let k = self.outcomes;
        let g = in_kind(
            gumbel(noise, &[batch.len() as i64, n, k, k], joint_p.device()),
            joint_p.kind(),
        );
        let scores_p = (joint_p.unsqueeze(1) + &g).amax(2, false);
        let scores_q = (joint_q.unsqueeze(1) + g.transpose(-1, -2)).amax(2, false);
        (decide(scores_p, temperature), decide(scores_q, temperature))
    }

    /// Posterior noise G `[B, n, K, K]` (rows z, columns x) given x_obs `[B, n]` (Appendix G): the
    /// winning cell's latent row i* ~ pi(z | x_obs, p), then the top-down posterior of the K^2 Gumbels
    /// of the flattened joint with argmax at (i*, x_obs).
    fn posterior_noise(
        &self,
        joint_p: &Tensor,
        x_obs: &Tensor,
        noise: &mut dyn NoiseSource,
    ) -> Tensor {
        let k = self.outcomes;
        let (b, n) = (joint_p.size()[0], x_obs.size()[1]);
        let column =
            joint_p.gather(2, &x_obs.unsqueeze(1).expand([b, k, n], false), false).transpose(1, 2);
        let g = in_kind(gumbel(noise, &[b, n, k], joint_p.device()), joint_p.kind());
        let row = (column + g).argmax(-1, false);
        let cell = row * k + x_obs;
        let flat = joint_p.view([b, 1, k * k]).expand([b, n, k * k], false);
        let u = in_kind(uniform(noise, &[b, n, k * k], joint_p.device()), joint_p.kind());
        top_down(&flat, &cell, &u).view([b, n, k, k])
    }

    /// Counterfactual y `[B, n]` given x_obs `[B, n]`: posterior noise, transposed, run through q's joint.
    pub fn counterfactuals(
        &self,
        batch: &PairBatch,
        x_obs: &Tensor,
        noise: &mut dyn NoiseSource,
        temperature: Option<f64>,
    ) -> Tensor {
        let (joint_p, joint_q) = self.both_joints(batch);
        let g = self.posterior_noise(&joint_p, x_obs, noise);
        let scores_q = (joint_q.unsqueeze(1) + g.transpose(-1, -2)).amax(2, false);
        decide(scores_q, temperature)
    }
}

/// `t` in `kind`: itself when it is already, without a conversion (an operation on the device's
/// queue).
pub(crate) fn in_kind(t: Tensor, kind: Kind) -> Tensor {
    if t.kind() == kind {
        t
    } else {
        t.to_kind(kind)
    }
}

/// Argmax (hard) or softmax at `temperature` (relaxed) over the last axis of `scores` (at
/// temperature 1, the paper's, without the division by 1, which changes no bit).
pub(crate) fn decide(scores: Tensor, temperature: Option<f64>) -> Tensor {
    match temperature {
        None => scores.argmax(-1, false),
        Some(1.0) => scores.softmax(-1, scores.kind()),
        Some(tau) => (&scores / tau).softmax(-1, scores.kind()),
    }
}
