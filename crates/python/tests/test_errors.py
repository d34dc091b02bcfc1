"""Each class of bad input raises its exception with the CLI's message; nothing panics or turns NaN."""

import json
import math

import numpy as np
import pytest

import gumbel_gadgets as gg
from conftest import tiny_config

P = [0.5, 0.2, 0.3]
Q = [0.1, 0.3, 0.6]


def same_message(python_message: str, cli_message: str) -> None:
    """The CLI's message with its option names (--p) spelled as Python's arguments (p)."""
    assert cli_message.replace("--", "") == python_message


def test_unnormalised_probabilities(cli_error):
    with pytest.raises(ValueError) as error:
        gg.couple([0.5, 0.6], [0.5, 0.5])
    same_message(str(error.value), cli_error("couple", "--p", "[0.5, 0.6]", "--q", "[0.5, 0.5]"))


def test_negative_and_nan_probabilities(cli_error):
    with pytest.raises(ValueError) as error:
        gg.couple([1.5, -0.5], [0.5, 0.5])
    same_message(str(error.value), cli_error("couple", "--p", "[1.5, -0.5]", "--q", "[0.5, 0.5]"))
    with pytest.raises(ValueError, match="NaN"):
        gg.couple([math.nan, 1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="logit 0 is NaN"):
        gg.couple([math.nan, 1.0], [0.5, 0.5], logits=True)
    with pytest.raises(ValueError, match="logit 1 is inf"):
        gg.couple([0.0, math.inf], [0.5, 0.5], logits=True)


def test_all_impossible_logits():
    with pytest.raises(ValueError, match="every outcome is impossible"):
        gg.couple([-math.inf, -math.inf], [0.0, 0.0], logits=True)


def test_lengths_that_differ(cli_error):
    with pytest.raises(ValueError) as error:
        gg.couple([0.5, 0.5], P)
    same_message(str(error.value), cli_error("couple", "--p", "[0.5, 0.5]", "--q", json.dumps(P)))


def test_shapes():
    with pytest.raises(ValueError, match="3 dimensions"):
        gg.couple(np.ones((2, 2, 2)) / 2, np.ones((2, 2, 2)) / 2)
    with pytest.raises(ValueError, match="same shape"):
        gg.couple([P, P], P)
    with pytest.raises(ValueError, match="K x K"):
        gg.couple(P, Q, cost=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="cost"):
        gg.couple(P, Q, cost=np.ones((2, 2)))
    with pytest.raises(ValueError):
        gg.couple("not numbers", Q)


def test_batch_errors_name_the_pair():
    with pytest.raises(ValueError, match=r"^q\[1\]: probabilities sum to"):
        gg.couple([P, P], [Q, [0.5, 0.6, 0.1]])


def test_unknown_method():
    with pytest.raises(ValueError, match="invalid value 'gumbel' for method; possible values: gumbel-max"):
        gg.couple(P, Q, "gumbel")


def test_observations(cli_error):
    with pytest.raises(ValueError) as error:
        gg.counterfactual(P, Q, 3)
    same_message(str(error.value), cli_error("counterfactual", "--p", json.dumps(P), "--q", json.dumps(Q), "--observed", "3"))
    with pytest.raises(ValueError, match="probability zero"):
        gg.counterfactual([0.0, 1.0], [0.5, 0.5], 0)
    with pytest.raises(ValueError, match="expected length 2"):
        gg.counterfactual([P, P], [Q, Q], [0, 1, 2])
    with pytest.raises(ValueError, match="non-negative int"):
        gg.counterfactual(P, Q, -1)


def test_method_arguments(cli_error):
    with pytest.raises(ValueError, match="lp-optimal needs a cost"):
        gg.couple(P, Q, "lp-optimal")
    with pytest.raises(ValueError) as error:
        gg.counterfactual(P, Q, 0, "maximal")
    same_message(str(error.value), cli_error("counterfactual", "--method", "maximal", "--p", json.dumps(P), "--q", json.dumps(Q), "--observed", "0"))
    with pytest.raises(ValueError, match="at most one of cost and reward"):
        gg.couple(P, Q, cost=np.zeros((3, 3)), reward=[0, 1, 2])
    with pytest.raises(ValueError, match="samples must be positive"):
        gg.couple(P, Q, samples=0)
    with pytest.raises(ValueError, match="order is for inverse-cdf only"):
        gg.couple(P, Q, "maximal", order=[0, 1, 2])
    with pytest.raises(ValueError, match="not a permutation"):
        gg.couple(P, Q, "inverse-cdf", order=[0, 0, 1])
    with pytest.raises(ValueError, match="needs a gadget"):
        gg.couple(P, Q, "gadget-2")


def test_files(tmp_path, trained):
    with pytest.raises(FileNotFoundError):
        gg.Gadget.load(tmp_path / "missing.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(gg.GumbelGadgetsError, match="not a safetensors file"):
        gg.Gadget.load(corrupt)
    assert issubclass(gg.GumbelGadgetsError, Exception)
    g = gg.Gadget.load(trained["gadget-2"])
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OSError):
        g.save(tmp_path / "a-file" / "g.safetensors")
    with pytest.raises(ValueError, match="unknown device"):
        gg.Gadget.load(trained["gadget-2"], device="tpu")


def test_configurations():
    config = tiny_config("gadget-2")
    config["training"]["unknown"] = 1
    with pytest.raises(ValueError, match="unknown field `unknown`"):
        gg.Gadget.train(config)
    config = tiny_config("gadget-2")
    config["training"]["batch"] = 0
    with pytest.raises(ValueError, match="batch and inner_samples must be positive"):
        gg.Gadget.train(config)
    config = tiny_config("gadget-2")
    config["gadget"]["outcomes"] = 4
    with pytest.raises(ValueError, match="pairs: the gadget has 4 outcomes"):
        gg.Gadget.train(config)
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        gg.Gadget.train({"gadget": object()})


def test_gadget_of_the_wrong_kind_or_size(trained):
    g1 = gg.Gadget.load(trained["gadget-1"])
    with pytest.raises(ValueError, match="the gadget is a gadget-1, not a gadget-2"):
        gg.couple(P, Q, "gadget-2", gadget=g1)
    with pytest.raises(ValueError, match="the gadget has 3 outcomes, the input has 2"):
        g1.coupling([0.5, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="gadget is for gadget-1 and gadget-2 only"):
        gg.couple(P, Q, gadget=g1)
