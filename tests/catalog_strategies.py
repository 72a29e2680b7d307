"""Hypothesis strategies for tests/test_catalog_differential.py: per catalog layer, arguments
and an input shape, valid and invalid, as a ``Case`` (drawing one needs no PyTorch).

They live apart from the differential, which skips without torch, so that
tests/test_catalog_strategies.py can check everywhere that every catalog entry has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from hypothesis import strategies as st

from flake8_convshape.analysis import trace_source

# The corners where the replay gives an unknown shape on purpose (the draw names which one).
UNKNOWN_CORNERS = {
    "indices": "return_indices=True: the layer returns a tuple",
    "circular-crop": "circular padding with a negative amount: PyTorch's in-place copy may overlap "
    "itself, depending on the memory layout of the whole tensor",
    "pad-tuple-rank": "padding_mode other than 'zeros' with a padding tuple of another length than "
    "the spatial rank: F.pad pads that many trailing dims, which ones depends on batching",
    "transpose-dilation0": "a transposed conv with dilation 0: PyTorch's checks let it through and "
    "the CPU backend decides (oneDNN takes it in 1d/2d when the kernel is 1)",
    "lp-norm": "LPPool1d with a tuple kernel_size, LPPool3d with a kernel larger than the input: "
    "PyTorch accepts them only for norm_type inf (a MaxPool then), and the evaluator does not "
    "read float('inf')",
    "second-input": "a module whose output has the shape of a second forward() input (Transformer's tgt), "
    "which a Sequential does not pass",
    "rank": "an input rank the layer does not take batched (the replay assumes batched tensors, and "
    "a model run on unbatched ones has other ranks): quiet",
}


# --------------------------------------------------------------------------- cases


class Raw(str):
    """Argument text rendered as is (``float('inf')``)."""


@dataclass
class Case:
    name: str
    values: Dict[str, Any]  # arguments to pass (by name); the rest take their defaults
    shape: Tuple[int, ...]  # the input, batch first
    index_input: bool = False  # integer input (Embedding)
    unknown: Optional[str] = None  # a key of UNKNOWN_CORNERS: the replay must say unknown
    split: int = 0  # how many leading arguments go positionally (clipped to what is possible)
    inputs: int = 1  # how many times forward() gets the input (self-attention: query, key, value)


# --------------------------------------------------------------------------- drawing helpers

SMALL = {1: 12, 2: 9, 3: 6}  # largest spatial size per spatial rank


def batch(draw) -> int:
    return draw(st.sampled_from([2, 2, 2, 1, 3]))


def spatial(draw, nd: int, lo: int = 1, hi: Optional[int] = None) -> Tuple[int, ...]:
    hi = hi or SMALL[nd]
    if draw(st.integers(0, 2)) == 0:
        v = draw(st.integers(lo, hi))
        return (v,) * nd
    return tuple(draw(st.integers(lo, hi)) for _ in range(nd))


def per_dim(draw, nd: int, lo: int, hi: int, tuple_lengths: Sequence[int] = ()) -> Any:
    """An int, or a tuple of nd values (sometimes of another length from ``tuple_lengths``)."""
    form = draw(st.integers(0, 9))
    if form < 5:
        return draw(st.integers(lo, hi))
    if form == 9 and tuple_lengths:
        n = draw(st.sampled_from(list(tuple_lengths)))
        return tuple(draw(st.integers(lo, hi)) for _ in range(n))
    return tuple(draw(st.integers(lo, hi)) for _ in range(nd))


def maybe(draw, values: Dict[str, Any], name: str, value: Any, default: Any, p_omit: int = 2) -> None:
    """Pass ``value`` unless it is the default and the draw says leave it out."""
    if value == default and type(value) is type(default) and draw(st.integers(0, p_omit)) > 0:
        return
    values[name] = value


def channels(draw, incoming: int) -> int:
    """Mostly the incoming channel count, sometimes another one."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.integers(1, 9))
    return incoming


def split(draw) -> int:
    return draw(st.integers(0, 8))


# --------------------------------------------------------------------------- strategies


