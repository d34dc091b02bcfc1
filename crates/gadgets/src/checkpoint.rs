//! Saving and loading a gadget with its configuration and training record, in one file:
//!
//! `GUMBEL-GADGETS-CHECKPOINT\n` and [`crate::framing`]'s layout, whose JSON header holds the format
//! version, the [`GadgetConfig`] and the optional [`TrainingRecord`] besides each tensor's name and
//! shape and the payload's checksum. Loading checks the magic, version, checksum, sizes, and that the
//! names and shapes are exactly the variables the configuration builds; anything else is a clear error.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::config::GadgetConfig;
use crate::error::Result;
use crate::framing::{self, corrupt, TensorEntry};
use crate::gadget::Gadget;
use crate::train::TrainingRecord;

const MAGIC: &[u8] = b"GUMBEL-GADGETS-CHECKPOINT\n";
const VERSION: u32 = 1;

/// The JSON header of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    version: u32,
    config: GadgetConfig,
    training: Option<TrainingRecord>,
    tensors: Vec<TensorEntry>,
    checksum: u64,
}

/// A gadget read from a checkpoint, with the record of its training (if any).
#[derive(Debug)]
pub struct Loaded {
    /// The gadget, on the requested device.
    pub gadget: Gadget,
    /// How it was trained.
    pub training: Option<TrainingRecord>,
}

/// Writes `gadget` (and its training record) to `path`.
pub fn save(gadget: &Gadget, training: Option<&TrainingRecord>, path: &Path) -> Result<()> {
    gadget.check_single()?;
    let (tensors, payload) = framing::encode(gadget.var_store().variables())?;
    let header = Header {
        version: VERSION,
        config: gadget.config().clone(),
        training: training.cloned(),
        tensors,
        checksum: gumbel_core::hash::fnv1a(&payload),
    };
    framing::write(path, MAGIC, &header, &payload)
}

/// Reads a gadget from `path` onto `device`.
pub fn load(path: &Path, device: Device) -> Result<Loaded> {
    let (header, payload): (Header, _) = framing::read(path, MAGIC, "checkpoint")?;
    if header.version != VERSION {
        return Err(corrupt(
            path,
            format!("format version {} (this build reads {VERSION})", header.version),
        ));
    }
    let gadget = Gadget::new(header.config.clone(), device, 0)
        .map_err(|e| corrupt(path, format!("its configuration is invalid: {e}")))?;
    framing::copy_into(
        path,
        &header.tensors,
        &payload,
        header.checksum,
        &mut gadget.var_store().variables(),
    )?;
    Ok(Loaded { gadget, training: header.training })
}
