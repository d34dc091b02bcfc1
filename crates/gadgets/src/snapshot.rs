//! A training run's state between two steps, in one file, so that a run stopped part-way (a killed
//! process, the end of a session) resumes where it stopped and ends with the weights, losses and
//! generator state of a run that was never stopped, bit for bit on the same device and thread count.
//!
//! `GUMBEL-GADGETS-TRAINING-SNAPSHOT\n` and the layout of `framing.rs`; the JSON header holds the
//! format version, the run it belongs to ([`Identity`]: gadget configuration, optimisation settings,
//! observed outcome), where the run stood ([`Position`]: steps done, the generator's state, Adam's
//! update count, the loss log, seconds spent), the tensors' names and shapes and the payload's
//! checksum. The tensors are the gadget's variables (`weights/<name>`) and Adam's moment estimates
//! (`adam/first/<i>`, `adam/second/<i>`).

use std::collections::HashMap;
use std::path::Path;

use gumbel_core::rng::SeededRng;
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::config::GadgetConfig;
use crate::error::Result;
use crate::framing::{self, corrupt, TensorEntry};
use crate::train::{LossLog, TrainOptions};

const MAGIC: &[u8] = b"GUMBEL-GADGETS-TRAINING-SNAPSHOT\n";
const VERSION: u32 = 1;

/// The run a snapshot belongs to: resuming from another run's snapshot is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Identity {
    pub config: GadgetConfig,
    /// The optimisation settings, with `progress` off (whether a bar is drawn is not the run's).
    pub options: TrainOptions,
    pub observed: Option<usize>,
}

/// Where a run stood when its snapshot was taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Position {
    /// Steps done.
    pub step: usize,
    /// The generator of pairs and noise, about to draw step `step + 1`'s.
    pub rng: SeededRng,
    /// Adam's update count (its bias corrections depend on it).
    pub adam_updates: i32,
    /// The losses so far.
    pub log: LossLog,
    /// Wall-clock seconds of training so far.
    pub seconds: f64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    version: u32,
    run: Identity,
    position: Position,
    tensors: Vec<TensorEntry>,
    checksum: u64,
}

/// Writes a snapshot of `run` at `position` with `tensors` (named as in the module doc) to `path`.
pub(crate) fn save(path: &Path, run: &Identity, position: &Position, tensors: HashMap<String, Tensor>) -> Result<()> {
    let (entries, payload) = framing::encode(tensors)?;
    let header = Header { version: VERSION, run: run.clone(), position: position.clone(), tensors: entries, checksum: framing::fnv1a(&payload) };
    framing::write(path, MAGIC, &header, &payload)
}

/// Reads the snapshot at `path`, checks that it belongs to `run` and holds exactly `targets`, copies
/// its tensors into them, and returns where the run stood. On an error nothing has been copied.
pub(crate) fn load(path: &Path, run: &Identity, targets: &mut HashMap<String, Tensor>) -> Result<Position> {
    let (header, payload): (Header, _) = framing::read(path, MAGIC, "training snapshot")?;
    if header.version != VERSION {
        return Err(corrupt(path, format!("format version {} (this build reads {VERSION})", header.version)));
    }
    if header.run != *run {
        return Err(corrupt(path, "it is the snapshot of another run (gadget, settings or observation differ)".into()));
    }
    framing::copy_into(path, &header.tensors, &payload, header.checksum, targets)?;
    Ok(header.position)
}
