"""What the Keras families share: their own registry, the channels-last layout, and argument
reading as Keras's constructors validate it.

Keras names collide with torch's (``Flatten``, ``Embedding``, ``LSTM``), so Keras layers live
in ``KERAS``, not in the torch ``CATALOG``; the Keras frontend looks them up there. A Keras
shape keeps Keras's order: ``(batch, *spatial, channels)`` by default, ``(batch, channels,
*spatial)`` with ``data_format='channels_first'``.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from ...codes import CVS203
from ...dims import Poly
from ..base import (
    REQUIRED,
    Args,
    Default,
    LayerCall,
    LayerSpec,
    Problem,
    Shape,
    TransferFn,
    int_of,
    register,
)

KERAS: Dict[str, LayerSpec] = {}

# keyword arguments that no shape or parameter count depends on: the frontend drops them
# before binding (any other keyword a spec does not list makes the layer opaque)
IGNORED_KEYWORDS = frozenset(
    {
        "name", "dtype", "trainable", "activation", "recurrent_activation", "seed", "autocast",
        "lora_rank", "lora_alpha", "quantization_config", "momentum", "epsilon", "renorm_momentum",
        "max_value", "negative_slope", "threshold", "alpha", "dropout", "recurrent_dropout",
        "unroll", "go_backwards", "stateful", "mask_zero", "unit_forget_bias", "weights",
        "interpolation", "noise_shape", "stddev", "rms_scaling", "synchronized", "renorm",
        "renorm_clipping", "activity_regularizer", "use_cudnn", "seed_generator",
        "crop_to_aspect_ratio", "pad_to_aspect_ratio", "fill_mode", "fill_value",
    }
)
IGNORED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def ignorable(keyword: str) -> bool:
    """A keyword the replay may drop: it changes neither a shape nor a parameter count."""
    return keyword in IGNORED_KEYWORDS or keyword.endswith(IGNORED_SUFFIXES)


def keras_layer(
    names: Union[str, Sequence[str]],
    family: str,
    params: Sequence[Tuple[str, Default]] = (),
    ranks: Optional[Tuple[int, ...]] = None,
    accepts: Optional[Tuple[int, ...]] = None,
    reads_last: bool = False,
    varargs: bool = False,
) -> Callable[[TransferFn], TransferFn]:
    """``register`` into ``KERAS``; the family is prefixed ``keras_`` (layers.base knows what
    those families keep)."""
    return register(names, "keras_" + family, params, varargs=varargs, ranks=ranks, accepts=accepts, reads_last=reads_last, into=KERAS)


def required(*names: str) -> Tuple[Tuple[str, Default], ...]:
    return tuple((n, REQUIRED) for n in names)


def channels_last(args: Args, call: LayerCall, problems: List[Problem]) -> Optional[bool]:
    """True for channels_last (the default; None means the default), False for channels_first,
    None when unknown (CVS203 for a string Keras refuses)."""
    v = args.values.get("data_format")
    if v is None:
        return True
    if isinstance(v, str):
        if v.lower() == "channels_last":
            return True
        if v.lower() == "channels_first":
            return False
        problems.append((CVS203, f"{call.text}: data_format must be 'channels_last' or 'channels_first', got {v!r}"))
    return None


def split(shape: Shape, nd: int, last: Optional[bool]) -> Optional[Tuple[Optional[Poly], Tuple[Optional[Poly], ...], Optional[Poly]]]:
    """(batch, spatial sizes, channels) of a rank ``nd + 2`` input, else None."""
    if last is None or shape.dims is None or len(shape.dims) != nd + 2:
        return None
    dims = shape.dims
    if last:
        return dims[0], tuple(dims[1:-1]), dims[-1]
    return dims[0], tuple(dims[2:]), dims[1]


def join(batch: Optional[Poly], spatial: Sequence[Optional[Poly]], channels: Optional[Poly], last: bool) -> Shape:
    if last:
        return Shape((batch, *spatial, channels))
    return Shape((batch, channels, *spatial))


def int_tuple_arg(
    args: Args, name: str, n: int, call: LayerCall, problems: List[Problem], allow_zero: bool = False
) -> Optional[Tuple[int, ...]]:
    """An int or an n-tuple of ints, as Keras's ``standardize_tuple`` takes it; CVS203 for a
    wrong length or a value Keras refuses (zero unless ``allow_zero``, negative); None when unknown."""
    v = args.values.get(name)
    if isinstance(v, Poly):
        i = int_of(v)
        if i is None:
            return None
        values: Tuple[int, ...] = (i,) * n
    elif isinstance(v, tuple):
        if len(v) != n:
            problems.append((CVS203, f"{call.text}: {name} must be an int or a tuple of {n} integers, got {args.texts[name]}"))
            return None
        found = [int_of(x) if isinstance(x, Poly) else None for x in v]
        if any(x is None for x in found):
            return None
        values = tuple(x for x in found if x is not None)
    else:
        return None
    bad = [x for x in values if x < 0 or (x == 0 and not allow_zero)]
    if bad:
        want = ">= 0" if allow_zero else "> 0"
        problems.append((CVS203, f"{call.text}: {name} must be {want}, got {args.texts[name]}"))
        return None
    return values


def padding_mode(args: Args, call: LayerCall, problems: List[Problem], causal: bool = False) -> Optional[str]:
    """'valid' or 'same' (or 'causal' where allowed), in any case; None when unknown."""
    v = args.values.get("padding")
    if not isinstance(v, str):
        return None
    mode = v.lower()
    allowed = ("valid", "same", "causal") if causal else ("valid", "same")
    if mode not in allowed:
        problems.append((CVS203, f"{call.text}: padding must be one of {', '.join(repr(a) for a in allowed)}, got {v!r}"))
        return None
    return mode


def positive(args: Args, name: str, call: LayerCall, problems: List[Problem]) -> Optional[Poly]:
    """A size argument (units, filters) Keras requires positive: CVS203 when it is not."""
    value = args[name]
    size = value if isinstance(value, Poly) else None
    known = int_of(size) if size is not None else None
    if known is not None and known <= 0:
        problems.append((CVS203, f"{call.text}: {name} must be positive, got {known}"))
    return size
