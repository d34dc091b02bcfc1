//! JAX's `random_bits` (Threefry-2x32, 20 rounds; [`gumbel_core::jax_random`]) for many keys at once,
//! computed two ways that give the same bits: in libtorch tensor operations on the device that needs
//! them ([`Generator::Tensor`]), or by the scalar block function on the CPU's threads
//! ([`Generator::Scalar`], [`gumbel_core::jax_random::BitsPiece`]: 64 blocks at a time in vector
//! registers, each word written once, straight into the output, uniforms made in the same pass).
//!
//! The tensor form holds each 32-bit word in an int64 tensor and uses only addition followed by
//! `& 0xFFFF_FFFF`, shifts, `|` and xor: integer operations that every libtorch backend computes
//! exactly, so the bits do not depend on the device (no multiplication, no floating point).

use gumbel_core::jax_random::{JaxKey, THREEFRY_PARITY, THREEFRY_ROTATIONS};
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::device::upload;

/// The low 32 bits of an int64.
const WORD: i64 = 0xFFFF_FFFF;

/// Blocks per task of the scalar generator (two words each).
const SCALAR_CHUNK: usize = 1 << 14;

/// Which computation produces the bits (the same bits either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// Tensor operations on the device the noise is used on: nothing crosses the bus.
    Tensor,
    /// The block function on rayon's threads, over lanes of blocks, then one copy to the device.
    Scalar,
}

impl Generator {
    /// The faster one for `device`: on a CPU the scalar generator (3 to 8 times the tensor form's
    /// speed, docs/gadgets.md "Noise on the device"), elsewhere the tensor form.
    pub fn for_device(device: Device) -> Self {
        match device {
            Device::Cpu => Self::Scalar,
            _ => Self::Tensor,
        }
    }

    /// `jax.random.bits(key, (n,))` for every key of `keys`, as int64 `[keys, n]` on `device`,
    /// each entry a 32-bit word in [0, 2^32).
    pub fn bits(self, keys: &[JaxKey], n: usize, device: Device) -> Tensor {
        match self {
            Self::Tensor => tensor_bits(keys, n, device),
            Self::Scalar => scalar_tensor(keys, n, device, i64::from),
        }
    }

    /// Uniforms strictly inside (0, 1), f32 `[keys, n]` on `device`: each word of
    /// [`Generator::bits`] through [`crate::noise::open_unit`] (exact in f32, so the same on every
    /// device).
    pub fn uniforms(self, keys: &[JaxKey], n: usize, device: Device) -> Tensor {
        match self {
            Self::Tensor => unit_of_words(&tensor_bits(keys, n, device)),
            Self::Scalar => scalar_tensor(keys, n, device, crate::noise::open_unit),
        }
    }
}

/// [`crate::noise::open_unit`] in tensor operations: ((w >> 9) + 1/2) / 2^23 in f32.
fn unit_of_words(words: &Tensor) -> Tensor {
    (words.bitwise_right_shift_tensor_scalar(9).to_kind(Kind::Float) + 0.5) * (1.0 / 8_388_608.0)
}

/// `jax.random.bits(key, (n,))` of every key of `keys`, each word through `map`, as `[keys, n]` on
/// `device`: made on rayon's threads in pieces of [`SCALAR_CHUNK`] blocks, written in place.
fn scalar_tensor<T, M>(keys: &[JaxKey], n: usize, device: Device, map: M) -> Tensor
where
    T: tch::kind::Element + Default + Clone + Send,
    M: Fn(u32) -> T + Sync,
{
    let mut values = vec![T::default(); keys.len() * n];
    let pieces: Vec<_> = keys
        .iter()
        .zip(values.chunks_mut(n.max(1)))
        .flat_map(|(key, row)| {
            key.bits_pieces(row, SCALAR_CHUNK).expect("at most 2^32 - 1 words per key and draw")
        })
        .collect();
    pieces.into_par_iter().for_each(|piece| piece.fill(&map));
    upload(&Tensor::from_slice(&values).view([keys.len() as i64, n as i64]), device)
}

/// `jax.random.bits(key, (n,))` for every key in int64 tensor operations on `device`, `[keys, n]`.
fn tensor_bits(keys: &[JaxKey], n: usize, device: Device) -> Tensor {
    tensor_bits_of(&upload(&key_tensor(keys), device), n)
}

