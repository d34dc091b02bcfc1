//! Work sharing between `reproduce` processes on one results folder, so that a long `--full` part
//! can be run by one single-threaded process per core (e.g. `--only table1` twice) and each process
//! takes the units of work the others have not.
//!
//! Each unit (a training run, or a run and its evaluation) has a lock file
//! `results/locks/<mode>/<name>.lock`, held with an exclusive advisory lock (`flock`) while a process
//! works on it. The operating system releases the lock when the holder exits, however it exits, so
//! an interrupted process never leaves a unit claimed. [`share`] makes two passes over the units:
//! the first does every unfinished unit it can claim at once and skips those another process holds
//! (counting a skipped unit's steps in the progress as soon as its holder has finished it);
//! the second waits for each skipped unit's lock and does the unit itself if the holder stopped
//! before finishing it. On return every unit is finished, by this process or another, and the part
//! reads the results back from its cache and checkpoints as on any resumed run. The lock files stay
//! (empty, a few hundred per full run); they hold no state and may be deleted when no run is active.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::context::Context;
use crate::progress::Progress;

/// What [`share`] needs to know of a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Names the unit's lock file: unique among the units of every part in the mode.
    pub lock: String,
    /// Whether its result is already there (in the cache or the checkpoints).
    pub done: bool,
    /// The training steps the part's progress count holds for it, added to the count when another
    /// process finishes the unit.
    pub steps: u64,
}

/// Does `work` on every unit of `units` whose `plan` is not done, sharing them with other processes
/// that run the same units on the same results folder (see the module's doc). `work` must leave the
/// unit done (its `plan` says so afterwards); an error from it stops the sharing and is returned,
/// releasing the unit's lock.
pub fn share<T>(
    ctx: &Context,
    progress: &Progress,
    units: &[T],
    plan: impl Fn(&T) -> Result<Plan>,
    mut work: impl FnMut(&T) -> Result<()>,
) -> Result<()> {
    // The units as they stood when the part began, which its progress total counts.
    let plans = units.iter().map(&plan).collect::<Result<Vec<_>>>()?;
    let mut held_elsewhere = Vec::new();
    for (unit, first) in units.iter().zip(plans) {
        count_finished_elsewhere(progress, &mut held_elsewhere, &plan)?;
        if first.done {
            continue;
        }
        let lock = open_lock(ctx, &first.lock)?;
        match lock.try_lock() {
            Ok(()) => finish(progress, unit, &first, &plan, &mut work)?,
            Err(TryLockError::WouldBlock) => held_elsewhere.push((unit, first, lock)),
            Err(TryLockError::Error(error)) => {
                return Err(error).with_context(|| format!("locking {}", first.lock))
            }
        }
    }
    for (unit, first, lock) in held_elsewhere {
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                progress
                    .note(&format!("waiting for {}: another process is working on it", first.lock));
                lock.lock().with_context(|| format!("waiting for the lock of {}", first.lock))?;
            }
            Err(TryLockError::Error(error)) => {
                return Err(error).with_context(|| format!("locking {}", first.lock))
            }
        }
        finish(progress, unit, &first, &plan, &mut work)?;
    }
    Ok(())
}

/// Drops from `held` the units another process has finished since this one found them held, counting
/// their steps as done: the progress (and its ETA) then follows the work of every sharing process as
/// it happens, not only at the end of the second pass.
fn count_finished_elsewhere<T>(
    progress: &Progress,
    held: &mut Vec<(&T, Plan, File)>,
    plan: &impl Fn(&T) -> Result<Plan>,
) -> Result<()> {
    let mut still_held = Vec::with_capacity(held.len());
    for (unit, first, lock) in held.drain(..) {
        if plan(unit)?.done {
            progress.inc(first.steps);
        } else {
            still_held.push((unit, first, lock));
        }
    }
    *held = still_held;
    Ok(())
}

/// With the unit's lock held: does the unit unless another process finished it meanwhile (then its
/// steps count as done).
fn finish<T>(
    progress: &Progress,
    unit: &T,
    first: &Plan,
    plan: &impl Fn(&T) -> Result<Plan>,
    work: &mut impl FnMut(&T) -> Result<()>,
) -> Result<()> {
    if plan(unit)?.done {
        progress.inc(first.steps);
        return Ok(());
    }
    work(unit)?;
    anyhow::ensure!(
        plan(unit)?.done,
        "internal error: {} is not finished after its work",
        first.lock
    );
    Ok(())
}

/// The lock of unit `name` if no other process holds it (held until the returned file is dropped),
/// None if one does: for work that takes several units at once ([`crate::training::train_stacks`]).
pub fn claim(ctx: &Context, name: &str) -> Result<Option<File>> {
    let lock = open_lock(ctx, name)?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => Err(error).with_context(|| format!("locking {name}")),
    }
}

