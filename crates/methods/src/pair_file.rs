//! Files of (p, q) pairs, read as a stream and validated row by row: JSON lines
//! (`{"p": [...], "q": [...]}` or `p_logits` / `q_logits`, optional `"observed": x` and
//! `"reward": [h_0, ..., h_K-1]`), or a NumPy `.npy` array of shape [N, 2, K] (p and q) or
//! [N, 3, K] (p, q and the row's reward h), float32 or float64, little-endian, C order, holding
//! logits (-inf for an impossible outcome) or, when the caller says so, probabilities (0 for one).
//! The same rows held in memory (the Python package's numpy arrays) are a [`PairArray`]. Every error
//! names the file (or `pairs`) and the 1-based row.
//!
//! [`training_rows`] keeps the rows a [`Split`] does not hold out, for `train`'s
//! `pairs.type = "file"`; [`pair_distribution`] builds any training configuration's pairs, reading
//! a file where it names one.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use gadgets::task::{PairSpec, Split};
use gumbel_core::pairs::{LogitPair, PairDistribution, Rows};
use gumbel_core::{Categorical, CoreError};
use serde_json::Value;

use crate::npy::{read_values, Header, HeaderProblem};
use crate::{MethodError, Result};

/// Rows read at a time by [`training_rows`] (and `evaluate`).
pub const CHUNK: usize = 4096;

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
    /// The row's own reward h (K finite values), when the file carries a reward column.
    pub reward: Option<Vec<f64>>,
}

/// What is wrong with one row.
#[derive(Debug, thiserror::Error)]
pub enum RowProblem {
    /// The line could not be read.
    #[error("cannot be read: {0}")]
    Unreadable(std::io::Error),
    /// The row was read but is not a valid pair.
    #[error("invalid: {0}")]
    Invalid(Invalid),
}

/// Why a row is not a valid pair.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// A line that is no JSON.
    #[error("not a JSON object: {0}")]
    Json(serde_json::Error),
    /// JSON that is no object.
    #[error("not a JSON object")]
    NotObject,
    /// Neither or both of `p` and `p_logits` (or of q's).
    #[error("give exactly one of {name} and {name}_logits")]
    ExactlyOne {
        /// `p` or `q`.
        name: &'static str,
    },
    /// An entry that should be an array.
    #[error("{name} is not an array")]
    NotArray {
        /// The key.
        name: String,
    },
    /// An array entry that is a number JSON cannot hold as f64.
    #[error("{name}[{index}] is not a number")]
    NotNumber {
        /// The key.
        name: String,
        /// The position.
        index: usize,
    },
    /// An array entry that is no number.
    #[error("{name}[{index}] is {value}; use numbers, or \"-inf\" for an impossible outcome")]
    Entry {
        /// The key.
        name: String,
        /// The position.
        index: usize,
        /// The entry, as JSON.
        value: String,
    },
    /// p, q or the observation rejected by gumbel-core.
    #[error("{name}: {error}")]
    Distribution {
        /// `p`, `q` or `observed`.
        name: &'static str,
        /// Why.
        error: CoreError,
    },
    /// p and q of different lengths.
    #[error("p has {p} outcomes, q has {q}")]
    Ragged {
        /// K of p.
        p: usize,
        /// K of q.
        q: usize,
    },
    /// K different from the first row's.
    #[error("{found} outcomes where the first row has {first}")]
    Outcomes {
        /// This row's K.
        found: usize,
        /// The first row's.
        first: usize,
    },
    /// An observation that is no index.
    #[error("observed is not a non-negative integer")]
    Observed,
    /// An .npy body shorter than its shape.
    #[error("truncated file: the array ends before its shape says: {0}")]
    Truncated(std::io::Error),
    /// A reward column of the wrong length.
    #[error("reward has {found} values for {outcomes} outcomes")]
    RewardLength {
        /// The values given.
        found: usize,
        /// K.
        outcomes: usize,
    },
    /// A reward that is NaN, infinite or no number.
    #[error("reward[{index}] is {value}; rewards must be finite numbers")]
    RewardValue {
        /// The position.
        index: usize,
        /// The entry.
        value: String,
    },
    /// A row with a reward where the first has none, or the reverse.
    #[error("{}", if *has { "a reward where the first row has none" } else { "no reward where the first row has one" })]
    RewardColumn {
        /// Whether this row has a reward.
        has: bool,
    },
}

