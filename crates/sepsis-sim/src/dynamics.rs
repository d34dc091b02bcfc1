//! The transition rules of the simulator (reference note section 3), written once as a branching
//! process over uniform draws. The sampler feeds them uniforms ([`UniformDraw`]); the exact kernel
//! enumerates every branch ([`outcomes`]). One source of truth for both.
//!
//! Every draw is a uniform u split at increasing thresholds t_0 < t_1 < ...: branch b is taken when
//! t_{b-1} <= u < t_b (t_{-1} = 0, the last branch up to 1), with probability t_b - t_{b-1}.

use rand::Rng;

use crate::action::Action;
use crate::state::State;

/// A source of branch choices for the rules.
pub trait Draw {
    /// The branch of one uniform draw split at `thresholds` (increasing, inside (0, 1)):
    /// 0 when u < thresholds[0], ..., `thresholds.len()` when u >= the last threshold.
    fn choose(&mut self, thresholds: &[f64]) -> usize;
}

/// Draws branches from uniforms of a random generator (the simulator itself).
pub struct UniformDraw<'a, R: Rng + ?Sized>(pub &'a mut R);

impl<R: Rng + ?Sized> Draw for UniformDraw<'_, R> {
    fn choose(&mut self, thresholds: &[f64]) -> usize {
        let u: f64 = self.0.random();
        thresholds.iter().position(|&t| u < t).unwrap_or(thresholds.len())
    }
}

/// The fluctuation rule of stage 4: -1 (floor 0) below `down`, +1 up to `cap` below `up`.
fn fluctuate<D: Draw>(draw: &mut D, value: u8, down: f64, up: f64, cap: u8) -> u8 {
    match draw.choose(&[down, up]) {
        0 => value.saturating_sub(1),
        1 => (value + 1).min(cap),
        _ => value,
    }
}

/// One step of the simulator from `state` under `action` for a patient with or without diabetes
/// (MDP.py `transition`, master branch). Stages in order: antibiotics, ventilation, vasopressors,
/// fluctuations of the vitals not held by a treatment stage (hr, sbp, o2, glucose). A draw is
/// consumed only where the rules say so, so the sampler matches the authors' draw for draw.
pub fn step<D: Draw>(diabetic: bool, state: State, action: Action, draw: &mut D) -> State {
    let mut s = state;
    // Stage 1: antibiotics.
    let (mut hr_flux, mut sbp_flux) = (false, false);
    if action.abx() {
        s.abx = true;
        if s.hr == 2 && draw.choose(&[0.5]) == 0 {
            s.hr = 1;
        }
        if s.sbp == 2 && draw.choose(&[0.5]) == 0 {
            s.sbp = 1;
        }
    } else if s.abx {
        if s.hr == 1 && draw.choose(&[0.1]) == 0 {
            s.hr = 2;
        }
        if s.sbp == 1 && draw.choose(&[0.1]) == 0 {
            s.sbp = 2;
        }
        s.abx = false;
    } else {
        (hr_flux, sbp_flux) = (true, true);
    }
    // Stage 2: ventilation.
    let mut o2_flux = false;
    if action.vent() {
        s.vent = true;
        if s.o2 == 0 && draw.choose(&[0.7]) == 0 {
            s.o2 = 1;
        }
    } else if s.vent {
        if s.o2 == 1 && draw.choose(&[0.1]) == 0 {
            s.o2 = 0;
        }
        s.vent = false;
    } else {
        o2_flux = true;
    }
    // Stage 3: vasopressors; glucose fluctuates unless they are on.
    let mut glu_flux = true;
    if action.vaso() {
        s.vaso = true;
        sbp_flux = false;
        glu_flux = false;
        if !diabetic {
            if draw.choose(&[0.7]) == 0 && s.sbp < 2 {
                s.sbp += 1;
            }
        } else {
            match s.sbp {
                1 if draw.choose(&[0.9]) == 0 => s.sbp = 2,
                0 => s.sbp = [1, 2, 0][draw.choose(&[0.5, 0.9])],
                _ => {}
            }
            if draw.choose(&[0.5]) == 0 {
                s.glu = (s.glu + 1).min(4);
            }
        }
    } else if s.vaso {
        let p = if diabetic { 0.05 } else { 0.1 };
        if draw.choose(&[p]) == 0 {
            s.sbp = s.sbp.saturating_sub(1);
        }
        s.vaso = false;
        sbp_flux = false;
    }
    // Stage 4: fluctuations, in the order hr, sbp, o2, glucose.
    if hr_flux {
        s.hr = fluctuate(draw, s.hr, 0.1, 0.2, 2);
    }
    if sbp_flux {
        s.sbp = fluctuate(draw, s.sbp, 0.1, 0.2, 2);
    }
    if o2_flux {
        s.o2 = fluctuate(draw, s.o2, 0.1, 0.2, 1);
    }
    if glu_flux {
        // The master-branch quirk: a non-diabetic's upward glucose move is min(1, glu + 1), so a
        // glucose that fell below normal never returns to normal (sim-v2 caps at 4 instead).
        s.glu = if diabetic {
            fluctuate(draw, s.glu, 0.3, 0.6, 4)
        } else {
            fluctuate(draw, s.glu, 0.1, 0.2, 1)
        };
    }
    s
}

