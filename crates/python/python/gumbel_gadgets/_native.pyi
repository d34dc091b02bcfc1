"""Type stubs of the native module ``gumbel_gadgets._native`` (Rust, PyO3).

Notation (shared/papers/001, the gadgets paper; Oberst & Sontag 2019): p and q are categorical
distributions over K outcomes, the factual (x ~ p) and the counterfactual (y ~ q) one. A coupling is a
joint pi(x, y) with row sums p and column sums q. The Gumbel-max SCM draws one noise g ~ Gumbel(0, 1)^K
and sets x = argmax_k(log p_k + g_k), y = argmax_k(log q_k + g_k) (its exact joint is computed in
closed form); a counterfactual is P(y | x = observed) with g drawn from its posterior given x.
"""

from __future__ import annotations

from os import PathLike
from typing import Any, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
Float64Array = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]
Path = Union[str, "PathLike[str]"]

METHODS: list[str]
"""The method names: gumbel-max, independent, inverse-cdf, permuted-inverse-cdf, maximal,
lp-optimal, gadget-1, gadget-2."""

class GumbelGadgetsError(Exception):
    """A failure that is not bad input (ValueError) or a file error (OSError): a training run that
    diverged, a corrupt checkpoint, a failure inside libtorch or the LP solver."""

class Coupling:
    """The joint of (x, y) under a coupling of one pair (p, q)."""

    @property
    def method(self) -> str: ...
    @property
    def exact(self) -> bool:
        """True for a closed-form joint, False for an estimate from ``samples`` draws."""
    @property
    def joint(self) -> Float64Array:
        """pi(x = i, y = j), float64 [K, K]; rows sum to p, columns to q."""
    @property
    def p_x_ne_y(self) -> float:
        """P(x != y) = 1 - sum_i pi(i, i)."""
    @property
    def expected_cost(self) -> float | None:
        """E[C(x, y)] = sum_ij pi(i, j) C_ij (C_ij = (h_i - h_j)^2 for a reward h); None without
        cost or reward."""
    @property
    def variance(self) -> float | None:
        """Var[h(x) - h(y)] for the reward h (the gadgets paper's Table 1 score); None without one."""
    @property
    def samples(self) -> int | None: ...
    @property
    def seed(self) -> int | None: ...
    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``gumbel-gadgets couple`` prints for the same inputs."""

class Couplings:
    """The couplings of a batch of N pairs; ``couplings[i]`` is pair i's :class:`Coupling`."""

    @property
    def method(self) -> str: ...
    @property
    def exact(self) -> bool: ...
    @property
    def joint(self) -> Float64Array:
        """float64 [N, K, K]."""
    @property
    def p_x_ne_y(self) -> Float64Array:
        """float64 [N]."""
    @property
    def expected_cost(self) -> Float64Array | None: ...
    @property
    def variance(self) -> Float64Array | None: ...
    def to_dict(self) -> list[dict[str, Any]]:
        """One CLI JSON object per pair (pair i of an estimate is drawn with seed + i)."""
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Coupling: ...

class Counterfactual:
    """P(y | x = observed) of one pair under the counterfactual q."""

    @property
    def method(self) -> str: ...
    @property
    def observed(self) -> int: ...
    @property
    def exact(self) -> bool:
        """True except for gadget-1, whose distribution is a histogram of samples."""
    @property
    def distribution(self) -> Float64Array:
        """P(y = j | x = observed), float64 [K]."""
    @property
    def sampled(self) -> Float64Array | None:
        """A histogram of ``samples`` counterfactual draws, float64 [K]; None without samples."""
    @property
    def samples(self) -> int | None: ...
    @property
    def seed(self) -> int | None: ...
    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``gumbel-gadgets counterfactual`` prints for the same inputs."""

class Counterfactuals:
    """The counterfactuals of a batch of N pairs; ``counterfactuals[i]`` is pair i's."""

    @property
    def method(self) -> str: ...
    @property
    def exact(self) -> bool: ...
    @property
    def observed(self) -> Int64Array: ...
    @property
    def distribution(self) -> Float64Array:
        """float64 [N, K]."""
    @property
    def sampled(self) -> Float64Array | None: ...
    def to_dict(self) -> list[dict[str, Any]]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Counterfactual: ...