@st.composite
def conv_case(draw, nd: int, transposed: bool, lazy: bool):
    """Mostly valid convolutions (about half run in PyTorch), each argument sometimes wrong."""
    rare = lambda: draw(st.integers(0, 11)) == 0  # noqa: E731  (one argument in twelve goes wrong)
    b, c = batch(draw), draw(st.integers(1, 6))
    size = spatial(draw, nd)
    divisors = [g for g in range(1, c + 1) if c % g == 0]
    groups = draw(st.sampled_from([1, 1, 1] + divisors)) if not rare() else draw(st.sampled_from([0, -1, 2, 3, 4]))
    values: Dict[str, Any] = {}
    if not lazy:
        values["in_channels"] = c if not rare() else draw(st.integers(1, 8))
    out = groups * draw(st.integers(1, 3)) if groups > 0 else draw(st.integers(1, 4))
    values["out_channels"] = out if not rare() else draw(st.sampled_from([0, out + 1, 5]))
    values["kernel_size"] = per_dim(draw, nd, 0 if rare() else 1, 3 if nd == 3 else 4, (1, nd + 1) if rare() else ())
    stride = per_dim(draw, nd, 0 if rare() else 1, 3, (1, nd + 1) if rare() else (1,))
    maybe(draw, values, "stride", stride, 1)
    unknown = None
    if transposed:
        maybe(draw, values, "padding", per_dim(draw, nd, -1 if rare() else 0, 2, (1,)), 0)
        maybe(draw, values, "output_padding", per_dim(draw, nd, -1 if rare() else 0, 1, (1,)), 0)
        if draw(st.integers(0, 29)) == 0:
            values["padding"] = draw(st.sampled_from(["same", "valid"]))
    else:
        form = draw(st.integers(0, 9))
        if form < 6:
            maybe(draw, values, "padding", per_dim(draw, nd, -1 if rare() else 0, 3, (1, nd + 1) if rare() else (1,)), 0)
        elif form < 8:
            values["padding"] = "same"
        elif form == 8:
            values["padding"] = "valid"
        else:
            values["padding"] = draw(st.sampled_from(["full", "SAME"])) if rare() else "valid"
    maybe(draw, values, "dilation", per_dim(draw, nd, 0 if rare() else 1, 2, (1,)), 1)
    maybe(draw, values, "groups", groups, 1)
    maybe(draw, values, "bias", draw(st.sampled_from([True, False])), True)
    modes = ["zeros"] * 6 + ["reflect", "replicate", "circular"] if not transposed else ["zeros"] * 12 + ["reflect"]
    mode = draw(st.sampled_from(modes)) if not rare() else "wrap"
    if mode != "zeros" or draw(st.integers(0, 5)) == 0:
        values["padding_mode"] = mode
    pad = values.get("padding", 0)
    if not transposed and mode in ("reflect", "replicate", "circular") and isinstance(pad, tuple) and len(pad) != nd:
        unknown = _unless_param_error(values, nd, transposed, "pad-tuple-rank")
    if not transposed and mode == "circular" and _negative(pad):
        unknown = _unless_param_error(values, nd, transposed, "circular-crop", size)
    if transposed and unknown is None:
        dil = values.get("dilation", 1)
        dil = dil if isinstance(dil, tuple) else (dil,)
        if 0 in dil and min(dil) == 0:
            unknown = _unless_param_error(values, nd, transposed, "transpose-dilation0")
    name = ("Lazy" if lazy else "") + ("ConvTranspose" if transposed else "Conv") + f"{nd}d"
    return Case(name, values, (b, c, *size), unknown=unknown, split=split(draw))


def _negative(v: Any) -> bool:
    return (isinstance(v, int) and v < 0) or (isinstance(v, tuple) and any(isinstance(x, int) and x < 0 for x in v))


def _unless_param_error(values: Dict[str, Any], nd: int, transposed: bool, corner: str, size=None) -> Optional[str]:
    """The corner, unless a parameter error (which the replay reports anyway) comes first."""
    ok_sizes = True
    for name in ("kernel_size", "stride", "dilation"):
        v = values.get(name, 1)
        vals = v if isinstance(v, tuple) else (v,)
        lowest = 0 if name == "dilation" and corner == "transpose-dilation0" else 1
        if any(x < lowest for x in vals):
            ok_sizes = False
        if isinstance(v, tuple) and len(v) != nd and (name == "kernel_size" or len(v) != 1):
            ok_sizes = False
    g = values.get("groups", 1)
    cin, cout = values.get("in_channels"), values["out_channels"]
    lenient = transposed and cin is None and values.get("bias", True) is False  # LazyConvTranspose
    if g <= 0 or (cin is not None and cin % g) or (cout % g and not lenient) or cout // g == 0:
        return None
    pad = values.get("padding", 0)
    if isinstance(pad, str) and pad not in ("same", "valid"):
        return None
    if isinstance(pad, tuple) and len(pad) not in (1, nd) and corner != "pad-tuple-rank":
        ok_sizes = False
    if transposed:
        for name in ("padding", "output_padding"):
            v = values.get(name, 0)
            if isinstance(v, str) or any(x < 0 for x in (v if isinstance(v, tuple) else (v,))):
                ok_sizes = False
            if isinstance(v, tuple) and len(v) not in (1, nd):
                ok_sizes = False
    if not ok_sizes:
        return None
    if corner == "circular-crop" and size is not None:
        p = pad if isinstance(pad, tuple) else (pad,)
        p = p * nd if len(p) == 1 else p
        for L, q in zip(size, p):
            if q > L or L + 2 * q < 0:
                return None  # wrapping or a negative size: reported
    return corner


_READS_INF: List[bool] = []


def reads_float_inf() -> bool:
    """Whether the evaluator reads ``float('inf')`` (then LPPool's inf corners are modelled)."""
    if not _READS_INF:
        source = "import torch.nn as nn\nm = nn.Sequential(\n    # input: 3 x 8\n    nn.LPPool1d(float('inf'), (2,)),\n)\n"
        _READS_INF.append(trace_source(source)[0].steps[-1].shape is not None)
    return _READS_INF[0]


