"""Checkpoints in PyTorch: the torch module of docs/python.md ("Checkpoints in PyTorch") loads a saved
gadget with safetensors and computes the gadget's own logits, and Gadget 2's exact coupling is the
mixture over z of the Gumbel-max couplings of those logits."""

import re
from pathlib import Path

import numpy as np
import pytest

import gumbel_gadgets as gg
from conftest import tiny_config

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

DOC = Path(__file__).resolve().parents[3] / "docs" / "python.md"

# Gadget 1 with one network and with two; Gadget 2 with a learned prior and two hidden layers.
CONFIGS = {
    "gadget-1": {},
    "gadget-1-separate": {"kind": "gadget-1", "separate_networks": True},
    "gadget-2": {"learned_prior": True, "hidden": [8, 5]},
}


def documented_module():
    """The `Gadget` class of the documented code."""
    section = DOC.read_text().split("### Checkpoints in PyTorch", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(code, namespace)
    return namespace["Gadget"]


def saved(tmp_path, name):
    changes = dict(CONFIGS[name])
    config = tiny_config(changes.pop("kind", name), steps=5)
    config["gadget"].update(changes)
    g = gg.Gadget.train(config)
    path = tmp_path / f"{name}.safetensors"
    g.save(path)
    return g, path


def test_the_file_is_what_safetensors_reads(tmp_path):
    g, path = saved(tmp_path, "gadget-2")
    weights = safetensors_torch.load_file(path)
    assert sorted(weights) == [
        "net.layers.0.bias", "net.layers.0.weight", "net.layers.1.bias", "net.layers.1.weight",
        "net.layers.2.bias", "net.layers.2.weight", "prior_logits",
    ]
    assert weights["net.layers.0.weight"].shape == (8, 3) and weights["net.layers.0.weight"].dtype == torch.float32
    assert weights["net.layers.2.weight"].shape == (4 * 3, 5)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_documented_module_computes_the_gadgets_logits(tmp_path, name):
    g, path = saved(tmp_path, name)
    model = documented_module()(path)
    p = np.random.default_rng(1).dirichlet(np.ones(3), size=6)
    with torch.no_grad():
        ours = model.logits(torch.from_numpy(np.log(p))).numpy()
    rows = 3 if name.startswith("gadget-1") else 4
    for i in range(len(p)):
        want = g.logits(p[i])
        assert want.shape == (rows, 3)
        # The network runs in float32, where a matrix product over 6 rows and one over 1 row may
        # round differently: equal to float32 precision (a few ulps of values of order 1).
        np.testing.assert_allclose(ours[i], want, rtol=0, atol=1e-6)


def test_gadget_2s_coupling_is_the_mixture_of_gumbel_max_couplings_of_the_torch_logits(tmp_path):
    g, path = saved(tmp_path, "gadget-2")
    model = documented_module()(path)
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.1, 0.3, 0.6])
    with torch.no_grad():
        lp, lq = model.logits(torch.from_numpy(np.log(np.stack([p, q])))).numpy()
        prior = model.prior_logits.double().softmax(0).numpy()
    joint = sum(w * gg.couple(a, b, logits=True).joint for w, a, b in zip(prior, lp, lq))
    np.testing.assert_allclose(joint, g.coupling(p, q).joint, rtol=0, atol=1e-6)


def fnv1a(data: bytes) -> int:
    """64-bit FNV-1a, the checkpoint's checksum."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_weights_written_from_torch_load_and_far_from_uniform_logits_agree(tmp_path):
    """A checkpoint written by torch (the trained weights times 40, so that the network's output spans
    tens and the Sinkhorn sweeps and correction matter) loads in gumbel_gadgets, and the documented
    module still computes its logits."""
    _, path = saved(tmp_path, "gadget-2")
    with safetensors_torch.safe_open(path, "pt") as f:
        metadata = f.metadata()
    weights = {name: t * 40 for name, t in safetensors_torch.load_file(path).items()}
    steep = tmp_path / "steep.safetensors"
    del metadata["checksum"]
    safetensors_torch.save_file(weights, steep, metadata=metadata)
    raw = steep.read_bytes()
    data = raw[8 + int.from_bytes(raw[:8], "little"):]
    safetensors_torch.save_file(weights, steep, metadata={**metadata, "checksum": f"{fnv1a(data):016x}"})
    g = gg.Gadget.load(steep)
    model = documented_module()(steep)
    p = np.random.default_rng(2).dirichlet(np.ones(3), size=6)
    with torch.no_grad():
        ours = model.logits(torch.from_numpy(np.log(p))).numpy()
    spread = max(np.ptp(g.logits(p[i])) for i in range(len(p)))
    assert spread > 5, spread
    for i in range(len(p)):
        np.testing.assert_allclose(ours[i], g.logits(p[i]), rtol=0, atol=1e-5)