/// Opens (creating it if need be) the lock file of unit `name`.
fn open_lock(ctx: &Context, name: &str) -> Result<File> {
    let path: PathBuf = ctx.path(format!("locks/{}/{name}.lock", ctx.mode.label()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Arc};

    use super::*;
    use crate::context::Mode;

    /// A results folder whose units are files `done/<n>`.
    struct Folder {
        ctx: Context,
    }

    impl Folder {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("reproduce-sharing-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("done")).unwrap();
            Self { ctx: Context::new(dir, Mode::Quick, 0).unwrap() }
        }

        fn marker(&self, unit: u32) -> PathBuf {
            self.ctx.path(format!("done/{unit}"))
        }

        fn plan(&self, unit: u32) -> Result<Plan> {
            Ok(Plan { lock: format!("unit{unit}"), done: self.marker(unit).exists(), steps: 10 })
        }

        fn finish(&self, unit: u32) {
            std::fs::write(self.marker(unit), b"").unwrap();
        }

        /// Shares `units` with work that finishes each unit and reports it on `done`; returns the
        /// units this sharer did, in order.
        fn share_and_record(
            &self,
            progress: &Progress,
            units: &[u32],
            done: &mpsc::Sender<u32>,
        ) -> Vec<u32> {
            let mut order = Vec::new();
            share(
                &self.ctx,
                progress,
                units,
                |u| self.plan(*u),
                |u| {
                    order.push(*u);
                    self.finish(*u);
                    let _ = done.send(*u);
                    Ok(())
                },
            )
            .unwrap();
            order
        }

        /// Holds unit `unit`'s lock the way another process would (flock locks belong to the open file,
        /// so a second open in this process contends like another process's).
        fn hold(&self, unit: u32) -> File {
            let file = open_lock(&self.ctx, &format!("unit{unit}")).unwrap();
            file.try_lock().unwrap();
            file
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.ctx.out);
        }
    }

    #[test]
    fn units_held_elsewhere_are_skipped_then_awaited_and_not_redone() {
        let folder = Arc::new(Folder::new("skip"));
        folder.finish(0);
        let held = folder.hold(1);
        // The "other process" finishes unit 1 and releases it once we have done unit 3, i.e. after
        // our first pass found it held.
        let (sender, receiver) = mpsc::channel();
        let other = {
            let folder = Arc::clone(&folder);
            std::thread::spawn(move || {
                while receiver.recv().unwrap() != 3 {}
                folder.finish(1);
                drop(held);
            })
        };
        let progress = Progress::new("test", 30, "steps");
        let order = folder.share_and_record(&progress, &[0, 1, 2, 3], &sender);
        other.join().unwrap();
        // Unit 0 was done before; unit 1 by the other process, whose steps count as done here.
        assert_eq!(order, vec![2, 3]);
        assert_eq!(progress.position(), 10);
    }

    #[test]
    fn units_finished_elsewhere_count_in_the_progress_as_they_finish() {
        // Held elsewhere when our first pass reaches it: counted as soon as its holder has finished it
        // (here, while we do unit 1), before our next unit, not only when the second pass gets to it.
        let folder = Arc::new(Folder::new("count-held"));
        let held = folder.hold(0);
        let ((go, go_seen), (finished, finished_seen)) = (mpsc::channel(), mpsc::channel());
        let other = {
            let folder = Arc::clone(&folder);
            std::thread::spawn(move || {
                go_seen.recv().unwrap();
                folder.finish(0);
                drop(held);
                finished.send(()).unwrap();
            })
        };
        let progress = Progress::new("test", 30, "steps");
        let mut at_start = Vec::new();
        share(
            &folder.ctx,
            &progress,
            &[0, 1, 2],
            |u| folder.plan(*u),
            |u| {
                if *u == 1 {
                    go.send(()).unwrap();
                    finished_seen.recv().unwrap();
                }
                at_start.push(progress.position());
                folder.finish(*u);
                Ok(())
            },
        )
        .unwrap();
        other.join().unwrap();
        assert_eq!(at_start, vec![0, 10]);
        assert_eq!(progress.position(), 10);

        // Finished elsewhere after the part began but before we reach it, never seen held: counted too.
        let folder = Folder::new("count-passed");
        let progress = Progress::new("test", 20, "steps");
        share(
            &folder.ctx,
            &progress,
            &[0, 1],
            |u| folder.plan(*u),
            |u| {
                folder.finish(*u);
                folder.finish(1); // the other process, meanwhile
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(progress.position(), 10);
    }

    #[test]
    fn a_unit_whose_holder_stopped_before_finishing_is_done_here() {
        let folder = Folder::new("crash");
        let held = folder.hold(0);
        let (sender, receiver) = mpsc::channel();
        let other = std::thread::spawn(move || {
            while receiver.recv().unwrap() != 1 {}
            drop(held); // stops without finishing unit 0
        });
        let progress = Progress::new("test", 20, "steps");
        assert_eq!(folder.share_and_record(&progress, &[0, 1], &sender), vec![1, 0]);
        other.join().unwrap();
        assert_eq!(progress.position(), 0);
    }

    #[test]
    fn concurrent_sharers_do_every_unit_exactly_once() {
        let folder = Arc::new(Folder::new("race"));
        let units: Vec<u32> = (0..16).collect();
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (folder, units) = (Arc::clone(&folder), units.clone());
                std::thread::spawn(move || {
                    let (sender, _receiver) = mpsc::channel();
                    let order = folder.share_and_record(
                        &Progress::new("test", 0, "steps"),
                        &units,
                        &sender,
                    );
                    // On return every unit is finished, whoever did it.
                    assert!(units.iter().all(|u| folder.marker(*u).exists()));
                    order
                })
            })
            .collect();
        let mut done: Vec<u32> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        done.sort_unstable();
        assert_eq!(done, units);
    }

    #[test]
    fn an_error_is_returned_and_releases_the_unit() {
        let folder = Folder::new("error");
        let progress = Progress::new("test", 0, "steps");
        let failed =
            share(&folder.ctx, &progress, &[0], |u| folder.plan(*u), |_| anyhow::bail!("boom"));
        assert_eq!(failed.unwrap_err().to_string(), "boom");
        // Released: another sharer can claim it at once.
        let _held = folder.hold(0);
        // Work that does not finish its unit is an error, not an endless loop.
        let folder = Folder::new("unfinished");
        let unfinished = share(&folder.ctx, &progress, &[0], |u| folder.plan(*u), |_| Ok(()));
        assert!(unfinished.unwrap_err().to_string().contains("not finished"));
    }
}