class Gadget:
    """A learned Gumbel-max causal mechanism (the gadgets paper, Section 5): Gadget 1 (a joint over
    (x, z) with transposed Gumbel-max noise; coupling estimated by Monte Carlo) or Gadget 2 (a latent
    z ~ pi(z), then one Gumbel-max coupling of pi(. | z, p) and pi(. | z, q); exact joint
    pi(x, y) = sum_z pi(z) GM[pi(. | z, p), pi(. | z, q)](x, y)). Marginals are exact by construction."""

    @staticmethod
    def train(config: dict[str, Any], *, snapshot: Path | None = None) -> Gadget:
        """Train from the configuration of ``gumbel-gadgets train --config`` (docs/gadgets.md), as a
        dict. Ctrl-C stops between steps with KeyboardInterrupt; with ``snapshot`` the run's state is
        written there every 5 minutes and on Ctrl-C, and the same call continues from it."""
    @staticmethod
    def load(path: Path, *, device: str = "cpu") -> Gadget:
        """Read a checkpoint (``save`` or ``gumbel-gadgets train``; a ``.safetensors`` file, or one of
        the earlier format) onto cpu, cuda or auto."""
    def save(self, path: Path) -> None:
        """Write the gadget and its training record as a ``.safetensors`` file: the weights named as
        ``torch.nn`` names them (``net.layers.0.weight``, ...), the configuration and training record
        as JSON strings in its metadata; ``safetensors.torch.load_file`` reads it (docs/python.md)."""
    def logits(self, p: ArrayLike, *, logits: bool = False) -> Float64Array:
        """The logits the gadget's Gumbel-max runs on for one distribution p, float64 [rows, K]:
        Gadget 1's log pi(x, z | p) = R_zx - logsumexp_z R_.x + log p_x (rows z, Eq. 10), Gadget 2's
        log pi(x | z, p) (rows z, after T Sinkhorn sweeps and the accept-reject correction of Eq. 14,
        so that sum_z pi(z) pi(x | z, p) = p(x))."""
    @property
    def kind(self) -> str:
        """``gadget-1`` or ``gadget-2``."""
    @property
    def outcomes(self) -> int: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def training(self) -> dict[str, Any] | None: ...
    def coupling(
        self,
        p: ArrayLike,
        q: ArrayLike,
        *,
        cost: ArrayLike | None = None,
        reward: ArrayLike | None = None,
        logits: bool = False,
        samples: int | None = None,
        seed: int = 0,
    ) -> Coupling | Couplings:
        """``couple(p, q, method=self.kind, gadget=self, ...)``."""
    def counterfactual(
        self,
        p: ArrayLike,
        q: ArrayLike,
        observed: int | Sequence[int],
        *,
        logits: bool = False,
        samples: int | None = None,
        seed: int = 0,
    ) -> Counterfactual | Counterfactuals:
        """``counterfactual(p, q, observed, method=self.kind, gadget=self, ...)``."""
    @overload
    def sample(
        self, p: ArrayLike, q: ArrayLike, n: int, *, observed: None = None, logits: bool = False, seed: int = 0
    ) -> tuple[Int64Array, Int64Array]: ...
    @overload
    def sample(
        self, p: ArrayLike, q: ArrayLike, n: int, *, observed: int, logits: bool = False, seed: int = 0
    ) -> Int64Array: ...

def couple(
    p: ArrayLike,
    q: ArrayLike,
    method: str = "gumbel-max",
    *,
    cost: ArrayLike | None = None,
    reward: ArrayLike | None = None,
    logits: bool = False,
    samples: int | None = None,
    seed: int = 0,
    order: Sequence[int] | None = None,
    permutation_seed: int = 1,
    gadget: Gadget | None = None,
) -> Coupling | Couplings:
    """The joint pi(x, y) of a coupling of p and q, with P(x != y), E[C] and Var[h(x) - h(y)].

    p, q: probabilities [K] (or logits with ``logits=True``; -inf marks an impossible outcome), or
    batches [N, K] (then a :class:`Couplings`). method: one of :data:`METHODS`. cost: C [K, K];
    reward: h [K], giving C_ij = (h_i - h_j)^2 and the variance. samples: estimate from this many
    shared-noise draws from ``seed`` instead of the exact joint (pair i of a batch: seed + i).
    order: the outcome order of inverse-cdf; permutation_seed: permuted-inverse-cdf's permutation;
    gadget: the trained gadget of gadget-1 / gadget-2."""

