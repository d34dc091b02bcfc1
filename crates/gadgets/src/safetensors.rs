//! The safetensors file format, as `safetensors.torch.load_file` reads it, for f32 tensors: the
//! header's length (u64, little-endian), a JSON header, then the data. The header maps each tensor's
//! name to its `dtype` (`"F32"`), `shape` and byte range `data_offsets` `[begin, end)` in the data,
//! and `__metadata__` to a map of strings; it is padded with spaces to a multiple of 8 bytes. The data
//! holds every tensor's values, little-endian, one tensor after another with no gaps.
//!
//! This module writes and reads that frame; what the tensors and metadata mean is
//! [`crate::checkpoint`]'s.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::framing::{corrupt, io, TensorEntry};

/// The header key of the metadata.
const METADATA: &str = "__metadata__";
/// The only element type written and read.
const DTYPE: &str = "F32";
/// The largest header read (the safetensors library's own limit).
const MAX_HEADER: u64 = 100_000_000;

/// A tensor's entry in the header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Info {
    dtype: String,
    shape: Vec<i64>,
    data_offsets: [usize; 2],
}

/// The contents of a safetensors file.
#[derive(Debug)]
pub(crate) struct Contents {
    /// The tensors, in the order of their data.
    pub tensors: Vec<TensorEntry>,
    /// The metadata.
    pub metadata: BTreeMap<String, String>,
    /// The data: each tensor's f32 values, little-endian, in the order of `tensors`.
    pub data: Vec<u8>,
}

/// Writes `tensors` (their f32 values, little-endian, one after another in `data`) and `metadata`
/// to `path`, creating its folder.
pub(crate) fn write(
    path: &Path,
    tensors: &[TensorEntry],
    metadata: &BTreeMap<String, String>,
    data: &[u8],
) -> Result<()> {
    let mut header = Map::new();
    header.insert(METADATA.to_owned(), serde_json::to_value(metadata).unwrap_or_default());
    let mut begin = 0;
    for entry in tensors {
        let end = begin + 4 * entry.shape.iter().product::<i64>() as usize;
        let info = Info {
            dtype: DTYPE.to_owned(),
            shape: entry.shape.clone(),
            data_offsets: [begin, end],
        };
        header.insert(entry.name.clone(), serde_json::to_value(info).unwrap_or_default());
        begin = end;
    }
    if begin != data.len() {
        return Err(corrupt(
            path,
            format!("{} bytes of data for {begin} bytes of tensors", data.len()),
        ));
    }
    let mut json = serde_json::to_vec(&Value::Object(header))
        .map_err(|e| corrupt(path, format!("cannot encode the header: {e}")))?;
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut bytes = Vec::with_capacity(8 + json.len() + data.len());
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    bytes.extend_from_slice(data);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
    }
    std::fs::write(path, bytes).map_err(|source| io(path, source))
}

/// Parses `bytes`, the contents of the file at `path` (named in errors): checks that the header is
/// JSON of the layout above, every tensor is F32 with as many bytes as its shape needs, and the
/// tensors fill the data without gaps or overlaps.
pub(crate) fn parse(path: &Path, mut bytes: Vec<u8>) -> Result<Contents> {
    let bad = |reason: &str| corrupt(path, format!("not a safetensors file ({reason})"));
    let (length, rest) = bytes.split_first_chunk::<8>().ok_or_else(|| bad("too short"))?;
    let length = u64::from_le_bytes(*length);
    if length > MAX_HEADER || length > rest.len() as u64 {
        return Err(bad("the header length exceeds the file"));
    }
    let json = &rest[..length as usize];
    if json.first() != Some(&b'{') {
        return Err(bad("the header is not a JSON object"));
    }
    let header: Map<String, Value> = serde_json::from_slice(json)
        .map_err(|e| corrupt(path, format!("unreadable header: {e}")))?;
    let mut metadata = BTreeMap::new();
    let mut tensors = Vec::new();
    for (name, value) in header {
        if name == METADATA {
            metadata = serde_json::from_value(value)
                .map_err(|e| corrupt(path, format!("unreadable metadata: {e}")))?;
            continue;
        }
        let info: Info = serde_json::from_value(value)
            .map_err(|e| corrupt(path, format!("unreadable entry of tensor {name:?}: {e}")))?;
        if info.dtype != DTYPE {
            return Err(corrupt(
                path,
                format!("tensor {name:?} is {}, expected {DTYPE}", info.dtype),
            ));
        }
        tensors.push((info.data_offsets, TensorEntry { name, shape: info.shape }));
    }
    tensors.sort_by_key(|(offsets, _)| *offsets);
    let mut end = 0;
    for ([begin, stop], entry) in &tensors {
        let count: i64 = entry.shape.iter().product();
        if *begin != end || count < 0 || stop.checked_sub(*begin) != Some(4 * count as usize) {
            return Err(corrupt(
                path,
                format!("tensor {:?}: its bytes do not follow the previous tensor's or do not fit its shape", entry.name),
            ));
        }
        end = *stop;
    }
    // The data in place: drop the length and the header from the front.
    bytes.drain(..8 + length as usize);
    if end != bytes.len() {
        return Err(corrupt(
            path,
            format!(
                "{} bytes of data for {end} bytes of tensors: truncated or padded",
                bytes.len()
            ),
        ));
    }
    Ok(Contents {
        tensors: tensors.into_iter().map(|(_, entry)| entry).collect(),
        metadata,
        data: bytes,
    })
}
