//! The plan of a run: every unit of work of the selected parts, in stages, and deterministic shards
//! of it for job arrays (`reproduce --plan`, `--shard I/N`, `--stage S`, `--merge`).
//!
//! A [`Unit`] is a piece of a part's work whose result lands in the results folder (a gadget's
//! checkpoint, a cache entry): its key (unique in the plan; a unit two parts list, such as a gadget
//! Figure 1b and Table 1 share, is listed once, under the first part), its stage, its estimated
//! seconds on one core, whether it is done, and the work that does it. The list is a pure function
//! of the parts, the mode, the seed and the parts' options, never of what the folder holds, so that
//! every shard of an array computes the same plan. A stage-S unit may read the results of stages
//! below S (Table 1's phase 2 trains at the rates its phase-1 sweep chose), so a stage's shards start
//! when the earlier stages are complete (Slurm's `--dependency=afterok`) and none waits on another.
//!
//! Within a stage, shard I of N does the units [`balance`] gives it, in plan order, without
//! [`crate::sharing`]'s waiting: no unit is written by two shards. It still takes each unit's file lock
//! without waiting, so that a shard started twice by mistake reports the units the other copy holds
//! instead of redoing them. A plain run at the end (`--merge`) refuses to write anything while a unit
//! of the plan is missing, naming it; then it finds every unit done and writes the JSON, markdown,
//! plots and REPORT.md, equal to a single-process run's.

use std::collections::HashSet;
use std::fmt;
use std::time::Instant;

use anyhow::Result;
use gumbel_core::shard::{balance, Shard};

use crate::context::Context;
use crate::progress::Progress;
use crate::sharing::claim;

/// One unit of work of the plan (see the module's doc).
pub struct Unit<'a> {
    /// Units of stage S may need the results of every unit of the stages below S.
    pub stage: u32,
    /// The part that lists it.
    pub part: &'static str,
    /// Its name, unique in the plan (and its lock's name).
    pub key: String,
    /// Estimated seconds on one CPU core.
    pub cost: f64,
    done: Box<dyn Fn() -> Result<bool> + 'a>,
    work: Box<Work<'a>>,
}

/// What does a unit, advancing the progress it is given.
type Work<'a> = dyn Fn(&Progress) -> Result<()> + 'a;

impl<'a> Unit<'a> {
    /// A unit: done when `done` says so, done by `work` (which must leave it done).
    pub fn new(
        stage: u32,
        part: &'static str,
        key: String,
        cost: f64,
        done: impl Fn() -> Result<bool> + 'a,
        work: impl Fn(&Progress) -> Result<()> + 'a,
    ) -> Self {
        Self { stage, part, key, cost, done: Box::new(done), work: Box::new(work) }
    }

    /// Whether its result is in the results folder.
    pub fn is_done(&self) -> Result<bool> {
        (self.done)()
    }
}

impl fmt::Display for Unit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\t{}\t{}\t{:.1}", self.stage, self.part, self.key, self.cost)
    }
}

/// Input the run refuses (exit code 2): a unit missing where it must be done, a shard run twice.
#[derive(Debug)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// The plan of `parts`' units: each part's in its order, a key listed twice kept at its first.
pub fn plan<'a>(lists: impl IntoIterator<Item = Result<Vec<Unit<'a>>>>) -> Result<Vec<Unit<'a>>> {
    let mut seen = HashSet::new();
    let mut plan = Vec::new();
    for list in lists {
        plan.extend(list?.into_iter().filter(|unit| seen.insert(unit.key.clone())));
    }
    plan.sort_by_key(|unit| unit.stage);
    Ok(plan)
}

/// The units of `plan` that `shard` does, with their stage's shard assignment ([`balance`] over the
/// stage's units in plan order).
pub fn shard_units<'p, 'a>(plan: &'p [Unit<'a>], shard: Shard) -> Vec<&'p Unit<'a>> {
    let mut mine = Vec::new();
    for stage in stages(plan) {
        let of_stage: Vec<&Unit> = plan.iter().filter(|u| u.stage == stage).collect();
        let costs: Vec<f64> = of_stage.iter().map(|u| u.cost).collect();
        let owners = balance(&costs, shard.count);
        mine.extend(
            of_stage.into_iter().zip(owners).filter(|(_, o)| *o == shard.index).map(|(u, _)| u),
        );
    }
    mine
}

/// The stages of `plan`, ascending.
fn stages(plan: &[Unit]) -> Vec<u32> {
    let mut stages: Vec<u32> = plan.iter().map(|u| u.stage).collect();
    stages.dedup();
    stages
}

