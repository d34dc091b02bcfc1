"""counterfactual: the same JSON as `gumbel-gadgets counterfactual`, batches."""

import json

import numpy as np
import pytest

import gumbel_gadgets as gg

P = [0.5, 0.2, 0.3]
Q = [0.1, 0.3, 0.6]
MECHANISMS = ["gumbel-max", "inverse-cdf", "permuted-inverse-cdf"]


@pytest.mark.parametrize("method", MECHANISMS)
@pytest.mark.parametrize("observed", [0, 2])
def test_equals_the_cli(cli, method, observed):
    ours = gg.counterfactual(P, Q, observed, method)
    theirs = cli(
        "counterfactual", "--method", method, "--p", json.dumps(P), "--q", json.dumps(Q),
        "--observed", str(observed),
    )
    assert ours.to_dict() == theirs
    assert ours.distribution.dtype == np.float64 and ours.distribution.sum() == pytest.approx(1, abs=1e-12)


@pytest.mark.parametrize("method", MECHANISMS)
def test_sampled_histogram_equals_the_cli(cli, method):
    ours = gg.counterfactual(P, Q, 0, method, samples=3000, seed=4).to_dict()
    theirs = cli(
        "counterfactual", "--method", method, "--p", json.dumps(P), "--q", json.dumps(Q),
        "--observed", "0", "--samples", "3000", "--seed", "4",
    )
    assert ours == theirs and "sampled" in ours


def test_is_the_row_of_the_joint_over_p_of_the_observation():
    joint = gg.couple(P, Q).joint
    for x in range(3):
        np.testing.assert_allclose(gg.counterfactual(P, Q, x).distribution, joint[x] / P[x], atol=1e-12)


def test_a_batch_takes_one_or_many_observations():
    p, q = np.array([P, Q, P]), np.array([Q, P, P])
    batch = gg.counterfactual(p, q, [0, 1, 2])
    assert isinstance(batch, gg.Counterfactuals) and batch.distribution.shape == (3, 3)
    np.testing.assert_array_equal(batch.observed, [0, 1, 2])
    for i in range(3):
        single = gg.counterfactual(p[i], q[i], i)
        np.testing.assert_array_equal(batch.distribution[i], single.distribution)
        assert batch[i].to_dict() == single.to_dict()
    same = gg.counterfactual(p, q, 1)
    np.testing.assert_array_equal(same.observed, [1, 1, 1])
    assert batch.sampled is None
