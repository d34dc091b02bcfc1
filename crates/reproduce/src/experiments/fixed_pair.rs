//! The gadgets of the fixed pair of Table 1 columns 3-4 (Section 7.2; gadgets-part2.md section 1):
//! p = softmax((10..1)/4) decreasing, q = softmax((0..9)/4) increasing, and per reward trial t (the
//! authors' numpy stream, `RandomState(t)`) and reward kind, each gadget trained on that pair with cost
//! (h_i - h_j)^2 as in the authors' second repository: Gadget 1 with separate p and q networks, Gadget 2
//! with |Z| = 20 and a learned prior, Adam 1e-5, 3,000 steps, batch 64, 16 inner samples. Table 1
//! scores every trial's gadgets; Figure 1b draws those of trial 0 (the same runs and checkpoints).

use anyhow::Result;
use gadgets::task::{CostSpec, PairSpec};
use gadgets::train::{LossKind, TrainOptions};
use gadgets::{Gadget, GadgetConfig, GadgetKind};
use gumbel_core::method::Computation;
use gumbel_core::rng::splitmix64;
use gumbel_core::{Categorical, CostMatrix, Coupling};
use methods::{Method, Options, Spelling};

use crate::context::Mode;
use crate::training::MeasuredStep;
use gadgets::TrainRun;

/// K.
pub const OUTCOMES: usize = 10;
/// Gadget 1's Monte Carlo samples for its coupling.
pub const GADGET1_SAMPLES: u64 = 100_000;

/// Steps, learning rate, hidden widths and reward trials: the authors' 3,000 steps at 1e-5 with
/// [1024, 1024] over 10 trials, or a brief quick run of a smaller network at a larger rate on 2 trials.
pub struct Schedule {
    /// Adam steps per gadget.
    pub steps: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Reward trials 0..trials.
    pub trials: u32,
}

impl Schedule {
    /// The schedule of `mode`.
    pub fn new(mode: Mode) -> Self {
        match mode {
            Mode::Full => {
                Self { steps: 3_000, learning_rate: 1e-5, hidden: vec![1024, 1024], trials: 10 }
            }
            Mode::Quick => {
                Self { steps: 100, learning_rate: 1e-3, hidden: vec![128, 128], trials: 2 }
            }
        }
    }

    /// The schedule in words, for reports.
    pub fn describe(&self) -> String {
        format!(
            "Gadget 1 with separate p and q networks, Gadget 2 with |Z| = 20 and a learned prior; hidden {:?}, \
             Adam {:e}, {} steps, batch 64, 16 inner samples",
            self.hidden, self.learning_rate, self.steps
        )
    }
}

/// The training run of `kind` on the fixed pair (p, q) with reward `h`, for reward trial `trial`.
pub fn gadget_run(
    kind: GadgetKind,
    (p, q): (&Categorical, &Categorical),
    h: &[f64],
    mode: Mode,
    master: u64,
    trial: u32,
) -> TrainRun {
    let schedule = Schedule::new(mode);
    let config = GadgetConfig { hidden: schedule.hidden, ..GadgetConfig::paper(kind, OUTCOMES) };
    let gadget = match kind {
        GadgetKind::Gadget1 => GadgetConfig { separate_networks: true, ..config },
        GadgetKind::Gadget2 => GadgetConfig { learned_prior: true, ..config },
    };
    TrainRun {
        gadget,
        pairs: PairSpec::Fixed { p: p.log_probs().to_vec(), q: q.log_probs().to_vec(), noise: 0.0 },
        cost: CostSpec::SquaredReward { h: h.to_vec() },
        training: TrainOptions {
            loss: LossKind::Joint,
            batch: 64,
            inner_samples: 16,
            learning_rate: schedule.learning_rate,
            steps: schedule.steps,
            seed: splitmix64(master ^ 0x0f16_1b00).wrapping_add(u64::from(trial)),
            unnormalised_logits: false,
        },
        observed: None,
    }
}

