"""The performance budget of flake8-convshape, measured on real model code.

    python benchmarks/run.py                  # everything (about 8 minutes on 2 cores)
    python benchmarks/run.py --runs 5         # more runs of the slow (flake8) measurements
    python benchmarks/run.py --corpus DIR     # any directory of .py files
    python benchmarks/run.py --skip-flake8    # leave out the flake8 runs (the slow part)
    python benchmarks/run.py --peers VENV     # the peers' environment (pip install torchshapeflow pyrefly)
    python benchmarks/run.py --sections 3,9   # only some sections (1-6 the corpus, 7-9 peers and rewrites)

The corpus is every .py file of the torchvision and timm wheels (the same pinned versions as the
real-code test), downloaded once with ``pip download --no-deps`` into a cache outside the
repository and unpacked there; sections 7-9 use generated files, the real-code cache when
present, and the peers when installed. Plain Python: ``time.perf_counter``, several runs, medians.
Each figure is printed next to its target with PASS or FAIL; figures without a target are
marked "info".
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # benchmark this checkout even when another copy is installed

from flake8_convshape.analysis import check_source  # noqa: E402

WHEELS = ("torchvision==0.29.2", "timm==1.0.31")
CACHES = (
    Path("/tmp/realcode/unpacked"),
    Path.home() / ".cache" / "convshape-realcode" / "unpacked",  # the real-code test's cache
)
DOWNLOAD = Path(os.environ.get("CONVSHAPE_CORPUS_CACHE", Path.home() / ".cache" / "convshape-corpus"))
MARKER = "Sequential"
PYCACHE = Path(tempfile.gettempdir()) / "convshape-bench-pycache"


def bench_env(**extra: str) -> Dict[str, str]:
    """The environment of every measured subprocess: this checkout first on the path, and
    bytecode caching on (in a private prefix, so the checkout is not touched). Without cached
    bytecode every import recompiles its module, which no installed package does."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("CONVSHAPE_BENCH_HIDE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def warm_bytecode() -> None:
    """Compile everything the subprocesses import once, before anything is timed."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "flake8_convshape")],
                   env=bench_env(), stdout=subprocess.DEVNULL)
    subprocess.run(
        [sys.executable, "-c", "import flake8.main.application, flake8.checker, pycodestyle, pyflakes.checker, "
         "mccabe, colorsys, flake8_convshape.check, flake8_convshape.plugin, flake8_convshape.cli"],
        env=bench_env(), stdout=subprocess.DEVNULL,
    )
    subprocess.run([sys.executable, str(HERE / "flake8_launcher.py"), "--version"], env=bench_env(),
                   stdout=subprocess.DEVNULL)


# --- output ------------------------------------------------------------------------------------

RESULTS: List[Tuple[str, str, str, str]] = []


def section(title: str) -> None:
    print(f"\n== {title}")


def note(text: str) -> None:
    for line in text.strip("\n").splitlines():
        print(f"   {line}")


def figure(label: str, value: str, target: str = "", ok: Optional[bool] = None) -> None:
    verdict = "info" if ok is None else ("PASS" if ok else "FAIL")
    shown = f"   {label:<58} {value:>14}"
    if target:
        shown += f"   target {target:<10} {verdict}"
    print(shown)
    if ok is not None:
        RESULTS.append((label, value, target, verdict))


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def median_time(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --- the corpus --------------------------------------------------------------------------------


def find_corpus(given: Optional[str]) -> Path:
    if given:
        path = Path(given).expanduser()
        if not path.is_dir():
            sys.exit(f"benchmarks: no such directory: {path}")
        return path
    for cached in CACHES:
        if cached.is_dir() and any(cached.rglob("*.py")):
            return cached
    root = DOWNLOAD / "unpacked"
    if (DOWNLOAD / "complete").exists():
        return root
    DOWNLOAD.mkdir(parents=True, exist_ok=True)
    for spec in WHEELS:
        name = spec.split("==")[0]
        if not list(DOWNLOAD.glob(f"{name}-*.whl")):
            print(f"benchmarks: downloading {spec} into {DOWNLOAD} ...", flush=True)
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(DOWNLOAD), spec]
            if subprocess.run(cmd).returncode != 0:
                sys.exit(f"benchmarks: could not download {spec}; pass --corpus DIR")
    for wheel in DOWNLOAD.glob("*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(root)
    (DOWNLOAD / "complete").write_text("ok\n")
    return root


def corpus_files(root: Path) -> List[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file())


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


# --- 1. flake8 with and without the plugin -----------------------------------------------------


def run_flake8(root: Path, hide: bool) -> Tuple[float, float, int]:
    """Wall seconds, CPU seconds (flake8 and its workers), output lines of one default run."""
    env = bench_env(CONVSHAPE_BENCH_HIDE="flake8-convshape") if hide else bench_env()
    cmd = [sys.executable, str(HERE / "flake8_launcher.py"), "--isolated", "."]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1) or done.stderr.strip():
        sys.exit(f"benchmarks: flake8 failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.count("\n")


def plugin_listed(hide: bool) -> bool:
    env = bench_env(CONVSHAPE_BENCH_HIDE="flake8-convshape") if hide else bench_env()
    out = subprocess.run(
        [sys.executable, str(HERE / "flake8_launcher.py"), "--version"], env=env, capture_output=True, text=True
    ).stdout
    return "flake8-convshape" in out


def bench_flake8(root: Path, runs: int) -> None:
    section("1. the plugin's cost on a default flake8 run over the corpus")
    note(
        """
