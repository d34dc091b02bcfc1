"""`evaluate` against `gumbel-gadgets evaluate`, and `Gadget.train` on a pair file's training rows."""

import json

import numpy as np
import pytest

import gumbel_gadgets as gg

from conftest import tiny_config

REWARD = [0.0, 1.0, 3.0]


def without_seconds(summary: dict) -> dict:
    """A copy of the summary without its timings, the one part that differs between runs."""
    methods = {name: {k: v for k, v in m.items() if k != "seconds"} for name, m in summary["methods"].items()}
    return {**summary, "methods": methods}


def write_npy(path, array):
    np.save(path, np.asarray(array, dtype=np.float64))
    return str(path)


def pair_lines(n: int) -> list[dict]:
    """n rows at K = 3 of logits, with an observation on every other row."""
    rng = np.random.default_rng(4)
    rows = []
    for i in range(n):
        row = {"p_logits": rng.normal(size=3).tolist(), "q_logits": rng.normal(size=3).tolist()}
        if i % 2 == 0:
            row["observed"] = int(rng.integers(3))
        rows.append(row)
    return rows


def test_an_array_equals_the_cli_on_the_same_pairs_as_npy(tmp_path, cli):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(40, 2, 3))
    path = write_npy(tmp_path / "pairs.npy", logits)
    expected = cli("evaluate", "--pairs", path, "--reward", json.dumps(REWARD))
    found = gg.evaluate(logits, reward=REWARD, logits=True)
    assert found.pairs == 40 and found.rows == "all" and len(found.methods) == 6
    assert without_seconds(found.to_dict()) == without_seconds(expected)
    # The file itself, read by the library's reader, and probabilities.
    assert without_seconds(gg.evaluate(path, reward=REWARD).to_dict()) == without_seconds(expected)
    probs = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    prob_path = write_npy(tmp_path / "probs.npy", probs)
    expected = cli("evaluate", "--pairs", prob_path, "--probabilities", "--reward", json.dumps(REWARD))
    assert without_seconds(gg.evaluate(probs, reward=REWARD).to_dict()) == without_seconds(expected)


def test_a_file_with_observations_a_split_and_a_gadget_equals_the_cli(tmp_path, cli, trained):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in pair_lines(60)))
    args = ["--rows", "held-out", "--held-out", "0.5", "--split-seed", "3", "--methods", "gumbel-max,maximal"]
    expected = cli("evaluate", "--pairs", str(path), "--reward", json.dumps(REWARD), *args,
                   "--checkpoint", str(trained["gadget-2"]))
    found = gg.evaluate(
        str(path), reward=REWARD, rows="held-out", held_out=0.5, split_seed=3,
        methods=["gumbel-max", "maximal"], gadgets=[trained["gadget-2"]],
    )
    assert "counterfactual" in expected and found.rows == "held-out 0.5 (split seed 3)"
    assert without_seconds(found.to_dict()) == without_seconds(expected)
    # A Gadget object is named by its place in the list.
    g = gg.Gadget.load(trained["gadget-2"])
    named = gg.evaluate(str(path), reward=REWARD, methods=["gumbel-max"], gadgets=[g]).to_dict()
    assert "gadget-2 (gadgets[0])" in named["methods"]


def test_a_reward_column_equals_the_cli(tmp_path, cli):
    rng = np.random.default_rng(1)
    array = rng.normal(size=(20, 3, 4))
    path = write_npy(tmp_path / "rewards.npy", array)
    expected = cli("evaluate", "--pairs", path)
    found = gg.evaluate(array, logits=True)
    assert without_seconds(found.to_dict()) == without_seconds(expected)
    with pytest.raises(ValueError, match="own reward"):
        gg.evaluate(array, logits=True, reward=[0, 1, 2, 3])


def test_bad_input_is_a_value_error_naming_the_row(tmp_path):
    pairs = np.array([[[0.5, 0.5], [0.2, 0.8]], [[0.5, 0.6], [0.2, 0.8]]])
    with pytest.raises(ValueError, match="pairs: row 2 invalid: p: probabilities sum to 1.1"):
        gg.evaluate(pairs, reward=[0, 1])
    with pytest.raises(ValueError, match=r"shape \[2, 2\] is not"):
        gg.evaluate(pairs[0], reward=[0, 1])
    with pytest.raises(ValueError, match=r"held_out must lie in \(0, 1\), not 1.5"):
        gg.evaluate(pairs, reward=[0, 1], rows="held-out", held_out=1.5)
    with pytest.raises(ValueError, match="evaluate needs cost or reward"):
        gg.evaluate(pairs[:1])
    with pytest.raises(FileNotFoundError):
        gg.evaluate(str(tmp_path / "missing.jsonl"), reward=[0, 1])


def test_gadget_train_reads_a_pair_file_as_the_cli_does(tmp_path, cli):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in pair_lines(30)))
    config = tiny_config("gadget-2")
    config["pairs"] = {"type": "file", "path": str(path), "split": {"held_out": 0.25, "seed": 5}}
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    checkpoint = tmp_path / "cli.ckpt"
    cli("train", "--config", str(config_path), "--out", str(checkpoint))
    g = gg.Gadget.train(config)
    p, q = [0.2, 0.3, 0.5], [0.5, 0.25, 0.25]
    np.testing.assert_array_equal(g.coupling(p, q).joint, gg.Gadget.load(checkpoint).coupling(p, q).joint)
    config["pairs"]["split"]["held_out"] = 1.0
    with pytest.raises(ValueError, match="split.held_out must lie in"):
        gg.Gadget.train(config)
