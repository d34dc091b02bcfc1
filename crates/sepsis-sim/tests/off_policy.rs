//! Tests of the projected MDP, the counterfactual machinery, the off-policy study and the pair selection.

#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use sepsis_sim::counterfactual::{counterfactual_row, counterfactual_trajectory};
use sepsis_sim::kernel::SparseKernel;
use sepsis_sim::ope::{off_policy_evaluation, OpeConfig};
use sepsis_sim::pairs::{select_pairs, PairConfig};
use sepsis_sim::physician::{plan_physician, Physician};
use sepsis_sim::projected::ProjectedMdp;
use sepsis_sim::state::{N_PROJ_ABS, PROJ_DEATH};
use sepsis_sim::trajectories::{simulate, SimulationConfig};
use sepsis_sim::{Action, SepsisError};

fn setup() -> &'static (SparseKernel, Physician) {
    static S: OnceLock<(SparseKernel, Physician)> = OnceLock::new();
    S.get_or_init(|| {
        let k = SparseKernel::exact();
        let p = plan_physician(&k).expect("plans");
        (k, p)
    })
}

#[test]
fn the_projected_mdp_is_stochastic_and_unseen_pairs_die() {
    let (_, physician) = setup();
    let observed = simulate(&physician.policy, &SimulationConfig::new(500, 1)).unwrap();
    let mdp = ProjectedMdp::estimate(&observed).unwrap();
    for s in 0..N_PROJ_ABS {
        for a in Action::all() {
            let row = mdp.row(s, a);
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            if mdp.count(s, a) == 0.0 {
                assert_eq!(row[PROJ_DEATH], 1.0);
            }
        }
    }
    assert_eq!(mdp.row(PROJ_DEATH, Action::new(3).unwrap())[PROJ_DEATH], 1.0);
    assert!((mdp.initial().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert_eq!(mdp.rl_policy().unwrap().len(), N_PROJ_ABS);
}

#[test]
fn counterfactuals_keep_what_the_observation_forces() {
    let (_, physician) = setup();
    let observed = simulate(&physician.policy, &SimulationConfig::new(400, 2)).unwrap();
    let mdp = ProjectedMdp::estimate(&observed).unwrap();
    let rl = mdp.rl_policy().unwrap();
    let mut rng = gumbel_core::rng::from_seed(9);
    let mut forced = 0;
    for i in 0..observed.len() {
        let (states, actions) = observed.projected(i);
        for _ in 0..3 {
            let cf = counterfactual_trajectory(&mdp, &rl, &states, &actions, 20, &mut rng).unwrap();
            for t in 0..cf.actions.len().min(actions.len()) {
                // Same state, same action: the same mechanism and noise give the observed next state.
                if cf.states[t] == states[t] && cf.actions[t] == actions[t] {
                    assert_eq!(cf.states[t + 1], states[t + 1], "trajectory {i} step {t}");
                    forced += 1;
                } else {
                    break;
                }
            }
        }
    }
    assert!(forced > 0, "the test never met a forced step");
    // Malformed input is a typed error, not a panic.
    assert!(counterfactual_trajectory(&mdp, &rl[..10], &[0, 1], &[0], 20, &mut rng).is_err());
    assert!(counterfactual_trajectory(&mdp, &rl, &[0, 1], &[0, 0], 20, &mut rng).is_err());
    assert!(counterfactual_trajectory(&mdp, &rl, &[0, 999], &[0], 20, &mut rng).is_err());
}

#[test]
fn counterfactual_rows_are_distributions_on_the_support_of_q() {
    let p = [0.5, 0.3, 0.2, 0.0];
    let q = [0.1, 0.0, 0.3, 0.6];
    for observed in 0..3 {
        let cf = counterfactual_row(&p, &q, observed).unwrap();
        assert!((cf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(cf[1], 0.0);
    }
    // An observation impossible under p has no posterior.
    assert!(counterfactual_row(&p, &q, 3).is_err());
    assert_eq!(counterfactual_row(&p, &p, 1).unwrap(), vec![0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn restricting_to_the_joint_support_does_not_change_the_counterfactual() {
    // Rows of the estimated projected MDP: 146 outcomes, most of them impossible.
    let (_, physician) = setup();
    let observed = simulate(&physician.policy, &SimulationConfig::new(400, 4)).unwrap();
    let mdp = ProjectedMdp::estimate(&observed).unwrap();
    let (states, actions) = observed.projected(0);
    let p = mdp.row(states[0], Action::new(actions[0]).unwrap());
    for a in Action::all() {
        let q = mdp.row(states[0], a);
        let fast = counterfactual_row(p, q, states[1]).unwrap();
        let full = gumbel_core::exact::counterfactual_distribution(
            &gumbel_core::Categorical::from_probs(p).unwrap(),
            &gumbel_core::Categorical::from_probs(q).unwrap(),
            states[1],
        )
        .unwrap();
        for (x, y) in fast.iter().zip(&full) {
            assert!((x - y).abs() < 1e-12, "{a:?}: {x} vs {y}");
        }
    }
}

#[test]
fn the_off_policy_study_is_reproducible_and_ordered_as_in_the_paper() {
    let (kernel, physician) = setup();
    let config = OpeConfig { trajectories: 400, bootstrap: 40, ..OpeConfig::paper(7) };
    let a = off_policy_evaluation(&physician.policy, kernel, &config).unwrap();
    let b = off_policy_evaluation(&physician.policy, kernel, &config).unwrap();
    assert_eq!(a, b);
    let e = a.estimates;
    for est in [e.observed, e.true_rl, e.wis, e.wis_soft, e.model_based, e.counterfactual] {
        assert!(
            est.low <= est.value && est.value <= est.high && est.low >= -1.0 && est.high <= 1.0,
            "{est:?}"
        );
    }
    // The model-based and counterfactual estimates are optimistic about the RL policy.
    assert!(e.counterfactual.value > a.true_rl_exact.expected_return + 0.2);
    let bad = OpeConfig { bootstrap: 0, ..config };
    assert!(matches!(
        off_policy_evaluation(&physician.policy, kernel, &bad),
        Err(SepsisError::ZeroCount { .. })
    ));
}

#[test]
fn pairs_pass_the_filters() {
    let (_, physician) = setup();
    let config = PairConfig::paper(3);
    let selection = select_pairs(&physician.policy, &config).unwrap();
    assert_eq!(selection.pairs.len(), 6);
    for pair in &selection.pairs {
        assert_ne!(pair.p, pair.q);
        assert!(pair.p.iter().filter(|v| **v > 0.0).count() >= 5);
        assert!(pair.q.iter().filter(|v| **v > 0.0).count() >= 5);
        assert!(pair.p[pair.observed_next] > 0.0);
        assert_eq!(usize::from(selection.rl_policy[pair.state]), pair.rl_action);
    }
    assert_eq!(selection, select_pairs(&physician.policy, &config).unwrap());
    // Asking for more pairs than pass the filters says how many there are.
    let greedy = PairConfig { pairs: selection.candidates + 1, ..config };
    let err = select_pairs(&physician.policy, &greedy).unwrap_err();
    assert_eq!(
        err,
        SepsisError::TooFewCandidates {
            requested: selection.candidates + 1,
            found: selection.candidates,
            min_support: 5
        }
    );
}
