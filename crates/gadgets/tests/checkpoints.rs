//! Checkpoint files: the safetensors layout PyTorch reads (torch's names, f32 little-endian data,
//! the configuration and training record as metadata strings), bit-exact round trips, and
//! checkpoints of the earlier format, written by the code that wrote them (`data/gadget2-legacy.ckpt`),
//! still loading to the same gadget.

mod common;

use std::path::Path;

use common::{gadget, small, weights};
use gadgets::checkpoint::{load, save};
use gadgets::{GadgetError, GadgetKind};
use gumbel_core::Categorical;
use serde_json::Value;
use tch::Device;

/// The header of a safetensors file, parsed here independently of the crate.
fn header(path: &Path) -> Value {
    let bytes = std::fs::read(path).expect("read");
    let length = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    assert_eq!(length % 8, 0, "the header is padded to 8 bytes");
    serde_json::from_slice(&bytes[8..8 + length]).expect("JSON header")
}

#[test]
fn a_checkpoint_is_a_safetensors_file_with_torch_names_and_metadata() {
    let mut config = small(GadgetKind::Gadget1, 4, 1);
    config.separate_networks = true;
    config.hidden = vec![5];
    let g = gadget(config.clone(), 3);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("g1.safetensors");
    save(&g, None, &path).expect("save");
    let header = header(&path);
    let metadata = &header["__metadata__"];
    assert_eq!(metadata["format"], "gumbel-gadgets-checkpoint");
    assert_eq!(metadata["version"], "2");
    assert!(metadata.get("training").is_none());
    let stored: gadgets::GadgetConfig =
        serde_json::from_str(metadata["config"].as_str().expect("a string")).expect("config");
    assert_eq!(stored, config);
    // torch.nn.Linear's names and [out, in] weights; offsets contiguous over the data.
    let mut names: Vec<&str> =
        header.as_object().expect("object").keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "__metadata__",
            "net_p.layers.0.bias",
            "net_p.layers.0.weight",
            "net_p.layers.1.bias",
            "net_p.layers.1.weight",
            "net_q.layers.0.bias",
            "net_q.layers.0.weight",
            "net_q.layers.1.bias",
            "net_q.layers.1.weight",
        ]
    );
    assert_eq!(header["net_p.layers.0.weight"]["shape"], serde_json::json!([5, 4]));
    assert_eq!(header["net_q.layers.1.weight"]["shape"], serde_json::json!([16, 5]));
    assert_eq!(header["net_q.layers.1.bias"]["dtype"], "F32");
    // The values are the variables' bits.
    let bytes = std::fs::read(&path).expect("read");
    let start = 8 + u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let offsets = &header["net_p.layers.0.weight"]["data_offsets"];
    let (begin, end) = (offsets[0].as_u64().expect("u64"), offsets[1].as_u64().expect("u64"));
    let stored: Vec<f32> = bytes[start + begin as usize..start + end as usize]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect();
    let variables = weights(&g);
    let kernel = variables.iter().find(|(name, _)| name == "net_p.layer0.weight").expect("kernel");
    assert_eq!(stored, kernel.1);
    let loaded = load(&path, Device::Cpu).expect("load");
    assert_eq!(weights(&loaded.gadget), variables);
    assert!(loaded.training.is_none());
}

#[test]
fn a_checkpoint_of_the_earlier_format_loads_to_the_gadget_it_held() {
    let legacy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gadget2-legacy.ckpt");
    let loaded = load(&legacy, Device::Cpu).expect("the earlier format loads");
    // Gadget 2 (K = 3, hidden [4], |Z| = 2, learned prior) trained 3 steps; its exact coupling of
    // this pair, as computed when the file was written.
    let p = Categorical::from_probs(&[0.5, 0.2, 0.3]).expect("p");
    let q = Categorical::from_probs(&[0.1, 0.3, 0.6]).expect("q");
    let joint = loaded.gadget.coupling(&p, &q, 0, 0).expect("coupling").coupling.to_rows();
    let written = [
        [0.09999999999999999, 0.1258767293327262, 0.2741232706672737],
        [0.0, 0.1741232706672738, 0.025876729332726233],
        [0.0, 0.0, 0.30000000000000004],
    ];
    for (row, want) in joint.iter().zip(written) {
        for (got, want) in row.iter().zip(want) {
            assert!((got - want).abs() <= 1e-12, "{joint:?}");
        }
    }
    let record = loaded.training.expect("its training record");
    assert_eq!(record.losses.len(), 3);
    // Saved again, it is a safetensors checkpoint of the same bits and record.
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("converted.safetensors");
    save(&loaded.gadget, Some(&record), &path).expect("save");
    assert_eq!(header(&path)["__metadata__"]["format"], "gumbel-gadgets-checkpoint");
    let again = load(&path, Device::Cpu).expect("load");
    assert_eq!(weights(&again.gadget), weights(&loaded.gadget));
    assert_eq!(again.training.expect("record"), record);
}

#[test]
fn damaged_or_foreign_files_are_clear_errors() {
    let g = gadget(small(GadgetKind::Gadget2, 3, 2), 1);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("g.safetensors");
    save(&g, None, &path).expect("save");
    let good = std::fs::read(&path).expect("read");
    let reason = |bytes: &[u8]| -> String {
        std::fs::write(&path, bytes).expect("write");
        match load(&path, Device::Cpu) {
            Err(GadgetError::Checkpoint { reason, .. }) => reason,
            other => panic!("expected a checkpoint error, got {other:?}"),
        }
    };
    let mut flipped = good.clone();
    *flipped.last_mut().expect("a byte") ^= 0x55;
    assert!(reason(&flipped).contains("checksum"));
    assert!(reason(&good[..good.len() - 4]).contains("truncated"));
    assert!(reason(&good[..100]).contains("not a safetensors file"));
    assert!(reason(b"{}").contains("not a safetensors file"));
    // A safetensors file without this project's metadata.
    let foreign = br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let foreign = [&(foreign.len() as u64).to_le_bytes()[..], foreign, &[0; 4]].concat();
    assert!(reason(&foreign).contains("not a gumbel-gadgets checkpoint"));
}
