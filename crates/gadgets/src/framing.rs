//! The file layout of training snapshots ([`crate::snapshot`]) and of checkpoints of the earlier
//! format ([`crate::checkpoint`] reads them): a magic line naming the format, the header length (u64,
//! little-endian), a JSON header (which lists each tensor's name and shape and holds an FNV-1a
//! checksum of the payload), then the payload: every tensor's values, little-endian f32, in header
//! order. Each format owns its header; this module writes and reads the frame and the tensors.

use std::collections::HashMap;
use std::path::Path;

use gumbel_core::hash::fnv1a;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::error::{GadgetError, Result};

/// A tensor's place in the payload, as listed in the header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TensorEntry {
    pub name: String,
    pub shape: Vec<i64>,
}

/// The header entries and the payload of `tensors`, sorted by name.
pub(crate) fn encode(tensors: HashMap<String, Tensor>) -> Result<(Vec<TensorEntry>, Vec<u8>)> {
    let mut tensors: Vec<(String, Tensor)> = tensors.into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let mut payload = Vec::new();
    let mut entries = Vec::with_capacity(tensors.len());
    for (name, tensor) in tensors {
        let values = Vec::<f32>::try_from(
            tensor.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?.f_flatten(0, -1)?,
        )?;
        values.iter().for_each(|v| payload.extend_from_slice(&v.to_le_bytes()));
        entries.push(TensorEntry { name, shape: tensor.size() });
    }
    Ok((entries, payload))
}

/// Writes `magic`, the header and the payload to `path`, creating its folder.
pub(crate) fn write(
    path: &Path,
    magic: &[u8],
    header: &impl Serialize,
    payload: &[u8],
) -> Result<()> {
    let json = serde_json::to_vec(header)
        .map_err(|e| corrupt(path, format!("cannot encode the header: {e}")))?;
    let mut bytes = Vec::with_capacity(magic.len() + 8 + json.len() + payload.len());
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    bytes.extend_from_slice(payload);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
    }
    std::fs::write(path, bytes).map_err(|source| io(path, source))
}

/// Reads `path`: checks the magic line (`what` names the format in the error) and returns the parsed
/// header and the payload.
pub(crate) fn read<H: for<'de> Deserialize<'de>>(
    path: &Path,
    magic: &[u8],
    what: &str,
) -> Result<(H, Vec<u8>)> {
    let mut bytes = std::fs::read(path).map_err(|source| io(path, source))?;
    let rest = bytes
        .strip_prefix(magic)
        .ok_or_else(|| corrupt(path, format!("not a gumbel-gadgets {what} (bad magic)")))?;
    let (length, rest) =
        rest.split_first_chunk::<8>().ok_or_else(|| corrupt(path, "truncated header".into()))?;
    let length = usize::try_from(u64::from_le_bytes(*length))
        .map_err(|_| corrupt(path, "header length overflows".into()))?;
    let json = rest.get(..length).ok_or_else(|| corrupt(path, "truncated header".into()))?;
    let header = serde_json::from_slice(json)
        .map_err(|e| corrupt(path, format!("unreadable header: {e}")))?;
    // The payload in place: drop the magic, the length and the header from the front.
    bytes.drain(..magic.len() + 8 + length);
    Ok((header, bytes))
}

/// Copies the payload's tensors into `targets`, after checking the checksum and that the entries
/// name exactly the targets, with their shapes, and fill the payload. Nothing is copied unless every
/// check passes.
pub(crate) fn copy_into(
    path: &Path,
    entries: &[TensorEntry],
    payload: &[u8],
    checksum: u64,
    targets: &mut HashMap<String, Tensor>,
) -> Result<()> {
    if fnv1a(payload) != checksum {
        return Err(corrupt(
            path,
            "checksum mismatch: the weights are corrupt or truncated".into(),
        ));
    }
    if targets.len() != entries.len() {
        return Err(corrupt(
            path,
            format!("it holds {} tensors, the run needs {}", entries.len(), targets.len()),
        ));
    }
    let mut offset = 0usize;
    let mut sources = Vec::with_capacity(entries.len());
    for entry in entries {
        let target = targets
            .get(&entry.name)
            .ok_or_else(|| corrupt(path, format!("unexpected tensor {:?}", entry.name)))?;
        if target.size() != entry.shape {
            return Err(corrupt(
                path,
                format!(
                    "tensor {:?} has shape {:?}, expected {:?}",
                    entry.name,
                    entry.shape,
                    target.size()
                ),
            ));
        }
        let count = entry.shape.iter().product::<i64>() as usize;
        let chunk = payload
            .get(offset..offset + 4 * count)
            .ok_or_else(|| corrupt(path, "the payload is too short".into()))?;
        offset += 4 * count;
        let values: Vec<f32> =
            chunk.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        sources.push((
            entry.name.as_str(),
            Tensor::from_slice(&values).f_view(entry.shape.as_slice())?,
        ));
    }
    if offset != payload.len() {
        return Err(corrupt(
            path,
            format!("{} unexpected bytes after the tensors", payload.len() - offset),
        ));
    }
    for (name, source) in sources {
        let target = targets.get_mut(name).expect("checked above");
        let source = source.f_to_device(target.device())?;
        tch::no_grad(|| target.f_copy_(&source))?;
    }
    Ok(())
}

