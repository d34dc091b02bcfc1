"""gumbel_gadgets.sepsis: the kernel and the studies equal `gumbel-gadgets sepsis ...`."""

import numpy as np
import pytest

import gumbel_gadgets as gg


def test_kernel_equals_the_cli_npy(cli, tmp_path):
    kernel = gg.sepsis.kernel()
    assert kernel.dtype == np.float64 and kernel.shape == (2, 8, 720, 720)
    np.testing.assert_allclose(kernel.sum(axis=-1), 1.0, atol=1e-12)
    out = tmp_path / "kernel.npy"
    cli("sepsis", "kernel", "--out", str(out))
    np.testing.assert_array_equal(np.load(out), kernel)


def test_evaluate_equals_the_cli(cli):
    ours = gg.sepsis.evaluate(trajectories=50, seed=3, cf_samples=2, bootstrap=5)
    theirs = cli("sepsis", "evaluate", "--trajectories", "50", "--seed", "3", "--cf-samples", "2", "--bootstrap", "5")
    assert ours == theirs


def test_pairs_equal_the_cli(cli):
    ours = gg.sepsis.pairs(trajectories=2000, pairs=2, seed=1)
    theirs = cli("sepsis", "pairs", "--trajectories", "2000", "--pairs", "2", "--seed", "1")
    assert ours == theirs


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError):
        gg.sepsis.pairs(trajectories=0)