impl From<Invalid> for RowProblem {
    fn from(invalid: Invalid) -> Self {
        RowProblem::Invalid(invalid)
    }
}

/// A stream of validated rows of one K.
pub trait PairSource {
    /// Up to `n` more rows; an empty vector at the end.
    fn next_rows(&mut self, n: usize) -> Result<Vec<PairRow>>;
    /// K, once a row has been read.
    fn outcomes(&self) -> Option<usize>;
    /// What error messages call the source: the file's path, or `pairs`.
    fn name(&self) -> &str;
}

/// The rows of a file.
pub struct PairReader {
    name: String,
    source: Source,
    row: usize,
    outcomes: Option<usize>,
    rewards: Option<bool>,
}

/// Where the rows come from.
enum Source {
    Lines(std::io::Lines<BufReader<File>>),
    Npy { reader: BufReader<File>, rows: usize, width: usize, header: Header, probabilities: bool },
}

/// The shapes of a pair array.
const SHAPES: &str = "[N, 2, K] or [N, 3, K] (p, q, reward)";

/// N, the values per row (2 or 3) and K of a pair array's `shape`.
fn pair_shape(shape: &[usize]) -> Option<(usize, usize, usize)> {
    match *shape {
        [n, width @ (2 | 3), k] if k > 0 => Some((n, width, k)),
        _ => None,
    }
}

impl PairReader {
    /// Opens `path`: `.npy` by its extension (values are probabilities when `probabilities`, logits
    /// otherwise), JSON lines for any other.
    pub fn open(path: &Path, probabilities: bool) -> Result<Self> {
        let name = path.display().to_string();
        let file = File::open(path)
            .map_err(|error| MethodError::OpenPairs { path: name.clone(), error })?;
        let mut reader = BufReader::new(file);
        let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        let header = |problem| MethodError::PairHeader { path: name.clone(), problem };
        let source = if is_npy {
            let header_read = Header::read(&mut reader).map_err(header)?;
            let (rows, width, _) = pair_shape(&header_read.shape).ok_or_else(|| {
                header(HeaderProblem::Shape { shape: header_read.shape.clone(), wanted: SHAPES })
            })?;
            Source::Npy { reader, rows, width, header: header_read, probabilities }
        } else {
            Source::Lines(reader.lines())
        };
        Ok(Self { name, source, row: 0, outcomes: None, rewards: None })
    }

    fn at(&self, problem: RowProblem) -> MethodError {
        MethodError::Row { path: self.name.clone(), row: self.row, problem }
    }

    /// One JSON line.
    fn parse(&mut self, line: &str) -> std::result::Result<PairRow, Invalid> {
        let value: Value = serde_json::from_str(line).map_err(Invalid::Json)?;
        let Value::Object(object) = value else { return Err(Invalid::NotObject) };
        let p = distribution(&object, "p")?;
        let q = distribution(&object, "q")?;
        if p.len() != q.len() {
            return Err(Invalid::Ragged { p: p.len(), q: q.len() });
        }
        match self.outcomes {
            Some(first) if first != p.len() => {
                return Err(Invalid::Outcomes { found: p.len(), first })
            }
            _ => self.outcomes = Some(p.len()),
        }
        let observed = match object.get("observed") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let x = v.as_u64().ok_or(Invalid::Observed)? as usize;
                p.check_observation(x)
                    .map_err(|error| Invalid::Distribution { name: "observed", error })?;
                Some(x)
            }
        };
        let reward = object.get("reward").map(|v| reward(v, p.len())).transpose()?;
        match self.rewards {
            Some(has) if has != reward.is_some() => {
                return Err(Invalid::RewardColumn { has: reward.is_some() })
            }
            _ => self.rewards = Some(reward.is_some()),
        }
        Ok(PairRow { index: self.row - 1, p, q, observed, reward })
    }
}

