//! Reading the JSON arrays that arguments carry, inline (`[0.2, 0.8]`) or as a path to a JSON file.

use anyhow::{bail, Context, Result};
use gumbel_core::{Categorical, CostMatrix};
use serde::de::DeserializeOwned;

/// Parses `text` as JSON if it looks like an array, else reads it as a path to a JSON file.
pub fn json_arg<T: DeserializeOwned>(name: &str, text: &str) -> Result<T> {
    let trimmed = text.trim_start();
    let (source, content) = if trimmed.starts_with('[') {
        ("inline value", text.to_owned())
    } else {
        let content = std::fs::read_to_string(text).with_context(|| {
            format!("{name}: '{text}' is neither a JSON array nor a readable file")
        })?;
        ("file", content)
    };
    serde_json::from_str(&content)
        .with_context(|| format!("{name}: the {source} is not the expected JSON"))
}

/// The pair (p, q) as the `couple` and `counterfactual` commands take it: each as probabilities or
/// as logits.
#[derive(clap::Args)]
pub struct PairArgs {
    /// Probabilities of x, the factual distribution (a JSON array, or a path to a JSON file).
    #[arg(long)]
    p: Option<String>,
    /// Logits of x (normalised for you; "-inf" marks an impossible outcome).
    #[arg(long)]
    p_logits: Option<String>,
    /// Probabilities of y, the counterfactual distribution.
    #[arg(long)]
    q: Option<String>,
    /// Logits of y (normalised for you; "-inf" marks an impossible outcome).
    #[arg(long)]
    q_logits: Option<String>,
}

impl PairArgs {
    /// Reads and validates p and q; errors when their lengths differ.
    pub fn read(&self) -> Result<(Categorical, Categorical)> {
        let p = categorical("p", self.p.as_deref(), self.p_logits.as_deref())?;
        let q = categorical("q", self.q.as_deref(), self.q_logits.as_deref())?;
        p.check_same_len(&q)?;
        Ok((p, q))
    }
}

/// A distribution from exactly one of a probabilities argument and a logits argument.
fn categorical(name: &str, probs: Option<&str>, logits: Option<&str>) -> Result<Categorical> {
    let parsed = match (probs, logits) {
        (Some(text), None) => {
            Categorical::from_probs(&json_arg::<Vec<f64>>(&format!("--{name}"), text)?)
        }
        (None, Some(text)) => {
            Categorical::from_logits(&parse_logits(&format!("--{name}-logits"), text)?)
        }
        _ => bail!("give exactly one of --{name} and --{name}-logits"),
    };
    parsed.with_context(|| format!("--{name}"))
}

/// Logits: JSON numbers, with `"-inf"` (or `null`) for an impossible outcome, since JSON has no
/// infinities.
fn parse_logits(name: &str, text: &str) -> Result<Vec<f64>> {
    let values: Vec<serde_json::Value> = json_arg(name, text)?;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            serde_json::Value::Number(n) => {
                n.as_f64().with_context(|| format!("{name}: entry {i} is not a number"))
            }
            serde_json::Value::Null => Ok(f64::NEG_INFINITY),
            serde_json::Value::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
            other => bail!(
                "{name}: entry {i} is {other}; use numbers, or \"-inf\" for an impossible outcome"
            ),
        })
        .collect()
}

/// The cost matrix from `--cost` (a K x K array) or `--reward` (h, giving C_ij = (h_i - h_j)^2).
pub fn cost(cost: Option<&str>, reward: Option<&[f64]>) -> Result<Option<CostMatrix>> {
    Ok(match (cost, reward) {
        (Some(text), None) => {
            let rows: Vec<Vec<f64>> = json_arg("--cost", text)?;
            Some(CostMatrix::from_rows(&rows).context("--cost")?)
        }
        (None, Some(h)) => Some(CostMatrix::squared_reward(h).context("--reward")?),
        (None, None) => None,
        (Some(_), Some(_)) => bail!("give at most one of --cost and --reward"),
    })
}
