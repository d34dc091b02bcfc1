"""gumbel_gadgets in a minute: an exact Gumbel-max coupling, a counterfactual, a batch, and a small
learned gadget trained in seconds and used as a mechanism.

Run with the Python environment that has torch 2.11.0 and the package (docs/python.md):
    python examples/python/quickstart.py
"""

import numpy as np

import gumbel_gadgets as gg

# The exact joint of the Gumbel-max coupling of p and q, with Var[h(x) - h(y)] for a reward h.
p = np.array([0.5, 0.2, 0.3])
q = np.array([0.1, 0.3, 0.6])
h = np.array([0.0, 1.0, 3.0])
c = gg.couple(p, q, method="gumbel-max", reward=h)
print("joint:\n", c.joint)
print(f"P(x != y) = {c.p_x_ne_y:.4f}, E[C] = {c.expected_cost:.4f}, Var[h(x) - h(y)] = {c.variance:.4f}")

# Every baseline on the same pair.
for method in ["independent", "inverse-cdf", "maximal", "lp-optimal"]:
    print(f"{method:>12}: Var = {gg.couple(p, q, method, reward=h).variance:.4f}")

# The counterfactual: had q held when x = 0 was observed, what would y have been?
cf = gg.counterfactual(p, q, observed=0)
print("counterfactual P(y | x = 0):", cf.distribution)

# A batch of 1,000 random pairs at once (numpy [N, K] in, [N, K, K] out).
rng = np.random.default_rng(0)
ps, qs = rng.dirichlet(np.ones(10), size=1000), rng.dirichlet(np.ones(10), size=1000)
batch = gg.couple(ps, qs, reward=np.arange(10.0))
print(f"batch: joints {batch.joint.shape}, mean variance {batch.variance.mean():.4f}")

# Train a small Gadget 2 (same configuration as `gumbel-gadgets train --config`), then use it.
config = {
    "gadget": {"kind": "gadget-2", "outcomes": 3, "hidden": [32], "latent": 4},
    "pairs": {"type": "fixed", "p": np.log(p).tolist(), "q": np.log(q).tolist(), "noise": 1.0},
    "cost": {"type": "squared-reward", "h": h.tolist()},
    "training": {"steps": 200, "batch": 16, "inner_samples": 8, "seed": 1},
    "device": "cpu",
}
g = gg.Gadget.train(config)
print(f"gadget: {g.kind}, final loss {g.training['final_loss']:.4f} after {g.training['seconds']:.1f} s")
learned = g.coupling(p, q, reward=h)
print(f"learned coupling: exact={learned.exact}, Var = {learned.variance:.4f}")
print("learned counterfactual P(y | x = 0):", g.counterfactual(p, q, observed=0).distribution)
