"""Adversarial inputs (issue 16): time and peak memory of each through every front end.

    python benchmarks/adversarial.py                    # every case, every front end
    python benchmarks/adversarial.py --only loops,squares --skip-subprocess
    python benchmarks/adversarial.py --scale 0.25       # smaller inputs (what tests/test_bounded.py runs)

Each case is a file that plausible-looking code can produce and that once hung the checker or
blew up its memory (the issue lists the figures). Measured per case:

- ``check_source`` in this process: wall time (untraced) and tracemalloc peak (a second run);
- ``flake8 --select CVS`` and ``convshape check|fix --diff|annotate --diff|summary`` as
  subprocesses: wall time and the child's peak RSS (``os.wait4``), with a timeout.

Each figure is printed next to the target (2 s, 200 MB of our own allocations in process) with
PASS or FAIL. The generators are also what the fuzz test uses, so they live here, importable.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

HEADER = "import torch\nimport torch.nn as nn\n\n"
SECONDS, MEGABYTES = 2.0, 200


def _n(base: int, scale: float, least: int = 1) -> int:
    return max(least, int(base * scale))


# -- the cases: scale 1.0 is the size the issue reports -------------------------------------------


def unrolled_loops(scale: float = 1.0) -> str:
    """Three nested ``for i in range(64)`` loops appending a layer: 262,144 layers."""
    r = _n(64, scale, 8)
    return HEADER + (
        "def make():\n    layers = []\n"
        f"    for i in range({r}):\n        for j in range({r}):\n            for k in range({r}):\n"
        "                layers.append(nn.Conv2d(3, 3, 3, padding=1))\n"
        "    return nn.Sequential(*layers)\n"
    )


def list_doubling(scale: float = 1.0) -> str:
    """``layers = layers + layers`` thirty times: a billion entries."""
    k = _n(30, scale, 12)
    return HEADER + "def make():\n    layers = [nn.ReLU()]\n" + "    layers = layers + layers\n" * k + "    return nn.Sequential(*layers)\n"


def list_doubling_augmented(scale: float = 1.0) -> str:
    """``layers += layers`` thirty times."""
    k = _n(30, scale, 12)
    return HEADER + "def make():\n    layers = [nn.ReLU()]\n" + "    layers += layers\n" * k + "    return nn.Sequential(*layers)\n"


def inlined_helpers(scale: float = 1.0) -> str:
    """Helpers each returning ``nn.Sequential(f(c), f(c), ...)``, 16 wide and 4 deep."""
    width, depth = _n(16, scale, 8), 4
    out = HEADER + "def f0(c):\n    return nn.Conv2d(c, c, 3, padding=1)\n"
    for d in range(1, depth + 1):
        out += f"def f{d}(c):\n    return nn.Sequential(" + ", ".join([f"f{d - 1}(c)"] * width) + ")\n"
    return out + f"m = nn.Sequential(\n    # input: 8 x 32 x 32\n    f{depth}(8),\n    nn.BatchNorm2d(9),\n)\n"


def inlined_modules(scale: float = 1.0) -> str:
    """Same-file modules nesting Sequentials of modules, 16 wide and 4 deep."""
    width = _n(16, scale, 8)
    return _module_tower(lambda inner: ", ".join([f"{inner}(c)"] * width))


def copied_modules(scale: float = 1.0) -> str:
    """The same written as comprehensions, ``[M(c) for _ in range(64)]`` 4 deep: each is built
    once and copied, so the copies must count against the budget as if built."""
    width = _n(64, scale, 8)
    return _module_tower(lambda inner: f"*[{inner}(c) for _ in range({width})]")


def _module_tower(members: Callable[[str], str], depth: int = 4) -> str:
    """Modules M1..M{depth}, each a Sequential of ``members("M<below>")``, over a conv M0."""
    out = HEADER + (
        "class M0(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n"
        "        self.a = nn.Conv2d(c, c, 3, padding=1)\n    def forward(self, x):\n        return self.a(x)\n"
    )
    for d in range(1, depth + 1):
        out += (
            f"class M{d}(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n"
            f"        self.a = nn.Sequential({members(f'M{d - 1}')})\n"
            "    def forward(self, x):\n        return self.a(x)\n"
        )
    return out + f"m = nn.Sequential(M{depth}(8))\n"


def recursive_helpers(scale: float = 1.0) -> str:
    """Helpers and modules that call themselves and each other."""
    return HEADER + (
        "def f(c):\n    return nn.Sequential(f(c), g(c), f(c))\n"
        "def g(c):\n    return nn.Sequential(f(c), g(c))\n"
        "class R(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n"
        "        self.a = nn.Sequential(R(c), R(c))\n    def forward(self, x):\n        return self.a(x)\n"
        "m = nn.Sequential(f(3), R(3), nn.Conv2d(3, 4, 3))\n"
    )


def repeated_squaring(scale: float = 1.0) -> str:
    """``n1 = n0 * n0``, ``n2 = n1 * n1``, ... 25 times: degree 2**25."""
    k = _n(25, scale, 8)
    body = "".join(f"n{i + 1} = n{i} * n{i}\n" for i in range(k))
    return HEADER + "n0 = nz\n" + body + (
        f"m = nn.Sequential(\n    # input: n{k} x 8 x 8\n    nn.Conv2d(n{k}, 4, 3),\n    nn.BatchNorm2d(5),\n)\n"
    )


def product_of_names(scale: float = 1.0, count: int = 18) -> str:
    """A comment whose channel count is a product of 18 distinct names."""
    names = "*".join(f"a{i}" for i in range(_n(count, scale, 8)))
    return HEADER + (
        "m = nn.Sequential(\n    # input: 3 x 64 x 64\n    nn.Conv2d(3, 8, 4, 2, 1),\n"
        f"    # state size. ({names}) x 32 x 32\n    nn.ReLU(),\n)\n"
    )


def product_of_twenty(scale: float = 1.0) -> str:
    return product_of_names(scale, 20)


def power_comment(scale: float = 1.0) -> str:
    """``# (a*b*c*d*e*f*g*h)**4 x 4 x 4``."""
    return HEADER + (
        "m = nn.Sequential(\n    # input: 3 x 64 x 64\n    nn.Conv2d(3, 8, 4, 2, 1),\n"
        "    # (a*b*c*d*e*f*g*h)**4 x 4 x 4\n    nn.ReLU(),\n)\n"
    )


