//! Files of (p, q) pairs, read as a stream and validated row by row: JSON lines
//! (`{"p": [...], "q": [...]}` or `p_logits` / `q_logits`, optional `"observed": x`), or a NumPy
//! `.npy` array of shape [N, 2, K], float32 or float64, little-endian, C order, holding logits
//! (-inf for an impossible outcome) or, when the caller says so, probabilities (0 for one). Every
//! error names the file and the 1-based row.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gumbel_core::Categorical;
use serde_json::Value;

/// One validated row.
#[derive(Debug, Clone)]
pub struct PairRow {
    /// The 0-based row index.
    pub index: usize,
    /// The factual distribution.
    pub p: Categorical,
    /// The counterfactual distribution.
    pub q: Categorical,
    /// The outcome observed under p, when the row gives one (possible under p).
    pub observed: Option<usize>,
}

/// A stream of validated rows of one K.
pub struct PairReader {
    path: PathBuf,
    source: Source,
    row: usize,
    outcomes: Option<usize>,
}

/// Where the rows come from.
enum Source {
    Lines(std::io::Lines<BufReader<File>>),
    Npy { reader: BufReader<File>, rows: usize, outcomes: usize, f32: bool, probabilities: bool },
}

impl PairReader {
    /// Opens `path`: `.npy` by its extension (values are probabilities when `probabilities`, logits
    /// otherwise), JSON lines for any other.
    pub fn open(path: &Path, probabilities: bool) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let mut reader = BufReader::new(file);
        let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        let source = if is_npy {
            let (rows, outcomes, f32) =
                npy_header(&mut reader).with_context(|| format!("{}: header", path.display()))?;
            Source::Npy { reader, rows, outcomes, f32, probabilities }
        } else {
            Source::Lines(reader.lines())
        };
        Ok(Self { path: path.to_owned(), source, row: 0, outcomes: None })
    }

    /// K, once a row has been read.
    pub fn outcomes(&self) -> Option<usize> {
        self.outcomes
    }

    /// Up to `n` more rows; an empty vector at the end of the file.
    pub fn next_rows(&mut self, n: usize) -> Result<Vec<PairRow>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let parsed = match &mut self.source {
                Source::Lines(lines) => {
                    let Some(line) = lines.next() else { break };
                    self.row += 1;
                    let line = line.with_context(|| self.at("cannot be read"))?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    self.parse(&line)
                }
                Source::Npy { reader, rows, outcomes, f32, probabilities } => {
                    if self.row == *rows {
                        break;
                    }
                    self.row += 1;
                    let (k, probabilities) = (*outcomes, *probabilities);
                    let values = npy_row(reader, 2 * k, *f32);
                    self.outcomes = Some(k);
                    values.and_then(|v| {
                        let side = |x: &[f64]| {
                            if probabilities {
                                Categorical::from_probs(x)
                            } else {
                                Categorical::from_logits(x)
                            }
                        };
                        let p = side(&v[..k]).context("p")?;
                        let q = side(&v[k..]).context("q")?;
                        Ok(PairRow { index: self.row - 1, p, q, observed: None })
                    })
                }
            };
            out.push(parsed.with_context(|| self.at("invalid"))?);
        }
        Ok(out)
    }

    fn at(&self, what: &str) -> String {
        format!("{}: row {} {what}", self.path.display(), self.row)
    }

    fn parse(&mut self, line: &str) -> Result<PairRow> {
        let value: Value = serde_json::from_str(line).context("not a JSON object")?;
        let Value::Object(object) = value else { bail!("not a JSON object") };
        let p = distribution(&object, "p")?;
        let q = distribution(&object, "q")?;
        if p.len() != q.len() {
            bail!("p has {} outcomes, q has {}", p.len(), q.len());
        }
        match self.outcomes {
            Some(k) if k != p.len() => bail!("{} outcomes where the first row has {k}", p.len()),
            _ => self.outcomes = Some(p.len()),
        }
        let observed = match object.get("observed") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let x = v.as_u64().context("observed is not a non-negative integer")? as usize;
                p.check_observation(x).context("observed")?;
                Some(x)
            }
        };
        Ok(PairRow { index: self.row - 1, p, q, observed })
    }
}

/// The distribution `name` of a row, from exactly one of `name` (probabilities) and `name_logits`.
fn distribution(object: &serde_json::Map<String, Value>, name: &str) -> Result<Categorical> {
    let logits_key = format!("{name}_logits");
    let parsed = match (object.get(name), object.get(&logits_key)) {
        (Some(values), None) => Categorical::from_probs(&numbers(values, name, 0.0)?),
        (None, Some(values)) => {
            Categorical::from_logits(&numbers(values, &logits_key, f64::NEG_INFINITY)?)
        }
        _ => bail!("give exactly one of {name} and {logits_key}"),
    };
    parsed.with_context(|| name.to_owned())
}

/// An array of numbers; `"-inf"` or null stand for `missing` (an impossible outcome).
fn numbers(value: &Value, name: &str, missing: f64) -> Result<Vec<f64>> {
    let Value::Array(items) = value else { bail!("{name} is not an array") };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Number(n) => n.as_f64().with_context(|| format!("{name}[{i}] is not a number")),
            Value::Null => Ok(missing),
            Value::String(s) if s == "-inf" => Ok(missing),
            other => {
                bail!("{name}[{i}] is {other}; use numbers, or \"-inf\" for an impossible outcome")
            }
        })
        .collect()
}

