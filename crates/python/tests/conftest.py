"""Shared fixtures: the `gumbel-gadgets` CLI the results are compared with, and a small trained gadget."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def cli_path() -> Path:
    """The CLI binary: $GUMBEL_GADGETS_CLI (set by `cargo xtask test`), else target/debug's."""
    path = Path(os.environ.get("GUMBEL_GADGETS_CLI", ROOT / "target" / "debug" / "gumbel-gadgets"))
    if not path.is_file():
        pytest.fail(f"no CLI at {path}: run `cargo build -p gumbel-gadgets-cli` first")
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli_path()), *args], capture_output=True, text=True, timeout=600)


@pytest.fixture
def cli():
    """Runs the CLI and returns its JSON output (failing the test if it fails)."""

    def call(*args: str):
        done = run_cli(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return call


@pytest.fixture
def cli_error():
    """Runs the CLI on bad input and returns its one-line message without the program's name."""

    def call(*args: str) -> str:
        done = run_cli(*args)
        assert done.returncode == 2, done.stdout
        line = done.stderr.strip()
        assert line.startswith("gumbel-gadgets: ")
        return line[len("gumbel-gadgets: "):]

    return call


def as_json(values) -> str:
    """A list as the JSON argument of the CLI (-inf as the string "-inf")."""
    return json.dumps([v if v != float("-inf") else "-inf" for v in values])


def tiny_config(kind: str, steps: int = 3) -> dict:
    """The CLI tests' tiny gadget configuration (crates/cli/tests/gadgets.rs)."""
    return {
        "gadget": {"kind": kind, "outcomes": 3, "hidden": [8], "latent": 4},
        "pairs": {"type": "fixed", "p": [0.0, 1.0, "-inf"], "q": [1.0, 0.0, 0.5], "noise": 0.0},
        "cost": {"type": "mismatch"},
        "training": {"steps": steps, "batch": 4, "inner_samples": 2, "seed": 1, "progress": False},
        "device": "cpu",
    }


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Trains a tiny gadget of each kind with the CLI: {kind: checkpoint path}."""
    folder = tmp_path_factory.mktemp("gadgets")
    out = {}
    for kind in ("gadget-1", "gadget-2"):
        config = folder / f"{kind}.json"
        config.write_text(json.dumps(tiny_config(kind)))
        checkpoint = folder / f"{kind}.safetensors"
        done = run_cli("train", "--config", str(config), "--out", str(checkpoint))
        assert done.returncode == 0, done.stderr
        out[kind] = checkpoint
    return out
