"""Exact Gumbel-max couplings and counterfactuals, learned causal mechanisms and the sepsis simulator.

The Python face of the gumbel-gadgets Rust workspace: numpy arrays in, numpy arrays and small result
classes out, each with ``to_dict()`` equal to the JSON of the ``gumbel-gadgets`` command line.

    >>> import gumbel_gadgets as gg
    >>> c = gg.couple([0.7, 0.3], [0.4, 0.6], reward=[0.0, 1.0])
    >>> c.joint, c.p_x_ne_y, c.variance
    >>> gg.counterfactual([0.5, 0.2, 0.3], [0.1, 0.3, 0.6], observed=0).distribution

The native module links libtorch 2.11.0 (for the learned gadgets), which it takes from the torch
package of the same environment: torch is imported first and its version checked, so another torch
gives an ImportError that says so instead of a crash.
"""

TORCH_VERSION = "2.11.0"


def _check_torch() -> None:
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"gumbel_gadgets needs torch {TORCH_VERSION} in the same environment (its native module "
            f"links torch's libtorch); install it with: pip install torch=={TORCH_VERSION}"
        ) from error
    found = torch.__version__.split("+")[0]
    if found != TORCH_VERSION:
        raise ImportError(
            f"gumbel_gadgets was built against torch {TORCH_VERSION} (libtorch, through tch 0.24), "
            f"but this environment has torch {torch.__version__} at {torch.__file__}; install torch=="
            f"{TORCH_VERSION} here, or use gumbel_gadgets from an environment that has it"
        )


_check_torch()

from ._native import (  # noqa: E402
    METHODS,
    Counterfactual,
    Counterfactuals,
    Coupling,
    Couplings,
    Evaluation,
    Gadget,
    GumbelGadgetsError,
    counterfactual,
    couple,
    evaluate,
)
from . import sepsis  # noqa: E402

__all__ = [
    "METHODS",
    "TORCH_VERSION",
    "Counterfactual",
    "Counterfactuals",
    "Coupling",
    "Couplings",
    "Evaluation",
    "Gadget",
    "GumbelGadgetsError",
    "counterfactual",
    "couple",
    "evaluate",
    "sepsis",
]
