"""The layer catalog: importing this package registers every family in ``CATALOG`` and the
tensor operations of forward() in ``OPERATIONS``."""

from . import (  # noqa: F401  (registration side effects)
    activation,
    attention,
    broadcast,
    conv,
    functional,
    linear,
    norm,
    padding,
    pool,
    recurrent,
    resample,
    reshape,
    tensor_ops,
)
from .base import CATALOG, OPERATIONS, UNKNOWN, Args, LayerCall, LayerSpec, Outcome, Shape, bind

__all__ = ["CATALOG", "OPERATIONS", "UNKNOWN", "Args", "LayerCall", "LayerSpec", "Outcome", "Shape", "bind"]
