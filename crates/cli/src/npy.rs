//! A minimal writer of NumPy .npy files (format version 1.0): little-endian float64, C order.

use std::io::Write;

use anyhow::{Context, Result};

/// The bytes of an .npy header for a float64 array of `shape`: magic, version, header length and a
/// Python dict literal padded with spaces to a multiple of 64 bytes, ending in a newline.
fn header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text =
        if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape_text}, }}");
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
pub fn write_f64(path: &std::path::Path, shape: &[usize], data: &[f64]) -> Result<()> {
    anyhow::ensure!(
        shape.iter().product::<usize>() == data.len(),
        "array of {} values does not have shape {shape:?}",
        data.len()
    );
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    w.write_all(&header(shape))?;
    for v in data {
        w.write_all(&v.to_le_bytes())?;
    }
    w.flush().with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_aligned_to_64_bytes() {
        for shape in [vec![3], vec![2, 8, 720, 720]] {
            let h = header(&shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
            assert_eq!(usize::from(u16::from_le_bytes([h[8], h[9]])), h.len() - 10);
        }
        assert!(String::from_utf8_lossy(&header(&[3])).contains("'shape': (3,)"));
    }
}
