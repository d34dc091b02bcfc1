//! The Gumbel-max mechanism (Oberst & Sontag 2019): x = argmax(log p + g), y = argmax(log q + g) with
//! one shared noise vector g; Monte Carlo couplings and counterfactual sampling.
//!
//! Sampling uses the exponential race: with E_i = exp(-g_i) ~ Exp(1), argmax(log p_i + g_i) =
//! argmin(E_i / p_i), which needs no logarithms in the hot loop.

use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, Exp1};

use crate::categorical::Categorical;
use crate::coupling::Coupling;
use crate::error::{CoreError, Result};
use crate::gumbel::top_down_posterior_into;
use crate::logspace::argmax;
use crate::{exact, montecarlo};

/// A Gumbel-max SCM over K outcomes with observational distribution p and interventional q.
#[derive(Debug, Clone)]
pub struct GumbelMax {
    p: Categorical,
    q: Categorical,
    /// 1 / p_i (`inf` for impossible outcomes, which then never win the race).
    inv_p: Vec<f64>,
    /// 1 / q_i.
    inv_q: Vec<f64>,
}

impl GumbelMax {
    /// The mechanism for the pair (p, q); errors when their lengths differ.
    pub fn new(p: Categorical, q: Categorical) -> Result<Self> {
        p.check_same_len(&q)?;
        let inv = |c: &Categorical| c.log_probs().iter().map(|l| (-l).exp()).collect();
        Ok(Self { inv_p: inv(&p), inv_q: inv(&q), p, q })
    }

    /// p.
    pub fn p(&self) -> &Categorical {
        &self.p
    }

    /// q.
    pub fn q(&self) -> &Categorical {
        &self.q
    }

    /// K.
    pub fn len(&self) -> usize {
        self.p.len()
    }

    /// Always false: a mechanism has at least one outcome.
    pub fn is_empty(&self) -> bool {
        self.p.is_empty()
    }

    /// One pair (x, y) from the same noise (common random numbers).
    pub fn sample_pair<R: Rng + ?Sized>(&self, rng: &mut R) -> (usize, usize) {
        let (mut x, mut y) = (0, 0);
        let (mut best_x, mut best_y) = (f64::INFINITY, f64::INFINITY);
        for (i, (ip, iq)) in self.inv_p.iter().zip(&self.inv_q).enumerate() {
            let e: f64 = Exp1.sample(rng);
            if e * ip < best_x {
                best_x = e * ip;
                x = i;
            }
            if e * iq < best_y {
                best_y = e * iq;
                y = i;
            }
        }
        (x, y)
    }

    /// One counterfactual draw of y given that x = `observed` was seen: noise from the top-down
    /// posterior under p, then argmax(log q + g).
    pub fn sample_counterfactual<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        observed: usize,
    ) -> Result<usize> {
        self.p.check_observation(observed)?;
        let mut noise = vec![0.0; self.len()];
        Ok(self.counterfactual_into(rng, observed, &mut noise))
    }

    fn counterfactual_into<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        observed: usize,
        noise: &mut [f64],
    ) -> usize {
        top_down_posterior_into(rng, self.p.log_probs(), observed, noise);
        for (g, l) in noise.iter_mut().zip(self.q.log_probs()) {
            *g += l;
        }
        argmax(noise)
    }

    /// The joint estimated from `samples` shared-noise pairs drawn from `seed` (parallel, thread-count
    /// independent).
    pub fn estimate_coupling(&self, samples: u64, seed: u64) -> Result<Coupling> {
        if samples == 0 {
            return Err(CoreError::ZeroCount { what: "samples" });
        }
        let k = self.len();
        let counts = montecarlo::count(samples, seed, k * k, |rng| {
            let (x, y) = self.sample_pair(rng);
            x * k + y
        });
        Coupling::from_counts(
            &Array2::from_shape_vec((k, k), counts).map_err(|_| CoreError::Empty)?,
        )
    }

    /// The histogram (as frequencies) of `samples` counterfactual draws given x = `observed`.
    pub fn counterfactual_histogram(
        &self,
        observed: usize,
        samples: u64,
        seed: u64,
    ) -> Result<Vec<f64>> {
        self.p.check_observation(observed)?;
        if samples == 0 {
            return Err(CoreError::ZeroCount { what: "samples" });
        }
        let counts = montecarlo::count(samples, seed, self.len(), |rng| {
            let mut noise = vec![0.0; self.len()];
            self.counterfactual_into(rng, observed, &mut noise)
        });
        Ok(counts.into_iter().map(|c| c as f64 / samples as f64).collect())
    }

    /// The exact joint (closed form, [`exact::gumbel_max_coupling`]).
    pub fn exact_coupling(&self) -> Result<Coupling> {
        exact::gumbel_max_coupling(&self.p, &self.q)
    }

    /// The exact counterfactual distribution P(y | x = observed).
    pub fn exact_counterfactual(&self, observed: usize) -> Result<Vec<f64>> {
        exact::counterfactual_distribution(&self.p, &self.q, observed)
    }
}
