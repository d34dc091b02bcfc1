//! The single-node Slurm stage of `cargo xtask test` (and `cargo xtask slurm` alone): `reproduce`'s
//! shards run as a real Slurm job array, checked against a single process.
//!
//! As root with apt, it installs Debian's `slurm-wlm` and `munge` when `slurmctld` is missing, then
//! starts `munged`, `slurmctld` and `slurmd` on this host from a configuration it writes into a
//! temporary folder (its own munge key and socket, free ports, `ProctrackType=proctrack/linuxproc`,
//! no cgroups), so nothing of the machine's own configuration is used or changed. It runs `reproduce
//! --only table1,sepsis --threads 1` (quick mode) once in one process, then submits the same run with
//! the README's `examples/slurm/submit-full.sh` (an array of [`SHARDS`] single-threaded shards per
//! stage, `--shard auto --stage S`, each stage `--dependency=afterok` on the one before, and the
//! merging job, `--merge`, after them), waits for every job with a timeout, and compares the merged
//! JSON with the single process's, timings aside. Every daemon it started is stopped by its
//! process id when the stage ends, whatever the outcome (a drop guard); on a failure the daemons' logs
//! and the jobs' output are printed. Without root or apt, the stage says so and is skipped.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// Shards per stage.
const SHARDS: usize = 4;
/// The parts the test reproduces: the cheapest with units of their own (Table 1) and one computed
/// as a whole (sepsis).
const PARTS: &str = "table1,sepsis";
/// The longest wait for the cluster to come up or for the jobs to finish.
const TIMEOUT: Duration = Duration::from_secs(900);
/// The stages the test's plan has (quick mode has no Table 1 sweep, so its stage 1 is empty; the
/// jobs run it all the same, as the full protocols' chain does).
const STAGES: u32 = 2;

