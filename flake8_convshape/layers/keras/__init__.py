"""The Keras layer catalog (``KERAS``): importing this package registers every Keras family.

A separate registry from the torch ``CATALOG``: the names collide (``Flatten``, ``LSTM``) and
the layouts differ (channels last). Only the Keras frontend looks layers up here.
"""

from . import conv, core, merge, pool, preprocessing, recurrent, wrappers  # noqa: F401  (registration side effects)
from .common import KERAS, ignorable

__all__ = ["KERAS", "ignorable"]
