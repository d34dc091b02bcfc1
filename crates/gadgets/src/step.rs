//! A training step in two parts, shared by [`crate::train::Trainer`] and
//! [`crate::stack::StackedTrainer`]: the host prepares a step (draws the pairs, builds the batch's
//! values, folds the step's noise keys, counts Adam's update) and copies it, without waiting for the
//! device, into the *static inputs*, tensors allocated at the trainer's first step and overwritten in
//! place; the device part reads only those tensors, the weights and Adam's state. Eagerly the device
//! part runs as it stands; with graphs on it is captured once as a CUDA graph after
//! [`GRAPH_WARM_UP`] eager steps and replayed at every later step (docs/gadgets.md, "Training with
//! CUDA graphs").
//!
//! Nothing in the device part may depend on a value known only on the host, so that it is the same
//! kernels at every step: Gadget 2's later Sinkhorn sweeps run in log space on CUDA
//! ([`crate::gadget2::LaterSweeps`]), Gadget 2 masks impossible outcomes on CUDA whatever the batch
//! holds ([`masks_always`]), and on CUDA the noise comes from a key table on the device
//! (`noise::KeyedNoise`, one row per draw; the number of draws is recorded at the first step).

use cuda_graph::{CaptureError, CudaGraph, GraphError};
use tch::{Device, Tensor};

use crate::batch::PairBatch;
use crate::device::{device_name, upload};
use crate::error::{GadgetError, Result};
use crate::noise::{KeyedNoise, NoiseSource, StepNoise};

/// W, the eager steps a trainer makes before it captures its step as a CUDA graph. The first step
/// records the number of noise draws a step makes (the key table's size) and allocates the static
/// inputs; the first steps also make libtorch initialise what it creates lazily (cuBLAS handles and
/// workspaces, the autograd engine's device thread, the caching allocator's first blocks), which
/// must not happen inside a capture; PyTorch's own examples warm up 3 steps before capturing, and a
/// few eager steps cost nothing against the thousands a graph replays.
pub const GRAPH_WARM_UP: usize = 3;

/// Whether Gadget 2 masks impossible outcomes in every step on `device`, whatever the batch holds:
/// on CUDA, so that a step is the same kernels whatever its batch and can be captured once; on the
/// CPU only where the batch has an impossible outcome (known on the host). The masks of a batch
/// without one change no bit (`gadget2`'s tests), so the choice changes no number.
fn masks_always(device: Device) -> bool {
    device.is_cuda()
}

/// What a step's device part reads besides the weights and Adam's state.
struct StepInputs {
    /// The step's batch.
    batch: PairBatch,
    /// On CUDA from the second step on: the keys of the step's noise draws, int64 `[D, R, 2]`
    /// (`noise::KeyedNoise`); D is the number of draws the first step made.
    keys: Option<Tensor>,
}

/// A step captured as a CUDA graph, and the tensors its replays write (freed before the graph).
struct Captured {
    losses: Tensor,
    gradient_sum: Tensor,
    graph: CudaGraph,
}

/// The static inputs of a trainer's steps and, with graphs on, its captured step.
pub(crate) struct DeviceStep {
    device: Device,
    /// From the first step on.
    inputs: Option<StepInputs>,
    /// Whether steps after the warm-up replay a CUDA graph.
    graphs: bool,
    /// Eager steps made (the warm-up before a capture).
    eager_steps: usize,
    /// The captured step, once captured.
    captured: Option<Captured>,
}

impl DeviceStep {
    /// No inputs yet, graphs off, on `device`.
    pub(crate) fn new(device: Device) -> Self {
        Self { device, inputs: None, graphs: false, eager_steps: 0, captured: None }
    }

    /// Replays the device part as a CUDA graph after the warm-up (`on`), or never. Errs, changing
    /// nothing, where graphs cannot be captured: on the CPU, in a build without the CUDA graph shim,
    /// on a CUDA device libtorch does not see.
    pub(crate) fn set_graphs(&mut self, on: bool) -> Result<()> {
        if on {
            let Device::Cuda(index) = self.device else {
                return Err(GraphError::Unavailable(format!(
                    "training runs on {}, not on a CUDA device",
                    device_name(self.device)
                ))
                .into());
            };
            if !cuda_graph::available(index) {
                let why = if cuda_graph::compiled() {
                    format!("libtorch sees no CUDA device {index}")
                } else {
                    "this build has no CUDA graph shim".to_owned()
                };
                return Err(GraphError::Unavailable(why).into());
            }
        }
        self.graphs = on;
        self.captured = None;
        Ok(())
    }

    /// Drops the captured graph (the trainer's state was replaced by a snapshot's): the next step
    /// after the warm-up captures it again.
    pub(crate) fn forget_graph(&mut self) {
        self.captured = None;
    }

    /// The host's part of a step: `host`'s values (a batch on the CPU) into the static batch
    /// (allocated at the first step), and `noise`'s keys into the key table where there is one.
    pub(crate) fn load(&mut self, host: &PairBatch, noise: &StepNoise) -> Result<()> {
        let device = self.device;
        match &mut self.inputs {
            Some(inputs) => inputs.batch.copy_from(host)?,
            None => self.inputs = Some(StepInputs { batch: host.to_device(device), keys: None }),
        }
        let inputs = self.inputs.as_mut().expect("allocated above");
        inputs.batch.impossible |= masks_always(device);
        if let Some(keys) = &mut inputs.keys {
            keys.f_copy_(&upload(&noise.key_table(keys.size()[0] as u32), device))?;
        }
        Ok(())
    }

    /// The device part of a loaded step, `body(batch, noise)` returning the losses and the gradient
    /// sum: replayed as the captured graph after the warm-up when graphs are on (captured at the
    /// first such step), else run eagerly with the noise of the key table, or of `noise` at the
    /// first step (whose number of draws sizes the key table on CUDA).
    pub(crate) fn run(
        &mut self,
        noise: &mut StepNoise,
        body: impl Fn(&PairBatch, &mut dyn NoiseSource) -> Result<(Tensor, Tensor)>,
    ) -> Result<(Tensor, Tensor)> {
        let inputs = self.inputs.as_ref().expect("loaded before the device part");
        if self.graphs && self.eager_steps >= GRAPH_WARM_UP {
            if self.captured.is_none() {
                let Device::Cuda(index) = self.device else {
                    unreachable!("set_graphs accepts CUDA devices only")
                };
                let keys = inputs.keys.as_ref().expect("the first eager step made the key table");
                let (graph, (losses, gradient_sum)) =
                    CudaGraph::capture(index, || body(&inputs.batch, &mut KeyedNoise::new(keys)))
                        .map_err(|error| match error {
                        CaptureError::Graph(error) => GadgetError::Graph(error),
                        CaptureError::Body(error) => error,
                    })?;
                self.captured = Some(Captured { losses, gradient_sum, graph });
            }
            let captured = self.captured.as_ref().expect("captured above");
            captured.graph.replay()?;
            return Ok((captured.losses.shallow_clone(), captured.gradient_sum.shallow_clone()));
        }
        self.eager_steps += 1;
        if let Some(keys) = &inputs.keys {
            return body(&inputs.batch, &mut KeyedNoise::new(keys));
        }
        let out = body(&inputs.batch, noise)?;
        if self.device.is_cuda() {
            let keys = upload(&noise.key_table(noise.draws()), self.device);
            self.inputs.as_mut().expect("loaded").keys = Some(keys);
        }
        Ok(out)
    }
}
