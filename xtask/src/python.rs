//! The Python stage of `cargo xtask test`: the package `gumbel_gadgets` (crates/python) built into
//! the Python environment of the torch that set-up found, and its pytest suite run there.
//!
//! The environment is the virtual environment that holds that torch (the project's cached one, or
//! the user's); a torch outside a virtual environment (a bare `LIBTORCH`, a system Python) is left
//! alone and the stage is skipped with a message that says so. Missing tools (maturin, numpy,
//! pytest, safetensors) are installed into it with its pip. `maturin develop` builds the dev profile
//! into the workspace's `target/`, so the stage reuses what `cargo test` built (crates/python's
//! manifest gives its dependencies the features the workspace gives them, so that the builds match).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The Python packages the stage needs besides torch.
const TOOLS: [&str; 4] = ["maturin", "numpy", "pytest", "safetensors"];

/// The folder of the package's pytest suite, relative to the workspace root.
const TESTS: &str = "crates/python/tests";

/// The virtual environment holding `torch` (`<venv>/lib/pythonX.Y/site-packages/torch`), if any.
pub fn venv_of(torch: &Path) -> Option<PathBuf> {
    let venv = torch.ancestors().nth(4)?;
    let in_site_packages = torch.parent()?.file_name()? == "site-packages";
    (in_site_packages && venv.join("pyvenv.cfg").is_file() && python(venv).is_file())
        .then(|| venv.to_path_buf())
}

/// The Python interpreter of `venv`.
pub fn python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Builds the package into the virtual environment of `torch` and runs its pytest suite; skips
/// with a message when `torch` is in none. `cli` is the `gumbel-gadgets` binary the tests compare
/// with.
pub fn test(root: &Path, torch: &Path, cli: &Path) -> Result<()> {
    let Some(venv) = venv_of(torch) else {
        eprintln!(
            "xtask: Python tests SKIPPED: the torch at {} is not in a Python virtual environment \
             (a bare LIBTORCH or a system Python), so there is no environment to build \
             gumbel_gadgets into; unset LIBTORCH to use the project's environment",
            torch.display()
        );
        return Ok(());
    };
    let python = python(&venv);
    ensure_tools(&venv, &python)?;
    eprintln!("xtask: building gumbel_gadgets into {} (maturin develop)", venv.display());
    run(Command::new(venv.join("bin").join("maturin"))
        .args(["develop", "--quiet", "--manifest-path", "crates/python/Cargo.toml"])
        .current_dir(root)
        .env("VIRTUAL_ENV", &venv)
        .env("LIBTORCH", torch))?;
    eprintln!("xtask: running pytest {TESTS}");
    let status = Command::new(&python)
        .args(["-m", "pytest", TESTS, "-q", "-p", "no:cacheprovider"])
        .current_dir(root)
        .env("GUMBEL_GADGETS_CLI", cli)
        .status()
        .with_context(|| format!("could not start {}", python.display()))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(5) => bail!("pytest collected no tests in {TESTS}"),
        _ => bail!("the Python tests failed ({status})"),
    }
}

/// Installs the missing ones of [`TOOLS`] into `venv` with its pip.
fn ensure_tools(venv: &Path, python: &Path) -> Result<()> {
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|tool| {
            let probe =
                format!("import importlib.util as u, sys; sys.exit(u.find_spec('{tool}') is None)");
            !Command::new(python)
                .args(["-c", &probe])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {} into {}", missing.join(", "), venv.display());
    run(Command::new(python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet"])
        .args(&missing))
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
