//! Saving and loading a gadget with its configuration and training record, in one file:
//!
//! `GUMBEL-GADGETS-CHECKPOINT\n`, the header length (u64, little-endian), a JSON header
//! (format version, [`GadgetConfig`], optional [`TrainingRecord`], each tensor's name, shape and kind,
//! and an FNV-1a checksum of the payload), then the payload: every tensor's values, little-endian f32,
//! in header order. Loading checks the magic, version, checksum, sizes, and that the names and shapes
//! are exactly the variables the configuration builds; anything else is a clear error.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::config::GadgetConfig;
use crate::error::{GadgetError, Result};
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorEntry {
    name: String,
    shape: Vec<i64>,
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
    let mut variables: Vec<(String, Tensor)> = gadget.var_store().variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    let mut payload = Vec::new();
    let mut tensors = Vec::with_capacity(variables.len());
    for (name, tensor) in &variables {
        let values = Vec::<f32>::try_from(tensor.to_device(Device::Cpu).to_kind(Kind::Float).flatten(0, -1))?;
        values.iter().for_each(|v| payload.extend_from_slice(&v.to_le_bytes()));
        tensors.push(TensorEntry { name: name.clone(), shape: tensor.size() });
    }
    let header = Header { version: VERSION, config: gadget.config().clone(), training: training.cloned(), tensors, checksum: fnv1a(&payload) };
    let json = serde_json::to_vec(&header).map_err(|e| corrupt(path, format!("cannot encode the header: {e}")))?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 8 + json.len() + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    bytes.extend_from_slice(&payload);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
    }
    std::fs::write(path, bytes).map_err(|source| io(path, source))
}

/// Reads a gadget from `path` onto `device`.
pub fn load(path: &Path, device: Device) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|source| io(path, source))?;
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| corrupt(path, "not a gumbel-gadgets checkpoint (bad magic)".into()))?;
    let (length, rest) = rest.split_first_chunk::<8>().ok_or_else(|| corrupt(path, "truncated header".into()))?;
    let length = usize::try_from(u64::from_le_bytes(*length)).map_err(|_| corrupt(path, "header length overflows".into()))?;
    if rest.len() < length {
        return Err(corrupt(path, "truncated header".into()));
    }
    let (json, payload) = rest.split_at(length);
    let header: Header = serde_json::from_slice(json).map_err(|e| corrupt(path, format!("unreadable header: {e}")))?;
    if header.version != VERSION {
        return Err(corrupt(path, format!("format version {} (this build reads {VERSION})", header.version)));
    }
    if fnv1a(payload) != header.checksum {
        return Err(corrupt(path, "checksum mismatch: the weights are corrupt or truncated".into()));
    }
    let gadget = Gadget::new(header.config.clone(), device, 0).map_err(|e| corrupt(path, format!("its configuration is invalid: {e}")))?;
    let mut variables = gadget.var_store().variables();
    if variables.len() != header.tensors.len() {
        return Err(corrupt(path, format!("it holds {} tensors, its configuration builds {}", header.tensors.len(), variables.len())));
    }
    let mut offset = 0usize;
    for entry in &header.tensors {
        let target = variables.get_mut(&entry.name).ok_or_else(|| corrupt(path, format!("unexpected tensor {:?}", entry.name)))?;
        if target.size() != entry.shape {
            return Err(corrupt(path, format!("tensor {:?} has shape {:?}, expected {:?}", entry.name, entry.shape, target.size())));
        }
        let count = entry.shape.iter().product::<i64>() as usize;
        let chunk = payload.get(offset..offset + 4 * count).ok_or_else(|| corrupt(path, "the payload is too short".into()))?;
        offset += 4 * count;
        let values: Vec<f32> = chunk.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let source = Tensor::from_slice(&values).view(entry.shape.as_slice()).to_device(device);
        tch::no_grad(|| target.f_copy_(&source))?;
    }
    if offset != payload.len() {
        return Err(corrupt(path, format!("{} unexpected bytes after the weights", payload.len() - offset)));
    }
    Ok(Loaded { gadget, training: header.training })
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn corrupt(path: &Path, reason: String) -> GadgetError {
    GadgetError::Checkpoint { path: path.display().to_string(), reason }
}

fn io(path: &Path, source: std::io::Error) -> GadgetError {
    GadgetError::Io { path: path.display().to_string(), source }
}
