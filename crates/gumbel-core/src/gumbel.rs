//! Gumbel noise: sampling, truncation, and the top-down posterior given an observed argmax
//! (Maddison, Tarlow & Minka 2014; Oberst & Sontag 2019, Section 3).

use rand::Rng;
use rand_distr::{Distribution, Exp1};

use crate::categorical::Categorical;
use crate::error::Result;
use crate::logspace::logaddexp;

/// A draw of Gumbel(`location`): `location - log E` with E ~ Exp(1) (equivalently
/// `location - log(-log U)` with U uniform on (0, 1)).
pub fn sample_gumbel<R: Rng + ?Sized>(rng: &mut R, location: f64) -> f64 {
    let e: f64 = Exp1.sample(rng);
    location - e.ln()
}

/// A draw of Gumbel(`location`) conditioned to be at most `bound`.
///
/// Inverting the truncated CDF exp(-exp(-(g - mu)) + exp(-(b - mu))) at U gives
/// g = mu - log(exp(mu - b) - log U) = -logaddexp(-b, -mu + log E) with E = -log U ~ Exp(1),
/// the second form stable for any mu and b. The result is strictly below `bound` (rounding that
/// would reach it is pushed one ulp down), so an argmax over truncated draws is never a tie.
pub fn sample_truncated_gumbel<R: Rng + ?Sized>(rng: &mut R, location: f64, bound: f64) -> f64 {
    let e: f64 = Exp1.sample(rng);
    let g = -logaddexp(-bound, -location + e.ln());
    if g >= bound {
        bound.next_down()
    } else {
        g
    }
}

/// A draw of the Gumbel noise g from its posterior given that `observed` = argmax_i (log p_i + g_i).
///
/// Top-down (Oberst & Sontag 2019, Section 3.2; official-gadgets.md section 1): the maximum
/// M = max_i (log p_i + g_i) is Gumbel(logsumexp log p) = Gumbel(0) and independent of the argmax;
/// the observed outcome gets g_k = M - log p_k; every other possible outcome i gets
/// g_i = G_i - log p_i with G_i ~ Gumbel(log p_i) truncated below M; impossible outcomes (p_i = 0)
/// are unconstrained, g_i ~ Gumbel(0). Adding these g to the log-probabilities of another
/// distribution and taking the argmax is one counterfactual draw.
///
/// Errors when `observed` is out of range or has probability zero.
pub fn top_down_posterior<R: Rng + ?Sized>(
    rng: &mut R,
    p: &Categorical,
    observed: usize,
) -> Result<Vec<f64>> {
    p.check_observation(observed)?;
    let mut noise = vec![0.0; p.len()];
    top_down_posterior_into(rng, p.log_probs(), observed, &mut noise);
    Ok(noise)
}

/// [`top_down_posterior`] into a caller's buffer, without validation (hot loops validate once).
pub(crate) fn top_down_posterior_into<R: Rng + ?Sized>(
    rng: &mut R,
    log_p: &[f64],
    observed: usize,
    noise: &mut [f64],
) {
    let max = sample_gumbel(rng, 0.0);
    for (i, (&l, g)) in log_p.iter().zip(noise.iter_mut()).enumerate() {
        *g = if i == observed {
            max - l
        } else if l == f64::NEG_INFINITY {
            sample_gumbel(rng, 0.0)
        } else {
            sample_truncated_gumbel(rng, l, max) - l
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logspace::argmax;
    use crate::rng::from_seed;

    /// Euler-Mascheroni constant: the mean of Gumbel(0).
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

    #[test]
    fn gumbel_mean_and_variance_match_theory() {
        let mut rng = from_seed(1);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| sample_gumbel(&mut rng, 1.5)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n as f64;
        let true_var = std::f64::consts::PI.powi(2) / 6.0;
        // 5 standard errors of the mean; the variance's standard error uses the Gumbel's excess
        // kurtosis 12/5: sd(var estimate) = var * sqrt((kurtosis - 1) / n) with kurtosis 5.4.
        assert!((mean - (1.5 + EULER_GAMMA)).abs() < 5.0 * (true_var / n as f64).sqrt());
        assert!((var - true_var).abs() < 5.0 * true_var * (4.4 / n as f64).sqrt());
    }

    #[test]
    fn truncated_gumbel_stays_below_bound_and_matches_its_cdf() {
        let mut rng = from_seed(2);
        let (mu, b) = (0.3, 0.8);
        let n = 100_000;
        let draws: Vec<f64> = (0..n).map(|_| sample_truncated_gumbel(&mut rng, mu, b)).collect();
        assert!(draws.iter().all(|&g| g < b));
        // P(G <= t | G <= b) = F(t) / F(b) with F(t) = exp(-exp(-(t - mu))).
        let cdf = |t: f64| (-(-(t - mu)).exp()).exp();
        for t in [-1.0, 0.0, 0.5] {
            let exact = cdf(t) / cdf(b);
            let freq = draws.iter().filter(|&&g| g <= t).count() as f64 / n as f64;
            assert!(
                (freq - exact).abs() < 5.0 * (exact * (1.0 - exact) / n as f64).sqrt(),
                "t = {t}"
            );
        }
        // Extreme locations far above the bound stay finite and below it.
        assert!(sample_truncated_gumbel(&mut rng, 800.0, -5.0) < -5.0);
    }

    #[test]
    fn posterior_argmax_is_always_the_observation() {
        let mut rng = from_seed(3);
        let p = Categorical::from_logits(&[0.2, -1.0, f64::NEG_INFINITY, 2.5, -30.0]).unwrap();
        for observed in [0, 1, 3, 4] {
            for _ in 0..2_000 {
                let g = top_down_posterior(&mut rng, &p, observed).unwrap();
                assert!(g.iter().all(|v| v.is_finite()));
                let perturbed: Vec<f64> =
                    p.log_probs().iter().zip(&g).map(|(l, g)| l + g).collect();
                assert_eq!(argmax(&perturbed), observed);
            }
        }
        assert!(top_down_posterior(&mut rng, &p, 2).is_err());
        assert!(top_down_posterior(&mut rng, &p, 5).is_err());
    }

    #[test]
    fn posterior_noise_reproduces_the_prior_when_averaged_over_observations() {
        // Drawing x ~ p and then g from its posterior given x yields g ~ Gumbel(0) i.i.d.; check the
        // mean of one coordinate within 5 standard errors.
        let mut rng = from_seed(4);
        let p = Categorical::from_probs(&[0.1, 0.6, 0.3]).unwrap();
        let n = 100_000;
        let mut sum = [0.0; 3];
        for _ in 0..n {
            let x = p.sample(&mut rng);
            let g = top_down_posterior(&mut rng, &p, x).unwrap();
            for (s, v) in sum.iter_mut().zip(&g) {
                *s += v;
            }
        }
        let se = (std::f64::consts::PI.powi(2) / 6.0 / n as f64).sqrt();
        for s in sum {
            assert!((s / n as f64 - EULER_GAMMA).abs() < 5.0 * se);
        }
    }
}
