"""The package: what a user with another torch gets, the stubs, the quickstart."""

import re
import subprocess
import sys
from pathlib import Path

import gumbel_gadgets as gg

ROOT = Path(__file__).resolve().parents[3]


def test_another_torch_is_a_clear_import_error(tmp_path):
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("__version__ = '2.10.0+cpu'\n")
    done = subprocess.run(
        [sys.executable, "-c", "import gumbel_gadgets"],
        capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode == 1
    assert "ImportError: gumbel_gadgets was built against torch 2.11.0" in done.stderr
    assert "this environment has torch 2.10.0+cpu" in done.stderr


def test_no_torch_is_a_clear_import_error(tmp_path):
    (tmp_path / "torch.py").write_text("raise ImportError('no torch here')\n")
    done = subprocess.run(
        [sys.executable, "-c", "import gumbel_gadgets"],
        capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path)},
    )
    assert "gumbel_gadgets needs torch 2.11.0" in done.stderr


def test_stubs_name_what_the_module_exports():
    stub = (Path(gg.__file__).parent / "__init__.pyi").read_text()
    for name in gg.__all__:
        assert re.search(rf"\b{name}\b", stub), name
    assert gg.METHODS == [
        "gumbel-max", "independent", "inverse-cdf", "permuted-inverse-cdf", "maximal", "lp-optimal",
        "gadget-1", "gadget-2",
    ]
    assert "Gumbel-max" in gg.couple.__doc__


def test_quickstart_runs():
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python" / "quickstart.py")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "counterfactual" in done.stdout
