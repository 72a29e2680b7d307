"""The layer catalog: importing this package registers every family in ``CATALOG``."""

from . import (  # noqa: F401  (registration side effects)
    activation,
    attention,
    conv,
    linear,
    norm,
    padding,
    pool,
    recurrent,
    resample,
    reshape,
)
from .base import CATALOG, UNKNOWN, Args, LayerCall, LayerSpec, Outcome, Shape, bind

__all__ = ["CATALOG", "UNKNOWN", "Args", "LayerCall", "LayerSpec", "Outcome", "Shape", "bind"]
