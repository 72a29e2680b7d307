"""A forward()-heavy model file of about 2,000 lines, and the time ``check_source`` takes on it.

Each module has an ``__init__`` with a few layers and a ``forward`` of statements with shape
comments (convolutions, residual additions, views, permutes, attention with ``@`` and
``softmax``, ``torch.cat``), as the issue on forward() asks the budget to be measured on.

    python benchmarks/forward_file.py            # the median of 7 runs, in ms
    python benchmarks/forward_file.py --write F  # the file itself
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODULE = '''
class Block{n}(nn.Module):
    """Residual block {n} with attention over its positions."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d({c}, {c2}, 3, 2, 1)
        self.bn1 = nn.BatchNorm2d({c2})
        self.conv2 = nn.Conv2d({c2}, {c2}, 3, 1, 1)
        self.short = nn.Conv2d({c}, {c2}, 1, 2)
        self.qkv = nn.Linear({c2}, {c2} * 3)
        self.proj = nn.Linear({c2}, {c2})
        self.head = nn.Linear({c2} * 2, 10)

    def forward(self, x):  # (B, {c}, 32, 32)
        out = F.relu(self.bn1(self.conv1(x)))  # (B, {c2}, 16, 16)
        out = self.conv2(out)  # (B, {c2}, 16, 16)
        out = out + self.short(x)  # (B, {c2}, 16, 16)
        B, C, H, W = out.shape
        t = out.flatten(2).transpose(1, 2)  # (B, H*W, C)
        q, k, v = self.qkv(t).chunk(3, dim=-1)  # q: (B, 256, {c2})
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)  # (B, 256, 256)
        t = self.proj(attn @ v)  # (B, 256, {c2})
        t = t.transpose(1, 2).reshape(B, C, H, W)  # (B, {c2}, 16, 16)
        pooled = torch.cat([t.mean(dim=(2, 3)), out.amax(dim=(2, 3))], dim=1)  # (B, {c2} * 2)
        return self.head(pooled)  # (B, 10)
'''

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"


def source(lines: int = 2000) -> str:
    parts = [HEADER]
    n = 0
    while sum(p.count("\n") for p in parts) < lines:
        c = 16 * (1 + n % 4)
        parts.append(MODULE.format(n=n, c=c, c2=2 * c))
        n += 1
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="FILE", help="write the generated file instead of timing")
    parser.add_argument("--lines", type=int, default=2000)
    args = parser.parse_args()
    text = source(args.lines)
    if args.write:
        Path(args.write).write_text(text)
        return 0
    from flake8_convshape import check_source

    findings = check_source(text)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        check_source(text)
        times.append((time.perf_counter() - start) * 1000)
    modules = text.count("class Block")
    print(f"forward()-heavy file: {text.count(chr(10))} lines, {modules} modules, {len(findings)} findings")
    print(f"check_source: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