Method: both runs start flake8 through benchmarks/flake8_launcher.py with the same arguments
(`flake8 --isolated <corpus>`: every default check, default --jobs, no config files). In the
"without" run the launcher filters flake8-convshape out of flake8's plugin discovery, so the
plugin is neither imported nor run, as if uninstalled; nothing else differs. (Comparing
`--select E,F,W` with `--select E,F,W,CVS` would not work: flake8 runs every installed plugin
and filters codes afterwards.) Runs alternate with/without to spread machine noise; medians of
wall time and of CPU time (user+sys of flake8 and its worker processes).
"""
    )
    if plugin_listed(hide=True) or not plugin_listed(hide=False):
        sys.exit("benchmarks: the launcher does not switch the plugin on and off as expected")
    walls: Dict[bool, List[float]] = {True: [], False: []}
    cpus: Dict[bool, List[float]] = {True: [], False: []}
    lines: Dict[bool, int] = {}
    for i in range(runs):
        for hide in (True, False) if i % 2 == 0 else (False, True):
            wall, cpu, n = run_flake8(root, hide)
            walls[hide].append(wall)
            cpus[hide].append(cpu)
            lines[hide] = n
            print(f"   run {i + 1}/{runs} {'without' if hide else 'with   '} the plugin: "
                  f"{secs(wall)} wall, {secs(cpu)} CPU", flush=True)
    w_off, w_on = statistics.median(walls[True]), statistics.median(walls[False])
    c_off, c_on = statistics.median(cpus[True]), statistics.median(cpus[False])
    figure("flake8 without the plugin, wall (median)", secs(w_off))
    figure("flake8 with the plugin, wall (median)", secs(w_on))
    figure("flake8 without the plugin, CPU (median)", secs(c_off))
    figure("flake8 with the plugin, CPU (median)", secs(c_on))
    figure("ratio with/without, CPU time", f"{c_on / c_off:.3f}x", "<= 1.15x", c_on / c_off <= 1.15)
    figure("ratio with/without, wall time", f"{w_on / w_off:.3f}x", "<= 1.15x", w_on / w_off <= 1.15)
    figure("output lines with / without (extra = CVS findings)", f"{lines[False]} / {lines[True]}")


# --- 2. convshape check over the corpus --------------------------------------------------------


def _check_file(path: str) -> int:
    with open(path, encoding="utf-8", errors="replace") as fh:
        source = fh.read()
    return len(check_source(source, path))


def _check_all(files: Sequence[str], jobs: int) -> int:
    if jobs == 1:
        return sum(_check_file(f) for f in files)
    with multiprocessing.Pool(jobs) as pool:
        return sum(pool.map(_check_file, files, chunksize=4))


def bench_check(root: Path, files: List[Path], runs: int) -> None:
    section("2. `convshape check` over the corpus")
    names = [str(p) for p in files]
    cores = os.cpu_count() or 1
    env = bench_env()

    def cli() -> None:
        subprocess.run(
            [sys.executable, "-m", "flake8_convshape.cli", "check", "--isolated", "--no-cache", str(root)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    t_cli = median_time(cli, runs)
    t1 = median_time(lambda: _check_all(names, 1), runs)
    tn = median_time(lambda: _check_all(names, cores), runs)
    found = _check_all(names, 1)
    n = len(names)
    with_seq = sum(1 for p in files if MARKER in read(p))
    note(f"{n} files, {with_seq} with 'Sequential' in their text; {found} findings")
    figure("`convshape check --no-cache DIR` (CLI, incl. startup)", secs(t_cli))
    figure("check_source over the corpus, 1 process (read + check)", secs(t1))
    figure(f"check_source over the corpus, {cores} processes (Pool)", secs(tn))
    figure("  per file, 1 process", ms(t1 / n))
    figure(f"  per file, {cores} processes", ms(tn / n))
    figure(f"  speed-up with {cores} processes", f"{t1 / tn:.2f}x")


# --- 3. editor latency: big Sequential-heavy files and a generated model file ---------------------


DISCRIMINATOR = """\
class Discriminator{i}(nn.Module):
    \"\"\"DCGAN discriminator number {i}.\"\"\"

    def __init__(self, ndf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            # input is (nc) x 64 x 64
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # (64+2*1-4)/2+1=32
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 32 x 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # (32+2*1-4)/2+1=16
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 16 x 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)
"""

GENERATOR = """\
class Generator{i}(nn.Module):
    \"\"\"DCGAN generator number {i}.\"\"\"

    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),  # (4-1)*2-2*1+4=8
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (8-1)*2-2*1+4=16
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # (16-1)*2-2*1+4=32
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # (32-1)*2-2*1+4=64
            nn.Tanh(),
            # state size. (nc) x 64 x 64
        )

    def forward(self, z):
        return self.main(z)
