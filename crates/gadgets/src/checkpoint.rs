//! Saving and loading a gadget with its configuration and training record, in one `.safetensors`
//! file ([`crate::safetensors`]) that PyTorch reads with `safetensors.torch.load_file`.
//!
//! The tensors are the gadget's variables, f32, named as `torch.nn` names a module's parameters:
//! the network `net` (Gadget 1 with separate networks: `net_p` and `net_q`) has layers
//! `net.layers.<i>.weight` (`[out, in]`, as `torch.nn.Linear` stores it) and `net.layers.<i>.bias`,
//! and Gadget 2 has `prior_logits` (`[|Z|]`). The metadata, all strings: `format`
//! (`gumbel-gadgets-checkpoint`), `version`, `config` (the [`GadgetConfig`] as JSON), `training` (the
//! [`TrainingRecord`] as JSON, absent for an untrained gadget) and `checksum` (FNV-1a of the data, 16
//! hex digits). Loading checks all of these, and that the tensors are exactly the variables the
//! configuration builds, with their shapes; anything else is a clear error.
//!
//! Files of the earlier format (`GUMBEL-GADGETS-CHECKPOINT\n` and [`crate::framing`]'s layout) load
//! too; [`save`] writes only the safetensors format.

use std::collections::BTreeMap;
use std::path::Path;

use gumbel_core::hash::fnv1a;
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::config::GadgetConfig;
use crate::error::Result;
use crate::framing::{self, corrupt, io, TensorEntry};
use crate::gadget::Gadget;
use crate::safetensors;
use crate::train::TrainingRecord;

/// The metadata's `format`.
const FORMAT: &str = "gumbel-gadgets-checkpoint";
/// The metadata's `version`: 2, after the earlier format's version 1.
const VERSION: u32 = 2;
/// The first line of a checkpoint of the earlier format.
const LEGACY_MAGIC: &[u8] = b"GUMBEL-GADGETS-CHECKPOINT\n";
/// The only version of the earlier format.
const LEGACY_VERSION: u32 = 1;

/// A gadget read from a checkpoint, with the record of its training (if any).
#[derive(Debug)]
pub struct Loaded {
    /// The gadget, on the requested device.
    pub gadget: Gadget,
    /// How it was trained.
    pub training: Option<TrainingRecord>,
}

/// Writes `gadget` (and its training record) to `path` as a safetensors file.
pub fn save(gadget: &Gadget, training: Option<&TrainingRecord>, path: &Path) -> Result<()> {
    gadget.check_single()?;
    let (tensors, data) = framing::encode(gadget.var_store().variables())?;
    let tensors: Vec<TensorEntry> = tensors
        .into_iter()
        .map(|entry| TensorEntry { name: torch_name(&entry.name), shape: entry.shape })
        .collect();
    let mut metadata = BTreeMap::from([
        ("format".to_owned(), FORMAT.to_owned()),
        ("version".to_owned(), VERSION.to_string()),
        ("config".to_owned(), json(path, gadget.config())?),
        ("checksum".to_owned(), format!("{:016x}", fnv1a(&data))),
    ]);
    if let Some(record) = training {
        metadata.insert("training".to_owned(), json(path, record)?);
    }
    safetensors::write(path, &tensors, &metadata, &data)
}

/// Reads a gadget from `path` onto `device`: a safetensors checkpoint, or one of the earlier format.
pub fn load(path: &Path, device: Device) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|source| io(path, source))?;
    if bytes.starts_with(LEGACY_MAGIC) {
        return load_legacy(path, device);
    }
    let contents = safetensors::parse(path, bytes)?;
    let metadata = &contents.metadata;
    let field = |key: &str| {
        metadata.get(key).ok_or_else(|| {
            corrupt(path, format!("not a gumbel-gadgets checkpoint (no {key:?} in its metadata)"))
        })
    };
    if field("format")? != FORMAT {
        return Err(corrupt(
            path,
            format!("not a gumbel-gadgets checkpoint (format {:?})", field("format")?),
        ));
    }
    if field("version")? != &VERSION.to_string() {
        return Err(corrupt(
            path,
            format!("format version {} (this build reads {VERSION})", field("version")?),
        ));
    }
    let config: GadgetConfig = serde_json::from_str(field("config")?)
        .map_err(|e| corrupt(path, format!("unreadable configuration: {e}")))?;
    let training = metadata
        .get("training")
        .map(|json| serde_json::from_str(json))
        .transpose()
        .map_err(|e| corrupt(path, format!("unreadable training record: {e}")))?;
    let checksum = u64::from_str_radix(field("checksum")?, 16)
        .map_err(|e| corrupt(path, format!("unreadable checksum: {e}")))?;
    let tensors: Vec<TensorEntry> = contents
        .tensors
        .into_iter()
        .map(|entry| TensorEntry { name: store_name(&entry.name), shape: entry.shape })
        .collect();
    let gadget = Gadget::new(config, device, 0)
        .map_err(|e| corrupt(path, format!("its configuration is invalid: {e}")))?;
    framing::copy_into(
        path,
        &tensors,
        &contents.data,
        checksum,
        &mut gadget.var_store().variables(),
    )?;
    Ok(Loaded { gadget, training })
}

/// The legacy loader: the header of the earlier format.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyHeader {
    version: u32,
    config: GadgetConfig,
    training: Option<TrainingRecord>,
    tensors: Vec<TensorEntry>,
    checksum: u64,
}

/// Reads a checkpoint of the earlier format (variables under their libtorch names).
fn load_legacy(path: &Path, device: Device) -> Result<Loaded> {
    let (header, payload): (LegacyHeader, _) = framing::read(path, LEGACY_MAGIC, "checkpoint")?;
    if header.version != LEGACY_VERSION {
        return Err(corrupt(
            path,
            format!("format version {} (this build reads {LEGACY_VERSION})", header.version),
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

/// `value` as a JSON string for the metadata.
fn json(path: &Path, value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| corrupt(path, format!("cannot encode the metadata: {e}")))
}

/// The name torch gives a variable: the network's `layer<i>` becomes `layers.<i>` (a
/// `torch.nn.Sequential` or `ModuleList` called `layers`), e.g. `net.layer0.weight` ->
/// `net.layers.0.weight`.
fn torch_name(name: &str) -> String {
    let parts: Vec<String> = name
        .split('.')
        .map(|part| match part.strip_prefix("layer") {
            Some(index) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
                format!("layers.{index}")
            }
            _ => part.to_owned(),
        })
        .collect();
    parts.join(".")
}

/// The variable named `name` by [`torch_name`]: `net.layers.0.weight` -> `net.layer0.weight`.
fn store_name(name: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut pieces = name.split('.').peekable();
    while let Some(part) = pieces.next() {
        match pieces.peek() {
            Some(index) if part == "layers" && index.bytes().all(|b| b.is_ascii_digit()) => {
                parts.push(format!("layer{index}"));
                pieces.next();
            }
            _ => parts.push(part.to_owned()),
        }
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_take_torch_names_and_back() {
        for (store, torch) in [
            ("net.layer0.weight", "net.layers.0.weight"),
            ("net_q.layer12.bias", "net_q.layers.12.bias"),
            ("prior_logits", "prior_logits"),
            ("layer.x", "layer.x"),
        ] {
            assert_eq!(torch_name(store), torch);
            assert_eq!(store_name(torch), store);
        }
    }
}
