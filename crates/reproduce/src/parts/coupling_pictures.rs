//! Figure 1b and supplement Figure 5: heatmaps of the coupling matrices of every method.

use anyhow::Result;
use gumbel_core::{Categorical, Coupling};
use ndarray::Array2;

/// The maximal coupling's joint (TEMPORARY until baselines lands).
pub fn maximal(p: &Categorical, q: &Categorical) -> Result<Coupling> {
    let (a, b) = (p.probs(), q.probs());
    let k = a.len();
    let m: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x.min(*y)).collect();
    let tv = 1.0 - m.iter().sum::<f64>();
    let mut j = Array2::zeros((k, k));
    for x in 0..k {
        for y in 0..k {
            j[[x, y]] = if x == y { m[x] } else { 0.0 } + if tv > 0.0 { (a[x] - m[x]) * (b[y] - m[y]) / tv } else { 0.0 };
        }
    }
    Ok(Coupling::new(j)?)
}