"""

CLASSIFIER = """\
class Classifier{i}(nn.Module):
    \"\"\"A small CIFAR classifier number {i}.\"\"\"

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            # input: 3 x 32 x 32
            nn.Conv2d(3, 32, kernel_size=3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            # 32 x 16 x 16
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            # 64 x 8 x 8
            nn.Conv2d(64, 128, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, 256),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(256, num_classes),
        )

    def forward(self, x):
        return self.features(x)
"""

FILLER = """\
def helper_{i}(x, scale={i}):
    \"\"\"Plain code between the models: no Sequential here.\"\"\"
    total = 0
    for step in range(scale):
        total += step * x
    return total / max(scale, 1)

"""


def generated_model(blocks: int = 30, lines: int = 2000) -> str:
    parts = ['"""A generated model file: 30 nn.Sequential blocks among ordinary code."""',
             "import torch", "import torch.nn as nn", "", ""]
    templates = (DISCRIMINATOR, GENERATOR, CLASSIFIER)
    for i in range(blocks):
        parts.append(templates[i % 3].format(i=i))
        parts.append("")
    text = "\n".join(parts)
    i = 0
    while text.count("\n") + FILLER.count("\n") <= lines:
        text += FILLER.format(i=i)
        i += 1
    text += "\n" * max(0, lines - text.count("\n"))
    return text


def edited_versions(model: str, count: int, where: str) -> List[str]:
    """``count`` versions of ``model``, each one edit away from the one before, as typing makes
    them: ``block`` a comment inside the middle Sequential (16 x 16 and 16 x 15 in turn), ``end``
    the last line, ``line`` a blank line put in and taken out above that comment (every line
    below moves)."""
    lines = model.splitlines(keepends=True)
    comments = [i for i, line in enumerate(lines) if "# state size. (ndf*2) x 16 x 16" in line]
    at = comments[len(comments) // 2]  # a Discriminator's, halfway down the blocks
    middle = at - 1
    out = []
    for k in range(count):
        version = list(lines)
        if where == "block":
            version[at] = version[at].replace("16 x 16", "16 x 15") if k % 2 else version[at]
        elif where == "end":
            version.append("#" * (k + 1) + "\n")
        else:
            version[middle:middle] = ["\n"] if k % 2 else []
        out.append("".join(version))
    return out


def per_call(texts: List[str], check: Callable[[str], object]) -> float:
    """Median time of ``check`` over the texts in order (each call after the one before)."""
    times = []
    for text in texts:
        start = time.perf_counter()
        check(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def bench_latency(root: Path, files: List[Path], runs: int) -> None:
    from flake8_convshape.analysis import analyse, trace_source

    section("3. per-file latency of check_source: from scratch, and the editor's re-check")
    note(
        """