/// Replays the rules along a script of branch choices, recording how many branches each draw had
/// and the probability of the path.
struct Scripted {
    script: Vec<usize>,
    branches: Vec<usize>,
    position: usize,
    probability: f64,
}

impl Draw for Scripted {
    fn choose(&mut self, thresholds: &[f64]) -> usize {
        let i = self.position;
        if i == self.script.len() {
            self.script.push(0);
            self.branches.push(0);
        }
        let b = self.script[i];
        self.branches[i] = thresholds.len() + 1;
        let lower = if b == 0 { 0.0 } else { thresholds[b - 1] };
        let upper = thresholds.get(b).copied().unwrap_or(1.0);
        self.probability *= upper - lower;
        self.position += 1;
        b
    }
}

/// Every outcome of one step: (probability, next state) with distinct next states, in order of
/// first discovery. Enumerates the branch tree depth first (an odometer over the draw sequence,
/// whose shape may depend on earlier branches); the probabilities sum to 1 up to rounding.
pub fn outcomes(diabetic: bool, state: State, action: Action) -> Vec<(f64, State)> {
    let mut result: Vec<(f64, State)> = Vec::new();
    let mut d =
        Scripted { script: Vec::new(), branches: Vec::new(), position: 0, probability: 1.0 };
    loop {
        d.position = 0;
        d.probability = 1.0;
        let next = step(diabetic, state, action, &mut d);
        // Draws past the end of this path are stale from a longer sibling path.
        d.script.truncate(d.position);
        d.branches.truncate(d.position);
        match result.iter_mut().find(|(_, s)| *s == next) {
            Some((p, _)) => *p += d.probability,
            None => result.push((d.probability, next)),
        }
        // Advance the odometer: bump the last draw that has branches left, drop the ones after it.
        loop {
            match d.script.last_mut() {
                None => return result,
                Some(b) => {
                    *b += 1;
                    let n = d.script.len();
                    if d.script[n - 1] < d.branches[n - 1] {
                        break;
                    }
                    d.script.pop();
                    d.branches.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::N_OBS;

    #[test]
    fn outcomes_are_distributions_and_set_the_treatments() {
        for diabetic in [false, true] {
            for s in (0..N_OBS).step_by(7) {
                let state = State::from_obs_unchecked(s);
                for a in Action::all() {
                    let out = outcomes(diabetic, state, a);
                    let total: f64 = out.iter().map(|(p, _)| p).sum();
                    assert!((total - 1.0).abs() < 1e-12, "{diabetic} {s} {a:?}: {total}");
                    assert!(out.iter().all(|(p, next)| *p > 0.0 && next.treatments_match(a)));
                }
            }
        }
    }

    #[test]
    fn hand_solved_branches() {
        // Non-diabetic, all normal, no treatment, action none: hr, sbp, o2, glucose fluctuate.
        // P(stay) = 0.8 (hr) * 0.8 (sbp) * 0.9 (o2 can only go down) * 0.8 (glucose leaves 2 down
        // with 0.1 and "up" to min(1, 3) = 1 with 0.1).
        let s = State { hr: 1, sbp: 1, o2: 1, glu: 2, abx: false, vaso: false, vent: false };
        let out = outcomes(false, s, Action::new(0).unwrap());
        let stay = out.iter().find(|(_, n)| *n == s).map(|(p, _)| *p).unwrap();
        assert!((stay - 0.8 * 0.8 * 0.9 * 0.8).abs() < 1e-15, "{stay}");
        // Glucose 2 moves to 1 with probability 0.2 (down 0.1 plus the quirk's "up" 0.1).
        let glu1: f64 = out.iter().filter(|(_, n)| n.glu == 1).map(|(p, _)| p).sum();
        assert!((glu1 - 0.2).abs() < 1e-15, "{glu1}");
        // Diabetic, low sbp, vasopressors: 0.5 -> normal, 0.4 -> high, 0.1 stays low.
        let low = State { sbp: 0, ..s };
        let out = outcomes(true, low, Action::new(1).unwrap());
        let high: f64 = out.iter().filter(|(_, n)| n.sbp == 2).map(|(p, _)| p).sum();
        assert!((high - 0.4).abs() < 1e-15, "{high}");
    }
}
