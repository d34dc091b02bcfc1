//! `cargo xtask bundle`: the release binaries for a machine without Rust (a GPU machine), in one folder.
//!
//! The folder holds `bin/reproduce`, `bin/gumbel-gadgets` (debug information stripped), `REVISION`
//! (the git revision they were built from, `-dirty` with uncommitted changes), `run.sh`, which finds
//! libtorch 2.11.0 in that machine's `python3` torch (or `$LIBTORCH`), puts its `lib/` on the library
//! path and runs the binary it is given, and `full.sh`, the one command of a GPU machine: every part's
//! full protocol into one results folder, resumed when run again, then `--verify --full` (README, "On
//! a GPU machine"). The binaries' own
//! rpath points at the checkout's `.libtorch` (`.cargo/config.toml`), which a bundle does not have.
//! The folder is assembled beside its destination and renamed into place, so an interrupted bundle
//! leaves no half-written folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run;

/// The binaries a bundle carries, with the packages that build them.
const BINARIES: [(&str, &str); 2] =
    [("reproduce", "reproduce"), ("gumbel-gadgets", "gumbel-gadgets-cli")];

/// The launcher, written as `run.sh`.
const RUN_SH: &str = include_str!("bundle/run.sh");

/// Every part's full protocol on the GPU, then the checks, written as `full.sh`.
const FULL_SH: &str = include_str!("bundle/full.sh");

/// The most a bundle may weigh.
const MAX_BYTES: u64 = 60 * 1024 * 1024;

/// Builds the release binaries with libtorch at `torch` and writes the bundle to `out`, replacing a
/// bundle already there; returns its size in bytes.
pub fn bundle(root: &Path, torch: &Path, out: &Path) -> Result<u64> {
    let mut build = vec!["build", "--release"];
    for (_, package) in BINARIES {
        build.extend(["-p", package]);
    }
    run::cargo(root, torch, &build, &[])?;
    let release = target_dir(root).join("release");
    let staging = sibling(out, "partial")?;
    let _ = fs::remove_dir_all(&staging);
    let written = write(&release, &revision(root), &staging);
    let bytes = match written {
        Ok(bytes) => bytes,
        Err(error) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    if bytes > MAX_BYTES {
        let _ = fs::remove_dir_all(&staging);
        bail!("the bundle would weigh {bytes} bytes, over the {MAX_BYTES} allowed");
    }
    replace(&staging, out)?;
    Ok(bytes)
}

/// Writes the bundle of the binaries in `release`, built from `revision`, to the new folder `folder`;
/// returns its size.
fn write(release: &Path, revision: &str, folder: &Path) -> Result<u64> {
    let bin = folder.join("bin");
    fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    for (binary, _) in BINARIES {
        let from = release.join(binary);
        let to = bin.join(binary);
        // Without debug information the two binaries weigh a fraction of the release profile's
        // (which keeps line tables for backtraces).
        let status = Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(&to)
            .arg(&from)
            .status()
            .context("could not start `strip` (binutils)")?;
        if !status.success() {
            bail!("`strip --strip-debug {}` failed ({status})", from.display());
        }
    }
    fs::write(folder.join("REVISION"), format!("{revision}\n")).context("writing REVISION")?;
    let (launcher, full) = (folder.join("run.sh"), folder.join("full.sh"));
    for (file, text) in [(&launcher, RUN_SH), (&full, FULL_SH)] {
        fs::write(file, text).with_context(|| format!("writing {}", file.display()))?;
    }
    for file in [launcher, full, bin.join(BINARIES[0].0), bin.join(BINARIES[1].0)] {
        set_executable(&file)?;
    }
    size(folder)
}

/// The checkout's `git rev-parse HEAD`, with `-dirty` when tracked files have uncommitted changes, or
/// "unknown" without git.
fn revision(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
        _ => head,
    }
}