/// `keys` as an int64 `[keys, 2]` tensor on the CPU, each word in [0, 2^32): what
/// [`key_tensor_uniforms`] takes.
pub(crate) fn key_tensor(keys: &[JaxKey]) -> Tensor {
    let words: Vec<i64> = keys.iter().flat_map(|k| k.0.map(i64::from)).collect();
    Tensor::from_slice(&words).view([-1, 2])
}

/// [`Generator::uniforms`] of the tensor form from keys already on the device (int64 `[keys, 2]`,
/// [`key_tensor`]): the same values, with nothing copied from the host, so a captured training step
/// can read its keys from a tensor written before each replay (`crate::noise::KeyedNoise`).
pub(crate) fn key_tensor_uniforms(keys: &Tensor, n: usize) -> Tensor {
    unit_of_words(&tensor_bits_of(keys, n))
}

/// `jax.random.bits(key, (n,))` for every key of int64 `keys` `[keys, 2]`, on their device.
fn tensor_bits_of(keys: &Tensor, n: usize) -> Tensor {
    let device = keys.device();
    let half = n.div_ceil(2) as i64;
    let (first, second) = (keys.select(1, 0).view([-1, 1]), keys.select(1, 1).view([-1, 1]));
    let parity = first.bitwise_xor_tensor(&second).bitwise_xor(i64::from(THREEFRY_PARITY));
    let schedule = [first, second, parity];
    let lanes = Tensor::arange(half, (Kind::Int64, device)).view([1, -1]);
    // The second word of block `lane` counts `lane + half`, or 0 for the pad of an odd n.
    let high = &lanes + half;
    let high = high.masked_fill(&high.ge(n as i64), 0);
    let mut x0 = (lanes + &schedule[0]).bitwise_and(WORD);
    let mut x1 = (high + &schedule[1]).bitwise_and(WORD);
    for injection in 1..=5_usize {
        for &r in &THREEFRY_ROTATIONS[(injection - 1) % 2] {
            let _ = x0.g_add_(&x1).bitwise_and_(WORD);
            // x1 = rotate_left(x1, r) ^ x0: the shifted-out bits above 32 are cleared last (x0 has
            // none, so the xor leaves them alone).
            let spilled = x1.bitwise_left_shift_tensor_scalar(i64::from(r));
            let _ = x1
                .bitwise_right_shift_tensor_scalar_(i64::from(32 - r))
                .bitwise_or_tensor_(&spilled)
                .bitwise_xor_tensor_(&x0)
                .bitwise_and_(WORD);
        }
        let _ = x0.g_add_(&schedule[injection % 3]).bitwise_and_(WORD);
        let _ = x1
            .g_add_(&schedule[(injection + 1) % 3])
            .g_add_scalar_(injection as i64)
            .bitwise_and_(WORD);
    }
    Tensor::cat(&[x0, x1], 1).narrow(1, 0, n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<JaxKey> {
        vec![JaxKey::from_seed(0), JaxKey::from_seed(42), JaxKey([0xFFFF_FFFF, 0x8000_0001])]
    }

    #[test]
    fn both_generators_give_jax_bits_bit_for_bit() {
        for n in [0, 1, 2, 3, 7, 64, 1001, 2 * SCALAR_CHUNK + 3] {
            let expected: Vec<i64> =
                keys().iter().flat_map(|k| k.bits(n).expect("bits")).map(i64::from).collect();
            for generator in [Generator::Tensor, Generator::Scalar] {
                let bits = generator.bits(&keys(), n, Device::Cpu);
                assert_eq!(bits.size(), [3, n as i64], "{generator:?} n {n}");
                let found = Vec::<i64>::try_from(bits.flatten(0, -1)).expect("int64");
                assert!(found == expected, "{generator:?} n {n}");
            }
        }
    }

    #[test]
    fn both_generators_give_the_same_uniforms_bit_for_bit() {
        let n = 999;
        let expected: Vec<u32> = keys()
            .iter()
            .flat_map(|k| k.bits(n).expect("bits"))
            .map(|w| crate::noise::open_unit(w).to_bits())
            .collect();
        for generator in [Generator::Tensor, Generator::Scalar] {
            let u = generator.uniforms(&keys(), n, Device::Cpu);
            assert_eq!(u.kind(), Kind::Float);
            let found: Vec<u32> = Vec::<f32>::try_from(u.flatten(0, -1))
                .expect("f32")
                .into_iter()
                .map(f32::to_bits)
                .collect();
            assert!(found == expected, "{generator:?}");
        }
    }
}