@st.composite
def pool_case(draw, nd: int, kind: str):
    b, c = batch(draw), draw(st.integers(1, 4))
    size = spatial(draw, nd)
    values: Dict[str, Any] = {}
    lengths = (1, nd + 1)
    if kind == "lp":
        values["norm_type"] = draw(st.sampled_from([1, 2, 2.0, 3, Raw("float('inf')"), 0.5, 0]))
        values["kernel_size"] = per_dim(draw, nd, 0 if draw(st.integers(0, 9)) == 0 else 1, 4, lengths)
    else:
        values["kernel_size"] = per_dim(draw, nd, 0 if draw(st.integers(0, 9)) == 0 else 1, 4, lengths)
    if draw(st.integers(0, 2)) > 0:
        values["stride"] = per_dim(draw, nd, 0 if draw(st.integers(0, 9)) == 0 else 1, 3, lengths)
        if draw(st.integers(0, 19)) == 0:
            values["stride"] = None
    if kind in ("max", "avg"):
        maybe(draw, values, "padding", per_dim(draw, nd, -1 if draw(st.integers(0, 19)) == 0 else 0, 2, lengths), 0)
    if kind == "max":
        maybe(draw, values, "dilation", per_dim(draw, nd, 0 if draw(st.integers(0, 19)) == 0 else 1, 3, lengths), 1)
        if draw(st.integers(0, 9)) == 0:
            values["return_indices"] = True
    maybe(draw, values, "ceil_mode", draw(st.booleans()), False)
    if kind == "avg":
        maybe(draw, values, "count_include_pad", draw(st.booleans()), True)
        if nd > 1 and draw(st.integers(0, 3)) == 0:
            values["divisor_override"] = draw(st.sampled_from([None, 1, 2, 0, -1]))
    name = {"max": "MaxPool", "avg": "AvgPool", "lp": "LPPool"}[kind] + f"{nd}d"
    unknown = "indices" if values.get("return_indices") else None
    if kind == "lp" and isinstance(values["norm_type"], Raw) and not reads_float_inf():
        k = values["kernel_size"]
        if nd == 1 and isinstance(k, tuple):
            unknown = "lp-norm"
        if nd == 3 and any(x > L for x, L in zip(k if isinstance(k, tuple) else (k,) * 3, size)):
            unknown = "lp-norm"
    return Case(name, values, (b, c, *size), unknown=unknown, split=split(draw))


@st.composite
def batchnorm_case(draw, name: str, ranks: Sequence[int], lazy: bool = False):
    b, c = batch(draw), draw(st.integers(1, 6))
    rank = draw(st.sampled_from(list(ranks)))
    size = spatial(draw, 3, 1, 4)[: rank - 2] if rank > 2 else ()
    values: Dict[str, Any] = {}
    if not lazy:
        values["num_features"] = channels(draw, c)
    maybe(draw, values, "eps", draw(st.sampled_from([1e-5, 1e-3])), 1e-5)
    maybe(draw, values, "momentum", draw(st.sampled_from([0.1, 0.2, None])), 0.1)
    maybe(draw, values, "affine", draw(st.booleans()), True)
    maybe(draw, values, "track_running_stats", draw(st.booleans()), True)
    if draw(st.integers(0, 3)) == 0:
        values["bias"] = draw(st.booleans())
    return Case(name, values, (b, c, *size), split=split(draw))


@st.composite
def linear_case(draw, lazy: bool = False):
    rank = draw(st.sampled_from([2, 2, 3, 4]))
    shape = (batch(draw), *(draw(st.integers(1, 5)) for _ in range(rank - 2)), draw(st.integers(1, 9)))
    values: Dict[str, Any] = {}
    if not lazy:
        values["in_features"] = channels(draw, shape[-1])
    values["out_features"] = draw(st.sampled_from([1, 3, 5, 8, 0]))
    maybe(draw, values, "bias", draw(st.booleans()), True)
    return Case("LazyLinear" if lazy else "Linear", values, shape, split=split(draw))


@st.composite
def flatten_case(draw):
    rank = draw(st.integers(2, 5))
    shape = (batch(draw), *(draw(st.integers(1, 4)) for _ in range(rank - 1)))
    values: Dict[str, Any] = {}
    maybe(draw, values, "start_dim", draw(st.integers(-rank - 1, rank)), 1)
    maybe(draw, values, "end_dim", draw(st.integers(-rank - 1, rank)), -1)
    return Case("Flatten", values, shape, split=split(draw))


