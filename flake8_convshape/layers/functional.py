"""The ``F.*`` counterparts of catalog layers, registered in OPERATIONS.

Where the arithmetic is a layer's, the layer's transfer function does it: pools, adaptive
pools, conv (its kernel and channels read off the ``weight`` operand), padding, interpolate,
dropout, GLU, pixel shuffles. The functional forms also take unbatched inputs where PyTorch
does (a pool or conv on (C, *spatial)): the layer then runs on a batch of one and the batch is
taken off again. What is not a layer's is written here: ``F.linear`` and ``F.embedding`` with
a weight operand, ``F.softmax`` / ``F.normalize`` (shape-keeping, the dim checked),
``F.scaled_dot_product_attention``.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

from ..codes import CVS201, CVS203
from ..dims import Poly, describe, differs
from .base import (
    CATALOG,
    KW_ONLY,
    ONE,
    REQUIRED,
    UNKNOWN,
    UNKNOWN_SHAPE,
    Args,
    Default,
    LayerCall,
    Outcome,
    Shape,
    Texts,
    TransferFn,
    Value,
    register_op,
    truth,
)
from .activation import DROPOUTS
from .broadcast import broadcast_dims
from .conv import make_conv
from .norm import make_layer_norm
from .padding import CLASSES, make_pad, pad_ranks, pads_of
from .pool import make_adaptive, make_pool
from .resample import MODE_RANKS, interpolate
from .tensor_ops import dims_of, keep, reject, softmax_like, unknown

FAMILY = "functional"
PREFIX = "F."


def _clean(out: Outcome, shape: Optional[Shape] = None) -> Outcome:
    """A layer's outcome as an operation's: no parameters, the shape given (or its own)."""
    return Outcome(out.shape if shape is None else shape, out.problems, out.arithmetic, out.changes, rest=out.rest)


def on_batch(fn: TransferFn, nd: int) -> TransferFn:
    """A layer that takes (N, C, *nd spatial) run on that or on an unbatched (C, *spatial)."""

    def run(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        if shape.dims is None or len(shape.dims) not in (nd + 1, nd + 2):
            return _clean(fn(args, UNKNOWN_SHAPE, call), UNKNOWN_SHAPE)  # what the arguments alone say
        if len(shape.dims) == nd + 2:
            return _clean(fn(args, shape, call))
        out = fn(args, Shape((ONE, *shape.dims)), call)
        dims = out.shape.dims
        return _clean(out, Shape(dims[1:]) if dims is not None and len(dims) == nd + 2 else UNKNOWN_SHAPE)

    return run


def _args(values: Dict[str, Value], texts: Dict[str, str]) -> Args:
    kept = Texts()
    for key, text in texts.items():
        kept.put(key, text)
    return Args(values, kept)


# --------------------------------------------------------------------------- shape-keeping

# the functional forms whose signature is their module's (``nn.LeakyReLU(0.2, True)``,
# ``F.leaky_relu(x, 0.2, True)``), and the others
SAME_SIGNATURE = {
    "relu": "ReLU", "relu6": "ReLU6", "selu": "SELU", "silu": "SiLU", "mish": "Mish", "hardswish": "Hardswish",
    "hardsigmoid": "Hardsigmoid", "sigmoid": "Sigmoid", "tanh": "Tanh", "softsign": "Softsign",
    "tanhshrink": "Tanhshrink", "logsigmoid": "LogSigmoid", "elu": "ELU", "leaky_relu": "LeakyReLU",
    "softplus": "Softplus", "hardshrink": "Hardshrink", "threshold": "Threshold", "celu": "CELU", "gelu": "GELU",
}
ACTIVATIONS: Dict[str, Tuple[Tuple[str, Default], ...]] = {
    **{name: CATALOG[layer].params for name, layer in SAME_SIGNATURE.items()},
    "hardtanh": (("min_val", -1.0), ("max_val", 1.0), ("inplace", False)),
    "softshrink": (("lambd", 0.5),),
    "rrelu": (("lower", 1.0 / 8), ("upper", 1.0 / 3), ("training", False), ("inplace", False)),
    "prelu": (("weight", REQUIRED),),
}
for _name, _params in ACTIVATIONS.items():
    register_op(PREFIX + _name, FAMILY, (("input", REQUIRED), *_params))(keep)

# F.dropout, F.dropout1d, F.alpha_dropout, F.feature_alpha_dropout, ... for each dropout layer
DROPOUT_LAYER = {re.sub(r"(?<!^)(?=[A-Z])", "_", layer).lower(): layer for layer in DROPOUTS}


def layer_op(layer: str) -> TransferFn:
    """The layer's own transfer function, its rank rule included (Dropout1d: 2 or 3 dims)."""
    spec = CATALOG[layer]

    def run(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        return _clean(spec.run(args, shape, call))

    return run


for _name, _layer in DROPOUT_LAYER.items():
    _training = _name not in ("alpha_dropout", "feature_alpha_dropout")
    _sig = (("input", REQUIRED), ("p", 0.5), ("training", _training), ("inplace", False))
    register_op(PREFIX + _name, FAMILY, _sig)(layer_op(_layer))

for _name in ("softmax", "log_softmax", "softmin"):
    register_op(PREFIX + _name, FAMILY, (("input", REQUIRED), ("dim", None), ("_stacklevel", 3), ("dtype", None)))(softmax_like)
register_op(PREFIX + "normalize", FAMILY, (("input", REQUIRED), ("p", 2.0), ("dim", 1), ("eps", 1e-12), ("out", None)))(softmax_like)


register_op(PREFIX + "glu", FAMILY, (("input", REQUIRED), ("dim", -1)))(layer_op("GLU"))


# --------------------------------------------------------------------------- windows

MAX_POOL = (("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("dilation", 1), ("ceil_mode", False), ("return_indices", False))
AVG_POOL = (("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("ceil_mode", False), ("count_include_pad", True))
for _nd in (1, 2, 3):
    register_op(f"{PREFIX}max_pool{_nd}d", FAMILY, (("input", REQUIRED), *MAX_POOL))(on_batch(make_pool(_nd, "max"), _nd))
    _avg = AVG_POOL if _nd == 1 else (*AVG_POOL, ("divisor_override", None))
    register_op(f"{PREFIX}avg_pool{_nd}d", FAMILY, (("input", REQUIRED), *_avg))(on_batch(make_pool(_nd, "avg"), _nd))
    register_op(f"{PREFIX}adaptive_avg_pool{_nd}d", FAMILY, (("input", REQUIRED), ("output_size", REQUIRED)))(
        on_batch(make_adaptive(_nd, "avg"), _nd)
    )
    register_op(
        f"{PREFIX}adaptive_max_pool{_nd}d", FAMILY, (("input", REQUIRED), ("output_size", REQUIRED), ("return_indices", False))
    )(on_batch(make_adaptive(_nd, "max"), _nd))


def _conv(nd: int) -> TransferFn:
    layer = on_batch(make_conv(nd), nd)

    def functional_conv(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        """Conv{nd}d with out_channels = weight.shape[0], in_channels = weight.shape[1] * groups
        and the kernel weight.shape[2:]."""
        weight = dims_of(args["weight"])
        if weight is None or len(weight) != nd + 2:
            return unknown()
        groups = args["groups"]
        per_group = weight[1]
        kernel = weight[2:]
        in_ch: Value = per_group * groups if per_group is not None and isinstance(groups, Poly) else UNKNOWN
        values: Dict[str, Value] = {
            "in_channels": in_ch,
            "out_channels": weight[0] if weight[0] is not None else UNKNOWN,
            "kernel_size": tuple(k if k is not None else UNKNOWN for k in kernel),
            "stride": args["stride"],
            "padding": args["padding"],
            "dilation": args["dilation"],
            "groups": groups,
            "bias": args["bias"] is not None,
            "padding_mode": "zeros",
        }
        texts = {name: args.texts[name] for name in ("stride", "padding", "dilation", "groups")}
        texts["kernel_size"] = "weight.shape[2:]"
        return layer(_args(values, texts), shape, call)

    return functional_conv


CONV = (("input", REQUIRED), ("weight", REQUIRED), ("bias", None), ("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1))
for _nd in (1, 2, 3):
    register_op(f"{PREFIX}conv{_nd}d", FAMILY, CONV)(_conv(_nd))


# --------------------------------------------------------------------------- padding and resampling


@register_op(PREFIX + "pad", FAMILY, (("input", REQUIRED), ("pad", REQUIRED), ("mode", "constant"), ("value", None)))
def pad(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """The padding layers' arithmetic: ``pad`` pads the last len(pad)//2 dims, last first."""
    mode = args["mode"]
    pads = pads_of(args["pad"])
    if not isinstance(mode, str) or pads is None:
        return unknown()
    prefix = {m: p for p, m in CLASSES.items()}.get(mode)
    if prefix is None:
        return Outcome(UNKNOWN_SHAPE, [(CVS203, f"{call.text}: mode {mode!r} is not one of {', '.join(sorted(set(CLASSES.values())))}")])
    nd = max(len(pads) // 2, 1)
    layer_args = _args({"padding": args["pad"], "value": args["value"]}, {"padding": args.texts["pad"]})
    ranks = pad_ranks(nd, mode)(layer_args, call)
    if ranks is not None and shape.rank is not None and shape.rank not in ranks:
        return unknown()
    return _clean(make_pad(nd, mode)(layer_args, shape, call))


INTERPOLATE = (
    ("input", REQUIRED),
    ("size", None),
    ("scale_factor", None),
    ("mode", "nearest"),
    ("align_corners", None),
    ("recompute_scale_factor", None),
    ("antialias", False),
)


@register_op(PREFIX + "interpolate", FAMILY, INTERPOLATE)
def interpolate_op(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Upsample's arithmetic on the ranks each mode takes; antialias only changes values."""
    mode, antialias = args["mode"], truth(args["antialias"])
    if not isinstance(mode, str) or mode == "lanczos" or antialias is None:
        return unknown()
    if antialias and mode not in ("bilinear", "bicubic"):
        return unknown()
    if mode in MODE_RANKS and shape.rank is not None and shape.rank not in MODE_RANKS[mode]:
        return unknown()
    out = interpolate(call, shape, args["size"], args["scale_factor"], mode, args["align_corners"], args["recompute_scale_factor"], args.texts)
    return _clean(out)


for _name, _layer, _param in (("pixel_shuffle", "PixelShuffle", "upscale_factor"), ("pixel_unshuffle", "PixelUnshuffle", "downscale_factor")):
    register_op(PREFIX + _name, FAMILY, (("input", REQUIRED), (_param, REQUIRED)))(layer_op(_layer))


# --------------------------------------------------------------------------- with a weight operand


@register_op(PREFIX + "linear", FAMILY, (("input", REQUIRED), ("weight", REQUIRED), ("bias", None)))
def linear(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """(*, in) with weight (out, in) gives (*, out); a 1-d weight (in,) takes the last dim away."""
    weight = dims_of(args["weight"])
    if weight is None or shape.dims is None or len(weight) not in (1, 2) or not shape.dims:
        return unknown()
    incoming, wanted = shape.dims[-1], weight[-1]
    if incoming is not None and wanted is not None and differs(incoming, wanted):
        return Outcome(
            UNKNOWN_SHAPE,
            [(CVS201, f"{call.text} expects {describe(wanted)} input features (weight.shape[-1]), but the incoming tensor has {describe(incoming)}")],
        )
    return Outcome(Shape((*shape.dims[:-1], *weight[:-1])), [])


@register_op(
    PREFIX + "embedding",
    FAMILY,
    (
        ("input", REQUIRED),
        ("weight", REQUIRED),
        ("padding_idx", None),
        ("max_norm", None),
        ("norm_type", 2.0),
        ("scale_grad_by_freq", False),
        ("sparse", False),
    ),
)
def embedding(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Indices of any shape, one more dim of weight.shape[1]."""
    weight = dims_of(args["weight"])
    if shape.dims is None or weight is None:
        return unknown()
    if len(weight) != 2:
        return reject(call, f"the weight must be 2-d, got {len(weight)}-d")
    return Outcome(Shape((*shape.dims, weight[1])), [])



LAYER_NORM = make_layer_norm(rms=False)


@register_op(PREFIX + "layer_norm", FAMILY, (("input", REQUIRED), ("normalized_shape", REQUIRED), ("weight", None), ("bias", None), ("eps", 1e-5)))
def layer_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """LayerNorm's check: normalized_shape (a tuple: an int is a TypeError here) must be the
    trailing sizes."""
    if not isinstance(args["normalized_shape"], tuple):
        return unknown()
    layer_args = _args(
        {"normalized_shape": args["normalized_shape"], "elementwise_affine": False, "bias": False},
        {"normalized_shape": args.texts["normalized_shape"]},
    )
    return _clean(LAYER_NORM(layer_args, shape, call))


SDPA = (
    ("query", REQUIRED),
    ("key", REQUIRED),
    ("value", REQUIRED),
    ("attn_mask", None),
    ("dropout_p", 0.0),
    ("is_causal", False),
    ("scale", None),
    KW_ONLY,
    ("enable_gqa", False),
)


@register_op(PREFIX + "scaled_dot_product_attention", FAMILY, SDPA)
def scaled_dot_product_attention(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """(..., L, E) queries, (..., S, E) keys, (..., S, Ev) values give (..., L, Ev), the leading
    dims broadcast; grouped-query attention (enable_gqa) is left unknown."""
    q, k, v = (dims_of(args[n]) for n in ("query", "key", "value"))
    if q is None or k is None or v is None or truth(args["enable_gqa"]) is not False:
        return unknown()
    if min(len(q), len(k), len(v)) < 2:
        return reject(call, f"query, key and value need at least 2 dimensions, got {len(q)}, {len(k)} and {len(v)}")
    for (a, what_a), (b, what_b) in (((q[-1], "query"), (k[-1], "key")), ((k[-2], "key length"), (v[-2], "value length"))):
        if a is not None and b is not None and differs(a, b):
            return reject(call, f"the {what_a} and {what_b} sizes differ, {describe(a)} and {describe(b)}")
    lead, why = broadcast_dims(q[:-2], k[:-2])
    if lead is not None:
        lead, why = broadcast_dims(lead, v[:-2])
    if why or lead is None:
        return reject(call, why or "the leading dims do not broadcast")
    return Outcome(Shape((*lead, q[-2], v[-1])), [])