impl PairSource for PairReader {
    fn next_rows(&mut self, n: usize) -> Result<Vec<PairRow>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let parsed = match &mut self.source {
                Source::Lines(lines) => {
                    let Some(line) = lines.next() else { break };
                    self.row += 1;
                    let line = line.map_err(|e| self.at(RowProblem::Unreadable(e)))?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    self.parse(&line)
                }
                Source::Npy { reader, rows, width, header, probabilities } => {
                    if self.row == *rows {
                        break;
                    }
                    self.row += 1;
                    let k = header.shape[2];
                    self.outcomes = Some(k);
                    let (width, probabilities) = (*width, *probabilities);
                    read_values(reader, width * k, header.f32)
                        .map_err(Invalid::Truncated)
                        .and_then(|v| array_row(&v, k, probabilities, self.row - 1))
                }
            };
            out.push(parsed.map_err(|e| self.at(e.into()))?);
        }
        Ok(out)
    }

    fn outcomes(&self) -> Option<usize> {
        self.outcomes
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// The rows of an array [N, 2, K] or [N, 3, K] in memory (C order), validated as an `.npy` file's.
pub struct PairArray {
    values: Vec<f64>,
    rows: usize,
    width: usize,
    outcomes: usize,
    probabilities: bool,
    row: usize,
}

impl PairArray {
    /// The array `values` of `shape`; logits unless `probabilities`.
    pub fn new(values: Vec<f64>, shape: &[usize], probabilities: bool) -> Result<Self> {
        let (rows, width, outcomes) = pair_shape(shape).ok_or_else(|| MethodError::PairHeader {
            path: "pairs".to_owned(),
            problem: HeaderProblem::Shape { shape: shape.to_vec(), wanted: SHAPES },
        })?;
        if values.len() != rows * width * outcomes {
            return Err(MethodError::ArrayShape { values: values.len(), shape: shape.to_vec() });
        }
        Ok(Self { values, rows, width, outcomes, probabilities, row: 0 })
    }
}

impl PairSource for PairArray {
    fn next_rows(&mut self, n: usize) -> Result<Vec<PairRow>> {
        let stride = self.width * self.outcomes;
        let end = (self.row + n).min(self.rows);
        let rows = (self.row..end)
            .map(|i| {
                array_row(
                    &self.values[i * stride..(i + 1) * stride],
                    self.outcomes,
                    self.probabilities,
                    i,
                )
                .map_err(|e| MethodError::Row {
                    path: "pairs".to_owned(),
                    row: i + 1,
                    problem: e.into(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.row = end;
        Ok(rows)
    }

    fn outcomes(&self) -> Option<usize> {
        Some(self.outcomes)
    }

    fn name(&self) -> &str {
        "pairs"
    }
}

/// Row `index` of an array: p, q and, when there are 3 K values, the reward.
fn array_row(
    values: &[f64],
    k: usize,
    probabilities: bool,
    index: usize,
) -> std::result::Result<PairRow, Invalid> {
    let side = |name, x: &[f64]| {
        let parsed =
            if probabilities { Categorical::from_probs(x) } else { Categorical::from_logits(x) };
        parsed.map_err(|error| Invalid::Distribution { name, error })
    };
    let p = side("p", &values[..k])?;
    let q = side("q", &values[k..2 * k])?;
    let reward = match values.get(2 * k..) {
        Some(h) if !h.is_empty() => Some(finite_reward(h.to_vec())?),
        _ => None,
    };
    Ok(PairRow { index, p, q, observed: None, reward })
}

/// The distribution `name` of a row, from exactly one of `name` (probabilities) and `name_logits`.
fn distribution(
    object: &serde_json::Map<String, Value>,
    name: &'static str,
) -> std::result::Result<Categorical, Invalid> {
    let logits_key = format!("{name}_logits");
    let parsed = match (object.get(name), object.get(&logits_key)) {
        (Some(values), None) => Categorical::from_probs(&numbers(values, name, 0.0)?),
        (None, Some(values)) => {
            Categorical::from_logits(&numbers(values, &logits_key, f64::NEG_INFINITY)?)
        }
        _ => return Err(Invalid::ExactlyOne { name }),
    };
    parsed.map_err(|error| Invalid::Distribution { name, error })
}

/// An array of numbers; `"-inf"` or null stand for `missing` (an impossible outcome).
fn numbers(value: &Value, name: &str, missing: f64) -> std::result::Result<Vec<f64>, Invalid> {
    let Value::Array(items) = value else {
        return Err(Invalid::NotArray { name: name.to_owned() });
    };
    items
        .iter()
        .enumerate()
        .map(|(index, v)| match v {
            Value::Number(n) => {
                n.as_f64().ok_or_else(|| Invalid::NotNumber { name: name.to_owned(), index })
            }
            Value::Null => Ok(missing),
            Value::String(s) if s == "-inf" => Ok(missing),
            other => Err(Invalid::Entry { name: name.to_owned(), index, value: other.to_string() }),
        })
        .collect()
}

/// A row's `reward`: K finite numbers.
fn reward(value: &Value, outcomes: usize) -> std::result::Result<Vec<f64>, Invalid> {
    let Value::Array(items) = value else {
        return Err(Invalid::NotArray { name: "reward".to_owned() });
    };
    if items.len() != outcomes {
        return Err(Invalid::RewardLength { found: items.len(), outcomes });
    }
    let h = items
        .iter()
        .enumerate()
        .map(|(index, v)| {
            v.as_f64().ok_or_else(|| Invalid::RewardValue { index, value: v.to_string() })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    finite_reward(h)
}

/// `h`, when every value is finite.
fn finite_reward(h: Vec<f64>) -> std::result::Result<Vec<f64>, Invalid> {
    match h.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Invalid::RewardValue { index, value: h[index].to_string() }),
        None => Ok(h),
    }
}

/// The rows of the pair file at `path` that `split` does not hold out, as the distribution that
/// draws one of them uniformly, each with its reward when the file has a reward column.
pub fn training_rows(path: &Path, split: &Split, probabilities: bool) -> Result<Rows> {
    let mut reader = PairReader::open(path, probabilities)?;
    let (mut kept, mut rewards) = (Vec::new(), Vec::new());
    loop {
        let rows = reader.next_rows(CHUNK)?;
        if rows.is_empty() {
            break;
        }
        for r in rows.into_iter().filter(|r| !split.holds_out(r.index)) {
            kept.push(LogitPair { p: r.p.log_probs().to_vec(), q: r.q.log_probs().to_vec() });
            rewards.extend(r.reward);
        }
    }
    // The reader has checked that every row has a reward or none has.
    let rows = if rewards.is_empty() { Rows::new(kept) } else { Rows::with_rewards(kept, rewards) };
    rows.map_err(|error| MethodError::NoTrainingRows { path: reader.name, error })
}

/// The pairs of a training configuration: a file's training rows for `pairs.type = "file"` (its
/// split checked first), otherwise [`PairSpec::build`].
pub fn pair_distribution(spec: &PairSpec) -> Result<Box<dyn PairDistribution>> {
    match spec {
        PairSpec::File { path, split, probabilities } => {
            split.validate()?;
            Ok(Box::new(training_rows(path, split, *probabilities)?))
        }
        other => Ok(other.build()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::{header_bytes, write_f64};

    fn npy_bytes(descr: &str, shape: &[usize], values: &[u8]) -> Vec<u8> {
        let mut out = header_bytes(descr, shape);
        out.extend_from_slice(values);
        out
    }

    fn read_all(source: &mut dyn PairSource) -> Result<Vec<PairRow>> {
        let mut rows = Vec::new();
        loop {
            let chunk = source.next_rows(2)?;
            if chunk.is_empty() {
                return Ok(rows);
            }
            rows.extend(chunk);
        }
    }

    fn read_file(path: &Path, probabilities: bool) -> Result<Vec<PairRow>> {
        read_all(&mut PairReader::open(path, probabilities)?)
    }

    fn assert_close(found: &Categorical, logits: &[f64]) {
        let expected = Categorical::from_logits(logits).unwrap();
        for (a, b) in found.log_probs().iter().zip(expected.log_probs()) {
            assert!(a == b || (a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn npy_pairs_round_trip_in_both_widths_and_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let logits =
            [0.5, f64::NEG_INFINITY, -1.0, 0.0, 2.0, 1.0, -300.0, 0.25, 3.0, 1.0, 0.0, -2.0];
        let f64_path = dir.path().join("pairs64.npy");
        write_f64(&f64_path, &[2, 2, 3], &logits).unwrap();
        let f32_path = dir.path().join("pairs32.npy");
        let f32_bytes: Vec<u8> = logits.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
        std::fs::write(&f32_path, npy_bytes("<f4", &[2, 2, 3], &f32_bytes)).unwrap();
        let in_memory = read_all(&mut PairArray::new(logits.to_vec(), &[2, 2, 3], false).unwrap());
        for rows in [read_file(&f64_path, false), read_file(&f32_path, false), in_memory] {
            let rows = rows.unwrap();
            assert_eq!(rows.len(), 2);
            for (r, row) in rows.iter().enumerate() {
                assert_eq!(row.index, r);
                assert_close(&row.p, &logits[6 * r..6 * r + 3]);
                assert_close(&row.q, &logits[6 * r + 3..6 * r + 6]);
                assert!(row.reward.is_none() && row.observed.is_none());
            }
        }
        // Probabilities, and the errors of a truncated file, a wrong dtype and a wrong shape.
        let probs_path = dir.path().join("probs.npy");
        write_f64(&probs_path, &[1, 2, 2], &[0.25, 0.75, 1.0, 0.0]).unwrap();
        let rows = read_file(&probs_path, true).unwrap();
        assert_eq!(rows[0].q.probs(), vec![1.0, 0.0]);
        let nan = dir.path().join("nan.npy");
        write_f64(&nan, &[2, 2, 2], &[0.0, 1.0, 0.0, 0.0, f64::NAN, 0.0, 1.0, 2.0]).unwrap();
        let error = read_file(&nan, false).unwrap_err().to_string();
        assert!(error.contains("nan.npy: row 2 invalid: p: logit 0 is NaN"), "{error}");
        let truncated = dir.path().join("truncated.npy");
        let halves: Vec<u8> = [0.5f64; 5].iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&truncated, npy_bytes("<f8", &[2, 2, 2], &halves)).unwrap();
        let error = read_file(&truncated, true).unwrap_err().to_string();
        assert!(error.contains("row 2 invalid: truncated"), "{error}");
        let ints = dir.path().join("ints.npy");
        std::fs::write(&ints, npy_bytes("<i4", &[1, 2, 2], &[0u8; 16])).unwrap();
        assert!(read_file(&ints, false)
            .err()
            .unwrap()
            .to_string()
            .contains("header: unsupported dtype"));
        let flat = dir.path().join("flat.npy");
        std::fs::write(&flat, npy_bytes("<f8", &[4], &[0u8; 32])).unwrap();
        assert!(read_file(&flat, false).err().unwrap().to_string().contains("shape [4] is not"));
    }

    #[test]
    fn reward_columns_are_read_and_checked_by_row() {
        let dir = tempfile::tempdir().unwrap();
        // .npy [N, 3, K]: the third row is the reward.
        let values = [0.0, 1.0, 0.0, 2.0, 5.0, -1.0, 0.5, 0.5, 0.0, 0.0, 3.0, 4.0];
        let path = dir.path().join("rewards.npy");
        write_f64(&path, &[2, 3, 2], &values).unwrap();
        let rows = read_file(&path, false).unwrap();
        assert_eq!(rows[0].reward.as_deref(), Some(&[5.0, -1.0][..]));
        assert_eq!(rows[1].reward.as_deref(), Some(&[3.0, 4.0][..]));
        let mut bad = values;
        bad[11] = f64::INFINITY;
        let error = read_all(&mut PairArray::new(bad.to_vec(), &[2, 3, 2], false).unwrap())
            .unwrap_err()
            .to_string();
        assert_eq!(error, "pairs: row 2 invalid: reward[1] is inf; rewards must be finite numbers");
        // JSON lines: the reward's length, and a column that every row has or none.
        let cases = [
            ("{\"p\": [0.5, 0.5], \"q\": [1, 0], \"reward\": [1, 2, 3]}", "row 1 invalid: reward has 3 values for 2 outcomes"),
            ("{\"p\": [0.5, 0.5], \"q\": [1, 0], \"reward\": [1, 2]}\n{\"p\": [0.5, 0.5], \"q\": [1, 0]}", "row 2 invalid: no reward where the first row has one"),
            ("{\"p\": [0.5, 0.5], \"q\": [1, 0]}\n{\"p\": [0.5, 0.5], \"q\": [1, 0], \"reward\": [1, 2]}", "row 2 invalid: a reward where the first row has none"),
            ("{\"p\": [0.5, 0.5], \"q\": [1, 0], \"reward\": [1, \"x\"]}", "row 1 invalid: reward[1] is \"x\""),
        ];
        for (i, (text, needle)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("case{i}.jsonl"));
            std::fs::write(&path, text).unwrap();
            let error = read_file(&path, false).unwrap_err().to_string();
            assert!(error.contains(needle), "{error}");
        }
        let path = dir.path().join("good.jsonl");
        std::fs::write(
            &path,
            "{\"p\": [0.5, 0.5], \"q\": [1, 0], \"reward\": [1, 2], \"observed\": 1}\n",
        )
        .unwrap();
        let rows = read_file(&path, false).unwrap();
        assert_eq!((rows[0].reward.as_deref(), rows[0].observed), (Some(&[1.0, 2.0][..]), Some(1)));
    }
}