/// Runs the stage: skipped with a message without root or apt, else the test (module doc).
pub fn test(root: &Path, reproduce: &Path) -> Result<()> {
    if let Some(reason) = unavailable() {
        eprintln!("xtask: single-node Slurm test SKIPPED: {reason}");
        return Ok(());
    }
    install()?;
    let dir = std::env::temp_dir().join(format!("gg-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let cluster = Cluster::start(&dir)?;
    let outcome = sweep(root, reproduce, &cluster);
    if outcome.is_err() {
        cluster.print_logs();
    }
    drop(cluster);
    outcome?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Why the test cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    let uid = output(Command::new("id").arg("-u")).ok()?;
    if uid.trim() != "0" {
        return Some(format!(
            "it needs root (to start slurmd and install packages), uid is {}",
            uid.trim()
        ));
    }
    if !found("slurmctld") && !found("apt-get") {
        return Some("slurmctld is not installed and there is no apt-get to install it".to_owned());
    }
    None
}

/// Whether `program` is on the PATH or in /usr/sbin.
fn found(program: &str) -> bool {
    which(program).is_some()
}

/// The path of `program` on the PATH or in /usr/sbin.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/bin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file());
    found
}

/// Installs slurm-wlm and munge from the package registry when a program of theirs is missing.
fn install() -> Result<()> {
    let programs = ["munged", "slurmctld", "slurmd", "sbatch", "scontrol"];
    if programs.iter().all(|p| found(p)) {
        return Ok(());
    }
    eprintln!("xtask: installing slurm-wlm and munge (apt-get) for the Slurm test");
    let apt = |args: &[&str]| -> Result<bool> {
        Ok(Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .context("could not start apt-get")?
            .success())
    };
    if !apt(&["install", "-y", "-q", "slurm-wlm", "munge"])? {
        apt(&["update", "-q"])?;
        if !apt(&["install", "-y", "-q", "slurm-wlm", "munge"])? {
            bail!("apt-get could not install slurm-wlm and munge");
        }
    }
    Ok(())
}

/// The standard output of `command`, which must succeed.
fn output(command: &mut Command) -> Result<String> {
    let out =
        command.stderr(Stdio::piped()).output().with_context(|| format!("starting {command:?}"))?;
    if !out.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A free TCP port on this host (the kernel's choice, released at once).
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// munged, slurmctld and slurmd started from a configuration in `dir`; stopped on drop.
struct Cluster {
    dir: PathBuf,
    /// The pid files of the daemons started, in the order to stop them.
    pid_files: Vec<PathBuf>,
}

impl Cluster {
    fn start(dir: &Path) -> Result<Self> {
        let mut cluster = Self { dir: dir.to_path_buf(), pid_files: Vec::new() };
        // munged refuses a socket whose folders are not traversable by all.
        let run = dir.join("run");
        for (folder, mode) in [(dir, "711"), (&run, "755")] {
            std::fs::create_dir_all(folder)?;
            output(Command::new("chmod").arg(mode).arg(folder))?;
        }
        let key = dir.join("munge.key");
        let mut bytes = Vec::new();
        std::fs::File::open("/dev/urandom")?.take(1024).read_to_end(&mut bytes)?;
        std::fs::write(&key, bytes)?;
        output(Command::new("chmod").arg("400").arg(&key))?;
        let socket = run.join("munge.socket");
        let munged_pid = dir.join("munged.pid");
        output(
            Command::new(which("munged").context("munged not found")?)
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--pid-file={}", munged_pid.display()))
                .arg(format!("--log-file={}", dir.join("munged.log").display()))
                .arg(format!("--seed-file={}", dir.join("munged.seed").display())),
        )?;
        cluster.pid_files.push(munged_pid);
        let host = output(Command::new("hostname").arg("-s"))?.trim().to_owned();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        for sub in ["state", "spool"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let d = dir.display();
        let config = format!(
            "ClusterName=gg\nSlurmctldHost={host}\nSlurmUser=root\nSlurmdUser=root\n\
             AuthType=auth/munge\nAuthInfo=socket={socket}\nCredType=cred/munge\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\nStateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
             SlurmctldPort={}\nSlurmdPort={}\nReturnToService=2\nMpiDefault=none\n\
             JobCompType=jobcomp/none\nAccountingStorageType=accounting_storage/none\n\
             NodeName={host} CPUs={cpus} State=UNKNOWN\n\
             PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            free_port()?,
            free_port()?,
            socket = socket.display(),
        );
        std::fs::write(dir.join("slurm.conf"), config)?;
        // cgroup.conf beside slurm.conf: slurmd reads it even with no cgroup plugin in use.
        std::fs::write(dir.join("cgroup.conf"), "CgroupPlugin=autodetect\nIgnoreSystemd=yes\n")?;
        for daemon in ["slurmctld", "slurmd"] {
            output(&mut cluster.slurm(daemon)?)?;
            cluster.pid_files.insert(0, dir.join(format!("{daemon}.pid")));
        }
        cluster.wait_until_idle()?;
        Ok(cluster)
    }

    /// A Slurm program with this cluster's configuration.
    fn slurm(&self, program: &str) -> Result<Command> {
        let mut command =
            Command::new(which(program).with_context(|| format!("{program} not found"))?);
        command.env("SLURM_CONF", self.dir.join("slurm.conf"));
        Ok(command)
    }

    /// Waits until the node is idle.
    fn wait_until_idle(&self) -> Result<()> {
        let start = Instant::now();
        loop {
            let state = output(self.slurm("sinfo")?.args(["-h", "-o", "%t"])).unwrap_or_default();
            if state.trim() == "idle" {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(60) {
                bail!("the Slurm node is not idle after 60 s (sinfo: '{}')", state.trim());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Submits `reproduce ARGS` as the README does, with `examples/slurm/submit-full.sh` (its shard
    /// arrays of [`SHARDS`] tasks per stage, then the merging job) into the results folder `out`;
    /// returns the job ids it printed.
    fn submit_full(
        &self,
        root: &Path,
        reproduce: &Path,
        args: &str,
        out: &Path,
    ) -> Result<Vec<String>> {
        let printed = output(
            Command::new("sh")
                .arg(root.join("examples").join("slurm").join("submit-full.sh"))
                .current_dir(&self.dir)
                .env("SLURM_CONF", self.dir.join("slurm.conf"))
                .env("SHARDS", SHARDS.to_string())
                .env("REPRODUCE", reproduce)
                .env("ARGS", args)
                .env("OUT", out),
        )?;
        // "stage 0: job 101, stage 1: job 102, merge: job 103"
        let ids: Vec<String> = printed
            .split(',')
            .filter_map(|field| field.rsplit("job ").next())
            .map(|id| id.trim().split(';').next().unwrap_or_default().to_owned())
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
            .collect();
        if ids.len() != STAGES as usize + 1 {
            bail!("submit-full.sh printed '{}', not {} job ids", printed.trim(), STAGES + 1);
        }
        Ok(ids)
    }

    /// Waits for every job of `ids` (array tasks included) to complete; fails on a job that did not.
    fn wait(&self, ids: &[String]) -> Result<usize> {
        let start = Instant::now();
        loop {
            let mut states = Vec::new();
            for id in ids {
                let shown = output(self.slurm("scontrol")?.args(["show", "job", id]))?;
                states.extend(
                    shown
                        .split_whitespace()
                        .filter_map(|w| w.strip_prefix("JobState="))
                        .map(str::to_owned),
                );
            }
            if let Some(bad) = states.iter().find(|s| {
                !["COMPLETED", "PENDING", "RUNNING", "CONFIGURING", "COMPLETING"]
                    .contains(&s.as_str())
            }) {
                bail!("a Slurm job ended {bad} (states: {})", states.join(" "));
            }
            if !states.is_empty() && states.iter().all(|s| s == "COMPLETED") {
                return Ok(states.len());
            }
            if start.elapsed() > TIMEOUT {
                bail!(
                    "the Slurm jobs did not finish in {} s (states: {})",
                    TIMEOUT.as_secs(),
                    states.join(" ")
                );
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    /// Prints the daemons' logs and the jobs' output.
    fn print_logs(&self) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        let shown = |f: &&PathBuf| f.extension().is_some_and(|e| e == "log" || e == "out");
        for file in files.iter().filter(shown) {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("xtask: --- {} (last {} lines) ---", file.display(), tail.len());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for pid_file in &self.pid_files {
            let Some(pid) =
                std::fs::read_to_string(pid_file).ok().and_then(|p| p.trim().parse::<u32>().ok())
            else {
                eprintln!("xtask: no pid in {}; is that daemon running?", pid_file.display());
                continue;
            };
            let alive = || Path::new(&format!("/proc/{pid}")).exists();
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let start = Instant::now();
            while alive() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(200));
            }
            if alive() {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
    }
}

/// The test proper: a single process, then the shards and the merge as Slurm jobs, compared.
fn sweep(root: &Path, reproduce: &Path, cluster: &Cluster) -> Result<()> {
    let (single, sharded) = (cluster.dir.join("single"), cluster.dir.join("sharded"));
    let base = format!("{} --only {PARTS}", reproduce.display());
    let plan = output(
        Command::new("sh").arg("-c").arg(format!("{base} --plan --out {}", sharded.display())),
    )?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{base} --threads 1 --out {}", single.display()))
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("the single-process run failed ({status})");
    }
    let ids = cluster.submit_full(root, reproduce, &format!("--only {PARTS}"), &sharded)?;
    let jobs = cluster.wait(&ids)?;
    let mut compared = 0;
    for part in PARTS.split(',') {
        let file = format!("{part}.json");
        let (one, merged) = (numbers(&single.join(&file))?, numbers(&sharded.join(&file))?);
        if one != merged {
            bail!("{file} of the Slurm jobs differs from the single process's");
        }
        compared += count(&one);
    }
    eprintln!(
        "xtask: single-node Slurm: {} units in the plan, {STAGES} stages x {SHARDS} array tasks + 1 merge job: \
         {jobs} jobs COMPLETED; {PARTS} equal to a single process ({compared} numbers compared)",
        plan.lines().count()
    );
    Ok(())
}

/// A part's JSON without `meta` and timings (keys naming seconds).
fn numbers(path: &Path) -> Result<Value> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|key, _| key != "meta" && !key.contains("second"));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut value: Value = serde_json::from_str(&text)?;
    strip(&mut value);
    Ok(value)
}

/// The numbers in `value`.
fn count(value: &Value) -> usize {
    match value {
        Value::Number(_) => 1,
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}
