//! Conversions between ndarray (f64) and libtorch tensors (f32), and seeded parameter initialisation
//! (drawn from our own generator, so that a model does not depend on libtorch's global seed).

use ndarray::Array2;
use rand::Rng;
use tch::{nn, Kind, Tensor};

use crate::error::{RegimeVaeError, Result};

/// A `[rows, cols]` f32 tensor holding `x`.
pub fn from_array(x: &Array2<f64>) -> Result<Tensor> {
    let (r, c) = x.dim();
    let data: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    Ok(Tensor::f_from_slice(&data)?.f_view([r as i64, c as i64])?)
}

/// A 2-D tensor as an f64 array.
pub fn to_array(t: &Tensor) -> Result<Array2<f64>> {
    let (r, c) = t.size2()?;
    let flat: Vec<f32> =
        Vec::<f32>::try_from(&t.f_to_kind(Kind::Float)?.f_contiguous()?.f_view([-1])?)?;
    Array2::from_shape_vec((r as usize, c as usize), flat.into_iter().map(f64::from).collect())
        .map_err(|e| RegimeVaeError::Shape(e.to_string()))
}

/// A tensor of `shape` with entries from U(-bound, bound).
pub fn uniform<R: Rng + ?Sized>(shape: &[i64], bound: f64, rng: &mut R) -> Result<Tensor> {
    let count: i64 = shape.iter().product();
    let data: Vec<f32> = (0..count).map(|_| rng.random_range(-bound..=bound) as f32).collect();
    Ok(Tensor::f_from_slice(&data)?.f_view(shape)?)
}

/// A trainable variable under `path` initialised with `init`.
pub fn variable(path: &nn::Path, name: &str, init: &Tensor) -> Result<Tensor> {
    Ok(path.f_var_copy(name, init)?)
}
