//! Bootstrap summaries as in the authors' notebook: B resamples with replacement of the n values,
//! one statistic per resample; reported as the mean of the B statistics and their 2.5% and 97.5%
//! quantiles (numpy's default linear interpolation).

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SepsisError};

/// A bootstrap estimate: mean over resamples and the 95% range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The mean of the bootstrap statistics.
    pub value: f64,
    /// Their 2.5% quantile.
    pub low: f64,
    /// Their 97.5% quantile.
    pub high: f64,
}

/// The q-quantile of non-empty `values` with linear interpolation between order statistics (numpy
/// default).
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = (lower + 1).min(sorted.len() - 1);
    sorted[lower] + (position - lower as f64) * (sorted[upper] - sorted[lower])
}

/// Summarises bootstrap statistics; errors when there are none.
pub fn summarize(statistics: &[f64]) -> Result<Estimate> {
    if statistics.is_empty() {
        return Err(SepsisError::ZeroCount { what: "bootstrap statistics" });
    }
    let value = statistics.iter().sum::<f64>() / statistics.len() as f64;
    Ok(Estimate { value, low: quantile(statistics, 0.025), high: quantile(statistics, 0.975) })
}

/// `resamples` bootstrap statistics: each draws n indices with replacement and applies `statistic`
/// to them; a statistic of `None` (undefined on that resample) is left out.
pub fn resample<R: Rng + ?Sized>(
    n: usize,
    resamples: usize,
    rng: &mut R,
    mut statistic: impl FnMut(&[usize]) -> Option<f64>,
) -> Result<Vec<f64>> {
    if n == 0 || resamples == 0 {
        return Err(SepsisError::ZeroCount { what: "bootstrap sample or resample count" });
    }
    let mut indices = vec![0; n];
    let mut out = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        indices.iter_mut().for_each(|i| *i = rng.random_range(0..n));
        out.extend(statistic(&indices));
    }
    Ok(out)
}

/// The bootstrap estimate of a mean.
pub fn bootstrap_mean<R: Rng + ?Sized>(
    values: &[f64],
    resamples: usize,
    rng: &mut R,
) -> Result<Estimate> {
    let stats = resample(values.len(), resamples, rng, |idx| {
        Some(idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64)
    })?;
    summarize(&stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], 0.025) = 1.075; 0.975 -> 3.925.
        assert!((quantile(&[4.0, 1.0, 3.0, 2.0], 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&[4.0, 1.0, 3.0, 2.0], 0.975) - 3.925).abs() < 1e-12);
        assert_eq!(quantile(&[7.0], 0.5), 7.0);
        assert!(summarize(&[]).is_err());
    }
}
