//! Files of (p, q) pairs, read as a stream and validated row by row: JSON lines
//! (`{"p": [...], "q": [...]}` or `p_logits` / `q_logits`, optional `"observed": x`). Every error
//! names the file and the 1-based row.

use std::fs::File;
use std::io::{BufRead, BufReader};
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
    lines: std::io::Lines<BufReader<File>>,
    row: usize,
    outcomes: Option<usize>,
}

impl PairReader {
    /// Opens `path` (JSON lines).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            lines: BufReader::new(file).lines(),
            row: 0,
            outcomes: None,
        })
    }

    /// K, once a row has been read.
    pub fn outcomes(&self) -> Option<usize> {
        self.outcomes
    }

    /// Up to `n` more rows; an empty vector at the end of the file.
    pub fn next_rows(&mut self, n: usize) -> Result<Vec<PairRow>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some(line) = self.lines.next() else { break };
            self.row += 1;
            let line = line.with_context(|| self.at("cannot be read"))?;
            if line.trim().is_empty() {
                continue;
            }
            let row = self.parse(&line).with_context(|| self.at("invalid"))?;
            out.push(row);
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