def long_code_line(scale: float = 1.0) -> str:
    """One Sequential of 20,000 layers on a single line."""
    return HEADER + "m = nn.Sequential(" + ", ".join(["nn.ReLU()"] * _n(20_000, scale, 500)) + ")\n"


def long_comment_line(scale: float = 1.0) -> str:
    """A megabyte-long comment between two layers."""
    return HEADER + (
        "m = nn.Sequential(\n    # input: 3 x 64 x 64\n    nn.Conv2d(3, 8, 4, 2, 1),\n"
        "    # " + "8 x " * _n(250_000, scale, 1000) + "32\n    nn.ReLU(),\n)\n"
    )


def deep_comment(scale: float = 1.0) -> str:
    """A comment dim nested in a hundred thousand parentheses."""
    k = _n(100_000, scale, 1000)
    return HEADER + (
        "m = nn.Sequential(\n    # input: 3 x 64 x 64\n    nn.Conv2d(3, 8, 4, 2, 1),\n"
        "    # " + "(" * k + "8" + ")" * k + " x 32 x 32\n    nn.ReLU(),\n)\n"
    )


def hint_search(scale: float = 1.0) -> str:
    """``ConvTranspose2d(64, 32, 4, 10000000, 1)`` under a wrong comment."""
    return HEADER + (
        "m = nn.Sequential(\n    # input: 64 x 8 x 8\n    nn.ConvTranspose2d(64, 32, 4, 10000000, 1),\n"
        "    # state size. 32 x 16 x 16\n    nn.ReLU(),\n)\n"
    )