/// The measured step of `kind`'s gadget at the paper's size on one core (docs/figure1-table1.md,
/// "Measured time": Gadget 1 with separate networks 16.8 ms, Gadget 2 with |Z| = 20 17.6 ms).
pub fn measured_step(kind: GadgetKind) -> MeasuredStep {
    let seconds = match kind {
        GadgetKind::Gadget1 => 0.0168,
        GadgetKind::Gadget2 => 0.0176,
    };
    let gadget = GadgetConfig {
        separate_networks: kind == GadgetKind::Gadget1,
        ..GadgetConfig::paper(kind, OUTCOMES)
    };
    MeasuredStep { gadget, samples: 64 * 16, seconds }
}

/// The coupling of (p, q) by `method`, its mechanism from `methods::mechanism` (with `gadget` for a
/// gadget method, `cost` for lp-optimal): exact, but for Gadget 1, which has no closed form, from
/// [`GADGET1_SAMPLES`] samples drawn from a seed derived from the master seed.
pub fn coupling(
    master: u64,
    method: Method,
    gadget: Option<&Gadget>,
    cost: Option<&CostMatrix>,
    (p, q): (&Categorical, &Categorical),
) -> Result<Coupling> {
    let options = Options { gadget, ..Options::new(Spelling::Keywords) };
    let mechanism = methods::mechanism(method, &options, cost)?;
    let how = if mechanism.has_closed_form() {
        Computation::Exact
    } else {
        Computation::Sampled { samples: GADGET1_SAMPLES, seed: splitmix64(master ^ 0x0f16_1b01) }
    };
    Ok(mechanism.joint(p, q, how)?.value)
}

/// The coupling of (p, q) under a trained gadget: [`coupling`] by the gadget's own method.
pub fn gadget_coupling(
    master: u64,
    gadget: &Gadget,
    p: &Categorical,
    q: &Categorical,
) -> Result<Coupling> {
    coupling(master, Method::of_gadget(gadget.config().kind), Some(gadget), None, (p, q))
}

/// The checkpoint label of a gadget of reward column `column` and reward trial `trial`.
pub fn label(kind: GadgetKind, column: &str, trial: u32) -> String {
    format!("{}-table1-{column}-trial{trial}", kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use baselines::authors::rewards::fixed_inc_dec_pair;
    use baselines::{
        independent_coupling, inverse_cdf_coupling, lp_optimal_coupling, maximal_coupling,
        OutcomeOrder,
    };
    use gumbel_core::exact::gumbel_max_coupling;

    /// Each method's coupling through its mechanism is, bit for bit, the coupling function the
    /// figures called before: the baselines, Gumbel-max, Gadget 2's exact mixture and Gadget 1's
    /// [`GADGET1_SAMPLES`] samples from the derived seed.
    #[test]
    fn couplings_through_the_mechanisms_are_the_coupling_functions() {
        let (p, q) = fixed_inc_dec_pair(OUTCOMES).unwrap();
        let h: Vec<f64> = (0..OUTCOMES).map(|i| ((i * 7) % 10) as f64).collect();
        let cost = CostMatrix::squared_reward(&h).unwrap();
        let through = |method| coupling(5, method, None, Some(&cost), (&p, &q)).unwrap();
        let direct = [
            (Method::Independent, independent_coupling(&p, &q).unwrap()),
            (Method::GumbelMax, gumbel_max_coupling(&p, &q).unwrap()),
            (
                Method::InverseCdf,
                inverse_cdf_coupling(&p, &q, &OutcomeOrder::identity(OUTCOMES)).unwrap(),
            ),
            (Method::LpOptimal, lp_optimal_coupling(&p, &q, &cost).unwrap()),
            (Method::Maximal, maximal_coupling(&p, &q).unwrap()),
        ];
        for (method, expected) in direct {
            assert_eq!(through(method), expected, "{method:?}");
        }
        for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
            let config = GadgetConfig { hidden: vec![16], ..GadgetConfig::paper(kind, OUTCOMES) };
            let gadget = Gadget::new(config, tch::Device::Cpu, 3).unwrap();
            let seed = splitmix64(5 ^ 0x0f16_1b01);
            let expected = gadget.coupling(&p, &q, GADGET1_SAMPLES, seed).unwrap().coupling;
            assert_eq!(gadget_coupling(5, &gadget, &p, &q).unwrap(), expected, "{kind:?}");
        }
    }
}
