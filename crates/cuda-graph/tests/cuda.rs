//! Capture and replay on CUDA device 0. Without one (any machine with no GPU) each test prints why
//! and returns: these run on a GPU machine.

use std::panic::{catch_unwind, AssertUnwindSafe};

use cuda_graph::{available, compiled, empty_cache, CaptureError, CudaGraph};
use tch::{Device, Kind, TchError, Tensor};

/// CUDA device 0 when graphs can be captured on it.
fn gpu() -> Option<Device> {
    if available(0) {
        return Some(Device::Cuda(0));
    }
    eprintln!("skipped: no CUDA device 0 for graphs (shim compiled: {})", compiled());
    None
}

/// `n` distinct values that change with `step`, on the CPU.
fn values(n: i64, step: i64) -> Tensor {
    Tensor::arange(n, (Kind::Float, Device::Cpu)) * (step + 1) as f64 - 7.0
}

#[test]
fn replay_recomputes_the_outputs_from_inputs_updated_in_place() {
    let Some(device) = gpu() else { return };
    let n = 1000;
    let mut x = Tensor::zeros([n], (Kind::Float, device));
    // Counts the executions of the body's kernels: the capture records them, replays run them.
    let mut runs = Tensor::zeros([1], (Kind::Float, device));
    let _warm_up = x.f_mul_scalar(2.0).expect("warm-up");
    let (graph, y) = CudaGraph::capture(0, || -> Result<Tensor, TchError> {
        let _ = runs.f_add_scalar_(1.0)?;
        x.f_mul_scalar(2.0)?.f_add_scalar(1.0)
    })
    .expect("capture");
    assert_eq!(runs.double_value(&[0]), 0.0, "the capture executed the body's kernels");
    for step in 0..3 {
        let new_x = values(n, step);
        x.copy_(&new_x);
        graph.replay().expect("replay");
        let expected = &new_x * 2.0 + 1.0;
        assert!(y.to(Device::Cpu).equal(&expected), "step {step}: y is not 2 x + 1");
        assert_eq!(runs.double_value(&[0]), (step + 1) as f64);
    }
    drop(graph);
    empty_cache();
    // y's block outlives the graph's pool being released.
    assert!(y.to(Device::Cpu).equal(&(values(n, 2) * 2.0 + 1.0)));
}

/// One SGD step on the mean squared error of a linear model `x w` against `t`: zero the gradient,
/// backward, `w -= 0.1 grad`. Returns the loss.
fn sgd_step(w: &mut Tensor, x: &Tensor, t: &Tensor) -> Result<Tensor, TchError> {
    w.zero_grad();
    let loss = x.f_mm(w)?.f_sub(t)?.f_square()?.f_mean(None::<Kind>)?;
    loss.f_backward()?;
    let step = w.grad().f_mul_scalar(0.1)?;
    let _ = tch::no_grad(|| w.f_sub_(&step))?;
    Ok(loss)
}

/// Batch `k` of the regression: inputs `[8, 3]` and targets `[8, 1]`, on the CPU.
fn batch(k: i64) -> (Tensor, Tensor) {
    let x = (values(24, k) / 50.0).reshape([8, 3]).sin();
    let t = (values(8, k) / 10.0).cos().reshape([8, 1]);
    (x, t)
}

#[test]
fn a_replayed_training_step_equals_the_eager_step_bit_for_bit() {
    let Some(device) = gpu() else { return };
    let init = Tensor::from_slice(&[0.1f32, -0.2, 0.3]).reshape([3, 1]).to(device);
    let mut eager = init.copy().set_requires_grad(true);
    let mut graphed = init.copy().set_requires_grad(true);
    let (x0, t0) = batch(0);
    let (mut x, mut t) = (x0.to(device), t0.to(device));
    // Warm-up, both: creates the gradients the captured step zeroes and accumulates into.
    let _ = sgd_step(&mut eager, &x, &t).expect("eager warm-up");
    let _ = sgd_step(&mut graphed, &x, &t).expect("warm-up");
    let (graph, loss) = CudaGraph::capture(0, || sgd_step(&mut graphed, &x, &t)).expect("capture");
    assert!(graphed.equal(&eager), "the capture changed the parameters");
    for k in 1..=3 {
        let (xk, tk) = batch(k);
        let eager_loss = sgd_step(&mut eager, &xk.to(device), &tk.to(device)).expect("eager");
        x.copy_(&xk);
        t.copy_(&tk);
        graph.replay().expect("replay");
        assert!(loss.equal(&eager_loss), "step {k}: loss differs");
        assert!(graphed.equal(&eager), "step {k}: parameters differ");
        assert!(graphed.grad().equal(&eager.grad()), "step {k}: gradients differ");
    }
}

#[test]
fn failed_captures_end_cleanly_and_later_captures_work() {
    let Some(device) = gpu() else { return };
    let x = Tensor::ones([16], (Kind::Float, device));
    let _warm_up = x.f_add_scalar(1.0).expect("warm-up");

    let stopped = CudaGraph::capture(0, || -> Result<Tensor, String> {
        let _y = x.f_add_scalar(1.0).map_err(|e| e.to_string())?;
        Err("stop".into())
    });
    assert!(matches!(stopped, Err(CaptureError::Body(ref e)) if e == "stop"), "{stopped:?}");

    // Reading a value back synchronises with the host, which a capture forbids.
    let synchronised = CudaGraph::capture(0, || x.f_sum(None::<Kind>)?.f_double_value(&[]));
    let error = synchronised.expect_err("a host synchronisation inside a capture");
    eprintln!("host synchronisation in a capture: {error}");
    assert!(!error.to_string().contains('\n'));

    let panicked = catch_unwind(AssertUnwindSafe(|| {
        CudaGraph::capture(0, || -> Result<(), String> {
            let _y = x.f_add_scalar(1.0).map_err(|e| e.to_string())?;
            panic!("inside the body")
        })
    }));
    assert!(panicked.is_err(), "the body's panic must continue");

    // No capture is left under way: eager work completes and reads back, and a new graph works.
    assert!((&x + 2.0).to(Device::Cpu).equal(&Tensor::full([16], 3.0, (Kind::Float, Device::Cpu))));
    let (graph, y) = CudaGraph::capture(0, || x.f_mul_scalar(3.0)).expect("capture after failures");
    graph.replay().expect("replay");
    assert!(y.to(Device::Cpu).equal(&Tensor::full([16], 3.0, (Kind::Float, Device::Cpu))));
}
