"""couple: the same JSON as `gumbel-gadgets couple`, exact marginals, batches."""

import json

import numpy as np
import pytest

import gumbel_gadgets as gg
from conftest import as_json

P = [0.5, 0.2, 0.3]
Q = [0.1, 0.3, 0.6]
H = [0.0, 1.0, 3.0]
BASELINES = ["gumbel-max", "independent", "inverse-cdf", "permuted-inverse-cdf", "maximal", "lp-optimal"]


def test_readme_example_is_exact():
    c = gg.couple([0.7, 0.3], [0.4, 0.6], reward=[0.0, 1.0])
    np.testing.assert_allclose(c.joint, [[0.4, 0.3], [0.0, 0.3]], atol=1e-15)
    assert c.joint.dtype == np.float64 and c.joint.shape == (2, 2)
    assert c.exact is True
    assert c.p_x_ne_y == pytest.approx(0.3, abs=1e-15)
    assert c.expected_cost == pytest.approx(0.3, abs=1e-15)
    assert c.variance == pytest.approx(0.21, abs=1e-15)


def test_summaries_are_none_without_cost_or_reward():
    c = gg.couple(P, Q)
    assert c.expected_cost is None and c.variance is None
    c = gg.couple(P, Q, cost=np.ones((3, 3)) - np.eye(3))
    assert c.expected_cost == pytest.approx(c.p_x_ne_y, abs=1e-15) and c.variance is None


@pytest.mark.parametrize("method", BASELINES)
def test_every_method_equals_the_cli(cli, method):
    ours = gg.couple(P, Q, method, reward=H).to_dict()
    theirs = cli("couple", "--method", method, "--p", json.dumps(P), "--q", json.dumps(Q), "--reward", json.dumps(H))
    assert ours == theirs


@pytest.mark.parametrize("method", BASELINES)
def test_estimates_equal_the_cli(cli, method):
    ours = gg.couple(P, Q, method, reward=H, samples=5000, seed=7).to_dict()
    theirs = cli(
        "couple", "--method", method, "--p", json.dumps(P), "--q", json.dumps(Q),
        "--reward", json.dumps(H), "--samples", "5000", "--seed", "7",
    )
    assert ours["exact"] is False and ours["samples"] == 5000
    assert ours == theirs


def test_logits_with_impossible_outcomes_equal_the_cli(cli):
    p, q = [0.0, 1.0, float("-inf")], [1.0, 0.0, 0.5]
    c = gg.couple(p, q, logits=True)
    assert c.joint[2].sum() == 0.0
    assert c.to_dict() == cli("couple", "--p-logits", as_json(p), "--q-logits", as_json(q))


def test_cost_matrix_and_order_equal_the_cli(cli):
    cost = [[0.0, 1.0, 4.0], [1.0, 0.0, 1.0], [4.0, 1.0, 0.0]]
    ours = gg.couple(P, Q, "inverse-cdf", cost=cost, order=[2, 0, 1]).to_dict()
    theirs = cli(
        "couple", "--method", "inverse-cdf", "--p", json.dumps(P), "--q", json.dumps(Q),
        "--cost", json.dumps(cost), "--order", "[2, 0, 1]",
    )
    assert ours == theirs


@pytest.mark.parametrize("method", BASELINES)
def test_marginals_are_exact(method):
    rng = np.random.default_rng(3)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(10)), rng.dirichlet(np.ones(10))
        joint = gg.couple(p, q, method, reward=np.arange(10.0)).joint
        np.testing.assert_allclose(joint.sum(axis=1), p, atol=1e-12)
        np.testing.assert_allclose(joint.sum(axis=0), q, atol=1e-12)
        assert (joint >= 0).all()


def test_a_batch_equals_its_pairs_one_by_one(cli):
    rng = np.random.default_rng(5)
    p, q = rng.dirichlet(np.ones(4), size=6), rng.dirichlet(np.ones(4), size=6)
    batch = gg.couple(p, q, reward=np.arange(4.0))
    assert isinstance(batch, gg.Couplings) and len(batch) == 6
    assert batch.joint.shape == (6, 4, 4) and batch.p_x_ne_y.shape == (6,)
    for i in range(6):
        single = gg.couple(p[i], q[i], reward=np.arange(4.0))
        np.testing.assert_array_equal(batch.joint[i], single.joint)
        assert batch.variance[i] == single.variance
        assert batch[i].to_dict() == single.to_dict() == batch.to_dict()[i]
    assert batch[-1].to_dict() == batch.to_dict()[5]
    with pytest.raises(IndexError):
        batch[6]


def test_a_sampled_batch_uses_seed_plus_index(cli):
    p = np.array([P, Q])
    q = np.array([Q, P])
    batch = gg.couple(p, q, samples=2000, seed=11).to_dict()
    for i in range(2):
        theirs = cli(
            "couple", "--p", json.dumps(p[i].tolist()), "--q", json.dumps(q[i].tolist()),
            "--samples", "2000", "--seed", str(11 + i),
        )
        assert batch[i] == theirs


def test_monte_carlo_agrees_with_the_exact_joint_within_5_sigma():
    exact = gg.couple(P, Q).joint
    n = 200_000
    estimate = gg.couple(P, Q, samples=n, seed=1).joint
    sigma = np.sqrt(exact * (1 - exact) / n)
    assert (np.abs(estimate - exact) <= 5 * sigma + 1e-12).all()


def test_the_gil_is_released_while_a_batch_computes():
    import threading

    rng = np.random.default_rng(9)
    p, q = rng.dirichlet(np.ones(10), size=20_000), rng.dirichlet(np.ones(10), size=20_000)
    worker = threading.Thread(target=lambda: gg.couple(p, q))
    worker.start()
    spins = 0
    while worker.is_alive():
        spins += 1
    worker.join()
    # Holding the GIL for the whole call would leave this thread a handful of turns (one per 5 ms
    # switch interval at most); released, it spins freely.
    assert spins > 10_000