def counterfactual(
    p: ArrayLike,
    q: ArrayLike,
    observed: int | Sequence[int],
    method: str = "gumbel-max",
    *,
    logits: bool = False,
    samples: int | None = None,
    seed: int = 0,
    order: Sequence[int] | None = None,
    permutation_seed: int = 1,
    gadget: Gadget | None = None,
) -> Counterfactual | Counterfactuals:
    """P(y | x = observed) under the counterfactual q, with the noise drawn from its posterior given
    x = observed under p (Gumbel-max: the top-down posterior, Oberst & Sontag 2019, Section 3).
    Mechanisms only: gumbel-max, inverse-cdf, permuted-inverse-cdf, gadget-1, gadget-2."""

class Evaluation:
    """Every method's scores over many pairs, as ``gumbel-gadgets evaluate`` reports them."""

    @property
    def pairs(self) -> int:
        """The rows evaluated."""
    @property
    def rows(self) -> str:
        """``all``, or ``held-out F (split seed S)``."""
    @property
    def methods(self) -> list[str]:
        """The method names, sorted as in ``to_dict()["methods"]``."""
    def to_dict(self) -> dict[str, Any]:
        """``{"pairs", "rows", "methods": {name: {"exact", "expected_cost": {"mean", "se"},
        "variance", "p_x_ne_y", "seconds"}}, "counterfactual": {name: {"variance"}}}``: the JSON of
        ``gumbel-gadgets evaluate`` for the same input."""

def evaluate(
    pairs: ArrayLike | Path,
    *,
    cost: ArrayLike | None = None,
    reward: ArrayLike | None = None,
    methods: Sequence[str] | None = None,
    gadgets: Sequence[Gadget | Path] = (),
    logits: bool | None = None,
    rows: str = "all",
    held_out: float | None = None,
    split_seed: int = 0,
    samples: int | None = None,
    seed: int = 0,
) -> Evaluation:
    """Every method's mean E[C], Var[h(x) - h(y)] and P(x != y) over many pairs, each with its
    standard error over the pairs, and for rows of a pair file with ``observed`` the mean
    Var[h(y) | x_obs]: what ``gumbel-gadgets evaluate`` computes.

    pairs: an array [N, 2, K] (p and q; probabilities, or logits with ``logits=True``), [N, 3, K]
    (the third row is the pair's own reward h), or the path of a pair file (JSON lines, or .npy
    holding logits unless ``logits=False``). cost / reward: one cost or reward for every pair;
    without either, each pair's reward column. methods: methods without a gadget (default: the six);
    gadgets: trained gadgets or checkpoint paths, scored as ``gadget-k (gadgets[i])`` or
    ``gadget-k (file name)``. rows: ``"all"`` or ``"held-out"`` (the split by ``split_seed``,
    fraction ``held_out``, default 0.2). samples (default 10,000) and seed: draws per pair of a
    method without a closed form (Gadget 1)."""

def sepsis_kernel(*, monte_carlo: int | None = None, seed: int = 0) -> Float64Array: ...
def sepsis_evaluate(
    *,
    trajectories: int = 1000,
    seed: int = 0,
    cf_samples: int = 5,
    bootstrap: int = 100,
    plan_monte_carlo: int | None = None,
    plan_seed: int = 0,
) -> dict[str, Any]: ...
def sepsis_pairs(
    *,
    trajectories: int = 20000,
    pairs: int = 6,
    seed: int = 0,
    plan_monte_carlo: int | None = None,
    plan_seed: int = 0,
) -> dict[str, Any]: ...
