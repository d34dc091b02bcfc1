//! `cargo xtask`: the project's automation, one module per subcommand.
//!
//! - `setup`: find or install libtorch 2.11.0 (for tch 0.24) and point `.libtorch` at it.
//! - `env`: print the environment other shells need to build and run the tch crates.
//! - `test`: set up, then the tidy checks (`cargo fmt --check`, clippy with warnings denied), the
//!   whole test suite (`cargo test --workspace`), the Python package's pytest suite ([`python`]) and
//!   `reproduce`'s shards as a single-node Slurm job array ([`slurm`]).
//! - `slurm`: set up, then the single-node Slurm test alone.
//! - `reproduce`: set up, build `crates/reproduce` in release mode (cargo's progress shown), then run
//!   the paper reproductions into `results/`.
//! - `bench`: set up, then run the criterion benchmarks (`crates/bench`).
//! - `bundle`: set up, then build the release binaries and write them with a launcher to one folder
//!   for a machine without Rust (`bundle.rs`).

mod bundle;
mod libtorch;
mod python;
mod run;
mod slurm;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "gumbel-gadgets project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Find or install libtorch 2.11.0 and link it as `.libtorch`.
    Setup,
    /// Print `export` lines for LIBTORCH, LD_LIBRARY_PATH and the malloc settings of
    /// `.cargo/config.toml` (use with `eval "$(cargo xtask env)"`).
    Env,
    /// Set up libtorch, check formatting (`cargo fmt --all --check`) and lints (`cargo clippy
    /// --workspace --all-targets -- -D warnings`), run `cargo test --workspace` with any extra
    /// arguments, then build the Python package into torch's environment and run its pytest suite,
    /// then `reproduce`'s shards on a single-node Slurm (as root with apt; skipped otherwise).
    Test {
        /// Arguments passed on to `cargo test`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Set up libtorch, build `reproduce`, then run the single-node Slurm test alone: a job array of
    /// quick-mode shards and a merging job against a single process (root and apt needed; skipped
    /// with a message otherwise).
    Slurm,
    /// Set up libtorch, then run the reproductions (quick by default; `--full` for the papers' protocols).
    Reproduce {
        /// Arguments passed on to the `reproduce` binary (see `cargo xtask reproduce --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Set up libtorch, then run the criterion benchmarks of `crates/bench`.
    Bench {
        /// Arguments passed on to `cargo bench -p bench`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Set up libtorch, build `reproduce` and `gumbel-gadgets` in release mode, and write them with a
    /// launcher (`run.sh`, which finds the machine's torch 2.11.0) to one folder for a GPU machine
    /// without Rust.
    Bundle {
        /// The folder to write, replaced if it exists (default: `target/bundle` in the checkout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() {
    if let Err(error) = run_command(Cli::parse().command) {
        eprintln!("xtask: {error:#}");
        std::process::exit(1);
    }
}

fn run_command(command: Command) -> Result<()> {
    let root = project_root();
    match command {
        Command::Setup => {
            libtorch::ensure(&root)?;
        }
        Command::Env => {
            let torch = libtorch::ensure(&root)?;
            println!("export LIBTORCH={}", torch.display());
            println!("export LD_LIBRARY_PATH={}", run::library_path(&torch));
            for (name, value) in run::MALLOC_SETTINGS {
                println!("export {name}={value}");
            }
        }
        Command::Test { args } => {
            let torch = libtorch::ensure(&root)?;
            if let Some(venv) = python::venv_of(&torch) {
                // pyo3's build script reads the interpreter: the same one for cargo and maturin, so
                // the Python stage reuses cargo's build of the bindings.
                std::env::set_var("PYO3_PYTHON", python::python(&venv));
            }
            run::cargo(&root, &torch, &["fmt", "--all", "--check"], &[])?;
            run::cargo(
                &root,
                &torch,
                &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
                &[],
            )?;
            run::cargo(&root, &torch, &["test", "--workspace"], &args)?;
            run::cargo(&root, &torch, &["build", "--quiet", "-p", "gumbel-gadgets-cli"], &[])?;
            let cli = root.join("target").join("debug").join("gumbel-gadgets");
            python::test(&root, &torch, &cli)?;
            slurm_test(&root, &torch)?;
        }
        Command::Slurm => {
            let torch = libtorch::ensure(&root)?;
            slurm_test(&root, &torch)?;
        }
        Command::Reproduce { args } => {
            let torch = libtorch::ensure(&root)?;
            // The release build takes minutes from a fresh clone: build first with cargo's progress
            // shown, then run the binary without cargo's own lines around its output.
            run::cargo(&root, &torch, &["build", "--release", "-p", "reproduce"], &[])?;
            run::cargo(
                &root,
                &torch,
                &["run", "--release", "--quiet", "-p", "reproduce", "--"],
                &args,
            )?;
        }
        Command::Bench { args } => {
            let torch = libtorch::ensure(&root)?;
            run::cargo(&root, &torch, &["bench", "-p", "bench"], &args)?;
        }
        Command::Bundle { out } => {
            let torch = libtorch::ensure(&root)?;
            let out = match out {
                Some(out) => std::env::current_dir()?.join(out),
                None => root.join("target").join("bundle"),
            };
            let bytes = bundle::bundle(&root, &torch, &out)?;
            eprintln!(
                "xtask: bundle written to {} ({:.1} MB); run it with {}/run.sh reproduce --list",
                out.display(),
                bytes as f64 / 1e6,
                out.display()
            );
        }
    }
    Ok(())
}

/// Builds `reproduce` (dev profile) and runs the single-node Slurm test with it.
fn slurm_test(root: &std::path::Path, torch: &std::path::Path) -> Result<()> {
    run::cargo(root, torch, &["build", "--quiet", "-p", "reproduce"], &[])?;
    slurm::test(root, &root.join("target").join("debug").join("reproduce"))
}

/// The workspace root: the parent of this crate's manifest directory.
fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}
