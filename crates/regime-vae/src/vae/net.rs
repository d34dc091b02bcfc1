//! The two networks of the regime VAE (seed 002, Figures 3 and 4).
//!
//! Encoder: `Linear(N, H) - ReLU - Linear(H, H) - ReLU - Linear(H, L)` giving the logits of `q(z | x)`.
//! Decoder: one `Linear(|Pa(i)| + C_i, h) - ReLU - Linear(h, h) - ReLU - Linear(h, 1)` per node `i`, fed the
//! observed parents of node `i` in the TRUE DAG and the code (`C_i` = the whole one-hot regime code, or
//! node `i`'s own boolean). The `N` per-node networks are evaluated together: the first layer is one
//! matrix product whose weight is masked so that node `i`'s block sees only its parents and its code,
//! the next two are batched products over nodes. Inputs are standardised with the training data's
//! per-node mean and scale, and each output is mapped back to the raw scale.

use ndarray::Array2;
use rand::Rng;
use tch::{nn, Kind, Tensor};

use crate::dag::Dag;
use crate::error::Result;
use crate::vae::config::LatentKind;
use crate::vae::tensor::{from_array, uniform, variable};

/// Soft clamp of the logits to (-30, 30): keeps `q(z | x)` and its KL finite on extreme inputs while
/// leaving ordinary logits unchanged in effect.
const LOGIT_BOUND: f64 = 30.0;

/// The encoder MLP.
#[derive(Debug)]
pub struct Encoder {
    layers: Vec<(Tensor, Tensor)>,
}

impl Encoder {
    /// Builds an encoder from `inputs` to `outputs` logits with two hidden layers of `hidden`.
    pub fn new<R: Rng + ?Sized>(
        path: &nn::Path,
        inputs: usize,
        hidden: usize,
        outputs: usize,
        rng: &mut R,
    ) -> Result<Self> {
        let dims = [inputs, hidden, hidden, outputs];
        let mut layers = Vec::with_capacity(3);
        for (l, pair) in dims.windows(2).enumerate() {
            let bound = 1.0 / (pair[0] as f64).sqrt();
            let w = variable(
                path,
                &format!("w{l}"),
                &uniform(&[pair[0] as i64, pair[1] as i64], bound, rng)?,
            )?;
            let b = variable(
                path,
                &format!("b{l}"),
                &Tensor::f_zeros([pair[1] as i64], (Kind::Float, tch::Device::Cpu))?,
            )?;
            layers.push((w, b));
        }
        Ok(Self { layers })
    }

    /// Logits `[batch, outputs]` of standardised inputs `xs` `[batch, inputs]`.
    pub fn logits(&self, xs: &Tensor) -> Result<Tensor> {
        let mut h = xs.shallow_clone();
        for (l, (w, b)) in self.layers.iter().enumerate() {
            h = h.f_mm(w)?.f_add(b)?;
            if l + 1 < self.layers.len() {
                h = h.f_relu()?;
            }
        }
        Ok(h.f_div_scalar(LOGIT_BOUND)?.f_tanh()?.f_mul_scalar(LOGIT_BOUND)?)
    }
}

/// The `N` node decoders, evaluated together.
#[derive(Debug)]
pub struct Decoder {
    nodes: i64,
    hidden: i64,
    /// `[N + C, N * h]`, already multiplied by its mask in the forward pass.
    w1: Tensor,
    mask: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
    w3: Tensor,
    b3: Tensor,
}

impl Decoder {
    /// Width of the code: `N + 1` for the categorical latent, `N` booleans otherwise.
    pub fn code_width(latent: LatentKind, nodes: usize) -> usize {
        match latent {
            LatentKind::Categorical => nodes + 1,
            LatentKind::PerMechanism => nodes,
        }
    }

    /// Builds the decoders of `dag` for `latent` codes with `hidden` units per layer.
    pub fn new<R: Rng + ?Sized>(
        path: &nn::Path,
        dag: &Dag,
        latent: LatentKind,
        hidden: usize,
        rng: &mut R,
    ) -> Result<Self> {
        let n = dag.n();
        let c = Self::code_width(latent, n);
        let d = n + c;
        let sees = |input: usize, node: usize| -> bool {
            if input < n {
                dag.parents(node).contains(&input)
            } else {
                latent == LatentKind::Categorical || input - n == node
            }
        };
        let mut mask = Array2::zeros((d, n * hidden));
        let mut w1 = Array2::zeros((d, n * hidden));
        for node in 0..n {
            let fan_in = (0..d).filter(|&input| sees(input, node)).count().max(1);
            let bound = 1.0 / (fan_in as f64).sqrt();
            for input in (0..d).filter(|&input| sees(input, node)) {
                for h in 0..hidden {
                    mask[[input, node * hidden + h]] = 1.0;
                    w1[[input, node * hidden + h]] = rng.random_range(-bound..=bound);
                }
            }
        }
        let (ni, hi) = (n as i64, hidden as i64);
        let cpu = (Kind::Float, tch::Device::Cpu);
        let bound = 1.0 / (hidden as f64).sqrt();
        Ok(Self {
            nodes: ni,
            hidden: hi,
            w1: variable(path, "w1", &from_array(&w1)?)?,
            mask: from_array(&mask)?,
            b1: variable(path, "b1", &Tensor::f_zeros([ni, 1, hi], cpu)?)?,
            w2: variable(path, "w2", &uniform(&[ni, hi, hi], bound, rng)?)?,
            b2: variable(path, "b2", &Tensor::f_zeros([ni, 1, hi], cpu)?)?,
            w3: variable(path, "w3", &uniform(&[ni, hi, 1], bound, rng)?)?,
            b3: variable(path, "b3", &Tensor::f_zeros([ni, 1, 1], cpu)?)?,
        })
    }

    /// Standardised conditional means `[batch, N]` from standardised data `xs` `[batch, N]` and codes `[batch, C]`.
    pub fn means(&self, xs: &Tensor, code: &Tensor) -> Result<Tensor> {
        let batch = xs.size()[0];
        let input = Tensor::f_cat(&[xs, code], 1)?;
        let h1 = input
            .f_mm(&self.w1.f_mul(&self.mask)?)?
            .f_view([batch, self.nodes, self.hidden])?
            .f_transpose(0, 1)?
            .f_add(&self.b1)?
            .f_relu()?;
        let h2 = h1.f_bmm(&self.w2)?.f_add(&self.b2)?.f_relu()?;
        let out = h2.f_bmm(&self.w3)?.f_add(&self.b3)?; // [N, batch, 1]
        Ok(out.f_squeeze_dim(2)?.f_transpose(0, 1)?)
    }
}
