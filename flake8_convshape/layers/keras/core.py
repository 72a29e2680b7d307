"""Keras core layers: the input, Dense, Embedding, the reshaping layers, normalizations,
activations and dropouts. Shapes in Keras order, the batch first (``None`` in Keras's own
``output_shape``, a size of its own here)."""

from __future__ import annotations

from typing import List, Optional, Tuple

from ...codes import CVS201, CVS202, CVS203
from ...dims import Poly, describe, differs, paren, prove_nonpositive
from ..base import (
    KW_ONLY,
    UNKNOWN_SHAPE,
    Args,
    LayerCall,
    Outcome,
    Problem,
    Shape,
    TransferFn,
    Value,
    float_of,
    int_of,
    int_tuple,
    poly_of,
    product,
    truth,
)
from .common import keras_layer, positive, required

ZERO = Poly.const(0)


def sizes_of(v: Value) -> Optional[Tuple[Optional[Poly], ...]]:
    """A shape argument (``(28, 28, 1)``, ``(100,)``): its sizes, None for an unknown entry
    (``None`` in Keras: a size given at run time); None when it is not a tuple."""
    if isinstance(v, Poly):
        return (v,)
    if not isinstance(v, tuple):
        return None
    out: List[Optional[Poly]] = []
    for x in v:
        if isinstance(x, Poly):
            out.append(x)
        elif x is None:
            out.append(None)
        else:
            return None
    return tuple(out)


