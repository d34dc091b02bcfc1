//! Deterministic shards of a list of work, for job arrays (Slurm, Kubernetes Indexed Jobs): shard I
//! of N takes a fixed subset of the items, the same in every process that lists the same items, so
//! N processes split the work without talking to each other.
//!
//! [`balance`] assigns items by greedy longest-processing-time first: items in decreasing order of
//! estimated cost (ties in list order), each to the shard with the least cost so far (ties to the
//! lowest index). Its makespan is at most 4/3 of the optimum (Graham 1969). [`ShardSpec`] is the
//! command line's `I/N` or `auto`, which reads the index and count from the job array's environment
//! through a lookup the caller passes (this module does no I/O).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// What is wrong with a shard's specification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShardError {
    /// Neither `I/N` nor `auto`.
    #[error("'{0}' is not a shard: expected I/N with 0 <= I < N (e.g. 0/4) or auto")]
    Malformed(String),
    /// N = 0.
    #[error("'{0}': the shard count must be at least 1")]
    NoShards(String),
    /// I >= N.
    #[error("'{0}': the shard index must be below the count")]
    IndexTooLarge(String),
    /// `auto` without an array index in the environment.
    #[error(
        "auto: no job array in the environment (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, \
         or JOB_COMPLETION_INDEX with SHARD_COUNT)"
    )]
    NoArray,
    /// `auto` with an unreadable variable.
    #[error("auto: {name}={value} is not a non-negative integer")]
    BadVariable {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// I, in 0..count.
    pub index: usize,
    /// N >= 1.
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`, checked.
    pub fn new(index: usize, count: usize) -> Result<Self, ShardError> {
        let text = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError::NoShards(text));
        }
        if index >= count {
            return Err(ShardError::IndexTooLarge(text));
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A shard as given on a command line: `I/N`, or `auto` (from the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    /// `I/N`.
    Given(Shard),
    /// `auto`: [`ShardSpec::resolve`] reads the job array's variables.
    Auto,
}

impl FromStr for ShardSpec {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Self, ShardError> {
        let text = text.trim();
        if text == "auto" {
            return Ok(Self::Auto);
        }
        let malformed = || ShardError::Malformed(text.to_owned());
        let (index, count) = text.split_once('/').ok_or_else(malformed)?;
        let number = |s: &str| s.trim().parse::<usize>().map_err(|_| malformed());
        let (index, count) = (number(index)?, number(count)?);
        Shard::new(index, count).map(Self::Given).map_err(|error| match error {
            ShardError::NoShards(_) => ShardError::NoShards(text.to_owned()),
            _ => ShardError::IndexTooLarge(text.to_owned()),
        })
    }
}

impl ShardSpec {
    /// The shard: as given, or for `auto` from the environment `var` looks up. Slurm's array: the
    /// index `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` (so `--array=1-4` works too) of
    /// `SLURM_ARRAY_TASK_COUNT`; else a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` of
    /// `SHARD_COUNT` (set it to the Job's `completions`).
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let Self::Given(shard) = self else {
            let number = |name: &'static str| -> Result<Option<usize>, ShardError> {
                var(name)
                    .map(|value| {
                        value
                            .trim()
                            .parse::<usize>()
                            .map_err(|_| ShardError::BadVariable { name, value })
                    })
                    .transpose()
            };
            let (index, count) = match number("SLURM_ARRAY_TASK_ID")? {
                Some(id) => {
                    let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                    let count = number("SLURM_ARRAY_TASK_COUNT")?.ok_or(ShardError::NoArray)?;
                    (id.checked_sub(min).ok_or(ShardError::NoArray)?, count)
                }
                None => (
                    number("JOB_COMPLETION_INDEX")?.ok_or(ShardError::NoArray)?,
                    number("SHARD_COUNT")?.ok_or(ShardError::NoArray)?,
                ),
            };
            return Shard::new(index, count);
        };
        Ok(shard)
    }
}

/// The shard of each item, by greedy longest-processing-time first over the items' estimated costs
/// (see the module's doc): a pure function of the costs, their order and the count. A NaN or negative
/// cost counts as zero.
pub fn balance(costs: &[f64], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let cost = |i: usize| if costs[i] > 0.0 { costs[i] } else { 0.0 };
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| cost(b).total_cmp(&cost(a)).then(a.cmp(&b)));
    let mut loads = vec![0.0_f64; count];
    let mut owner = vec![0; costs.len()];
    for item in order {
        let lightest = (0..count).fold(0, |best, s| if loads[s] < loads[best] { s } else { best });
        loads[lightest] += cost(item);
        owner[item] = lightest;
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_given_shards_and_refuses_bad_ones() {
        assert_eq!("2/4".parse(), Ok(ShardSpec::Given(Shard { index: 2, count: 4 })));
        assert_eq!("auto".parse(), Ok(ShardSpec::Auto));
        assert_eq!("4/4".parse::<ShardSpec>(), Err(ShardError::IndexTooLarge("4/4".into())));
        assert_eq!("0/0".parse::<ShardSpec>(), Err(ShardError::NoShards("0/0".into())));
        for bad in ["", "3", "a/4", "1/-4", "1/4/2", "-1/4"] {
            assert_eq!(bad.parse::<ShardSpec>(), Err(ShardError::Malformed(bad.into())), "{bad}");
        }
    }

    #[test]
    fn auto_reads_slurm_or_kubernetes_arrays() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        };
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert_eq!(ShardSpec::Auto.resolve(slurm), Ok(Shard { index: 3, count: 4 }));
        let from_one = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(ShardSpec::Auto.resolve(from_one), Ok(Shard { index: 3, count: 4 }));
        let indexed = env(&[("JOB_COMPLETION_INDEX", "0"), ("SHARD_COUNT", "2")]);
        assert_eq!(ShardSpec::Auto.resolve(indexed), Ok(Shard { index: 0, count: 2 }));
        assert_eq!(ShardSpec::Auto.resolve(env(&[])), Err(ShardError::NoArray));
        let no_count = env(&[("SLURM_ARRAY_TASK_ID", "0")]);
        assert_eq!(ShardSpec::Auto.resolve(no_count), Err(ShardError::NoArray));
        let garbled = env(&[("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert!(matches!(ShardSpec::Auto.resolve(garbled), Err(ShardError::BadVariable { .. })));
        let beyond = env(&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert_eq!(ShardSpec::Auto.resolve(beyond), Err(ShardError::IndexTooLarge("4/4".into())));
    }

    #[test]
    fn balance_is_longest_processing_time_first() {
        // 7, 5, 4, 3, 3, 2 on two shards: 7 -> 0, 5 -> 1, 4 -> 1 (9), 3 -> 0 (10), 3 -> 1 (12), 2 -> 0.
        let costs = [3.0, 7.0, 2.0, 5.0, 4.0, 3.0];
        assert_eq!(balance(&costs, 2), vec![0, 0, 0, 1, 1, 1]);
        let load = |s: usize| -> f64 {
            costs.iter().zip(balance(&costs, 2)).filter(|(_, o)| *o == s).map(|(c, _)| c).sum()
        };
        assert_eq!((load(0), load(1)), (12.0, 12.0));
        // Equal costs go round the shards in list order; one shard takes everything.
        assert_eq!(balance(&[1.0; 5], 3), vec![0, 1, 2, 0, 1]);
        assert_eq!(balance(&[1.0, f64::NAN, -2.0], 1), vec![0, 0, 0]);
        assert!(balance(&[], 4).is_empty());
    }
}
