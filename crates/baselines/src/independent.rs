//! The independent coupling pi = p q^T: x and y drawn with independent noise.

use gumbel_core::{Categorical, Coupling};
use ndarray::Array2;

use crate::error::Result;

/// pi_ij = p_i q_j (official-gadgets.md section 1; Table 1 row "Independent").
pub fn independent_coupling(p: &Categorical, q: &Categorical) -> Result<Coupling> {
    p.check_same_len(q)?;
    let (pp, qq) = (p.probs(), q.probs());
    let joint = Array2::from_shape_fn((p.len(), q.len()), |(i, j)| pp[i] * qq[j]);
    // p and q each sum to one within rounding; renormalising keeps the invariant of Coupling.
    let total = joint.sum();
    Ok(Coupling::new(joint / total)?)
}