@keras_layer(("InputLayer", "Input"), "input", (("shape", None), ("batch_size", None), ("dtype", None), ("sparse", None), ("ragged", None), ("batch_shape", None)))
def input_layer(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """The model's input: the shape it declares, whatever came before."""
    batch_shape = sizes_of(args["batch_shape"])
    if batch_shape is not None and batch_shape:
        return Outcome(Shape(batch_shape), parameters=ZERO)
    dims = sizes_of(args["shape"])
    if dims is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    return Outcome(Shape((poly_of(args["batch_size"]), *dims)), parameters=ZERO)


@keras_layer("Dense", "linear", required("units") + (("activation", None), ("use_bias", True)))
def dense(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``(..., features)`` to ``(..., units)``: the last axis only."""
    problems: List[Problem] = []
    units = positive(args, "units", call, problems)
    features = shape.last_dim
    use = truth(args["use_bias"])
    params = None
    if features is not None and units is not None and use is not None:
        params = features * units + (units if use else ZERO)
    if shape.dims is None:
        return Outcome(Shape(None, units), problems, parameters=params)
    return Outcome(Shape((*shape.dims[:-1], units)), problems, parameters=params)


@keras_layer("Embedding", "embedding", required("input_dim", "output_dim"))
def embedding(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Token ids ``(batch, length)`` to ``(batch, length, output_dim)``."""
    vocab, width = poly_of(args["input_dim"]), poly_of(args["output_dim"])
    params = vocab * width if vocab is not None and width is not None else None
    if shape.dims is None:
        return Outcome(UNKNOWN_SHAPE, parameters=params)
    return Outcome(Shape((*shape.dims, width)), parameters=params)


@keras_layer("Flatten", "reshape", (("data_format", None),))
def flatten(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    if shape.dims is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    return Outcome(Shape((shape.dims[0], product(shape.dims[1:]))), parameters=ZERO)


@keras_layer("Reshape", "reshape", required("target_shape"))
def reshape(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``target_shape`` after the batch, one ``-1`` inferred; CVS201 when the sizes cannot match."""
    problems: List[Problem] = []
    target = sizes_of(args["target_shape"])
    if target is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    wild = [i for i, d in enumerate(target) if d is not None and int_of(d) == -1]
    if len(wild) > 1 or any(d is not None and (int_of(d) or 1) < -1 for d in target):
        problems.append((CVS203, f"{call.text}: target_shape takes at most one -1 and no other negative size"))
        return Outcome(UNKNOWN_SHAPE, problems, parameters=ZERO)
    batch = shape.dims[0] if shape.dims is not None else None
    incoming = product(shape.dims[1:]) if shape.dims is not None else None
    known = product([d for i, d in enumerate(target) if i not in wild])
    if incoming is None or known is None:
        out = tuple(None if i in wild else d for i, d in enumerate(target))
        return Outcome(Shape((batch, *out)), problems, parameters=ZERO)
    if wild:
        k, n = known.resolved().int_value(), incoming.resolved().int_value()
        if k is not None and n is not None and k > 0:
            if n % k:
                problems.append((CVS201, f"{call.text}: the incoming {n} values do not divide into {k}-sized rows"))
                return Outcome(Shape((batch, *(None for _ in target))), problems, parameters=ZERO)
            size: Optional[Poly] = Poly.const(n // k)
        else:
            size = None
        out = tuple(size if i in wild else d for i, d in enumerate(target))
        return Outcome(Shape((batch, *out)), problems, parameters=ZERO)
    if differs(known, incoming):
        problems.append(
            (CVS201, f"{call.text}: target_shape holds {describe(known)} values, but the incoming tensor holds {describe(incoming)}")
        )
    return Outcome(Shape((batch, *target)), problems, parameters=ZERO)


@keras_layer("Permute", "reshape", required("dims"))
def permute(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``dims`` counts from 1 (the batch stays first)."""
    problems: List[Problem] = []
    order = int_tuple(args["dims"])
    if order is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    if sorted(order) != list(range(1, len(order) + 1)):
        problems.append((CVS203, f"{call.text}: dims must be a permutation of 1..{len(order)}, got {args.texts['dims']}"))
        return Outcome(UNKNOWN_SHAPE, problems, parameters=ZERO)
    if shape.dims is None or len(shape.dims) != len(order) + 1:
        return Outcome(UNKNOWN_SHAPE, problems, parameters=ZERO)
    return Outcome(Shape((shape.dims[0], *(shape.dims[i] for i in order))), problems, parameters=ZERO)


@keras_layer("RepeatVector", "reshape", required("n"), ranks=(2,), accepts=(2,))
def repeat_vector(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    n = poly_of(args["n"])
    if shape.dims is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    return Outcome(Shape((shape.dims[0], n, shape.dims[1])), parameters=ZERO)


def _rate(args: Args, call: LayerCall) -> List[Problem]:
    rate = float_of(args["rate"])
    if rate is not None and not 0 <= rate <= 1:
        return [(CVS203, f"{call.text}: rate must be between 0 and 1, got {args.texts['rate']}")]
    return []


@keras_layer(
    ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout", "AlphaDropout"),
    "dropout",
    required("rate"),
)
def dropout(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return Outcome(shape, _rate(args, call), changes=False, parameters=ZERO)


@keras_layer(
    ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "GaussianNoise", "ActivityRegularization", "Identity", "Masking", "UnitNormalization"),
    "activation",
    varargs=True,
)
def keeps_shape(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return Outcome(shape, changes=False, parameters=ZERO)


@keras_layer("PReLU", "activation", (("alpha_initializer", "Zeros"), ("alpha_regularizer", None), ("alpha_constraint", None), ("shared_axes", None)))
def prelu(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """One slope per value of the input, except along ``shared_axes`` (counted from 1)."""
    shared = args["shared_axes"]
    axes = () if shared is None else int_tuple(shared)
    params = None
    if shape.dims is not None and axes is not None:
        params = product([d for i, d in enumerate(shape.dims) if i > 0 and i not in axes])
    return Outcome(shape, changes=False, parameters=params)


def _axis_sizes(args: Args, shape: Shape) -> Optional[Poly]:
    """The size of the normalized axis (or the product over a tuple of axes)."""
    axes = int_tuple(args["axis"])
    if axes is None or shape.dims is None:
        return shape.last_dim if axes == (-1,) else None
    rank = len(shape.dims)
    if any(not -rank < a < rank or a % rank == 0 for a in axes):
        return None
    return product([shape.dims[a % rank] for a in axes])


@keras_layer("BatchNormalization", "norm", (("axis", -1), ("momentum", 0.99), ("epsilon", 0.001), ("center", True), ("scale", True)))
def batch_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """gamma and beta (trainable) and the moving mean and variance (not), one per channel."""
    size = _axis_sizes(args, shape)
    center, scale = truth(args["center"]), truth(args["scale"])
    params = None if size is None or center is None or scale is None else size.scale(int(center) + int(scale))
    return Outcome(shape, changes=False, parameters=params, buffers=None if size is None else size.scale(2))


@keras_layer("LayerNormalization", "norm", (("axis", -1), ("epsilon", 0.001), ("center", True), ("scale", True)))
def layer_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    size = _axis_sizes(args, shape)
    center, scale = truth(args["center"]), truth(args["scale"])
    params = None if size is None or center is None or scale is None else size.scale(int(center) + int(scale))
    return Outcome(shape, changes=False, parameters=params)


def _factor(args: Args, name: str, nd: int, call: LayerCall, problems: List[Problem]) -> Optional[Tuple[int, ...]]:
    v = args[name]
    values = int_tuple(v)
    if values is None:
        return None
    if len(values) == 1:
        values = values * nd
    if len(values) != nd or min(values) < 1 or (nd == 1 and isinstance(v, tuple)):
        what = "a positive int" if nd == 1 else f"a positive int or {nd} of them"
        problems.append((CVS203, f"{call.text}: {name} must be {what}, got {args.texts[name]}"))
        return None
    return values


def _spatial_axes(args: Args, nd: int, rank: int) -> Optional[Tuple[int, ...]]:
    v = args.values.get("data_format")
    if v is None or v == "channels_last":
        return tuple(range(1, nd + 1))
    if v == "channels_first":
        return tuple(range(2, nd + 2))
    return None


def upsampling(nd: int) -> TransferFn:
    def fn(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        size = _factor(args, "size", nd, call, problems)
        axes = _spatial_axes(args, nd, nd + 2)
        if size is None or axes is None or shape.dims is None or len(shape.dims) != nd + 2:
            return Outcome(UNKNOWN_SHAPE, problems, parameters=ZERO)
        dims = list(shape.dims)
        lines = []
        for a, f in zip(axes, size):
            d = dims[a]
            dims[a] = None if d is None else d.scale(f)
            lines.append(f"{paren(d)}*{f} = {paren(dims[a])}")
        return Outcome(Shape(tuple(dims)), problems, ", ".join(dict.fromkeys(lines)), parameters=ZERO)

    return fn


def _pairs(args: Args, name: str, nd: int, call: LayerCall, problems: List[Problem]) -> Optional[Tuple[Tuple[int, int], ...]]:
    """An int for every side, or one entry per axis (an int for both sides or a (before,
    after) pair); for one axis the pair itself. CVS203 for a negative size or a wrong length."""
    v = args[name]
    if isinstance(v, Poly) or (nd == 1 and isinstance(v, tuple)):
        entries: Tuple[Value, ...] = (v,) * nd if isinstance(v, Poly) else (v,)
    elif isinstance(v, tuple) and len(v) == nd:
        entries = v
    else:
        if isinstance(v, tuple):
            problems.append((CVS203, f"{call.text}: {name} must be an int, or {nd} ints or (before, after) pairs, got {args.texts[name]}"))
        return None
    pairs: List[Tuple[int, int]] = []
    for entry in entries:
        values = int_tuple(entry)
        if values is None:
            return None
        if len(values) == 1:
            values = values * 2
        if len(values) != 2 or min(values) < 0:
            problems.append((CVS203, f"{call.text}: {name} must be an int, or {nd} ints or (before, after) pairs of sizes >= 0, got {args.texts[name]}"))
            return None
        pairs.append((values[0], values[1]))
    return tuple(pairs)


def padding_layer(nd: int, crop: bool) -> TransferFn:
    name = "cropping" if crop else "padding"

    def fn(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        pairs = _pairs(args, name, nd, call, problems)
        axes = _spatial_axes(args, nd, nd + 2)
        if pairs is None or axes is None or shape.dims is None or len(shape.dims) != nd + 2:
            return Outcome(UNKNOWN_SHAPE, problems, parameters=ZERO)
        dims = list(shape.dims)
        lines = []
        for a, (before, after) in zip(axes, pairs):
            d = dims[a]
            if d is None:
                continue
            size = d - Poly.const(before + after) if crop else d + Poly.const(before + after)
            line = f"{paren(d)}{'-' if crop else '+'}{before}{'-' if crop else '+'}{after} = {paren(size)}"
            if crop and prove_nonpositive(size):
                problems.append((CVS202, f"{call.text} crops everything: {line}"))
            dims[a] = size
            lines.append(line)
        return Outcome(Shape(tuple(dims)), problems, ", ".join(dict.fromkeys(lines)), parameters=ZERO)

    return fn


keras_layer("UpSampling1D", "resample", (("size", 2),), ranks=(3,), accepts=(3,))(upsampling(1))
for _nd in (2, 3):
    keras_layer(f"UpSampling{_nd}D", "resample", (("size", 2), ("data_format", None), ("interpolation", "nearest")), ranks=(_nd + 2,), accepts=(_nd + 2,))(
        upsampling(_nd)
    )
keras_layer("ZeroPadding1D", "padding", (("padding", 1), ("data_format", None)), ranks=(3,), accepts=(3,))(padding_layer(1, False))
keras_layer("Cropping1D", "padding", (("cropping", (1, 1)), KW_ONLY), ranks=(3,), accepts=(3,))(padding_layer(1, True))
for _nd in (2, 3):
    keras_layer(f"ZeroPadding{_nd}D", "padding", (("padding", 1), ("data_format", None)), ranks=(_nd + 2,), accepts=(_nd + 2,))(padding_layer(_nd, False))
    keras_layer(f"Cropping{_nd}D", "padding", (("cropping", 0), ("data_format", None)), ranks=(_nd + 2,), accepts=(_nd + 2,))(padding_layer(_nd, True))
