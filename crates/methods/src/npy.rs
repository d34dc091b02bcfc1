//! NumPy `.npy` files (format versions 1.0 to 3.0), as far as pair files and the sepsis kernel need
//! them: the header of a little-endian float32 or float64 array in C order, its values row by row,
//! and a writer of float64 arrays.

use std::io::{Read, Write};
use std::path::Path;

use crate::{MethodError, Result};

/// What is wrong with an `.npy` header.
#[derive(Debug, thiserror::Error)]
pub enum HeaderProblem {
    /// Fewer bytes than the magic string and version.
    #[error("not an .npy file (too short): {0}")]
    TooShort(std::io::Error),
    /// Another magic string.
    #[error("not an .npy file")]
    NotNpy,
    /// The header's length or dictionary ends early.
    #[error("truncated header: {0}")]
    Truncated(std::io::Error),
    /// Not little-endian float32 or float64.
    #[error("unsupported dtype (give little-endian float32 or float64): {0}")]
    Dtype(String),
    /// Fortran order.
    #[error("Fortran order is not supported; save the array in C order")]
    FortranOrder,
    /// No `'shape'` entry.
    #[error("no shape")]
    NoShape,
    /// A shape entry that is not a number.
    #[error("shape entry {entry}: {error}")]
    ShapeEntry {
        /// The entry.
        entry: String,
        /// Why it is no number.
        error: std::num::ParseIntError,
    },
    /// A shape of the wrong rank or sizes.
    #[error("shape {shape:?} is not {wanted}")]
    Shape {
        /// The shape.
        shape: Vec<usize>,
        /// What was wanted, in words (`[N, 2, K]`).
        wanted: &'static str,
    },
}

/// The header of an array: its shape and whether it holds float32 (else float64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// float32 values (else float64).
    pub f32: bool,
}

impl Header {
    /// Reads the header of `reader` up to the first value.
    pub fn read(reader: &mut impl Read) -> std::result::Result<Self, HeaderProblem> {
        let mut magic = [0u8; 8];
        reader.read_exact(&mut magic).map_err(HeaderProblem::TooShort)?;
        if &magic[..6] != b"\x93NUMPY" {
            return Err(HeaderProblem::NotNpy);
        }
        let length = if magic[6] == 1 {
            let mut b = [0u8; 2];
            reader.read_exact(&mut b).map_err(HeaderProblem::Truncated)?;
            usize::from(u16::from_le_bytes(b))
        } else {
            let mut b = [0u8; 4];
            reader.read_exact(&mut b).map_err(HeaderProblem::Truncated)?;
            u32::from_le_bytes(b) as usize
        };
        let mut dict = vec![0u8; length];
        reader.read_exact(&mut dict).map_err(HeaderProblem::Truncated)?;
        let dict = String::from_utf8_lossy(&dict);
        let f32 = if dict.contains("'<f4'") {
            true
        } else if dict.contains("'<f8'") {
            false
        } else {
            return Err(HeaderProblem::Dtype(dict.trim().to_owned()));
        };
        if dict.contains("'fortran_order': True") {
            return Err(HeaderProblem::FortranOrder);
        }
        let shape = dict
            .split("'shape':")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .map(|t| t.trim().trim_start_matches('('))
            .ok_or(HeaderProblem::NoShape)?;
        let shape = shape
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| {
                d.parse::<usize>()
                    .map_err(|error| HeaderProblem::ShapeEntry { entry: d.to_owned(), error })
            })
            .collect::<std::result::Result<_, _>>()?;
        Ok(Self { shape, f32 })
    }

    /// Bytes per value.
    pub fn width(&self) -> usize {
        if self.f32 {
            4
        } else {
            8
        }
    }
}

/// The next `count` values of an array body, as f64.
pub fn read_values(reader: &mut impl Read, count: usize, f32: bool) -> std::io::Result<Vec<f64>> {
    let width = if f32 { 4 } else { 8 };
    let mut bytes = vec![0u8; count * width];
    reader.read_exact(&mut bytes)?;
    Ok(bytes
        .chunks_exact(width)
        .map(|c| {
            if f32 {
                f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            } else {
                f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
            }
        })
        .collect())
}

/// The bytes of a version 1.0 header for an array of `descr` (`<f8`, `<f4`) and `shape`: magic,
/// version, header length and a Python dict literal padded with spaces to a multiple of 64 bytes,
/// ending in a newline.
pub fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text =
        if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // 6 magic + 2 version + 2 length bytes, then the dict and a newline.
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Writes `data` (C order, `shape.iter().product()` values) to `path` as float64 .npy.
pub fn write_f64(path: &Path, shape: &[usize], data: &[f64]) -> Result<()> {
    if shape.iter().product::<usize>() != data.len() {
        return Err(MethodError::ArrayShape { values: data.len(), shape: shape.to_vec() });
    }
    let failed = |action, error| MethodError::File { action, path: path.to_owned(), error };
    let file = std::fs::File::create(path).map_err(|e| failed("create", e))?;
    let mut w = std::io::BufWriter::new(file);
    let mut write = || -> std::io::Result<()> {
        w.write_all(&header_bytes("<f8", shape))?;
        for v in data {
            w.write_all(&v.to_le_bytes())?;
        }
        w.flush()
    };
    write().map_err(|e| failed("write", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_aligned_to_64_bytes_and_read_back() {
        for shape in [vec![3], vec![2, 8, 720, 720]] {
            let h = header_bytes("<f8", &shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
            assert_eq!(usize::from(u16::from_le_bytes([h[8], h[9]])), h.len() - 10);
            let read = Header::read(&mut h.as_slice()).unwrap();
            assert_eq!(read, Header { shape, f32: false });
        }
        assert!(String::from_utf8_lossy(&header_bytes("<f4", &[3])).contains("'shape': (3,)"));
    }
}