/// The error for a file that is not what it should be.
pub(crate) fn corrupt(path: &Path, reason: String) -> GadgetError {
    GadgetError::Checkpoint { path: path.display().to_string(), reason }
}

/// The error for a file that cannot be read or written.
pub(crate) fn io(path: &Path, error: std::io::Error) -> GadgetError {
    GadgetError::Io { path: path.display().to_string(), error }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(values: &[f32], shape: &[i64]) -> Tensor {
        Tensor::from_slice(values).view(shape)
    }

    /// The frame of a 2x2 tensor `a` and a length-3 tensor `b`.
    fn frame() -> (Vec<TensorEntry>, Vec<u8>, u64) {
        let tensors = HashMap::from([
            ("a".to_string(), tensor(&[1.0, 2.0, 3.0, 4.0], &[2, 2])),
            ("b".to_string(), tensor(&[5.0, 6.0, 7.0], &[3])),
        ]);
        let (entries, payload) = encode(tensors).expect("encode");
        let checksum = fnv1a(&payload);
        (entries, payload, checksum)
    }

    /// Zero-filled targets of these names and shapes.
    fn targets(wanted: &[(&str, &[i64])]) -> HashMap<String, Tensor> {
        wanted
            .iter()
            .map(|&(name, shape)| {
                (name.to_string(), Tensor::zeros(shape, (Kind::Float, Device::Cpu)))
            })
            .collect()
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.flatten(0, -1)).expect("f32")
    }

    fn refused(
        entries: &[TensorEntry],
        payload: &[u8],
        checksum: u64,
        mut into: HashMap<String, Tensor>,
        expected: &str,
    ) {
        let error =
            copy_into(Path::new("f"), entries, payload, checksum, &mut into).expect_err(expected);
        assert!(error.to_string().contains(expected), "{error} should say {expected:?}");
        assert!(
            into.values().all(|t| values(t).iter().all(|&v| v == 0.0)),
            "a refused copy ({expected}) wrote into its targets"
        );
    }

    #[test]
    fn a_frame_copies_back_into_targets_of_its_names_and_shapes() {
        let (entries, payload, checksum) = frame();
        let mut into = targets(&[("a", &[2, 2]), ("b", &[3])]);
        copy_into(Path::new("f"), &entries, &payload, checksum, &mut into).expect("copy");
        assert_eq!(
            (values(&into["a"]), values(&into["b"])),
            (vec![1.0, 2.0, 3.0, 4.0], vec![5.0, 6.0, 7.0])
        );
    }

    #[test]
    fn a_frame_that_does_not_match_its_targets_is_refused_before_anything_is_copied() {
        let (entries, payload, checksum) = frame();
        let fits = || targets(&[("a", &[2, 2]), ("b", &[3])]);
        // "a" is checked first and fits; the mismatch is in "b", so a copy made as each entry passed would show.
        refused(
            &entries,
            &payload,
            checksum,
            targets(&[("a", &[2, 2]), ("b", &[1, 3])]),
            "tensor \"b\" has shape [3], expected [1, 3]",
        );
        refused(
            &entries,
            &payload,
            checksum,
            targets(&[("a", &[2, 2]), ("c", &[3])]),
            "unexpected tensor \"b\"",
        );
        refused(
            &entries,
            &payload,
            checksum,
            targets(&[("a", &[2, 2])]),
            "it holds 2 tensors, the run needs 1",
        );
        refused(&entries, &payload, checksum ^ 1, fits(), "checksum mismatch");
        let short = &payload[..payload.len() - 4];
        refused(&entries, short, fnv1a(short), fits(), "the payload is too short");
        let long = [payload.clone(), vec![0; 4]].concat();
        refused(&entries, &long, fnv1a(&long), fits(), "4 unexpected bytes after the tensors");
    }
}
