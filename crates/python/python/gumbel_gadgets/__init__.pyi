"""Type stubs of ``gumbel_gadgets`` (the functions and classes are documented in ``_native.pyi``)."""

from . import sepsis as sepsis
from ._native import METHODS as METHODS
from ._native import Counterfactual as Counterfactual
from ._native import Counterfactuals as Counterfactuals
from ._native import Coupling as Coupling
from ._native import Couplings as Couplings
from ._native import Evaluation as Evaluation
from ._native import Gadget as Gadget
from ._native import GumbelGadgetsError as GumbelGadgetsError
from ._native import counterfactual as counterfactual
from ._native import couple as couple
from ._native import evaluate as evaluate

TORCH_VERSION: str
"""The torch version the native module links (2.11.0)."""