def hint_search_huge(scale: float = 1.0) -> str:
    """The same with a stride of 999999999999 (never finished)."""
    return hint_search(scale).replace("10000000", "999999999999")


def huge_integers(scale: float = 1.0) -> str:
    """Literals of 4,000 digits, powers with huge exponents, kernels of 10**12."""
    big = "9" * 4000
    return HEADER + (
        f"m = nn.Sequential(\n    # input: 3 x 64 x 64\n    nn.Conv2d(3, {big}, 3),\n"
        "    nn.Conv2d(3, 8, 10 ** 12, 10 ** 12),\n    nn.Linear(2 ** 2 ** 2 ** 2 ** 2, 3),\n"
        f"    # state size. {big} x 2 x 2\n    nn.MaxPool2d(999999999999, 999999999999, 499999999999),\n"
        "    # state size. 8 x 5 x 5\n)\n"
    )


def big_block(scale: float = 1.0) -> str:
    """A 20,000-layer block with a comment on every line (what annotate took 140 s on)."""
    n = _n(20_000, scale, 500)
    return HEADER + "m = nn.Sequential(\n    # input: 3 x 64 x 64\n" + "    nn.Conv2d(3, 3, 3, padding=1),  # 3 x 64 x 64\n" * n + ")\n"


def deep_nesting(scale: float = 1.0) -> str:
    """Sequentials nested 300 deep, and a helper chain 300 long."""
    k = _n(300, scale, 50)
    nested = "nn.Sequential(" * k + "nn.ReLU()" + ")" * k
    chain = "".join(f"def h{i}(c):\n    return h{i + 1}(c)\n" for i in range(k)) + f"def h{k}(c):\n    return nn.Conv2d(c, c, 1)\n"
    return HEADER + chain + f"m = nn.Sequential(\n    {nested},\n    h0(3),\n)\n"


def layer_error(scale: float = 1.0) -> str:
    """A wrong BatchNorm2d before ``Upsample(scale_factor=float('inf'))``: the CVS201 must stay."""
    return HEADER + (
        "m = nn.Sequential(\n    # input: 3 x 8 x 8\n    nn.Conv2d(3, 4, 3, padding=1),\n"
        "    nn.BatchNorm2d(5),\n    nn.Upsample(scale_factor=float('inf')),\n    nn.ReLU(),\n)\n"
    )


def doubling_closures(scale: float = 1.0) -> str:
    """Closures in ``__init__``, each returning the one before it twice: 2**24 layers."""
    depth = _n(24, scale, 8)
    out = HEADER + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    out += "        def f0(c):\n            return [nn.Conv2d(c, c, 3, 1, 1)]\n"
    for d in range(1, depth + 1):
        out += f"        def f{d}(c):\n            return f{d - 1}(c) + f{d - 1}(c)\n"
    return out + f"        self.net = nn.Sequential(  # 3 x 8 x 8\n            *f{depth}(3),\n        )  # 3 x 8 x 9\n"


def sliced_loops(scale: float = 1.0) -> str:
    """Three nested loops over slices, reversals and ``zip`` of a 60-tuple."""
    n = _n(60, scale, 8)
    return HEADER + (
        f"widths = tuple(range(1, {n}))\n"
        "def make():\n    layers = []\n"
        "    for a in widths[1:]:\n        for b in widths[::-1]:\n            for c, d in zip(widths, widths[1:]):\n"
        "                layers.append(nn.Conv2d(3, 3, 1, stride=2 if a == 1 else 1))\n"
        "    return nn.Sequential(*layers)  # 3 x 8 x 8\n"
    )