/// N and K of an .npy header of shape (N, 2, K), and whether it holds float32 (else float64).
fn npy_header(reader: &mut impl Read) -> Result<(usize, usize, bool)> {
    let mut magic = [0u8; 8];
    reader.read_exact(&mut magic).context("not an .npy file (too short)")?;
    if &magic[..6] != b"\x93NUMPY" {
        bail!("not an .npy file");
    }
    let length = if magic[6] == 1 {
        let mut b = [0u8; 2];
        reader.read_exact(&mut b)?;
        usize::from(u16::from_le_bytes(b))
    } else {
        let mut b = [0u8; 4];
        reader.read_exact(&mut b)?;
        u32::from_le_bytes(b) as usize
    };
    let mut dict = vec![0u8; length];
    reader.read_exact(&mut dict).context("truncated header")?;
    let dict = String::from_utf8_lossy(&dict);
    let f32 = if dict.contains("'<f4'") {
        true
    } else if dict.contains("'<f8'") {
        false
    } else {
        bail!("unsupported dtype (give little-endian float32 or float64): {}", dict.trim());
    };
    if dict.contains("'fortran_order': True") {
        bail!("Fortran order is not supported; save the array in C order");
    }
    let shape = dict
        .split("'shape':")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(|t| t.trim().trim_start_matches('('))
        .context("no shape")?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>().with_context(|| format!("shape entry {d}")))
        .collect::<Result<_>>()?;
    match dims[..] {
        [n, 2, k] if k > 0 => Ok((n, k, f32)),
        _ => bail!("shape {dims:?} is not [N, 2, K]"),
    }
}

/// The next `count` values of an .npy body.
fn npy_row(reader: &mut impl Read, count: usize, f32: bool) -> Result<Vec<f64>> {
    let width = if f32 { 4 } else { 8 };
    let mut bytes = vec![0u8; count * width];
    reader
        .read_exact(&mut bytes)
        .context("truncated file: the array ends before its shape says")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_bytes(descr: &str, shape: &str, values: &[u8]) -> Vec<u8> {
        let mut dict =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let unpadded = 10 + dict.len() + 1;
        dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
        dict.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(values);
        out
    }

    fn read_all(path: &Path, probabilities: bool) -> Result<Vec<PairRow>> {
        let mut reader = PairReader::open(path, probabilities)?;
        let mut rows = Vec::new();
        loop {
            let chunk = reader.next_rows(2)?;
            if chunk.is_empty() {
                return Ok(rows);
            }
            rows.extend(chunk);
        }
    }

    #[test]
    fn npy_pairs_round_trip_in_both_widths() {
        let dir = tempfile::tempdir().unwrap();
        let logits =
            [0.5, f64::NEG_INFINITY, -1.0, 0.0, 2.0, 1.0, -300.0, 0.25, 3.0, 1.0, 0.0, -2.0];
        let f64_path = dir.path().join("pairs64.npy");
        crate::npy::write_f64(&f64_path, &[2, 2, 3], &logits).unwrap();
        let f32_path = dir.path().join("pairs32.npy");
        let f32_bytes: Vec<u8> = logits.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
        std::fs::write(&f32_path, npy_bytes("<f4", "(2, 2, 3)", &f32_bytes)).unwrap();
        for path in [&f64_path, &f32_path] {
            let rows = read_all(path, false).unwrap();
            assert_eq!(rows.len(), 3 - 1);
            for (r, row) in rows.iter().enumerate() {
                let expected_p = Categorical::from_logits(&logits[6 * r..6 * r + 3]).unwrap();
                let expected_q = Categorical::from_logits(&logits[6 * r + 3..6 * r + 6]).unwrap();
                for (a, b) in row.p.log_probs().iter().zip(expected_p.log_probs()) {
                    assert!(a == b || (a - b).abs() < 1e-5, "{a} vs {b}");
                }
                for (a, b) in row.q.log_probs().iter().zip(expected_q.log_probs()) {
                    assert!(a == b || (a - b).abs() < 1e-5, "{a} vs {b}");
                }
            }
        }
        // Probabilities, and the errors of a truncated file, a wrong dtype and a wrong shape.
        let probs_path = dir.path().join("probs.npy");
        crate::npy::write_f64(&probs_path, &[1, 2, 2], &[0.25, 0.75, 1.0, 0.0]).unwrap();
        let rows = read_all(&probs_path, true).unwrap();
        assert_eq!(rows[0].q.probs(), vec![1.0, 0.0]);
        let nan = dir.path().join("nan.npy");
        crate::npy::write_f64(&nan, &[2, 2, 2], &[0.0, 1.0, 0.0, 0.0, f64::NAN, 0.0, 1.0, 2.0])
            .unwrap();
        let error = format!("{:#}", read_all(&nan, false).unwrap_err());
        assert!(error.contains("nan.npy: row 2") && error.contains("NaN"), "{error}");
        let truncated = dir.path().join("truncated.npy");
        let halves: Vec<u8> = [0.5f64; 5].iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&truncated, npy_bytes("<f8", "(2, 2, 2)", &halves)).unwrap();
        let error = format!("{:#}", read_all(&truncated, true).unwrap_err());
        assert!(error.contains("row 2") && error.contains("truncated"), "{error}");
        let ints = dir.path().join("ints.npy");
        std::fs::write(&ints, npy_bytes("<i4", "(1, 2, 2)", &[0u8; 16])).unwrap();
        assert!(format!("{:#}", read_all(&ints, false).unwrap_err()).contains("dtype"));
        let flat = dir.path().join("flat.npy");
        std::fs::write(&flat, npy_bytes("<f8", "(4,)", &[0u8; 32])).unwrap();
        assert!(format!("{:#}", read_all(&flat, false).unwrap_err()).contains("shape"));
    }
}
