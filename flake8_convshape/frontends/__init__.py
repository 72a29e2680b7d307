"""Frontends: Python source to the neutral program of ``program.py`` (blocks of layers and the
comments between them). Only this package reads Python syntax; the engine (``replay``,
``solve``, the layer catalog, ``dims``, ``claims``) works on what it produces.

- ``source``: where the ``nn.Sequential(...)`` calls are, their scopes, and the comments of a span;
- ``sequential``: a block for each call, its layers and comments placed (the entry point:
  ``extract``);
- ``construct``: the argument forms of a Sequential and the helpers it calls, inlined;
  ``statements``: the small interpreter of list-building code; ``modules``: modules of the same
  file used as layers; ``calls``: what a call refers to and its arguments bound (shared by
  every frontend that inlines); ``held``: what simulated code holds besides plain values;
- ``names``: the scopes names resolve in; ``evaluate``: the constant evaluator; ``facts``: what
  the whole file says about its names;
- ``forward_view``: the input a ``forward()`` gives a block with ``x.view(...)``;
- ``keras_models``: where a module's Keras models are (Sequential calls, ``add`` statements,
  ``output_shape`` checks, straight functional chains); ``keras``: their blocks (the Keras
  catalog, the declared input, checks as claims; the entry point: ``extract_keras``).
"""
