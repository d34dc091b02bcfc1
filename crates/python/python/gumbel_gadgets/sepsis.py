"""The sepsis simulator (Oberst & Sontag 2019, Section 5): its exact transition kernel, the
off-policy evaluation study and the gadgets paper's Section 7.3 pairs, with the arguments and JSON of
``gumbel-gadgets sepsis kernel | evaluate | pairs``."""

from ._native import sepsis_evaluate as evaluate
from ._native import sepsis_kernel as kernel
from ._native import sepsis_pairs as pairs

__all__ = ["evaluate", "kernel", "pairs"]