CASES: Dict[str, Callable[[float], str]] = {
    "doubling_closures": doubling_closures,
    "sliced_loops": sliced_loops,
    "unrolled_loops": unrolled_loops,
    "list_doubling": list_doubling,
    "list_doubling_augmented": list_doubling_augmented,
    "inlined_helpers": inlined_helpers,
    "inlined_modules": inlined_modules,
    "copied_modules": copied_modules,
    "recursive_helpers": recursive_helpers,
    "repeated_squaring": repeated_squaring,
    "product_of_names": product_of_names,
    "product_of_twenty": product_of_twenty,
    "power_comment": power_comment,
    "long_code_line": long_code_line,
    "long_comment_line": long_comment_line,
    "deep_comment": deep_comment,
    "hint_search": hint_search,
    "hint_search_huge": hint_search_huge,
    "huge_integers": huge_integers,
    "big_block": big_block,
    "deep_nesting": deep_nesting,
    "layer_error": layer_error,
}


# -- measuring -----------------------------------------------------------------------------------


def in_process(source: str) -> Tuple[float, float, int]:
    """check_source on ``source``: (seconds, tracemalloc peak in MB, findings)."""
    sys.path.insert(0, str(ROOT))
    from flake8_convshape.analysis import check_source

    start = time.perf_counter()
    findings = check_source(source, "adversarial.py")
    seconds = time.perf_counter() - start  # untraced: tracemalloc slows allocation-heavy code
    tracemalloc.start()
    try:
        check_source(source, "adversarial.py")
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    return seconds, peak, len(findings)


# A small middleman runs the command and reports the command's own peak RSS: measured directly,
# a child forked from this (large) process would count our pages until it execs.
_MIDDLEMAN = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def child(argv: List[str], cwd: str, timeout: float) -> Tuple[Optional[float], float, int]:
    """Run a command: (seconds or None on timeout, peak RSS in MB, exit status)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _MIDDLEMAN, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, float("nan"), -9
    seconds = time.perf_counter() - start
    status, rss_kb = done.stdout.split()
    return seconds, int(rss_kb) / 1024, int(status)


FRONT_ENDS: Dict[str, List[str]] = {
    "flake8": ["-m", "flake8", "--select", "CVS", "--isolated"],
    "check": ["-m", "flake8_convshape.cli", "check", "--isolated"],
    "fix": ["-m", "flake8_convshape.cli", "fix", "--diff", "--isolated"],
    "annotate": ["-m", "flake8_convshape.cli", "annotate", "--diff", "--isolated"],
    "summary": ["-m", "flake8_convshape.cli", "summary", "--isolated"],
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--scale", type=float, default=1.0, help="input size (1.0: the issue's)")
    parser.add_argument("--skip-subprocess", action="store_true", help="only check_source in process")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a subprocess is killed")
    parser.add_argument("--root", help="measure another checkout (e.g. one from before the budgets)")
    args = parser.parse_args(argv)
    if args.root:
        global ROOT
        ROOT = Path(args.root).resolve()
    names = args.only.split(",") if args.only else list(CASES)
    failed = False
    print(f"{'case':26} {'front end':10} {'time':>8} {'memory':>10}  verdict")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            source = CASES[name](args.scale)
            seconds, peak, _ = in_process(source)
            ok = seconds <= SECONDS and peak <= MEGABYTES
            failed |= not ok
            print(f"{name:26} {'in process':10} {seconds:7.2f}s {peak:7.0f} MB  {'PASS' if ok else 'FAIL'}")
            if args.skip_subprocess:
                continue
            path = Path(tmp) / f"{name}.py"
            path.write_text(source, encoding="utf-8")
            for front, command in FRONT_ENDS.items():
                took, rss, _ = child([sys.executable, *command, str(path)], tmp, args.timeout)
                ok = took is not None and took <= SECONDS
                failed |= not ok
                shown = f"{took:7.2f}s" if took is not None else f">{args.timeout:.0f}s".rjust(8)
                print(f"{name:26} {front:10} {shown} {rss:7.0f} MB  {'PASS' if ok else 'FAIL'} (RSS, incl. interpreter)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
