"""The layer catalog: importing this package registers every family in ``CATALOG``."""

from . import activation, conv, linear, norm, pool  # noqa: F401  (registration side effects)
from .base import CATALOG, UNKNOWN, Args, LayerCall, LayerSpec, Outcome, Shape, bind

__all__ = ["CATALOG", "UNKNOWN", "Args", "LayerCall", "LayerSpec", "Outcome", "Shape", "bind"]