@st.composite
def unflatten_case(draw):
    rank = draw(st.integers(2, 4))
    shape = (batch(draw), *(draw(st.sampled_from([1, 2, 3, 4, 6, 8, 12])) for _ in range(rank - 1)))
    dim = draw(st.integers(-rank - 1, rank))
    target = shape[dim] if -rank <= dim < rank else 6
    factors = [f for f in range(1, target + 1) if target % f == 0]
    a = draw(st.sampled_from(factors))
    sizes: List[int] = [a, target // a]
    form = draw(st.integers(0, 9))
    if form == 0:
        sizes = [target]
    elif form == 1:
        sizes = [a, -1]
    elif form == 2:
        sizes = [a + 1, target // a]
    elif form == 3:
        sizes = [-1, -1]
    elif form == 4:
        sizes = [a, 1, target // a]
    elif form == 5:
        sizes = [0, a]
    unflattened = tuple(sizes) if draw(st.booleans()) else list(sizes)
    return Case("Unflatten", {"dim": dim, "unflattened_size": unflattened}, shape, split=split(draw))


ACTIVATION_ARGS: Dict[str, Any] = {
    "ReLU": lambda d: _opt(d, inplace=st.booleans()),
    "ReLU6": lambda d: _opt(d, inplace=st.booleans()),
    "SELU": lambda d: _opt(d, inplace=st.booleans()),
    "SiLU": lambda d: _opt(d, inplace=st.booleans()),
    "Mish": lambda d: _opt(d, inplace=st.booleans()),
    "Hardswish": lambda d: _opt(d, inplace=st.booleans()),
    "Hardsigmoid": lambda d: _opt(d, inplace=st.booleans()),
    "LeakyReLU": lambda d: _opt(d, negative_slope=st.sampled_from([0.01, 0.2, -1.0]), inplace=st.booleans()),
    "ELU": lambda d: _opt(d, alpha=st.sampled_from([1.0, 0.5, 0.0]), inplace=st.booleans()),
    "CELU": lambda d: _opt(d, alpha=st.sampled_from([1.0, 0.5, 0.0, -1.0, 0]), inplace=st.booleans()),
    "GELU": lambda d: _opt(d, approximate=st.sampled_from(["none", "tanh", "tanh", "fast"])),
    "Hardtanh": lambda d: _opt(
        d, min_val=st.sampled_from([-1.0, -2.0, 0.5, 1.0]), max_val=st.sampled_from([1.0, 2.0, 0.5]), inplace=st.booleans()
    ),
    "Softplus": lambda d: _opt(d, beta=st.sampled_from([1.0, 2, 0.5]), threshold=st.sampled_from([20.0, 10, -1.0])),
    "Softshrink": lambda d: _opt(d, lambd=st.sampled_from([0.5, 0.0, 1, -0.5])),
    "Hardshrink": lambda d: _opt(d, lambd=st.sampled_from([0.5, 0.0, 1, -0.5])),
    "Threshold": lambda d: _req(
        d, threshold=st.sampled_from([0.1, 0.0, -1.0, 2]), value=st.sampled_from([0.0, 20.0, -1]), inplace=st.booleans()
    ),
    "RReLU": lambda d: _opt(
        d, lower=st.sampled_from([0.125, 0.0, 0.3, 0.5]), upper=st.sampled_from([1 / 3, 0.1, 0.5, 0.9]), inplace=st.booleans()
    ),
    "Sigmoid": lambda d: {},
    "Tanh": lambda d: {},
    "LogSigmoid": lambda d: {},
    "Softsign": lambda d: {},
    "Tanhshrink": lambda d: {},
    "Identity": lambda d: d(st.sampled_from([{}, {}, {"foo": 3}])),
}


def _opt(draw, **strategies) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name, strategy in strategies.items():
        if draw(st.booleans()):
            out[name] = draw(strategy)
    return out


def _req(draw, **strategies) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for i, (name, strategy) in enumerate(strategies.items()):
        if i < 2 or draw(st.booleans()):
            out[name] = draw(strategy)
    return out


def any_shape(draw, lo_rank: int = 2, hi_rank: int = 5) -> Tuple[int, ...]:
    rank = draw(st.integers(lo_rank, hi_rank))
    return (batch(draw), *(draw(st.integers(1, 4)) for _ in range(rank - 1)))


@st.composite
def activation_case(draw, name: str):
    values = ACTIVATION_ARGS[name](draw)
    return Case(name, values, any_shape(draw), split=split(draw))


@st.composite
def softmax_case(draw, name: str):
    shape = any_shape(draw)
    values: Dict[str, Any] = {}
    if draw(st.integers(0, 5)) > 0:
        values["dim"] = draw(st.integers(-len(shape) - 1, len(shape)))
    return Case(name, values, shape, split=split(draw))


@st.composite
def prelu_case(draw):
    shape = any_shape(draw)
    c = shape[1]
    values: Dict[str, Any] = {}
    maybe(draw, values, "num_parameters", draw(st.sampled_from([1, c, c, c + 1, 0, 2])), 1)
    maybe(draw, values, "init", draw(st.sampled_from([0.25, 0.1])), 0.25)
    return Case("PReLU", values, shape, split=split(draw))


@st.composite
def dropout_case(draw, name: str):
    lo, hi = {"Dropout1d": (2, 4), "Dropout2d": (2, 5), "Dropout3d": (2, 5), "FeatureAlphaDropout": (2, 5)}.get(name, (2, 5))
    shape = any_shape(draw, lo, hi)
    values: Dict[str, Any] = {}
    maybe(draw, values, "p", draw(st.sampled_from([0.5, 0.0, 1.0, 0.2, 1, 1.5, -0.1])), 0.5)
    maybe(draw, values, "inplace", draw(st.booleans()), False)
    unknown = None
    if name == "Dropout1d" and len(shape) not in (2, 3) and 0 <= values.get("p", 0.5) <= 1:
        unknown = "rank"
    return Case(name, values, shape, unknown=unknown, split=split(draw))


@st.composite
def adaptive_case(draw, nd: int, kind: str):
    b, c = batch(draw), draw(st.integers(1, 4))
    size = spatial(draw, nd)
    form = draw(st.integers(0, 9))
    if form < 4:
        out: Any = draw(st.integers(-1 if draw(st.integers(0, 9)) == 0 else 0 if draw(st.integers(0, 9)) == 0 else 1, 6))
    elif form < 8:
        entries = [draw(st.integers(0 if draw(st.integers(0, 9)) == 0 else 1, 6)) for _ in range(nd)]
        if nd > 1 or draw(st.integers(0, 9)) == 0:
            entries = [None if draw(st.integers(0, 3)) == 0 else e for e in entries]
        out = tuple(entries)
    elif form == 8:
        out = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.sampled_from([1, nd + 1]))))
    else:
        out = draw(st.sampled_from([None, 2.0]))
    values: Dict[str, Any] = {"output_size": out}
    unknown = None
    if kind == "max" and draw(st.integers(0, 9)) == 0:
        values["return_indices"] = True
        unknown = "indices"
    name = ("AdaptiveAvgPool" if kind == "avg" else "AdaptiveMaxPool") + f"{nd}d"
    return Case(name, values, (b, c, *size), unknown=unknown, split=split(draw))