/// `rwxr-xr-x`.
fn set_executable(file: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(file, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", file.display()))
}

/// Bytes of the files under `folder`.
fn size(folder: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(folder).with_context(|| format!("reading {}", folder.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { size(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

/// `<out>.<suffix>` beside `out`.
fn sibling(out: &Path, suffix: &str) -> Result<PathBuf> {
    let name = out.file_name().with_context(|| format!("{} names no folder", out.display()))?;
    Ok(out.with_file_name(format!("{}.{suffix}", name.to_string_lossy())))
}

/// Moves the finished `staging` folder to `out`, replacing an older bundle there.
fn replace(staging: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        let old = sibling(out, "old")?;
        let _ = fs::remove_dir_all(&old);
        fs::rename(out, &old).with_context(|| format!("moving the old {} aside", out.display()))?;
        fs::rename(staging, out).with_context(|| format!("renaming into {}", out.display()))?;
        fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))
    } else {
        fs::rename(staging, out).with_context(|| format!("renaming into {}", out.display()))
    }
}

/// Cargo's target folder: `$CARGO_TARGET_DIR`, else `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

#[cfg(test)]
mod tests {
    //! run.sh against fake bundles and fake torch folders: each failure is one line on stderr with
    //! exit code 2, and a found torch puts its `lib/` first on the library path of the binary, which
    //! gets the bundle's revision too.

    use std::process::Output;

    use super::*;

    /// A scratch folder with a bundle whose `bin/echo-env` prints its library path and arguments,
    /// torch folders `good` (2.11.0) and `other` (2.10.0), and folders `python-good`, `python-none`
    /// holding a `python3` that names the good torch, or none.
    struct Scratch(PathBuf);

    /// Where run.sh is to look for torch.
    enum Torch {
        /// `LIBTORCH` set to this folder of the scratch.
        Libtorch(&'static str),
        /// `LIBTORCH` unset, the `python3` of this folder of the scratch first on PATH.
        Python(&'static str),
    }

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("xtask-bundle-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            let script = |path: PathBuf, text: String| {
                fs::create_dir_all(path.parent().expect("parent")).expect("folder");
                fs::write(&path, text).expect("script");
                set_executable(&path).expect("chmod");
            };
            script(dir.join("bundle/run.sh"), RUN_SH.to_owned());
            script(
                dir.join("bundle/bin/echo-env"),
                "#!/bin/sh\necho \"$LD_LIBRARY_PATH|$GUMBEL_GADGETS_REVISION|$*\"\n".into(),
            );
            fs::write(dir.join("bundle/REVISION"), "abc123\n").expect("REVISION");
            let good = dir.join("good").display().to_string();
            script(dir.join("python-good/python3"), format!("#!/bin/sh\necho '{good}'\n"));
            script(dir.join("python-none/python3"), "#!/bin/sh\necho\n".into());
            for (folder, version) in [("good", "2.11.0+cu130"), ("other", "2.10.0+cpu")] {
                let torch = dir.join(folder);
                fs::create_dir_all(torch.join("lib")).expect("torch folder");
                fs::write(torch.join("lib/libtorch.so"), "").expect("libtorch.so");
                fs::write(torch.join("version.py"), format!("__version__ = '{version}'\n"))
                    .expect("version.py");
            }
            Self(dir)
        }

        /// run.sh with `args`, looking for torch where `torch` says.
        fn run(&self, torch: Torch, args: &[&str]) -> Output {
            let mut command = Command::new(self.0.join("bundle/run.sh"));
            command.args(args).env_remove("LD_LIBRARY_PATH");
            match torch {
                Torch::Libtorch(folder) => command.env("LIBTORCH", self.0.join(folder)),
                Torch::Python(folder) => {
                    let path = format!("{}:/bin:/usr/bin", self.0.join(folder).display());
                    command.env_remove("LIBTORCH").env("PATH", path)
                }
            };
            command.output().expect("run.sh starts")
        }
    }

    impl Scratch {
        /// Adds a `bin/reproduce` standing in for the real one under full.sh: `--list` names two
        /// parts where `FAKE_CUDA` is set and refuses as `--require-cuda` does otherwise;
        /// `--check-graphs` prints its JSON, with `equal_bits` false and exit status 1 where
        /// `FAKE_GRAPHS_DIFFER` is set; a part's run appends the part and its `--graphs` value to the
        /// file `calls` and fails where it is `FAKE_FAIL`; `--verify` appends "verify".
        fn with_fake_reproduce(self) -> Self {
            let calls = self.0.join("calls").display().to_string();
            let path = self.0.join("bundle/bin/reproduce");
            let text = format!(
                r#"#!/bin/sh
case "$*" in
*--list*)
    [ -n "${{FAKE_CUDA:-}}" ] || {{ echo 'reproduce: --require-cuda: libtorch sees no CUDA device' >&2; exit 2; }}
    printf 'figure1      Figure 1
table1       Table 1
' ;;
*--check-graphs*)
    if [ -n "${{FAKE_GRAPHS_DIFFER:-}}" ]; then echo '{{"equal_bits":false}}'; exit 1; fi
    echo '{{"equal_bits":true}}' ;;
*--verify*) echo verify >>'{calls}' ;;
*)
    prev= part= graphs=
    for arg in "$@"; do
        [ "$prev" = --only ] && part=$arg
        [ "$prev" = --graphs ] && graphs=$arg
        prev=$arg
    done
    echo "$part $graphs" >>'{calls}'
    [ "$part" != "${{FAKE_FAIL:-}}" ] || exit 1
    [ "$part $graphs" != "${{FAKE_FAIL_WITH_GRAPHS:-}} auto" ] || exit 1 ;;
esac
"#
            );
            fs::write(&path, text).expect("fake reproduce");
            set_executable(&path).expect("chmod");
            let full = self.0.join("bundle/full.sh");
            fs::write(&full, FULL_SH).expect("full.sh");
            set_executable(&full).expect("chmod");
            self
        }

        /// full.sh into `<scratch>/results` with the good torch and the environment `env`.
        fn full(&self, env: &[(&str, &str)]) -> Output {
            Command::new(self.0.join("bundle/full.sh"))
                .arg(self.0.join("results"))
                .env("LIBTORCH", self.0.join("good"))
                .env_remove("FAKE_CUDA")
                .env_remove("FAKE_FAIL")
                .env_remove("FAKE_GRAPHS_DIFFER")
                .env_remove("FAKE_FAIL_WITH_GRAPHS")
                .envs(env.iter().copied())
                .output()
                .expect("full.sh starts")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// One line on stderr from `script` saying `says`, exit code 2, nothing on stdout.
    fn one_line_error(script: &str, output: &Output, says: &str) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("{script}: ")) && stderr.contains(says), "{stderr}");
        assert!(output.stdout.is_empty());
    }

    #[test]
    fn a_found_torch_leads_the_library_path_and_the_revision_is_passed_on() {
        let scratch = Scratch::new("found");
        let expected = format!("{}|abc123|--list a b\n", scratch.0.join("good/lib").display());
        for torch in [Torch::Libtorch("good"), Torch::Python("python-good")] {
            let output = scratch.run(torch, &["echo-env", "--list", "a b"]);
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
        }
    }

    #[test]
    fn missing_binaries_and_torches_are_one_line_errors() {
        let scratch = Scratch::new("errors");
        let run = |torch, args: &[&str]| scratch.run(torch, args);
        one_line_error("run.sh", &run(Torch::Libtorch("good"), &[]), "usage: run.sh BINARY");
        one_line_error(
            "run.sh",
            &run(Torch::Libtorch("good"), &["reproduce"]),
            "no binary 'reproduce'",
        );
        one_line_error(
            "run.sh",
            &run(Torch::Libtorch("good"), &["../run.sh"]),
            "no binary '../run.sh'",
        );
        one_line_error(
            "run.sh",
            &run(Torch::Libtorch("other"), &["echo-env"]),
            "is another version",
        );
        one_line_error(
            "run.sh",
            &run(Torch::Libtorch("absent"), &["echo-env"]),
            "has no lib/libtorch.so",
        );
        one_line_error(
            "run.sh",
            &run(Torch::Python("python-none"), &["echo-env"]),
            "no torch 2.11.0 found",
        );
    }

    #[test]
    fn full_sh_refuses_without_cuda_and_a_rerun_resumes_the_failed_part() {
        let scratch = Scratch::new("full").with_fake_reproduce();
        let calls = || fs::read_to_string(scratch.0.join("calls")).unwrap_or_default();
        one_line_error("full.sh", &scratch.full(&[]), "no CUDA device");
        assert_eq!(calls(), "", "nothing runs without CUDA");

        let failed = scratch.full(&[("FAKE_CUDA", "1"), ("FAKE_FAIL", "table1")]);
        assert_eq!(failed.status.code(), Some(1), "{}", String::from_utf8_lossy(&failed.stderr));
        assert_eq!(calls(), "figure1 auto\ntable1 auto\ntable1 off\nverify\n");
        let graphs = fs::read_to_string(scratch.0.join("results/full/graphs.json")).expect("json");
        assert_eq!(graphs, "{\"equal_bits\":true}\n");
        // A graph that trains other bits than eager steps: the parts train without graphs, saying so.
        let resumed = scratch.full(&[("FAKE_CUDA", "1"), ("FAKE_GRAPHS_DIFFER", "1")]);
        assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
        assert_eq!(
            calls(),
            "figure1 auto\ntable1 auto\ntable1 off\nverify\ntable1 off\nverify\n",
            "only table1 again, without graphs"
        );
        let said = String::from_utf8_lossy(&resumed.stdout);
        assert!(
            said.contains("training without CUDA graphs (--graphs off): a graph trained"),
            "{said}"
        );

        let timings = fs::read_to_string(scratch.0.join("results/full/timings.tsv")).expect("tsv");
        let rows: Vec<Vec<&str>> = timings.lines().map(|l| l.split('\t').collect()).collect();
        let summary: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[2], r[3])).collect();
        assert_eq!(
            summary,
            [
                ("figure1", "0", "abc123"),
                ("table1", "1", "abc123"),
                ("table1", "1", "abc123"),
                ("table1", "0", "abc123")
            ]
        );
        assert!(rows.iter().all(|r| r[1].parse::<u64>().is_ok()), "{timings}");
    }

    #[test]
    fn full_sh_retries_a_part_that_fails_with_graphs_once_without_them() {
        let scratch = Scratch::new("full-retry").with_fake_reproduce();
        let run = scratch.full(&[("FAKE_CUDA", "1"), ("FAKE_FAIL_WITH_GRAPHS", "table1")]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let calls = fs::read_to_string(scratch.0.join("calls")).expect("calls");
        assert_eq!(calls, "figure1 auto\ntable1 auto\ntable1 off\nverify\n");
        let said = String::from_utf8_lossy(&run.stdout);
        assert!(said.contains("table1 failed with CUDA graphs; once more without them"), "{said}");
        assert!(said.contains("full.sh: table1 done in"), "{said}");
    }
}
