"""Gadget: training from the CLI's configuration, checkpoints, and results equal to the CLI's."""

import json
import os
import signal
import threading

import numpy as np
import pytest

import gumbel_gadgets as gg
from conftest import tiny_config

P = [0.5, 0.3, 0.2]
Q = [0.2, 0.2, 0.6]


@pytest.mark.parametrize("kind", ["gadget-1", "gadget-2"])
def test_couple_and_counterfactual_equal_the_cli(cli, trained, kind):
    g = gg.Gadget.load(trained[kind])
    assert g.kind == kind and g.outcomes == 3
    args = ["--method", kind, "--checkpoint", str(trained[kind]), "--p", json.dumps(P), "--q", json.dumps(Q)]
    ours = gg.couple(P, Q, kind, gadget=g, samples=2000, seed=3).to_dict()
    assert ours == cli("couple", *args, "--samples", "2000", "--seed", "3")
    ours = g.counterfactual(P, Q, 1, samples=2000, seed=3).to_dict()
    assert ours == cli("counterfactual", *args, "--observed", "1", "--samples", "2000", "--seed", "3")
    if kind == "gadget-2":
        assert g.coupling(P, Q).to_dict() == cli("couple", *args)
        assert g.counterfactual(P, Q, 0).to_dict() == cli("counterfactual", *args, "--observed", "0")


def test_gadget_2_marginals_are_exact(trained):
    g = gg.Gadget.load(trained["gadget-2"])
    rng = np.random.default_rng(0)
    for _ in range(10):
        p, q = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3))
        c = g.coupling(p, q)
        assert c.exact
        np.testing.assert_allclose(c.joint.sum(axis=1), p, atol=1e-12)
        np.testing.assert_allclose(c.joint.sum(axis=0), q, atol=1e-12)


def test_training_equals_the_cli_and_round_trips(tmp_path, trained):
    g = gg.Gadget.train(tiny_config("gadget-2"))
    assert g.training["options"]["steps"] == 3 and g.config["latent"] == 4
    np.testing.assert_array_equal(g.coupling(P, Q).joint, gg.Gadget.load(trained["gadget-2"]).coupling(P, Q).joint)
    g.save(tmp_path / "g.safetensors")
    again = gg.Gadget.load(tmp_path / "g.safetensors")
    np.testing.assert_array_equal(again.coupling(P, Q).joint, g.coupling(P, Q).joint)
    assert again.training == g.training


def test_samples_follow_the_coupling_within_5_sigma(trained):
    g = gg.Gadget.load(trained["gadget-2"])
    n = 20_000
    x, y = g.sample(P, Q, n, seed=2)
    assert x.dtype == np.int64 and x.shape == y.shape == (n,)
    joint = g.coupling(P, Q).joint
    counts = np.zeros((3, 3))
    np.add.at(counts, (x, y), 1)
    sigma = np.sqrt(joint * (1 - joint) / n)
    assert (np.abs(counts / n - joint) <= 5 * sigma + 1e-12).all()
    ys = g.sample(P, Q, n, observed=1, seed=2)
    expected = g.counterfactual(P, Q, 1).distribution
    frequencies = np.bincount(ys, minlength=3) / n
    assert (np.abs(frequencies - expected) <= 5 * np.sqrt(expected * (1 - expected) / n) + 1e-12).all()


def test_ctrl_c_stops_training_and_leaves_a_snapshot_it_resumes_from(tmp_path):
    config = tiny_config("gadget-2", steps=10_000_000)
    snapshot = tmp_path / "run.snapshot"
    # A process started in the background inherits SIGINT ignored, and Python then installs no
    # handler of its own: install the default one, so that the signal raises KeyboardInterrupt.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="training interrupted after"):
            gg.Gadget.train(config, snapshot=snapshot)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert snapshot.is_file()
    # The snapshot is a run of this configuration part-way: the crate's tests show that resuming
    # from one reaches the uninterrupted run's weights bit for bit (crates/gadgets).
    assert snapshot.stat().st_size > 0