From scratch: a new text each run, nothing recalled (a file opened, a CLI run). The editor's
re-check: ``check_source`` (or the language server's ``analyse(text, previous=...)``) right
after the version before, one edit away; the statements and blocks the edit did not reach are
reused (reparse.py, reuse.py), with the same results as from scratch (tests/test_reuse.py).
"""
    )

    def scratch(text: str) -> object:
        return analyse(text, traced=False)  # no previous: parsed and replayed whole

    heavy = sorted(files, key=lambda p: (read(p).count(MARKER), len(read(p))), reverse=True)[:5]
    for path in heavy:
        source = read(path)
        t = per_call([source + "#" * k + "\n" for k in range(runs * 5 + 1)], scratch)
        rel = path.relative_to(root).as_posix()
        figure(f"{rel} ({source.count(chr(10))} lines, {source.count(MARKER)}x Sequential), from scratch", ms(t))
    model = generated_model()
    n_lines = model.count("\n")
    found = check_source(model, "generated.py")
    blocks = len(trace_source(model))
    note(f"generated file: {n_lines} lines, {model.count('nn.Sequential(')} Sequential blocks "
         f"({blocks} traced), {len(found)} findings")
    n = runs * 5 + 1
    t_scratch = per_call([model + "#" * k + "\n" for k in range(n)], scratch)
    figure("generated 2,000-line file, 30 blocks, from scratch", ms(t_scratch))
    t_block = per_call(edited_versions(model, n, "block"), lambda text: check_source(text, "generated.py"))
    figure("check_source after an edit inside one block (the editor's re-check)", ms(t_block), "< 20 ms", t_block < 0.020)
    t_end = per_call(edited_versions(model, n, "end"), lambda text: check_source(text, "generated.py"))
    figure("  after an edit of the last line", ms(t_end))
    t_line = per_call(edited_versions(model, n, "line"), lambda text: check_source(text, "generated.py"))
    figure("  after a line put in or taken out mid-file (every block below moves)", ms(t_line))
    t_same = per_call([model] * n, lambda text: check_source(text, "generated.py"))
    figure("  the same text again", ms(t_same))
    last: List[object] = [None]

    def editor_pass(text: str) -> None:  # what `convshape lsp` runs per edit: findings and traces at once
        last[0] = analyse(text, previous=last[0])  # type: ignore[arg-type]

    t_editor = per_call(edited_versions(model, n, "block"), editor_pass)
    figure("  findings + traces after an edit inside one block (the LSP server)", ms(t_editor))


# --- 4. import time ----------------------------------------------------------------------------

IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_cost_us(statement: str, before: str = "") -> Tuple[int, List[Tuple[int, str]]]:
    """Cumulative microseconds of the top-level imports ``statement`` triggers (after ``before``).

    ``colorsys`` (tiny, imported by nothing here) marks where the measured statement starts.
    """
    code = f"{before}; import colorsys; {statement}" if before else f"import colorsys; {statement}"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True, text=True, env=bench_env(), cwd=tempfile.gettempdir(),
    ).stderr
    entries = []
    started = False
    for line in out.splitlines():
        m = IMPORT_LINE.match(line)
        if not m:
            continue
        cumulative, indent, name = int(m.group(2)), len(m.group(3)), m.group(4)
        if name == "colorsys":
            started = True
            continue
        if started and indent <= 1:
            entries.append((cumulative, name))
    return sum(c for c, _ in entries), entries


def bench_import(runs: int) -> None:
    section("4. import time of the plugin module")
    note(
        """
`python -X importtime -c "import flake8_convshape.plugin"`: the cumulative time of the imports
that statement triggers (median of several fresh interpreters). "Inside flake8" first imports
what flake8 has already loaded when it loads plugins, so shared modules are not charged to us.
"""
    )
    n = max(runs, 7)
    bare = [import_cost_us("import flake8_convshape.plugin")[0] for _ in range(n)]
    pre = "import flake8.main.application, flake8.checker, flake8.plugins.finder, flake8.style_guide"
    inside = [import_cost_us("import flake8_convshape.plugin", pre)[0] for _ in range(n)]
    _, modules = import_cost_us("import flake8_convshape.plugin", pre)
    pre_plugin = pre + "; import flake8_convshape.plugin"
    options = [import_cost_us("import flake8_convshape.check", pre_plugin)[0] for _ in range(n)]
    b, i, o = (statistics.median(x) / 1e3 for x in (bare, inside, options))
    figure("import flake8_convshape.plugin, fresh interpreter", f"{b:.1f} ms", "< 20 ms", b < 20)
    figure("import flake8_convshape.plugin, inside flake8", f"{i:.1f} ms", "< 20 ms", i < 20)
    note("modules it brings in (inside flake8): " + ", ".join(f"{m} {c / 1e3:.1f} ms" for c, m in modules))
    figure("+ what parse_options imports (flake8_convshape.check)", f"{o:.1f} ms")
    note("parse_options runs once per flake8 invocation, even when no file holds a Sequential.")


# --- 5. files without Sequential ---------------------------------------------------------------


def bench_no_sequential(files: List[Path]) -> None:
    from flake8_convshape.codes import MARKERS, marked
    from flake8_convshape.plugin import ConvShapeChecker

    section("5. a file with nothing to check: cost beyond reading it")
    note(f"the files whose text says none of {', '.join(repr(m) for m in MARKERS)} (codes.marked): not even parsed")
    sources = [read(p) for p in files]
    plain = [s for s in sources if not marked(s)]
    lines = [s.splitlines(keepends=True) for s in plain]
    reps = 50

    def per_file(fn: Callable[[int], object]) -> List[float]:
        out = []
        for k in range(len(plain)):
            fn(k)  # warm
            t0 = time.perf_counter()
            for _ in range(reps):
                fn(k)
            out.append((time.perf_counter() - t0) / reps)
        return out

    api = per_file(lambda k: check_source(plain[k]))
    plugin = per_file(lambda k: list(ConvShapeChecker(None, lines[k], "x.py").run()))  # type: ignore[arg-type]
    biggest = max(range(len(plain)), key=lambda k: len(plain[k]))
    note(f"{len(plain)} corpus files with nothing to check; mean {sum(map(len, plain)) // len(plain)} chars, "
         f"largest {len(plain[biggest])} chars ({len(lines[biggest])} lines)")
    for name, times in (("check_source(text)", api), ("flake8 plugin run() (scans flake8's lines)", plugin)):
        mean = sum(times) / len(times)
        figure(f"{name}: mean per file", ms(mean), "< 0.05 ms", mean < 0.05e-3)
        figure(f"{name}: median / largest file", f"{ms(statistics.median(times))} / {ms(times[biggest])}")


# --- 6. memory ---------------------------------------------------------------------------------

MEMORY_SNIPPET = r"""
import resource, sys, tracemalloc
sys.path.insert(0, sys.argv[1])
from flake8_convshape.analysis import check_source
files = sys.argv[2:]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
worst, worst_file = 0, ""
for path in files:
    source = open(path, encoding="utf-8", errors="replace").read()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    check_source(source, path)
    peak = tracemalloc.get_traced_memory()[1] - before
    if peak > worst:
        worst, worst_file = peak, path
    del source
total_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(worst, worst_file, total_peak, base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_memory(root: Path, files: List[Path]) -> None:
    section("6. peak memory")
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SNIPPET, str(ROOT), *map(str, files)], capture_output=True, text=True,
        env=bench_env(),
    )
    if out.returncode != 0:
        print(out.stderr)
        return
    worst, worst_file, _, base, rss = out.stdout.split()
    rel = Path(worst_file).relative_to(root).as_posix()
    figure(f"largest heap peak while checking one file ({rel})", f"{int(worst) / 2**20:.2f} MiB")
    figure("max RSS of a process checking the whole corpus", f"{int(rss) / 1024:.1f} MiB")
    figure("  of which the interpreter and imports before the first file", f"{int(base) / 1024:.1f} MiB")
    note("tracemalloc: Python allocations during check_source, relative to before the call.")


