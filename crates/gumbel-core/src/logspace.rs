//! Log-space arithmetic that treats `-inf` as log(0).

/// log(sum_i exp(x_i)), stable for large entries; `-inf` when every entry is `-inf` (or `x` is empty).
pub fn logsumexp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    max + x.iter().map(|&v| (v - max).exp()).sum::<f64>().ln()
}

/// log(exp(a) + exp(b)), stable, with `-inf` as the neutral element.
pub fn logaddexp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// The index of the largest entry (the first one on ties); `x` must not be empty.
pub fn argmax(x: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate().skip(1) {
        if v > x[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logsumexp_matches_direct_sum_and_handles_minus_infinity() {
        let x = [0.1_f64, -2.0, 3.5];
        let direct = x.iter().map(|v| v.exp()).sum::<f64>().ln();
        assert!((logsumexp(&x) - direct).abs() < 1e-12);
        assert_eq!(logsumexp(&[f64::NEG_INFINITY; 3]), f64::NEG_INFINITY);
        assert!((logsumexp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!((logaddexp(f64::NEG_INFINITY, 2.0) - 2.0).abs() < 1e-15);
        assert!((logaddexp(1.0, 2.0) - (1f64.exp() + 2f64.exp()).ln()).abs() < 1e-12);
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, f64::NEG_INFINITY]), 1);
    }
}
