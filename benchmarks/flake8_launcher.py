"""``python benchmarks/flake8_launcher.py ARGS``: flake8, optionally blind to one plugin package.

With ``CONVSHAPE_BENCH_HIDE=flake8-convshape`` in the environment, flake8's plugin discovery
skips that distribution: the plugin is neither imported nor run, exactly as if it were not
installed. Without it, this is plain flake8. Both benchmark runs go through this same launcher,
so the only difference between them is the plugin.
"""

from __future__ import annotations

import os
import sys

import flake8.plugins.finder as finder

HIDE = os.environ.get("CONVSHAPE_BENCH_HIDE", "")

if HIDE:
    _find = finder._find_importlib_plugins

    def _without_hidden():  # type: ignore[no-untyped-def]
        for plugin in _find():
            if plugin.package != HIDE:
                yield plugin

    finder._find_importlib_plugins = _without_hidden  # type: ignore[assignment]

if __name__ == "__main__":
    from flake8.main.cli import main

    sys.exit(main())
