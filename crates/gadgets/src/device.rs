//! The device a gadget lives on: `cpu`, `cuda`, or `auto` (CUDA when libtorch sees a GPU, else CPU).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::error::{GadgetError, Result};

/// A requested device, parsed from `"cpu"`, `"cuda"` or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// The first CUDA device; an error where there is none.
    Cuda,
    /// CUDA when available, otherwise the CPU.
    #[default]
    Auto,
}

impl DeviceChoice {
    /// The libtorch device this choice selects on this machine.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            DeviceChoice::Cuda => Err(GadgetError::CudaUnavailable),
            DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = GadgetError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda),
            "auto" => Ok(DeviceChoice::Auto),
            other => Err(GadgetError::UnknownDevice(other.to_owned())),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Auto => "auto",
        })
    }
}

/// libtorch intra-op threads used for training unless configured otherwise: 1. The gadgets' matrices
/// are small (128 rows), and on a busy shared machine libtorch's spinning OpenMP threads made a
/// training step 5-10 times slower with 2 threads than with 1 (measured here, docs/gadgets.md).
pub const DEFAULT_CPU_THREADS: usize = 1;

/// Sets libtorch's intra-op thread count (process-wide).
pub fn set_cpu_threads(threads: usize) {
    tch::set_num_threads(threads.clamp(1, i32::MAX as usize) as i32);
}

/// `host`, a CPU tensor, on `device`, by a copy that does not wait for the device: libtorch's
/// blocking copy to a GPU synchronises the stream after it, which stops the host queueing work ahead
/// and cannot be captured in a CUDA graph. The driver stages the host values before the call returns,
/// so `host` may be dropped at once. On the CPU `host` itself, as `to_device` gives it.
pub(crate) fn upload(host: &Tensor, device: Device) -> Tensor {
    host.to_device_(device, host.kind(), true, false)
}

/// A short name of a resolved device for logs and metadata: `cpu` or `cuda:N`.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(index) => format!("cuda:{index}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_falls_back() {
        assert_eq!("cpu".parse::<DeviceChoice>().ok(), Some(DeviceChoice::Cpu));
        assert!(matches!("gpu".parse::<DeviceChoice>(), Err(GadgetError::UnknownDevice(_))));
        let auto = DeviceChoice::Auto.resolve().ok();
        if tch::Cuda::is_available() {
            assert_eq!(auto, Some(Device::Cuda(0)));
        } else {
            assert_eq!(auto, Some(Device::Cpu));
            assert!(matches!(DeviceChoice::Cuda.resolve(), Err(GadgetError::CudaUnavailable)));
        }
    }
}
