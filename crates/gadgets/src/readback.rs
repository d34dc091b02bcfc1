//! A training run's numbers read back from the device every N steps, not every step.
//!
//! Reading a number that a GPU computed waits for every kernel queued before it (a host
//! synchronisation): the host cannot queue the next step ahead, and a step with such a read inside
//! cannot be captured and replayed as a whole. So a step leaves its numbers on the device: the
//! losses it minimised (one, or one per run of a stack) and the sum of every gradient entry are
//! written as one row of a `[N, W]` block, and the block comes back in one transfer when it is
//! full, at the run's last step and before a snapshot is written ([`crate::train::Trainer`],
//! [`crate::stack::StackedTrainer`]). Its rows are then checked in order: the first with a loss or
//! a gradient sum that is not finite ends the run with [`GadgetError::NonFinite`] naming its step,
//! as a check after every step would. The loss log and the progress a caller shows take their
//! values from the same rows.
//!
//! The weights' update does not wait for the check, so the weights after a non-finite step are not
//! finite either; a run whose readback failed keeps answering with the same error (its next step,
//! its next snapshot), so no snapshot of those weights is ever written. On a finite run the weights
//! are those of a check after every step, bit for bit: reading back changes no tensor.

use tch::{Device, Kind, Tensor};

use crate::error::{GadgetError, Result};

/// N, the steps between two readbacks, unless a trainer is told otherwise. A readback costs a
/// synchronisation (on a GPU, the queue drains and the device idles until the host queues again);
/// one every 50 steps costs at most 2% of that idle time per step, whatever the device's rate, and
/// on the slowest paper-size step measured on a GPU (Gadget 1 at K = 146, about 6 steps/s) the
/// progress still moves about every 8 s. The steps computed after a non-finite one before it is seen
/// are at most N - 1, under a second at the GPU rates of docs/gadgets.md.
pub const READBACK_EVERY: usize = 50;

/// The device-side block of unchecked steps, and the outcome of the checks so far.
pub(crate) struct Readback {
    /// N for the blocks started from now on.
    every: usize,
    /// `[rows, W]` f32 on the training device: per step, its W - 1 losses and its gradient sum.
    block: Option<Tensor>,
    /// The step of the block's first row.
    first: usize,
    /// Rows written since the last read.
    filled: usize,
    /// The first non-finite step found: step, what, value.
    failed: Option<(usize, &'static str, f64)>,
}

impl Readback {
    /// A readback every `every` steps (at least 1).
    pub(crate) fn new(every: usize) -> Self {
        Self { every: every.max(1), block: None, first: 0, filled: 0, failed: None }
    }

    /// Reads back every `every` steps (at least 1) from the next block on.
    pub(crate) fn set_every(&mut self, every: usize) {
        self.every = every.max(1);
    }

    /// The error of the run's first non-finite step, once a read has found one.
    pub(crate) fn check(&self) -> Result<()> {
        match self.failed {
            Some((step, what, value)) => Err(GadgetError::NonFinite { step, what, value }),
            None => Ok(()),
        }
    }

    /// Leaves step `step`'s `losses` (a scalar, or `[R]`) and `gradient_sum` (a scalar) on their
    /// device as the block's next row, without waiting for them.
    pub(crate) fn record(
        &mut self,
        step: usize,
        losses: &Tensor,
        gradient_sum: &Tensor,
    ) -> Result<()> {
        let losses = losses.f_reshape([-1])?;
        if self.filled == 0 {
            let width = losses.size()[0] + 1;
            let rows = self.every as i64;
            if self.block.as_ref().is_none_or(|b| b.size() != [rows, width]) {
                self.block = Some(Tensor::f_zeros([rows, width], (Kind::Float, losses.device()))?);
            }
            self.first = step;
        }
        let block = self.block.as_ref().expect("allocated above");
        let row = block.f_select(0, self.filled as i64)?;
        let gradient_sum = gradient_sum.f_reshape([1])?;
        let _ = tch::no_grad(|| Tensor::f_cat_out(&row, &[losses, gradient_sum], 0))?;
        self.filled += 1;
        Ok(())
    }

    /// Whether the block holds N rows, N as it was when the block started.
    pub(crate) fn is_full(&self) -> bool {
        self.block.as_ref().is_some_and(|b| self.filled as i64 == b.size()[0])
    }

