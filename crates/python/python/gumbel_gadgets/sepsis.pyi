"""Type stubs of ``gumbel_gadgets.sepsis``."""

from typing import Any

import numpy as np
import numpy.typing as npt

def kernel(*, monte_carlo: int | None = None, seed: int = 0) -> npt.NDArray[np.float64]:
    """P(s' | diabetes, action, s), float64 (2, 8, 720, 720): exact, or estimated from
    ``monte_carlo`` simulator steps per row from ``seed`` (``gumbel-gadgets sepsis kernel``)."""

def evaluate(
    *,
    trajectories: int = 1000,
    seed: int = 0,
    cf_samples: int = 5,
    bootstrap: int = 100,
    plan_monte_carlo: int | None = None,
    plan_seed: int = 0,
) -> dict[str, Any]:
    """The physician's exact outcomes and the off-policy estimates of the RL policy (observed, true
    RL, WIS, model-based and counterfactual, with bootstrap ranges): the JSON of
    ``gumbel-gadgets sepsis evaluate``."""

def pairs(
    *,
    trajectories: int = 20000,
    pairs: int = 6,
    seed: int = 0,
    plan_monte_carlo: int | None = None,
    plan_seed: int = 0,
) -> dict[str, Any]:
    """The gadgets paper's Section 7.3 (p, q, s'_obs) pairs: the JSON of ``gumbel-gadgets sepsis
    pairs``."""