# --- 7-9. against the peers, and the rewriting commands at scale -----------------------------------

PEER_TOOLS = ("tsf", "pyrefly")


def find_peers(given: Optional[str]) -> Dict[str, str]:
    """Paths of the peer tools: in ``--peers DIR`` (a virtual environment, or its bin folder),
    else on PATH. Missing peers are skipped (the figures say so)."""
    import shutil

    found: Dict[str, str] = {}
    for tool in PEER_TOOLS:
        if given:
            for sub in ("bin", "Scripts", "."):
                candidate = Path(given).expanduser() / sub / tool
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    found[tool] = str(candidate)
                    break
        else:
            where = shutil.which(tool)
            if where:
                found[tool] = where
    return found


def scratch_venv(folder: Path) -> List[str]:
    """A bare virtual environment that sees this checkout (a .pth file), and the command that
    runs ``convshape`` in it: the same footing as a peer installed in its own environment (the
    main environment's own start-up, its .pth files and editable-install finders, is not ours)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "a-convshape-checkout.pth").write_text(str(ROOT) + "\n")
    try:  # LibCST, for fix and annotate: its folder, after the checkout (.pth files run in name order)
        import libcst

        Path(site, "b-libcst.pth").write_text(str(Path(libcst.__file__).resolve().parent.parent) + "\n")
    except ImportError:
        pass
    script = folder / "convshape-launcher.py"
    script.write_text("import sys\nfrom flake8_convshape.cli import main\nsys.exit(main())\n")
    return [str(python), str(script)]


def small_models(folder: Path, count: int) -> List[Path]:
    """``count`` small model files (one block each, 60-120 lines), as a tree of model code."""
    folder.mkdir(parents=True, exist_ok=True)
    templates = (DISCRIMINATOR, GENERATOR, CLASSIFIER)
    out = []
    for i in range(count):
        text = "import torch\nimport torch.nn as nn\n\n\n" + templates[i % 3].format(i=i) + "\n"
        text += "".join(FILLER.format(i=k) for k in range(i % 5))
        path = folder / f"model_{i:03d}.py"
        path.write_text(text)
        out.append(path)
    return out


def timed_run(cmd: Sequence[str], env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None) -> Tuple[float, float]:
    """Wall and CPU seconds (user + sys of the process and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(commands: Dict[str, List[str]], runs: int, env: Dict[str, str]) -> Dict[str, Tuple[float, float]]:
    """Median wall and CPU seconds of each command, runs interleaved (machine noise spread
    over all of them alike), after one warm-up run each."""
    for cmd in commands.values():
        timed_run(cmd, env)
    walls: Dict[str, List[float]] = {k: [] for k in commands}
    cpus: Dict[str, List[float]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            wall, cpu = timed_run(cmd, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {k: (statistics.median(walls[k]), statistics.median(cpus[k])) for k in commands}


def peer_env() -> Dict[str, str]:
    env = bench_env()
    env.pop("PYTHONPATH", None)  # the scratch environment finds the checkout through its .pth
    return env


def bench_one_file(peers: Dict[str, str], runs: int, work: Path, convshape: List[str]) -> None:
    section("7. one model file in a fresh process: `convshape check` and TorchShapeFlow's `tsf check`")
    note(
        """
A process per file, as pre-commit hooks and editors on save run a checker. Both tools run in a
virtual environment of their own (convshape in a bare one that sees this checkout), on the same
generated DCGAN file; runs interleaved, medians. Wall time on a shared machine is noisy: CPU
time is given too.
"""
    )
    path = small_models(work / "one", 1)[0]
    env = peer_env()
    commands = {"convshape": convshape + ["check", "--isolated", "--no-cache", str(path)]}
    if "tsf" in peers:
        commands["tsf"] = [peers["tsf"], "check", str(path)]
    got = paired(commands, max(runs * 7, 15), env)
    wall, cpu = got["convshape"]
    figure("`convshape check FILE`, fresh process (wall / CPU)", f"{ms(wall)} / {ms(cpu)}")
    if "tsf" in got:
        peer_wall, peer_cpu = got["tsf"]
        figure("`tsf check FILE`, fresh process (wall / CPU)", f"{ms(peer_wall)} / {ms(peer_cpu)}")
        figure("convshape / tsf, wall", f"{wall / peer_wall:.2f}x", "<= 1.00x", wall <= peer_wall)
    else:
        note("tsf not found (--peers DIR, or on PATH): no comparison")
    imports = _our_import_ms(convshape, env, path)
    figure("  of which importing our modules (-X importtime, cumulative)", f"{imports:.1f} ms")


def _our_import_ms(convshape: List[str], env: Dict[str, str], path: Path) -> float:
    """Milliseconds of imports a `convshape check FILE` run spends in modules it loads first
    (ours, and the standard library they bring in), median of several runs."""
    totals = []
    for _ in range(5):
        err = subprocess.run([convshape[0], "-X", "importtime", *convshape[1:], "check", "--isolated", "--no-cache", str(path)],
                             capture_output=True, text=True, env=env).stderr
        total = 0
        for line in err.splitlines():
            m = IMPORT_LINE.match(line)
            if m and len(m.group(3)) <= 1 and m.group(4).startswith("flake8_convshape"):
                total += int(m.group(2))
        totals.append(total / 1e3)
    return statistics.median(totals)


REALCODE = Path(os.environ.get("CONVSHAPE_REALCODE_CACHE", "/work/cache/realcode").split(os.pathsep)[0])


def bench_tree(peers: Dict[str, str], runs: int, work: Path, convshape: List[str], tree: Optional[str]) -> None:
    section("8. a tree of small model files: `convshape check DIR` and `pyrefly check DIR`")
    folder = Path(tree).expanduser() if tree else REALCODE
    if folder.is_dir() and any(folder.glob("*.py")):
        what = f"the {len(list(folder.rglob('*.py')))} model files of {folder} (real code, one to a few blocks each)"
    else:
        folder = work / "tree"
        small_models(folder, 300)
        what = "300 generated model files (one block each, 40-100 lines; Pyrefly has little to do in them)"
    note(
        f"""
{what}. `convshape check DIR` with its default -j (the number of cores; one process below 16
files) and with -j 1, each with --no-cache (a first run: every file parsed and replayed); then
again with the result cache a first run filled (a re-run: nothing changed, as in a developer's
loop or `pre-commit run --all-files`). Pyrefly (a whole type checker in Rust, its own default
threads) keeps nothing between runs: each of its runs is a first one. Runs interleaved, medians.
On a busy machine more processes only add their start-up.
"""
    )
    env = peer_env()
    cache = work / "result-cache"
    commands = {
        "check --no-cache": convshape + ["check", "--isolated", "--no-cache", str(folder)],
        "check --no-cache -j 1": convshape + ["check", "--isolated", "--no-cache", "-j", "1", str(folder)],
        "check, a re-run (cached)": convshape + ["check", "--isolated", "--cache-dir", str(cache), str(folder)],
    }
    if "pyrefly" in peers:
        commands["pyrefly"] = [peers["pyrefly"], "check", str(folder)]
    got = paired(commands, max(runs, 3), env)  # its warm-up run fills the cache
    reports = [subprocess.run(commands[k], capture_output=True, text=True, env=env).stdout for k in list(commands)[:3]]
    figure("the same report from every run (first runs and the re-run)", "yes" if len(set(reports)) == 1 else "NO",
           "yes", len(set(reports)) == 1)
    for name, (wall, cpu) in got.items():
        figure(f"`{name if name == 'pyrefly' else 'convshape ' + name}` (wall / CPU)", f"{secs(wall)} / {secs(cpu)}")
    if "pyrefly" in got:
        for name, what in (("check --no-cache", "a first run"), ("check, a re-run (cached)", "a re-run")):
            ratio = got[name][0] / got["pyrefly"][0]
            figure(f"convshape / pyrefly, wall, {what}", f"{ratio:.2f}x", "<= 1.00x", ratio <= 1.0)
    else:
        note("pyrefly not found (--peers DIR, or on PATH): no comparison")
    first_run_floor(folder, convshape, env, got["check --no-cache"][1], got.get("pyrefly"))


def first_run_floor(
    folder: Path, convshape: List[str], env: Dict[str, str], cold_cpu: float, pyrefly: Optional[Tuple[float, float]]
) -> None:
    """What a first run cannot be faster than in Python: starting the interpreter and Python's
    own parser over every file; and, next to Pyrefly, what its wall time would leave for the
    analysis on this machine's cores."""
    import ast
    import warnings

    start = paired({"python": [convshape[0], "-c", "pass"]}, 7, env)["python"][0]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*.py"))]
    parse = float("inf")
    for _ in range(3):
        began = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for text in texts:
                try:
                    ast.parse(text)
                except (SyntaxError, ValueError):
                    pass
        parse = min(parse, time.process_time() - began)
    cores = os.cpu_count() or 1
    figure("a first run's floor: starting Python (wall) / Python's parser over the files (CPU)", f"{ms(start)} / {secs(parse)}")
    figure("  the rest of a first run's CPU (analysis, imports, processes)", secs(cold_cpu - parse))
    if pyrefly is not None:
        left = (pyrefly[0] - start) * cores - parse
        figure(f"  CPU a first run at Pyrefly's wall time would leave for that rest ({cores} cores)", secs(max(left, 0.0)))


REWRITE_SIZES = (2000, 8000, 20000)


def rewrite_inputs(folder: Path) -> Dict[int, Tuple[Path, Path]]:
    """Per size: a generated file with one stale comment (for fix) and one with no comment after
    its layers (for annotate)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for n in REWRITE_SIZES:
        model = generated_model(max(3, n * 30 // 2000), n)
        stale = folder / f"fix_{n}.py"
        stale.write_text(model.replace("# state size. (ndf*2) x 16 x 16", "# state size. (ndf*2) x 17 x 16", 1))
        bare = folder / f"annotate_{n}.py"
        bare.write_text("".join(line for line in model.splitlines(keepends=True) if "state size" not in line))
        out[n] = (stale, bare)
    return out


def bench_rewrites(runs: int, work: Path, convshape: List[str]) -> None:
    section("9. `convshape fix` and `convshape annotate --diff` on one large file")
    note(
        """
A fresh process per run (start-up included; the environment of section 7, which also sees
LibCST), generated files of 2,000, 8,000 and 20,000 lines
(30 blocks per 2,000 lines): for fix one stale comment, for annotate none after the layers.
LibCST reads only the statements that hold the rewritten comments, so the time grows with the
file as its analysis does (linearly), not with LibCST's metadata over the whole module.
"""
    )
    inputs = rewrite_inputs(work / "rewrite")
    env = peer_env()
    for command in ("fix", "annotate"):
        times = {}
        for n, (stale, bare) in inputs.items():
            path = stale if command == "fix" else bare
            cmd = convshape + [command, "--diff", "--isolated", str(path)]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if "would" not in done.stderr:
                note(f"{command} at {n} lines did not rewrite: {done.stderr.strip()[-300:]}")
            times[n] = median_time(lambda: timed_run(cmd, env), max(runs, 3), warmup=0)
            target = ("<= 0.5 s", times[n] <= 0.5) if n == 2000 else ("", None)
            figure(f"`convshape {command} --diff`, {n:,} lines", secs(times[n]), *target)
        growth = times[REWRITE_SIZES[-1]] / times[REWRITE_SIZES[0]]
        lines = REWRITE_SIZES[-1] / REWRITE_SIZES[0]
        figure(f"  {command}: time at 20,000 lines / at 2,000 (lines: {lines:.0f}x)", f"{growth:.1f}x", f"<= {lines:.0f}x", growth <= lines)


# --- main --------------------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", metavar="DIR", help="directory of .py files (default: torchvision + timm wheels)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each slow measurement (default 3); medians")
    parser.add_argument("--skip-flake8", action="store_true", help="leave out section 1 (the slowest)")
    parser.add_argument("--peers", metavar="DIR", default=os.environ.get("CONVSHAPE_PEERS"),
                        help="a virtual environment holding the peers (pip install torchshapeflow pyrefly); "
                        "default: $CONVSHAPE_PEERS, else tsf and pyrefly on PATH; missing peers are skipped")
    parser.add_argument("--tree", metavar="DIR", help="the tree of model files of section 8 (default: "
                        "$CONVSHAPE_REALCODE_CACHE or /work/cache/realcode when present, else 300 generated files)")
    parser.add_argument("--sections", metavar="N,...", help="run only these sections (e.g. 3,7,8,9)")
    args = parser.parse_args(argv)
    wanted = {int(x) for x in args.sections.split(",")} if args.sections else set(range(1, 10))
    if args.skip_flake8:
        wanted.discard(1)
    runs = max(1, args.runs)

    root = find_corpus(args.corpus)
    files = corpus_files(root)
    if not files:
        sys.exit(f"benchmarks: no .py files under {root}")
    n_lines = sum(read(p).count("\n") for p in files)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"flake8-convshape benchmarks: {len(files)} files, {n_lines} lines under {root}")
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load[0]:.2f} at start")
    print(f"subprocesses cache bytecode under {PYCACHE} (warmed before timing)")
    warm_bytecode()

    if 1 in wanted:
        bench_flake8(root, runs)
    if 2 in wanted:
        bench_check(root, files, runs)
    if 3 in wanted:
        bench_latency(root, files, runs)
    if 4 in wanted:
        bench_import(runs)
    if 5 in wanted:
        bench_no_sequential(files)
    if 6 in wanted:
        bench_memory(root, files)
    peers = find_peers(args.peers)
    with tempfile.TemporaryDirectory(prefix="convshape-bench-") as scratch:
        work = Path(scratch)
        convshape = scratch_venv(work / "venv") if wanted & {7, 8, 9} else []
        if 7 in wanted:
            bench_one_file(peers, runs, work, convshape)
        if 8 in wanted:
            bench_tree(peers, runs, work, convshape, args.tree)
        if 9 in wanted:
            bench_rewrites(runs, work, convshape)

    section("summary")
    for label, value, target, verdict in RESULTS:
        print(f"   {verdict}  {label}: {value} (target {target})")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"   load average {load[0]:.2f} at the end (other work on the machine inflates wall times)")
    return 0 if all(v == "PASS" for *_, v in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