/// The units of `plan` (of stages below `below`, if given) that are not done.
pub fn missing<'p, 'a>(plan: &'p [Unit<'a>], below: Option<u32>) -> Result<Vec<&'p Unit<'a>>> {
    let mut missing = Vec::new();
    for unit in plan.iter().filter(|u| below.is_none_or(|b| u.stage < b)) {
        if !unit.is_done()? {
            missing.push(unit);
        }
    }
    Ok(missing)
}

/// "N unit(s) ...: a, b, c and M more".
fn name_units(units: &[&Unit]) -> String {
    const SHOWN: usize = 5;
    let names: Vec<String> = units
        .iter()
        .take(SHOWN)
        .map(|u| format!("{} (stage {}, {})", u.key, u.stage, u.part))
        .collect();
    let more = units.len().saturating_sub(SHOWN);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("{}{tail}", names.join(", "))
}

/// Refuses (a [`Refusal`]) unless every unit of `plan` is done: the check before a merge writes the
/// parts' files.
pub fn ensure_complete(plan: &[Unit]) -> Result<()> {
    let missing = missing(plan, None)?;
    if !missing.is_empty() {
        return Err(Refusal(format!(
            "{} of the plan's {} units are not done, so nothing is written: {} (rerun their shards; \
             `reproduce --plan --shard I/N` lists a shard's units)",
            missing.len(),
            plan.len(),
            name_units(&missing)
        ))
        .into());
    }
    Ok(())
}

/// What a shard did in one stage.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Units of the stage in the whole plan.
    pub stage_units: usize,
    /// Units of the stage that are this shard's.
    pub mine: usize,
    /// Of those, done by this process.
    pub done_here: usize,
    /// Of those, found done already.
    pub already_done: usize,
}

