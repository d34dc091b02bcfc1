//! Summary statistics of the tables: means, standard deviations as the authors compute them, and
//! differences in units of the paper's spread.

/// The arithmetic mean (NaN for no values).
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The population standard deviation (ddof 0, numpy's default, as the authors report).
pub fn std_ddof0(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// The standard error of the mean as the authors report it: the ddof-0 standard deviation over sqrt(n).
pub fn standard_error_ddof0(x: &[f64]) -> f64 {
    std_ddof0(x) / (x.len() as f64).sqrt()
}

/// `difference / spread` formatted for a table ("+1.3σ"); "–" when the spread is zero or missing.
pub fn spread_units(difference: f64, spread: f64) -> String {
    if spread > 0.0 && spread.is_finite() && difference.is_finite() {
        format!("{:+.1}σ", difference / spread)
    } else {
        "–".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_std_and_spread_units() {
        assert!((std_ddof0(&[1.0, 3.0]) - 1.0).abs() < 1e-15);
        assert!((standard_error_ddof0(&[1.0, 3.0, 1.0, 3.0]) - 0.5).abs() < 1e-15);
        assert_eq!(spread_units(0.3, 0.1), "+3.0σ");
        assert_eq!(spread_units(-0.05, 0.1), "-0.5σ");
        assert_eq!(spread_units(0.3, 0.0), "–");
    }
}