@st.composite
def fractional_case(draw, nd: int):
    b, c = batch(draw), draw(st.integers(1, 3))
    size = spatial(draw, nd, 1, 8 if nd == 2 else 6)
    values: Dict[str, Any] = {}
    values["kernel_size"] = per_dim(draw, nd, 0 if draw(st.integers(0, 9)) == 0 else 1, 3, (1, nd + 1))
    form = draw(st.integers(0, 9))
    if form < 5:
        values["output_size"] = per_dim(draw, nd, 0 if draw(st.integers(0, 9)) == 0 else 1, 6, (1,))
    elif form < 9:
        r = lambda: draw(st.sampled_from([0.5, 0.25, 0.7, 0.9, 0.3, 0.1, 0.75]))  # noqa: E731
        values["output_ratio"] = r() if draw(st.booleans()) else tuple(r() for _ in range(nd))
        if draw(st.integers(0, 9)) == 0:
            values["output_ratio"] = draw(st.sampled_from([1.0, 0.0, 1.5, (0.5,), (0.5,) * (nd + 1)]))
    elif draw(st.booleans()):
        values["output_size"], values["output_ratio"] = 2, 0.5
    unknown = None
    if draw(st.integers(0, 9)) == 0:
        values["return_indices"] = True
        unknown = "indices"
    return Case(f"FractionalMaxPool{nd}d", values, (b, c, *size), unknown=unknown, split=split(draw))


@st.composite
def instancenorm_case(draw, nd: int, lazy: bool):
    b, c = batch(draw), draw(st.integers(1, 6))
    size = spatial(draw, nd, 1, 4)
    values: Dict[str, Any] = {}
    if not lazy:
        values["num_features"] = draw(st.sampled_from([c, c, c, c + 1, max(c - 1, 0), 0]))
    maybe(draw, values, "eps", 1e-5, 1e-5)
    maybe(draw, values, "momentum", draw(st.sampled_from([0.1, None])), 0.1)
    default = lazy
    maybe(draw, values, "affine", draw(st.booleans()), default)
    maybe(draw, values, "track_running_stats", draw(st.booleans()), default)
    if draw(st.integers(0, 3)) == 0:
        values["bias"] = draw(st.booleans())
    name = ("LazyInstanceNorm" if lazy else "InstanceNorm") + f"{nd}d"
    return Case(name, values, (b, c, *size), split=split(draw))


@st.composite
def groupnorm_case(draw):
    shape = any_shape(draw)
    c = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 12]))
    shape = (shape[0], c, *shape[2:])
    g = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 0, -2]))
    values: Dict[str, Any] = {"num_groups": g, "num_channels": draw(st.sampled_from([c, c, c, 2 * c, 6, -c]))}
    maybe(draw, values, "eps", 1e-5, 1e-5)
    maybe(draw, values, "affine", draw(st.booleans()), True)
    if draw(st.integers(0, 3)) == 0:
        values["bias"] = draw(st.booleans())
    return Case("GroupNorm", values, shape, split=split(draw))


@st.composite
def layernorm_case(draw, name: str):
    shape = any_shape(draw)
    k = draw(st.integers(1, min(3, len(shape))))
    trailing = list(shape[len(shape) - k :])
    form = draw(st.integers(0, 9))
    if form == 0 and trailing:
        trailing[draw(st.integers(0, k - 1))] += 1
    elif form == 1:
        trailing = [draw(st.integers(1, 3))] + trailing
    elif form == 2:
        trailing = []
    elif form == 3:
        trailing[0] = draw(st.sampled_from([0, -1]))
    normalized: Any = tuple(trailing)
    if len(trailing) == 1 and draw(st.booleans()):
        normalized = trailing[0]
    elif draw(st.integers(0, 3)) == 0:
        normalized = list(trailing)
    values: Dict[str, Any] = {"normalized_shape": normalized}
    maybe(draw, values, "eps", draw(st.sampled_from([1e-5, 1e-6] if name == "LayerNorm" else [None, 1e-6])), 1e-5 if name == "LayerNorm" else None)
    maybe(draw, values, "elementwise_affine", draw(st.booleans()), True)
    if name == "LayerNorm":
        maybe(draw, values, "bias", draw(st.booleans()), True)
    return Case(name, values, shape, split=split(draw))


@st.composite
def lrn_case(draw):
    shape = any_shape(draw, 3, 5)
    values: Dict[str, Any] = {"size": draw(st.sampled_from([1, 2, 3, 5, 10, 0, -1]))}
    maybe(draw, values, "alpha", 1e-4, 1e-4)
    maybe(draw, values, "beta", 0.75, 0.75)
    maybe(draw, values, "k", draw(st.sampled_from([1.0, 2.0])), 1.0)
    return Case("LocalResponseNorm", values, shape, split=split(draw))


SCALES = [2, 2.0, 3, 1.5, 0.5, 0.75, 0.3, 0.29, 1.1, 2.5, 1, 0.25, -1, 0]


