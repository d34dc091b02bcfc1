//! Finding or installing libtorch 2.11.0, the version tch 0.24 binds.
//!
//! Order of preference: an explicit `LIBTORCH`; the project's cached virtual environment; a `python3`
//! on PATH whose torch is 2.11.0; otherwise a fresh `pip install torch==2.11.0` into the cache
//! (`$GUMBEL_GADGETS_CACHE`, else `$XDG_CACHE_HOME/gumbel-gadgets`, else `~/.cache/gumbel-gadgets`),
//! outside the checkout so that CI and later clones reuse it. The chosen torch folder (with `lib/` and
//! `include/`) is linked as `<root>/.libtorch`, which `.cargo/config.toml` names for build scripts and
//! for the rpath of every binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The libtorch version that tch 0.24 is built against.
pub const TORCH_VERSION: &str = "2.11.0";

/// Makes sure a usable libtorch exists and `.libtorch` points at it; returns its folder.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let link = root.join(".libtorch");
    let torch = locate(&link)?;
    point_link(&link, &torch)?;
    Ok(torch)
}

fn locate(link: &Path) -> Result<PathBuf> {
    if let Ok(explicit) = std::env::var("LIBTORCH") {
        let explicit = PathBuf::from(explicit);
        // `.cargo/config.toml` sets LIBTORCH to our own link; only a value pointing elsewhere is the user's.
        if explicit != link {
            check_folder(&explicit).with_context(|| format!("LIBTORCH={}", explicit.display()))?;
            return Ok(explicit);
        }
    }
    let venv = cache_dir()?.join(format!("torch-{TORCH_VERSION}"));
    let venv_python = venv.join("bin").join("python");
    if let Some(torch) = torch_of(&venv_python) {
        return Ok(torch);
    }
    if let Some(torch) = torch_of(Path::new("python3")) {
        eprintln!("xtask: using torch {TORCH_VERSION} of python3 at {}", torch.display());
        return Ok(torch);
    }
    install(&venv)?;
    torch_of(&venv_python).with_context(|| {
        format!(
            "pip finished but {} has no torch {TORCH_VERSION} with lib/ and include/",
            venv.display()
        )
    })
}

/// The cache folder for the virtual environment.
fn cache_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("GUMBEL_GADGETS_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(dir) = std::env::var("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("gumbel-gadgets"));
    }
    let home = std::env::var("HOME")
        .context("neither GUMBEL_GADGETS_CACHE, XDG_CACHE_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cache").join("gumbel-gadgets"))
}

/// The torch folder of `python` if it has torch TORCH_VERSION with `lib/` and `include/`, found
/// without importing torch (which takes seconds).
fn torch_of(python: &Path) -> Option<PathBuf> {
    let output = Command::new(python)
        .args([
            "-c",
            "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s else '')",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let folder = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    if folder.as_os_str().is_empty() {
        return None;
    }
    check_folder(&folder).ok().map(|()| folder)
}

/// Checks that `folder` is a libtorch of the right version: `lib/libtorch.so`, `include/`, and a
/// `version.py` (Python wheel) or `build-version` (C++ distribution) that names TORCH_VERSION.
fn check_folder(folder: &Path) -> Result<()> {
    if !folder.join("lib").join("libtorch.so").is_file() || !folder.join("include").is_dir() {
        bail!("{} has no lib/libtorch.so and include/", folder.display());
    }
    let version = ["version.py", "build-version"]
        .iter()
        .find_map(|name| std::fs::read_to_string(folder.join(name)).ok())
        .with_context(|| format!("{} has no version.py or build-version", folder.display()))?;
    if !version.contains(&format!("{TORCH_VERSION}+"))
        && !version.contains(&format!("'{TORCH_VERSION}'"))
    {
        bail!(
            "{} is not torch {TORCH_VERSION} (tch 0.24 needs exactly that version)",
            folder.display()
        );
    }
    Ok(())
}

fn install(venv: &Path) -> Result<()> {
    eprintln!(
        "xtask: installing torch {TORCH_VERSION} into {} (about 4.6 GB from the package registry; a few minutes)",
        venv.display()
    );
    if !venv.join("bin").join("pip").is_file() {
        eprintln!("xtask: [1/2] creating the virtual environment");
        run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    }
    eprintln!("xtask: [2/2] pip install torch=={TORCH_VERSION}");
    run(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--disable-pip-version-check",
        &format!("torch=={TORCH_VERSION}"),
    ]))?;
    eprintln!("xtask: torch {TORCH_VERSION} installed");
    Ok(())
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Makes `link` a symbolic link to `target`, replacing an older link.
fn point_link(link: &Path, target: &Path) -> Result<()> {
    match std::fs::symlink_metadata(link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if std::fs::read_link(link).ok().as_deref() == Some(target) {
                return Ok(());
            }
            std::fs::remove_file(link)
                .with_context(|| format!("removing old {}", link.display()))?;
        }
        Ok(_) => bail!("{} exists and is not a link; remove it or set LIBTORCH", link.display()),
        Err(_) => {}
    }
    std::os::unix::fs::symlink(target, link).with_context(|| format!("linking {}", link.display()))
}