/// Does shard `shard`'s units of stage `stage` (every stage in turn when None), refusing a stage whose
/// earlier stages are incomplete; returns the counts per stage run. A unit another process holds
/// (the same shard started twice) is left to it and reported as a [`Refusal`] once the others are done.
pub fn run_shard(
    ctx: &Context,
    plan: &[Unit],
    shard: Shard,
    stage: Option<u32>,
) -> Result<Vec<(u32, Counts)>> {
    let to_run = match stage {
        Some(stage) => vec![stage],
        None => stages(plan),
    };
    let mine = shard_units(plan, shard);
    let mut report = Vec::new();
    let mut held_elsewhere = Vec::new();
    for stage in to_run {
        let earlier = missing(plan, Some(stage))?;
        if !earlier.is_empty() {
            return Err(Refusal(format!(
                "stage {stage} needs every unit of the stages before it, and {} are not done: {} \
                 (run those stages' shards first)",
                earlier.len(),
                name_units(&earlier)
            ))
            .into());
        }
        let units: Vec<&Unit> = mine.iter().copied().filter(|u| u.stage == stage).collect();
        let mut counts = Counts {
            stage_units: plan.iter().filter(|u| u.stage == stage).count(),
            mine: units.len(),
            ..Counts::default()
        };
        let estimate: f64 = units.iter().map(|u| u.cost).sum();
        eprintln!(
            "reproduce: shard {shard}, stage {stage}: {} of the stage's {} units (estimated {estimate:.0} s)",
            counts.mine, counts.stage_units
        );
        let progress = Progress::new(&format!("shard {shard} stage {stage}"), 0, "steps");
        for unit in units {
            if unit.is_done()? {
                counts.already_done += 1;
                continue;
            }
            let Some(_lock) = claim(ctx, &unit.key)? else {
                held_elsewhere.push(unit);
                continue;
            };
            if unit.is_done()? {
                counts.already_done += 1;
                continue;
            }
            let start = Instant::now();
            (unit.work)(&progress)?;
            anyhow::ensure!(
                unit.is_done()?,
                "internal error: unit {} is not done after its work",
                unit.key
            );
            counts.done_here += 1;
            progress.note(&format!("{}: done in {:.1} s", unit.key, start.elapsed().as_secs_f64()));
        }
        progress.finish();
        eprintln!(
            "reproduce: shard {shard}, stage {stage}: {} done here, {} already done, {} held by another process",
            counts.done_here,
            counts.already_done,
            held_elsewhere.len()
        );
        report.push((stage, counts));
        if !held_elsewhere.is_empty() {
            break;
        }
    }
    if !held_elsewhere.is_empty() {
        return Err(Refusal(format!(
            "shard {shard}: {} of its units are in progress in another process (is this shard running \
             twice?), left to it: {}",
            held_elsewhere.len(),
            name_units(&held_elsewhere)
        ))
        .into());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::context::Mode;

    /// A results folder whose units are marker files: `u<n>` of stage `n / 10`, costing `n % 10 + 1`;
    /// a stage-1 unit records the stage-0 markers it saw.
    struct Folder {
        ctx: Context,
    }

    impl Folder {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("reproduce-units-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Self { ctx: Context::new(dir, Mode::Quick, 0).unwrap() }
        }

        fn marker(&self, n: u32) -> PathBuf {
            self.ctx.path(format!("u{n}"))
        }

        fn units(&self) -> Vec<Unit<'_>> {
            [0, 1, 2, 3, 4, 10, 11, 12]
                .into_iter()
                .map(|n| {
                    Unit::new(
                        n / 10,
                        "test",
                        format!("u{n}"),
                        f64::from(n % 10 + 1),
                        move || Ok(self.marker(n).exists()),
                        move |_| {
                            let seen = (0..5).filter(|m| self.marker(*m).exists()).count();
                            Ok(std::fs::write(self.marker(n), seen.to_string())?)
                        },
                    )
                })
                .collect()
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.ctx.out);
        }
    }

    fn refusal(result: Result<Vec<(u32, Counts)>>) -> String {
        let error = result.unwrap_err();
        assert!(error.is::<Refusal>(), "{error:#}");
        error.to_string()
    }

    #[test]
    fn shards_split_each_stage_by_cost_and_a_stage_waits_for_the_ones_before() {
        let folder = Folder::new("stages");
        let units = folder.units();
        let plan = plan([Ok(units)]).unwrap();
        let shards: Vec<Shard> = (0..2).map(|i| Shard::new(i, 2).unwrap()).collect();
        // Every unit in exactly one shard, each stage balanced: stage 0 costs 1..5 -> 8 / 7.
        let mut all: Vec<&str> =
            shards.iter().flat_map(|s| shard_units(&plan, *s)).map(|u| u.key.as_str()).collect();
        all.sort_unstable();
        assert_eq!(all, ["u0", "u1", "u10", "u11", "u12", "u2", "u3", "u4"]);
        let keys = |s: Shard| -> Vec<String> {
            shard_units(&plan, s).iter().map(|u| u.key.clone()).collect()
        };
        assert_eq!(keys(shards[0]), ["u0", "u1", "u4", "u12"]);
        // Stage 1 before stage 0 is complete: refused, naming a missing unit, nothing written.
        let message = refusal(run_shard(&folder.ctx, &plan, shards[1], Some(1)));
        assert!(message.contains("u2 (stage 0, test)"), "{message}");
        assert!(!folder.marker(11).exists());
        // Stage 0's shards, then stage 1's: every stage-1 unit saw all five stage-0 results.
        for shard in &shards {
            let counts = run_shard(&folder.ctx, &plan, *shard, Some(0)).unwrap();
            assert_eq!(counts[0].0, 0);
            assert_eq!(counts[0].1.done_here, counts[0].1.mine);
        }
        assert!(ensure_complete(&plan).unwrap_err().to_string().contains("u10"));
        for shard in &shards {
            run_shard(&folder.ctx, &plan, *shard, Some(1)).unwrap();
        }
        for n in [10, 11, 12] {
            assert_eq!(std::fs::read_to_string(folder.marker(n)).unwrap(), "5");
        }
        ensure_complete(&plan).unwrap();
        // Rerun: everything found done.
        let again = run_shard(&folder.ctx, &plan, shards[0], None).unwrap();
        assert_eq!(again.iter().map(|(_, c)| c.already_done).sum::<usize>(), 4);
    }

    #[test]
    fn a_unit_held_by_another_process_is_left_to_it_and_reported() {
        let folder = Folder::new("held");
        let plan = plan([Ok(folder.units())]).unwrap();
        let only = Shard::new(0, 1).unwrap();
        let _held = claim(&folder.ctx, "u3").unwrap().unwrap();
        let message = refusal(run_shard(&folder.ctx, &plan, only, Some(0)));
        assert!(message.contains("running twice") && message.contains("u3"), "{message}");
        assert!(!folder.marker(3).exists());
        assert!(folder.marker(4).exists(), "the other units are done");
    }

    #[test]
    fn a_key_two_parts_list_is_planned_once() {
        let folder = Folder::new("dedupe");
        let twice = plan([Ok(folder.units()), Ok(folder.units())]).unwrap();
        assert_eq!(twice.len(), 8);
    }
}