@st.composite
def upsample_case(draw, name: str):
    if name == "Upsample":
        mode = draw(st.sampled_from(["nearest"] * 4 + ["nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "box"]))
        ranks = {"linear": [3], "bilinear": [4], "bicubic": [4], "trilinear": [5]}.get(mode, [3, 4, 5])
        rank = draw(st.sampled_from(ranks))
    else:
        mode = "nearest" if name == "UpsamplingNearest2d" else "bilinear"
        rank = 4
    nd = rank - 2
    shape = (batch(draw), draw(st.integers(1, 3)), *spatial(draw, nd, 1, {1: 10, 2: 7, 3: 4}[nd]))
    values: Dict[str, Any] = {}
    form = draw(st.integers(0, 9))
    if form < 4:
        values["size"] = per_dim(draw, nd, 0 if draw(st.integers(0, 9)) == 0 else 1, 9, (1, nd + 1) if nd > 1 else (2,))
    elif form < 9:
        sc = lambda: draw(st.sampled_from(SCALES))  # noqa: E731
        values["scale_factor"] = sc() if draw(st.booleans()) else tuple(sc() for _ in range(nd))
    elif draw(st.booleans()):
        values["size"], values["scale_factor"] = 4, 2
    if name == "Upsample":
        if mode != "nearest" or draw(st.booleans()):
            values["mode"] = mode
        if draw(st.integers(0, 4)) == 0:
            values["align_corners"] = draw(st.booleans())
        if draw(st.integers(0, 6)) == 0:
            values["recompute_scale_factor"] = draw(st.sampled_from([True, False]))
    unknown = None
    for key in ("size", "scale_factor"):
        if isinstance(values.get(key), tuple) and len(values[key]) != nd:
            unknown = "rank"  # the rank the tuple implies is not the input's
    return Case(name, values, shape, unknown=unknown, split=split(draw))


@st.composite
def shuffle_case(draw, name: str):
    rank = draw(st.sampled_from([4, 4, 4, 5, 3] if name != "ChannelShuffle" else [4, 4, 3, 5]))
    r = draw(st.sampled_from([1, 2, 2, 3, 0, -1]))
    if name == "PixelShuffle":
        c = draw(st.sampled_from([r * r if r > 0 else 4, 2 * r * r if r > 0 else 8, 3, 4, 8]))
        rest = [draw(st.integers(1, 4)) for _ in range(rank - 2)]
    elif name == "PixelUnshuffle":
        c = draw(st.integers(1, 3))
        rest = [draw(st.integers(1, 3)) * (r if r > 0 and draw(st.integers(0, 3)) else 1) + (draw(st.integers(0, 1))) for _ in range(rank - 2)]
    else:
        c = draw(st.sampled_from([2, 4, 6, 3, 8]))
        rest = [draw(st.integers(1, 3)) for _ in range(rank - 2)]
    param = {"PixelShuffle": "upscale_factor", "PixelUnshuffle": "downscale_factor", "ChannelShuffle": "groups"}[name]
    value: Any = r
    if draw(st.integers(0, 19)) == 0:
        value = 2.0
    unknown = None
    if rank == 3 and name != "ChannelShuffle" and isinstance(value, int) and value > 0:
        unknown = "rank"
    return Case(name, {param: value}, (batch(draw), c, *rest), unknown=unknown, split=split(draw))


@st.composite
def pad_case(draw, name: str):
    nd = int(name[-2])
    mode = {"Zero": "constant", "Cons": "constant", "Refl": "reflect", "Repl": "replicate", "Circ": "circular"}[name[:4]]
    rank = draw(st.sampled_from([nd + 2, nd + 2, nd + 2, nd + 1] if nd + 1 >= 2 else [nd + 2]))
    if rank == 1:
        rank = nd + 2
    shape = (batch(draw), *(draw(st.integers(1, 5)) for _ in range(rank - 1)))
    lo = -3 if draw(st.integers(0, 5)) == 0 else 0
    form = draw(st.integers(0, 9))
    if form < 4:
        padding: Any = draw(st.integers(lo, 4))
    elif form < 9:
        padding = tuple(draw(st.integers(lo, 4)) for _ in range(2 * nd))
    else:
        padding = tuple(draw(st.integers(0, 2)) for _ in range(draw(st.sampled_from([1, 2, 3, 2 * nd + 2]))))
    values: Dict[str, Any] = {"padding": padding}
    if name.startswith("ConstantPad"):
        values["value"] = draw(st.sampled_from([0.0, 1.5, 2]))
    unknown = None
    pads = (padding,) * (2 * nd) if isinstance(padding, int) else padding
    k = len(pads) // 2
    if len(pads) % 2 == 0 and mode != "constant" and rank not in (k + 1, k + 2) and k in (1, 2, 3):
        unknown = "rank"
    if mode == "circular" and rank not in (nd + 1, nd + 2):
        unknown = "rank"
    if mode == "circular" and unknown is None and len(pads) % 2 == 0 and k in (1, 2, 3) and min(pads) < 0:
        dims = shape[len(shape) - k :]
        wrap = any(max(pads[2 * j], pads[2 * j + 1]) > dims[k - 1 - j] for j in range(k))
        negative = any(dims[k - 1 - j] + pads[2 * j] + pads[2 * j + 1] < 0 for j in range(k))
        if not wrap and not negative:
            unknown = "circular-crop"
    if mode == "constant" and len(pads) % 2 == 0 and k > len(shape):
        unknown = "rank"
    return Case(name, values, shape, unknown=unknown, split=split(draw))


@st.composite
def embedding_case(draw):
    rank = draw(st.sampled_from([2, 2, 2, 3, 4, 5]))
    shape = (batch(draw), *(draw(st.integers(1, 5 if rank < 4 else 3)) for _ in range(rank - 1)))
    n = draw(st.sampled_from([1, 5, 10, 10, 0]))
    values: Dict[str, Any] = {"num_embeddings": n, "embedding_dim": draw(st.sampled_from([1, 4, 8, 0]))}
    if draw(st.integers(0, 3)) == 0:
        values["padding_idx"] = draw(st.sampled_from([0, n - 1, n, -n, -n - 1, None]))
    if draw(st.integers(0, 5)) == 0:
        values["max_norm"] = 1.0
    if draw(st.integers(0, 5)) == 0:
        values["sparse"] = True
    return Case("Embedding", values, shape, index_input=True, split=split(draw))


@st.composite
def glu_case(draw):
    shape = list(any_shape(draw, 2, 4))
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    if -len(shape) <= dim < len(shape) and draw(st.integers(0, 3)) > 0:
        shape[dim] = 2 * draw(st.integers(1, 3))
    values: Dict[str, Any] = {}
    maybe(draw, values, "dim", dim, -1)
    return Case("GLU", values, tuple(shape), split=split(draw))


@st.composite
def softmax2d_case(draw):
    return Case("Softmax2d", {}, (batch(draw), draw(st.integers(1, 4)), *spatial(draw, 2, 1, 4)), split=0)


@st.composite
def transformer_case(draw):
    rare = lambda: draw(st.integers(0, 9)) == 0  # noqa: E731
    e = draw(st.sampled_from([4, 6, 8]))
    shape = (draw(st.integers(1, 4)), batch(draw), e if not rare() else e + 2)
    heads = [h for h in (1, 2, 3, 4) if e % h == 0]
    values: Dict[str, Any] = {"d_model": e, "nhead": draw(st.sampled_from(heads)) if not rare() else draw(st.sampled_from([0, 5, -1]))}
    maybe(draw, values, "dim_feedforward", draw(st.sampled_from([8, 16, 0])) if not rare() else -1, 2048)
    maybe(draw, values, "dropout", draw(st.sampled_from([0.1, 0.0])) if not rare() else 1.5, 0.1)
    maybe(draw, values, "activation", draw(st.sampled_from(["relu", "gelu"])) if not rare() else "tanh", "relu")
    maybe(draw, values, "batch_first", draw(st.booleans()), False)
    maybe(draw, values, "norm_first", draw(st.booleans()), False)
    maybe(draw, values, "bias", draw(st.booleans()), True)
    return Case("TransformerEncoderLayer", values, shape, split=split(draw))


@st.composite
def recurrent_case(draw, name: str):
    """RNN / GRU / LSTM on a batched or unbatched sequence, each argument sometimes wrong."""
    rare = lambda: draw(st.integers(0, 11)) == 0  # noqa: E731
    rank = draw(st.sampled_from([3, 3, 3, 2])) if not rare() else 4
    features = draw(st.integers(1, 5))
    shape = (*(draw(st.integers(1, 4)) for _ in range(rank - 1)), features)
    hidden = draw(st.integers(1, 5)) if not rare() else draw(st.sampled_from([0, -1]))
    values: Dict[str, Any] = {
        "input_size": features if not rare() else draw(st.sampled_from([features + 1, 0])),
        "hidden_size": hidden,
    }
    maybe(draw, values, "num_layers", draw(st.integers(1, 3)) if not rare() else 0, 1)
    if name == "RNN":
        maybe(draw, values, "nonlinearity", draw(st.sampled_from(["tanh", "relu"])) if not rare() else "gelu", "tanh")
    maybe(draw, values, "bias", draw(st.booleans()) if not rare() else 1, True)
    maybe(draw, values, "batch_first", draw(st.booleans()), False)
    maybe(draw, values, "dropout", draw(st.sampled_from([0.0, 0.5, 1])) if not rare() else draw(st.sampled_from([1.5, -0.1, True])), 0.0)
    maybe(draw, values, "bidirectional", draw(st.booleans()), False)
    if name == "LSTM" and draw(st.integers(0, 2)) == 0:
        values["proj_size"] = draw(st.integers(0, max(hidden - 1, 0))) if not rare() else draw(st.sampled_from([hidden, -1]))
    return Case(name, values, shape, unknown="rank" if rank == 4 else None, split=split(draw))


def _transformer_values(draw, rare, e: int) -> Dict[str, Any]:
    heads = [h for h in (1, 2, 3, 4) if e % h == 0]
    values: Dict[str, Any] = {"d_model": e, "nhead": draw(st.sampled_from(heads)) if not rare() else draw(st.sampled_from([0, 5, -1]))}
    maybe(draw, values, "dim_feedforward", draw(st.sampled_from([8, 16, 0])) if not rare() else -1, 2048)
    maybe(draw, values, "dropout", draw(st.sampled_from([0.1, 0.0])) if not rare() else draw(st.sampled_from([1.5, -0.5])), 0.1)
    maybe(draw, values, "activation", draw(st.sampled_from(["relu", "gelu"])) if not rare() else "tanh", "relu")
    maybe(draw, values, "batch_first", draw(st.booleans()), False)
    maybe(draw, values, "norm_first", draw(st.booleans()), False)
    maybe(draw, values, "bias", draw(st.booleans()), True)
    return values


def _sequence(draw, rare, e: int) -> Tuple[int, ...]:
    width = e if not rare() else e + 2
    if draw(st.integers(0, 4)) == 0:
        return (draw(st.integers(1, 4)), width)
    return (draw(st.integers(1, 4)), batch(draw), width)


@st.composite
def decoder_case(draw):
    """forward(tgt, memory) with memory = tgt: the output is tgt's shape."""
    rare = lambda: draw(st.integers(0, 9)) == 0  # noqa: E731
    e = draw(st.sampled_from([4, 6, 8]))
    values = _transformer_values(draw, rare, e)
    return Case("TransformerDecoderLayer", values, _sequence(draw, rare, e), split=split(draw), inputs=2)


@st.composite
def full_transformer_case(draw):
    """forward(src, tgt) with tgt = src; a Sequential passes no tgt, so the replay knows only the
    batch and d_model of the output (the shape is tgt's) and the constructor's and src's problems."""
    rare = lambda: draw(st.integers(0, 9)) == 0  # noqa: E731
    e = draw(st.sampled_from([4, 6, 8]))
    values = _transformer_values(draw, rare, e)
    values["num_encoder_layers"] = draw(st.integers(1, 2)) if not rare() else 0
    values["num_decoder_layers"] = draw(st.integers(1, 2)) if not rare() else 0
    shape = _sequence(draw, rare, e)
    # the replay knows the batch and d_model; the sequence length is tgt's, at dim 1 with batch_first
    unknown = "second-input" if len(shape) == 3 and values.get("batch_first") else None
    return Case("Transformer", values, shape, unknown=unknown, split=split(draw), inputs=2)


@st.composite
def attention_case(draw):
    """Self-attention (query = key = value), so kdim and vdim are left at embed_dim."""
    rare = lambda: draw(st.integers(0, 9)) == 0  # noqa: E731
    e = draw(st.sampled_from([4, 6, 8]))
    heads = [h for h in (1, 2, 3, 4) if e % h == 0]
    values: Dict[str, Any] = {"embed_dim": e, "num_heads": draw(st.sampled_from(heads)) if not rare() else draw(st.sampled_from([0, 5, -1]))}
    maybe(draw, values, "dropout", draw(st.sampled_from([0.0, 0.1])) if not rare() else 1.5, 0.0)
    maybe(draw, values, "bias", draw(st.booleans()), True)
    maybe(draw, values, "add_bias_kv", draw(st.booleans()), False)
    maybe(draw, values, "add_zero_attn", draw(st.booleans()), False)
    if draw(st.integers(0, 4)) == 0:
        values["kdim"] = values["vdim"] = e
    maybe(draw, values, "batch_first", draw(st.booleans()), False)
    return Case("MultiheadAttention", values, _sequence(draw, rare, e), split=split(draw), inputs=3)


# --------------------------------------------------------------------------- the table

STRATEGIES: Dict[str, Any] = {}
for _nd in (1, 2, 3):
    STRATEGIES[f"Conv{_nd}d"] = lambda nd=_nd: conv_case(nd, False, False)
    STRATEGIES[f"ConvTranspose{_nd}d"] = lambda nd=_nd: conv_case(nd, True, False)
    STRATEGIES[f"LazyConv{_nd}d"] = lambda nd=_nd: conv_case(nd, False, True)
    STRATEGIES[f"LazyConvTranspose{_nd}d"] = lambda nd=_nd: conv_case(nd, True, True)
    STRATEGIES[f"MaxPool{_nd}d"] = lambda nd=_nd: pool_case(nd, "max")
    STRATEGIES[f"AvgPool{_nd}d"] = lambda nd=_nd: pool_case(nd, "avg")
    STRATEGIES[f"LPPool{_nd}d"] = lambda nd=_nd: pool_case(nd, "lp")
    STRATEGIES[f"BatchNorm{_nd}d"] = lambda nd=_nd: batchnorm_case(f"BatchNorm{nd}d", (2, 3) if nd == 1 else (nd + 2,))
    STRATEGIES[f"LazyBatchNorm{_nd}d"] = lambda nd=_nd: batchnorm_case(
        f"LazyBatchNorm{nd}d", (2, 3) if nd == 1 else (nd + 2,), lazy=True
    )
STRATEGIES["SyncBatchNorm"] = lambda: batchnorm_case("SyncBatchNorm", (2, 3, 4, 5))
STRATEGIES["Linear"] = lambda: linear_case()
STRATEGIES["LazyLinear"] = lambda: linear_case(lazy=True)
STRATEGIES["Flatten"] = flatten_case
STRATEGIES["Unflatten"] = unflatten_case
for _name in ACTIVATION_ARGS:
    STRATEGIES[_name] = lambda name=_name: activation_case(name)
for _name in ("Softmax", "LogSoftmax", "Softmin"):
    STRATEGIES[_name] = lambda name=_name: softmax_case(name)
STRATEGIES["PReLU"] = prelu_case
for _name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
    STRATEGIES[_name] = lambda name=_name: dropout_case(name)

for _nd in (1, 2, 3):
    STRATEGIES[f"AdaptiveAvgPool{_nd}d"] = lambda nd=_nd: adaptive_case(nd, "avg")
    STRATEGIES[f"AdaptiveMaxPool{_nd}d"] = lambda nd=_nd: adaptive_case(nd, "max")
    STRATEGIES[f"InstanceNorm{_nd}d"] = lambda nd=_nd: instancenorm_case(nd, False)
    STRATEGIES[f"LazyInstanceNorm{_nd}d"] = lambda nd=_nd: instancenorm_case(nd, True)
    for _prefix in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"):
        STRATEGIES[f"{_prefix}{_nd}d"] = lambda name=f"{_prefix}{_nd}d": pad_case(name)
for _nd in (2, 3):
    STRATEGIES[f"FractionalMaxPool{_nd}d"] = lambda nd=_nd: fractional_case(nd)
STRATEGIES["GroupNorm"] = groupnorm_case
STRATEGIES["LayerNorm"] = lambda: layernorm_case("LayerNorm")
STRATEGIES["RMSNorm"] = lambda: layernorm_case("RMSNorm")
STRATEGIES["LocalResponseNorm"] = lrn_case
for _name in ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"):
    STRATEGIES[_name] = lambda name=_name: upsample_case(name)
for _name in ("PixelShuffle", "PixelUnshuffle", "ChannelShuffle"):
    STRATEGIES[_name] = lambda name=_name: shuffle_case(name)
STRATEGIES["Embedding"] = embedding_case
STRATEGIES["GLU"] = glu_case
STRATEGIES["Softmax2d"] = softmax2d_case
STRATEGIES["TransformerEncoderLayer"] = transformer_case
STRATEGIES["TransformerDecoderLayer"] = decoder_case
STRATEGIES["Transformer"] = full_transformer_case
STRATEGIES["MultiheadAttention"] = attention_case
for _name in ("RNN", "GRU", "LSTM"):
    STRATEGIES[_name] = lambda name=_name: recurrent_case(name)
