//! A training run's state between two steps, in one file, so that a run stopped part-way (a killed
//! process, a machine taken away) resumes where it stopped and ends with the weights, losses and
//! generator state of a run that was never stopped, bit for bit on the same device and thread count.
//!
//! `GUMBEL-GADGETS-TRAINING-SNAPSHOT\n` and the layout of `framing.rs`; the JSON header holds the
//! format version, the run it belongs to ([`Identity`]: gadget configuration, optimisation settings,
//! observed outcome), where the run stood ([`Position`]: steps done, the generator's state, Adam's
//! update count, the loss log, seconds spent), the tensors' names and shapes and the payload's
//! checksum. The tensors are the gadget's variables (`weights/<name>`) and Adam's moment estimates
//! (`adam/first/<i>`, `adam/second/<i>`).
//!
//! A stack of runs (`crate::stack`) is snapshotted in the same layout under
//! `GUMBEL-GADGETS-STACK-SNAPSHOT\n`, with [`StackIdentity`] and [`StackPosition`]: every run's settings,
//! generator and loss log.

use std::collections::HashMap;
use std::path::Path;

use gumbel_core::rng::SeededRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::config::GadgetConfig;
use crate::error::Result;
use crate::framing::{self, corrupt, TensorEntry};
use crate::train::{LossLog, TrainOptions};

/// The first line of a run's snapshot.
pub(crate) const RUN_MAGIC: &[u8] = b"GUMBEL-GADGETS-TRAINING-SNAPSHOT\n";
/// The first line of a stack's snapshot.
pub(crate) const STACK_MAGIC: &[u8] = b"GUMBEL-GADGETS-STACK-SNAPSHOT\n";
/// The format version. Snapshots of version 1 hold runs of noise version 1
/// ([`crate::noise::NOISE_VERSION`]); continuing them with this build's noise would mix two noises in
/// one run, so they are refused as any other version is.
const VERSION: u32 = 2;

/// The run a snapshot belongs to: resuming from another run's snapshot is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Identity {
    pub config: GadgetConfig,
    /// The optimisation settings.
    pub options: TrainOptions,
    pub observed: Option<usize>,
}

/// Where a run stood when its snapshot was taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Position {
    /// Steps done.
    pub step: usize,
    /// The generator of pairs, about to draw step `step + 1`'s (the noise is keyed by the step).
    pub rng: SeededRng,
    /// Adam's update count (its bias corrections depend on it).
    pub adam_updates: i32,
    /// The losses so far.
    pub log: LossLog,
    /// Wall-clock seconds of training so far.
    pub seconds: f64,
}

/// The runs of a stack a snapshot belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StackIdentity {
    pub config: GadgetConfig,
    /// Each run's settings.
    pub options: Vec<TrainOptions>,
    /// The observation every run shares (None when there is none or each run has its own).
    pub observed: Option<usize>,
    /// Each run's observation, when they differ (left out of the JSON otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_per_run: Vec<Option<usize>>,
    /// The FNV-1a hash of each run's cost matrix, when they differ (left out otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub costs: Option<u64>,
}

/// Where a stack stood when its snapshot was taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StackPosition {
    /// Steps done (by every run).
    pub step: usize,
    /// Each run's generator of pairs.
    pub rngs: Vec<SeededRng>,
    /// Adam's update count.
    pub adam_updates: i32,
    /// Each run's losses so far.
    pub logs: Vec<LossLog>,
    /// Wall-clock seconds of training so far.
    pub seconds: f64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header<I, P> {
    version: u32,
    run: I,
    position: P,
    tensors: Vec<TensorEntry>,
    checksum: u64,
}

/// Writes a snapshot of `run` (an [`Identity`] or a [`StackIdentity`], `magic` the matching first
/// line) at `position` with `tensors` (named as in the module doc) to `path`.
pub(crate) fn save<I: Serialize + Clone, P: Serialize + Clone>(
    path: &Path,
    magic: &[u8],
    run: &I,
    position: &P,
    tensors: HashMap<String, Tensor>,
) -> Result<()> {
    let (entries, payload) = framing::encode(tensors)?;
    let header = Header {
        version: VERSION,
        run: run.clone(),
        position: position.clone(),
        tensors: entries,
        checksum: gumbel_core::hash::fnv1a(&payload),
    };
    framing::write(path, magic, &header, &payload)
}

/// Reads the snapshot at `path`, checks that it belongs to `run` and holds exactly `targets`, copies
/// its tensors into them, and returns where the run stood. On an error nothing has been copied.
pub(crate) fn load<I: DeserializeOwned + PartialEq, P: DeserializeOwned>(
    path: &Path,
    magic: &[u8],
    run: &I,
    targets: &mut HashMap<String, Tensor>,
) -> Result<P> {
    let (header, payload): (Header<I, P>, _) = framing::read(path, magic, "training snapshot")?;
    if header.version != VERSION {
        return Err(corrupt(
            path,
            format!("format version {} (this build reads {VERSION})", header.version),
        ));
    }
    if header.run != *run {
        return Err(corrupt(
            path,
            "it is the snapshot of another run (gadget, settings or observation differ)".into(),
        ));
    }
    framing::copy_into(path, &header.tensors, &payload, header.checksum, targets)?;
    Ok(header.position)
}