    /// Reads the rows written since the last read back in one transfer and checks them in order:
    /// each step and its losses, or the first step whose loss (their sum, for a stack) or gradient
    /// sum is not finite, an error kept for every later call of [`Readback::check`] and this.
    pub(crate) fn read(&mut self) -> Result<Vec<(usize, Vec<f64>)>> {
        self.check()?;
        let Some(block) = self.block.as_ref().filter(|_| self.filled > 0) else {
            return Ok(Vec::new());
        };
        let width = block.size()[1] as usize;
        let rows = block.f_narrow(0, 0, self.filled as i64)?.f_reshape([-1])?;
        let values = Vec::<f64>::try_from(rows.f_to_device(Device::Cpu)?.f_to_kind(Kind::Double)?)?;
        let first = self.first;
        self.filled = 0;
        let mut steps = Vec::with_capacity(values.len() / width);
        for (i, row) in values.chunks_exact(width).enumerate() {
            let step = first + i;
            let (losses, gradient_sum) = row.split_at(width - 1);
            let loss: f64 = losses.iter().sum();
            if !loss.is_finite() {
                self.failed = Some((step, "loss", loss));
            } else if !gradient_sum[0].is_finite() {
                self.failed = Some((step, "gradient", gradient_sum[0]));
            }
            self.check()?;
            steps.push((step, losses.to_vec()));
        }
        Ok(steps)
    }

    /// Forgets the unread rows and any failure: the run's state was replaced (a snapshot resumed).
    pub(crate) fn clear(&mut self) {
        (self.filled, self.failed) = (0, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(value: f64) -> Tensor {
        Tensor::from(value as f32)
    }

    /// `steps` with loss s and gradient sum 10 s at step s, and NaN for the loss (`which` 0) or the
    /// gradient sum (1) at step `at` where `bad` is `Some((at, which))`.
    fn fill(readback: &mut Readback, steps: std::ops::Range<usize>, bad: Option<(usize, usize)>) {
        for step in steps {
            let mut values = [step as f64, 10.0 * step as f64];
            if let Some((_, which)) = bad.filter(|&(at, _)| at == step) {
                values[which] = f64::NAN;
            }
            readback.record(step, &scalar(values[0]), &scalar(values[1])).expect("recorded");
        }
    }

    #[test]
    fn a_block_comes_back_in_order_when_full_and_part_way() {
        let mut readback = Readback::new(3);
        fill(&mut readback, 1..4, None);
        assert!(readback.is_full());
        assert_eq!(
            readback.read().expect("finite"),
            [(1, vec![1.0]), (2, vec![2.0]), (3, vec![3.0])]
        );
        fill(&mut readback, 4..6, None);
        assert!(!readback.is_full());
        assert_eq!(readback.read().expect("finite"), [(4, vec![4.0]), (5, vec![5.0])]);
        assert!(readback.read().expect("nothing").is_empty());
    }

    #[test]
    fn the_first_non_finite_step_is_named_with_what_and_kept() {
        for (which, what) in [(0, "loss"), (1, "gradient")] {
            let mut readback = Readback::new(10);
            fill(&mut readback, 1..10, Some((7, which)));
            match readback.read() {
                Err(GadgetError::NonFinite { step: 7, what: found, .. }) => assert_eq!(found, what),
                other => panic!("{what}: {other:?}"),
            }
            assert!(matches!(readback.check(), Err(GadgetError::NonFinite { step: 7, .. })));
            assert!(matches!(readback.read(), Err(GadgetError::NonFinite { step: 7, .. })));
            readback.clear();
            assert!(readback.check().is_ok());
        }
    }

    #[test]
    fn a_stack_row_holds_every_runs_loss() {
        let mut readback = Readback::new(2);
        let losses = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        readback.record(1, &losses, &scalar(0.5)).expect("recorded");
        readback.record(2, &(&losses * f64::INFINITY), &scalar(0.5)).expect("recorded");
        assert!(readback.is_full());
        assert!(matches!(
            readback.read(),
            Err(GadgetError::NonFinite { step: 2, what: "loss", value }) if value.is_infinite()
        ));
    }
}
