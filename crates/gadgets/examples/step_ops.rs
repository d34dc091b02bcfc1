//! Training steps of the benchmark's configuration (K = 10, B = 64, N_in = 16, joint loss, one
//! libtorch thread) at hidden [64, 64], for counting the operations of one step with valgrind's
//! callgrind (docs/gadgets.md, "Operations per step"; the count does not depend on the widths):
//!
//! `valgrind --tool=callgrind --callgrind-out-file=three.out \
//!   --toggle-collect='gadgets::train::Trainer::step*' target/release/examples/step_ops gadget-2 3`,
//! the same with `one.out` and 1 step, then `python3 crates/gadgets/examples/count_ops.py three.out
//! one.out`: (3 steps - 1 step) / 2, the steady step.
//!
//! The first argument is `gadget-1` or `gadget-2`, the second the number of steps (3 by default);
//! it prints the hash of the trained weights' bits, to compare two builds' training.
//! The run is long enough (`steps` in its options) that no step is its last, so the steps counted
//! are the steady state: a readback every N steps ([`gadgets::readback::READBACK_EVERY`]) is not
//! among them.

use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{Device, Gadget, GadgetConfig, GadgetKind};
use gumbel_core::pairs::{PairMode, SoftmaxUniform};
use gumbel_core::CostMatrix;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let kind = match args.get(1).map(String::as_str) {
        Some("gadget-1") => GadgetKind::Gadget1,
        Some("gadget-2") | None => GadgetKind::Gadget2,
        Some(other) => return Err(format!("unknown gadget {other:?}").into()),
    };
    let steps: usize = args.get(2).map_or(Ok(3), |s| s.parse())?;
    tch::set_num_threads(1);
    let config = GadgetConfig { hidden: vec![64, 64], ..GadgetConfig::paper(kind, 10) };
    let gadget = Gadget::new(config, Device::Cpu, 0)?;
    let pairs = SoftmaxUniform::paper(PairMode::Independent);
    let cost = CostMatrix::squared_index(10);
    let options = TrainOptions {
        loss: LossKind::Joint,
        batch: 64,
        inner_samples: 16,
        learning_rate: 1e-4,
        steps: 1_000_000,
        seed: 0,
        unnormalised_logits: false,
    };
    let mut trainer = Trainer::new(&gadget, &pairs, &cost, &options)?;
    for _ in 0..steps {
        trainer.step()?;
    }
    drop(trainer);
    // The weights' bits, to compare two builds' training.
    let mut variables: Vec<_> = gadget.var_store().variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    let mut bytes = Vec::new();
    for (_, tensor) in variables {
        for value in Vec::<f32>::try_from(tensor.flatten(0, -1))? {
            bytes.extend(value.to_le_bytes());
        }
    }
    println!("{steps} steps, weights FNV-1a {:016x}", gumbel_core::hash::fnv1a(&bytes));
    Ok(())
}
