//! The network of both gadgets: input softmax(l), hidden dense layers with sigmoid, a dense output
//! reshaped to a latent-by-outcome matrix R (official-gadgets.md section 7.1).
//!
//! Initialisation is flax's default, drawn from our own seeded generator so that the same seed gives
//! the same weights on every device and whatever else uses libtorch's global generator: kernels
//! lecun-normal (a normal truncated to two standard deviations, scaled to variance 1 / fan_in), biases
//! zero.
//!
//! A stacked network ([`Mlp::new`] with several generators) holds R independent networks of the same
//! widths as `[R, out, in]` kernels and `[R, out]` biases, each drawn from its run's generator exactly
//! as that run's own network would be, and runs them in one batched product over interleaved rows
//! (row i of the input goes through network i mod R; `crate::stack`).

use gumbel_core::rng::SeededRng;
use rand_distr::{Distribution, StandardNormal};
use tch::{nn, Kind, Tensor};

use crate::error::Result;

/// Standard deviation of a standard normal truncated to [-2, 2] (flax's correction constant).
const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;

/// A multilayer perceptron over probability vectors, or a stack of R of them.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<nn::Linear>,
    /// R: 1 for one network (`[out, in]` kernels), more for a stack (`[R, out, in]`).
    runs: i64,
}

impl Mlp {
    /// Registers the layers under `path`: widths `input -> hidden... -> output`, one network per
    /// generator of `rngs` (each drawing its layers in order, as a single network does).
    pub fn new(
        path: &nn::Path,
        input: usize,
        hidden: &[usize],
        output: usize,
        rngs: &mut [SeededRng],
    ) -> Result<Self> {
        let widths: Vec<usize> =
            std::iter::once(input).chain(hidden.iter().copied()).chain([output]).collect();
        let runs = rngs.len() as i64;
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(index, pair)| {
                let sub = path.sub(format!("layer{index}"));
                let kernels: Vec<Tensor> =
                    rngs.iter_mut().map(|rng| lecun_normal(pair[1], pair[0], rng)).collect();
                let (kernel, bias_shape) = match kernels.as_slice() {
                    [one] => (one.shallow_clone(), vec![pair[1] as i64]),
                    _ => (Tensor::stack(&kernels, 0), vec![runs, pair[1] as i64]),
                };
                let ws = sub.f_var_copy("weight", &kernel)?;
                let bs = sub.f_zeros("bias", &bias_shape)?;
                Ok(nn::Linear { ws, bs: Some(bs) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers, runs })
    }

    /// R = dense(sigmoid(... sigmoid(dense(softmax(l))))) for normalised log-probabilities `log_p` of
    /// shape `[B, K]`; returns `[B, output]` in f32. In a stack of R networks, row i goes through
    /// network i mod R (B a multiple of R).
    pub fn forward(&self, log_p: &Tensor) -> Tensor {
        let probs = log_p.to_kind(Kind::Float).exp();
        let last = self.layers.len() - 1;
        // A stack's rows as [R, B / R, in]: each network's rows in one matrix.
        let mut value = if self.runs == 1 {
            probs
        } else {
            probs.view([-1, self.runs, probs.size()[1]]).transpose(0, 1)
        };
        for (index, layer) in self.layers.iter().enumerate() {
            value = match (&layer.bs, self.runs) {
                (Some(bias), runs) if runs > 1 => {
                    bias.unsqueeze(1).baddbmm(&value, &layer.ws.transpose(1, 2), 1.0, 1.0)
                }
                _ => value.linear(&layer.ws, layer.bs.as_ref()),
            };
            if index < last {
                value = value.sigmoid();
            }
        }
        if self.runs == 1 {
            value
        } else {
            let width = value.size()[2];
            value.transpose(0, 1).reshape([-1, width])
        }
    }

    /// Sets the output layer to zero weights and the given bias (a constant R for every input).
    pub fn set_output(&mut self, bias: &Tensor) {
        if let Some(layer) = self.layers.last_mut() {
            tch::no_grad(|| {
                let _ = layer.ws.zero_();
                if let Some(bs) = layer.bs.as_mut() {
                    bs.copy_(&bias.to_device(bs.device()));
                }
            });
        }
    }
}

/// A `[rows, cols]` lecun-normal kernel (fan_in = cols) from `rng`.
fn lecun_normal(rows: usize, cols: usize, rng: &mut SeededRng) -> Tensor {
    let scale = (1.0 / cols as f64).sqrt() / TRUNCATED_STD;
    let values: Vec<f32> = (0..rows * cols)
        .map(|_| loop {
            let z: f64 = StandardNormal.sample(rng);
            if z.abs() <= 2.0 {
                break (z * scale) as f32;
            }
        })
        .collect();
    Tensor::from_slice(&values).reshape([rows as i64, cols as i64])
}
