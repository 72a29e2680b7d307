"""The one table of codes: what each means, whether PyTorch would raise, and its message form.

Everything that prints a code (the flake8 plugin, the CLI, the README table) reads this table.
"""

from __future__ import annotations

from typing import Dict, Union

from .record import dataclass

# the codes, as names: a typo is an error at import time, not a finding that never matches
CVS101, CVS102, CVS103 = "CVS101", "CVS102", "CVS103"
CVS201, CVS202, CVS203 = "CVS201", "CVS202", "CVS203"
CVS204 = "CVS204"
CVS301, CVS302 = "CVS301", "CVS302"

# every block is an ``nn.Sequential`` or a ``forward()``: a file without these words has
# nothing to check (the pre-filter of the plugin, the CLI and the editor)
MARKER = "Sequential"
# (a Keras functional model need not say Sequential; its imports say keras)
MARKERS = (MARKER, "def forward", "keras")


_MARKER_BYTES = tuple(m.encode() for m in MARKERS)


def marked(text: Union[str, bytes]) -> bool:
    """Whether ``text`` (a file, or one line of it; or a file's bytes, for the cache's key, where
    only an ASCII-compatible encoding can say the markers) may hold a block."""
    if isinstance(text, bytes):
        return any(m in text for m in _MARKER_BYTES)
    return any(m in text for m in MARKERS)


@dataclass(frozen=True)
class Code:
    code: str
    summary: str  # one line, for the README table and --help
    at_runtime: str  # what PyTorch does: "silent", "raises", or per layer (CVS202)
    # "error": PyTorch raises; "warning": a comment lies; "note": legal but suspicious. SARIF
    # levels by these names, LSP severities Error / Warning / Information
    severity: str = "warning"
    fixable: bool = False  # ``fix`` and the editor's quick fix can rewrite the comment
    default_on: bool = True
    example_bad: str = ""  # README before/after
    example_good: str = ""


CODES: Dict[str, Code] = {
    c.code: c
    for c in (
        Code(
            CVS101,
            "a shape comment disagrees with the replayed shape (channels, sizes or rank)",
            "silent",
            fixable=True, example_bad="# input: 64 x 32 x 32\nnn.Conv2d(64, 128, 4, 2, 1),\n# state size. 64 x 16 x 16",
            example_good="# input: 64 x 32 x 32\nnn.Conv2d(64, 128, 4, 2, 1),\n# state size. 128 x 16 x 16",
        ),
        Code(
            CVS102,
            "a trailing arithmetic comment on a layer line states a result that disagrees with "
            "the layer's output size",
            "silent",
            fixable=True, example_bad="# input: 512 x 4 x 4\nnn.ConvTranspose2d(512, 256, 4, 2, 1),  # (4-1)*2-2*1+4=16\n# 256 x 8 x 8",
            example_good="# input: 512 x 4 x 4\nnn.ConvTranspose2d(512, 256, 4, 2, 1),  # (4-1)*2-2*1+4=8\n# 256 x 8 x 8",
        ),
        Code(
            CVS103,
            "the shape comments of a block contradict each other: no input size fits them all, "
            "and no clear majority of them settles which is wrong (nothing is rewritten)",
            "silent",
            example_bad="# input: 3 x 64 x 64\nnn.Conv2d(3, 64, 3, 1, 1),\n# state size. 64 x 60 x 60",
            example_good="# input: 3 x 64 x 64\nnn.Conv2d(3, 64, 3, 1, 1),\n# state size. 64 x 64 x 64",
        ),
        Code(
            CVS201,
            "a layer's input-size parameter (in_channels, num_features, in_features, "
            "num_parameters, normalized_shape, ...) disagrees with the incoming shape, or the "
            "incoming tensor does not fit the layer (a reflection padding as large as the input, "
            "channels PixelShuffle or GroupNorm cannot split, ...)",
            "raises",
            severity="error", example_bad="nn.Conv2d(3, 64, 4, 2, 1),\nnn.BatchNorm2d(128),",
            example_good="nn.Conv2d(3, 64, 4, 2, 1),\nnn.BatchNorm2d(64),",
        ),
        Code(
            CVS202,
            "a layer's output size would be zero or negative",
            "raises; a size of exactly 0 in Linear, Embedding, adaptive pools or constant padding "
            "runs and gives an empty tensor (in ConvTranspose, FractionalMaxPool and reflection or "
            "replication padding it depends on the backend or the input)",
            severity="error", example_bad="# input: 3 x 4 x 4\nnn.Conv2d(3, 64, 5),",
            example_good="# input: 3 x 4 x 4\nnn.Conv2d(3, 64, 3),",
        ),
        Code(
            CVS203,
            "an invalid parameter combination (groups not dividing channels, output_padding "
            "not smaller than stride or dilation, padding='same' with stride > 1, pool padding "
            "over half the kernel, dropout p outside [0, 1], ...)",
            "raises",
            severity="error", example_bad="nn.Conv2d(64, 96, 3, groups=5),",
            example_good="nn.Conv2d(64, 96, 3, groups=4),",
        ),
        Code(
            CVS204,
            "a tensor operation in forward() that PyTorch would reject: torch.cat/stack sizes "
            "that differ off the axis, shapes that do not broadcast, matrix sizes that do not "
            "meet, a view or reshape that does not keep the element count, a dimension out of range",
            "raises",
            severity="error",
            example_bad="def forward(self, x):  # (B, 64, 32, 32)\n    return x.view(x.size(0), 64, 16, 16)",
            example_good="def forward(self, x):  # (B, 64, 32, 32)\n    return x.view(x.size(0), 64, 32 * 32)",
        ),
        Code(
            CVS301,
            "a conv or pool never reads some real input rows or columns: the remainder of "
            "(size + 2*padding - dilation*(kernel-1) - 1) / stride exceeds the padding",
            "silent",
            severity="note", example_bad="# input: 3 x 64 x 64\nnn.Conv2d(3, 64, 3, 2, 0),",
            example_good="# input: 3 x 64 x 64\nnn.Conv2d(3, 64, 3, 2, 1),",
        ),
        Code(
            CVS302,
            "(off by default) a transposed conv whose kernel size is not a multiple of its "
            "stride: uneven overlap, checkerboard artifacts",
            "silent",
            default_on=False,
            severity="note", example_bad="nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1),",
            example_good="nn.ConvTranspose2d(64, 32, 4, 2, 1),",
        ),
    )
}

DEFAULT_OFF = tuple(c.code for c in CODES.values() if not c.default_on)
FIXABLE = tuple(c.code for c in CODES.values() if c.fixable)
SEVERITIES = ("error", "warning", "note")


def readme_table() -> str:
    """The codes table as it stands in README.md (a test keeps the two equal)."""
    rows = ["| code | meaning | PyTorch at runtime | severity |", "|---|---|---|---|"]
    for c in CODES.values():
        rows.append(f"| {c.code} | {c.summary} | {c.at_runtime} | {c.severity}{', fixable' if c.fixable else ''} |")
    return "\n".join(rows)
