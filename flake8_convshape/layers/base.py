"""What every catalog entry shares: the shape being replayed, bound arguments, and the registry.

A layer is one transfer function registered under its PyTorch class name(s) with PyTorch's own
signature, so arguments map exactly as the real constructor maps them.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..dims import Poly, paren
from ..record import dataclass, field, replace


class _Unknown:
    """A value the evaluator could not work out (a call, a subscript, an unknown attribute)."""

    _instance: Optional["_Unknown"] = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class LayerClass:
    """A torch.nn class used as a value: ``norm_layer = nn.BatchNorm2d``, then ``norm_layer(c)``."""

    name: str


class Held:
    """A frontend's object bound to a name rather than a value the evaluator computes (a layer
    built before it is appended, a same-file function or class held in a variable). Read as a
    value it is opaque, like UNKNOWN: no layer takes it for a number."""

    __slots__ = ()


# Poly for integers (symbolic or not); Python values for the rest; Namespace for objects whose
# attributes are known (argparse results, dataclass instances, literal dicts).
Value = Union[Poly, bool, float, str, None, Tuple["Value", ...], _Unknown, LayerClass, "Namespace", Held]


class _Required:
    """The type of REQUIRED, which marks a parameter without default in a signature."""

    __slots__ = ()


REQUIRED = _Required()
# a default in a signature: a Python int is a size (a Poly once bound), the rest as Value
Default = Union[int, Value, _Required]
KW_ONLY = ("*", None)  # in a signature: the parameters after it are keyword-only


@dataclass(frozen=True)
class Shape:
    """The tensor between layers, batch dimension first; ``None`` entries are unknown sizes.

    ``dims`` is None when even the rank is unknown; ``last`` then may still hold the last
    dimension (what Linear needs after a layer of unknown rank).
    """

    dims: Optional[Tuple[Optional[Poly], ...]]
    last: Optional[Poly] = None

    @property
    def rank(self) -> Optional[int]:
        return None if self.dims is None else len(self.dims)

    @property
    def channels(self) -> Optional[Poly]:
        return self.dims[1] if self.dims is not None and len(self.dims) >= 2 else None

    @property
    def last_dim(self) -> Optional[Poly]:
        if self.dims is None:
            return self.last
        return self.dims[-1] if self.dims else None

    def known(self) -> bool:
        return self.dims is not None and all(d is not None for d in self.dims[1:])

    def render(self, skip_batch: bool = True) -> str:
        if self.dims is None:
            return "?" if self.last is None else f"... x {paren(self.last)}"
        dims = self.dims[1:] if skip_batch else self.dims
        return " x ".join(paren(d) for d in dims) if dims else "scalar"


UNKNOWN_SHAPE = Shape(None)


class Operand(Held):
    """A tensor argument of a tensor operation (``torch.cat([a, b], 1)``, ``a + b``, ``x.view``).

    The forward() frontend writes one per tensor it passes, naming the value it refers to; the
    replay sets ``shape`` to that value's shape before the operation's transfer function runs
    (``shape`` is UNKNOWN_SHAPE until then, and for a tensor the replay does not know).
    """

    __slots__ = ("name", "shape")

    def __init__(self, name: str, shape: Optional[Shape] = None) -> None:
        self.name = name
        self.shape: Shape = shape if shape is not None else UNKNOWN_SHAPE

    def bound(self, shape: Shape) -> "Operand":
        return Operand(self.name, shape)

    def __repr__(self) -> str:
        return f"Operand({self.name!r}, {self.shape.render(False)})"


@dataclass(frozen=True)
class Namespace:
    """An object whose attributes we know: argparse results, dataclass config instances."""

    attrs: Tuple[Tuple[str, Value], ...]
    label: str = ""

    def get(self, attr: str) -> Value:
        for key, value in self.attrs:
            if key == attr:
                return value
        return UNKNOWN


@dataclass
class Args:
    """Arguments bound to parameter names; ``texts`` keeps the source text for messages."""

    values: Dict[str, Value]
    texts: Dict[str, str]

    def __getitem__(self, name: str) -> Value:
        return self.values[name]


# source text for messages, or a function that cuts it out of the source when one needs it
Text = Union[str, Callable[[], str]]


class LayerCall:
    """How a layer was written, for messages: ``Conv2d(nc, ndf, 4, 2, 1)`` at line 12.

    ``text`` may be given as a function: most layers never appear in a message, and cutting
    their source text out is a good part of a replay's cost.
    """

    __slots__ = ("name", "_text", "line")

    def __init__(self, name: str, text: Text, line: int) -> None:
        self.name = name
        self._text = text
        self.line = line

    @property
    def text(self) -> str:
        if callable(self._text):
            self._text = self._text()
        return self._text

    def __repr__(self) -> str:
        return f"LayerCall({self.name!r}, {self.text!r}, {self.line})"


class Texts(Dict[str, str]):
    """Argument source texts, cut out of the source only when a message asks for one.

    ``put`` stores a text as a function; reading it calls that once and keeps the string.
    """

    def put(self, key: str, text: Text) -> None:
        dict.__setitem__(self, key, text)  # type: ignore[misc]  # kept unrendered: __getitem__ renders it

    def __getitem__(self, key: str) -> str:
        value: Text = dict.__getitem__(self, key)
        if callable(value):
            value = value()
            dict.__setitem__(self, key, value)
        return value

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]  # dict.get's overloads promise Callable values; this one renders them
        return self[key] if key in self else default


# what a layer reports: (code, message); the replay adds where and on what input
Problem = Tuple[str, str]


@dataclass(frozen=True)
class Window:
    """The sliding window of a conv or pool along each spatial axis, for the receptive field
    (receptive.py): how many input positions one output reads, end to end (dilation*(kernel-1)
    + 1), and how far apart consecutive outputs' windows start."""

    extent: Tuple[Poly, ...]
    stride: Tuple[Poly, ...]

    @staticmethod
    def of(kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> "Window":
        extent = tuple(Poly.const(d * (k - 1) + 1) for k, d in zip(kernel, dilation))
        return Window(extent, tuple(Poly.const(x) for x in stride))


@dataclass
class Outcome:
    shape: Shape
    problems: List[Problem] = field(default_factory=list)
    arithmetic: Optional[str] = None  # how the spatial sizes came out, as people check by hand
    changes: bool = True  # False for shape-preserving layers: not cited as "the layer that gives"
    parameters: Optional[Poly] = None  # learnable numbers, as sum(p.numel() for p in parameters())
    buffers: Optional[Poly] = None  # buffers (running_mean, running_var, num_batches_tracked)
    # the further tensors of a layer or operation that returns several (LSTM's h and c,
    # attention weights, chunks), flattened in order after ``shape``
    rest: Tuple[Shape, ...] = ()
    # multiply-accumulates for one sample, as torch.utils.flop_counter counts them (FLOPs / 2):
    # convolutions and matrix products only; None where the catalog has no count
    macs: Optional[Poly] = None
    window: Optional[Window] = None  # a conv's or pool's window, for the receptive field
    # sets parameters, buffers and macs when a report asks (``counted``): their symbolic
    # products are a tenth of a replay, and checking a file never needs them
    later: Optional[Callable[["Outcome"], None]] = field(default=None, repr=False, compare=False)

    def counted(self) -> "Outcome":
        """This outcome with its counts filled in."""
        if self.later is not None:
            later, self.later = self.later, None
            later(self)
        return self


TransferFn = Callable[[Args, Shape, LayerCall], Outcome]


@dataclass(frozen=True)
class LayerSpec:
    name: str
    family: str
    params: Tuple[Tuple[str, Default], ...]  # (name, default or REQUIRED), PyTorch's order
    fn: TransferFn
    varargs: bool = False  # accepts anything (Identity): no binding
    ranks: Optional[Tuple[int, ...]] = None  # input ranks (batch included) it accepts; None: any
    reads_last: bool = False  # reads only the last size (LayerNorm): a forward() may flatten first
    # the input ranks it runs on, batched or not (None: any), or how its arguments decide them
    accepts: Union[None, Tuple[int, ...], Callable[[Args, LayerCall], Optional[Sequence[int]]]] = None

    def run(self, args: Args, shape: Shape, call: LayerCall) -> Outcome:
        """The layer on ``shape``, with the rank rule applied here for every layer: on a rank it
        does not take the output is unknown and only what its arguments alone say is reported
        (the replay assumes batched tensors; a model fed unbatched ones sees other ranks, so a
        rank mismatch is never a finding)."""
        accepted = self.accepts(args, call) if callable(self.accepts) else self.accepts
        if accepted is None or shape.rank is None or shape.rank in accepted:
            return self.fn(args, shape, call)
        return replace(self.fn(args, UNKNOWN_SHAPE, call), shape=UNKNOWN_SHAPE)

    @property
    def keeps_rank(self) -> bool:
        """Its output has its input's rank, so a layer after it may settle the rank."""
        return self.family in _KEEPS_RANK

    @property
    def windowed(self) -> bool:
        """Its output sizes come from a window formula: a trailing arithmetic comment names one."""
        return self.family in _WINDOWED

    @property
    def follower(self) -> bool:
        """It keeps the shape of the layer before it (a norm, an activation): ``annotate`` writes
        one comment after the group."""
        return self.family in _FOLLOWERS


# the facts of each family, in one place
_KEEPS_RANK = frozenset(
    {"activation", "dropout", "padding", "conv", "norm", "pool", "resample", "linear", "attention", "recurrent"}
)
_WINDOWED = frozenset({"conv", "pool", "padding", "resample"})
_FOLLOWERS = frozenset({"norm", "activation", "dropout"})
# Keras families (layers/keras): channels last, so not "windowed" (an arithmetic comment's
# sizes are dims[2:] in the replay, channels first); they keep the rank as their torch kin do
_KERAS_KEEPS_RANK = frozenset({"keras_" + f for f in _KEEPS_RANK})
_KEEPS_RANK = _KEEPS_RANK | _KERAS_KEEPS_RANK
_FOLLOWERS = _FOLLOWERS | frozenset({"keras_norm", "keras_activation", "keras_dropout"})


CATALOG: Dict[str, LayerSpec] = {}
# keyword-only parameters every torch.nn module accepts and no shape depends on
_FACTORY_KWARGS = ("device", "dtype")


def register(
    names: Union[str, Sequence[str]],
    family: str,
    params: Sequence[Tuple[str, Default]] = (),
    varargs: bool = False,
    ranks: Optional[Tuple[int, ...]] = None,
    reads_last: bool = False,
    accepts: Union[None, Tuple[int, ...], Callable[[Args, LayerCall], Optional[Sequence[int]]]] = None,
    into: Optional[Dict[str, LayerSpec]] = None,
) -> Callable[[TransferFn], TransferFn]:
    """Add a transfer function to the catalog under one or more class names (to ``into``
    instead for another framework's catalog: Keras's names collide with torch's).

    ``ranks`` are the batched input ranks the layer accepts; a comment before it is read with
    that rank in mind (``3 x 64 x 64`` before a Conv2d is C x H x W). ``reads_last``: only the
    last size matters to it (a Linear's features, LayerNorm's normalized size). ``accepts``: the
    ranks it runs on at all (``LayerSpec.run`` enforces them), or a function of its arguments.
    """

    def deco(fn: TransferFn) -> TransferFn:
        for name in [names] if isinstance(names, str) else names:
            (CATALOG if into is None else into)[name] = LayerSpec(name, family, tuple(params), fn, varargs, ranks, reads_last, accepts)
        return fn

    return deco


# Tensor operations (``torch.cat``, ``Tensor.view``, ``F.relu``, ``a + b``), apart from the
# catalog of modules so summaries and catalog strategies stay about modules. Keys are the
# spellings: ``torch.cat``, ``Tensor.view``, ``Tensor.__add__``, ``F.max_pool2d``.
#
# Conventions the forward() frontend relies on:
# - each key is registered with PyTorch's own signature (``params``: names, REQUIRED or default,
#   KW_ONLY), and a call binds as PyTorch binds it: the receiver first for methods
#   (``x.view(B, -1)`` binds ``self`` = x), then positional and keyword arguments;
# - a varargs method (``view(*shape)``, ``permute(*dims)``, ``expand``, ``repeat``) has one
#   parameter holding the tuple: ``x.view(a, b)`` and ``x.view((a, b))`` both bind
#   ``shape`` = (a, b); so does ``torch.einsum(eq, a, b)`` (``operands`` = (a, b));
# - every tensor argument is an ``Operand`` (its ``shape`` set by the replay); a list of
#   tensors (``torch.cat([a, b])``) is a tuple of Operands; integers are ``Poly``, unknown
#   values UNKNOWN; the ``shape`` handed to the transfer function is the first tensor
#   argument's (the receiver, ``tensors[0]``, ``input``);
# - ``F.`` stands for ``torch.nn.functional``; the shape copies whose arguments do not matter
#   (``x.to(device)``, ``x.float()``, ``torch.zeros_like``) are ``varargs`` specs;
# - ``Tensor.__getitem__``'s ``index`` is a tuple (one element may come bare) of int Polys,
#   None, ``"..."``, Operands and ``("slice", start, stop, step)``;
# - ``torch.max(a, b)`` binds the tensor b to ``dim``, as PyTorch's overloads do;
# - modules that take several tensors (MultiheadAttention, TransformerDecoderLayer,
#   Transformer, RNN's ``hx``) find them in ``Args.values`` under their forward() names
#   (attention.py, recurrent.py);
# - shapes are whole shapes (dims[0] is not special): dims count from 0, negative dims wrap;
# - a result of several tensors (``chunk``, ``split``, ``max(dim)``) is ``shape`` (the first)
#   and ``rest`` (the others, in order); when the replay cannot tell how many there are, the
#   outcome is UNKNOWN_SHAPE with no rest: a tuple unpacking that does not fit is unknown;
# - an operation PyTorch rejects is a CVS204 problem (CVS201 for a module-like mismatch of a
#   functional form, CVS203 for an argument refused whatever the input), only when proven;
#   messages start with ``LayerCall.text`` (``torch.cat: sizes must match except in dim 1, ...``).
OPERATIONS: Dict[str, LayerSpec] = {}


def register_op(
    names: Union[str, Sequence[str]],
    family: str,
    params: Sequence[Tuple[str, Default]] = (),
    varargs: bool = False,
) -> Callable[[TransferFn], TransferFn]:
    """Add a tensor operation to OPERATIONS under one or more spellings (see the conventions
    above). Operations take any rank: their transfer functions check it themselves."""

    def deco(fn: TransferFn) -> TransferFn:
        for name in [names] if isinstance(names, str) else names:
            OPERATIONS[name] = LayerSpec(name, family, tuple(params), fn, varargs)
        return fn

    return deco


_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*")


def _shown(value: Value, text: Text) -> Text:
    """An argument's text for messages: ``pad = -1`` when it is a name with a known value, so
    a message never prints a bare name as though it were the value."""
    if isinstance(value, Poly):
        known = value.resolved().int_value()
        if known is None:
            return text
        shown: Optional[str] = str(known)
    elif value is None or isinstance(value, (bool, float, str)):
        shown = repr(value)
    else:
        return text

    def render() -> str:
        t = text() if callable(text) else text
        return f"{t} = {shown}" if _BARE_NAME.fullmatch(t) and t != shown else t

    return render


def bind(
    spec: LayerSpec, positional: Sequence[Tuple[Value, Text]], keywords: Dict[str, Tuple[Value, Text]]
) -> Optional[Args]:
    """Map arguments as Python would call the constructor; None when the call would fail."""
    values: Dict[str, Value] = {}
    texts = Texts()
    if spec.varargs:
        return Args(values, texts)
    names = [p for p, _ in spec.params if p != KW_ONLY[0]]
    star = [p for p, _ in spec.params].index(KW_ONLY[0]) if KW_ONLY in spec.params else len(names)
    if len(positional) > star:
        return None
    for (value, text), name in zip(positional, names):
        values[name] = value
        texts.put(name, _shown(value, text))
    for name, (value, text) in keywords.items():
        if name in _FACTORY_KWARGS:
            continue
        if name not in names or name in values:
            return None
        values[name] = value
        texts.put(name, _shown(value, text))
    for name, default in spec.params:
        if name == KW_ONLY[0]:
            continue
        if name not in values:
            if isinstance(default, _Required):  # REQUIRED, its only instance
                return None
            values[name] = default if not isinstance(default, int) or isinstance(
                default, bool
            ) else Poly.const(default)
            texts[name] = repr(default)
    return Args(values, texts)


# --------------------------------------------------------------------------------------------
# reading argument values


def int_of(v: Value) -> Optional[int]:
    """A concrete integer, or None (symbolic, unknown or not an int)."""
    if isinstance(v, Poly):
        return v.resolved().int_value()
    return None


def poly_of(v: Value) -> Optional[Poly]:
    """An integer expression, possibly symbolic (channel counts)."""
    return v if isinstance(v, Poly) else None


def ints_of(v: Value, n: int) -> Optional[Tuple[int, ...]]:
    """An int or an n-tuple of ints, as PyTorch's ``_ntuple`` expands it; None if not concrete."""
    if isinstance(v, Poly):
        i = int_of(v)
        return None if i is None else (i,) * n
    if isinstance(v, tuple):
        if len(v) == 1 and n != 1:
            i = int_of(v[0])
            return None if i is None else (i,) * n
        if len(v) != n:
            return None
        out = tuple(int_of(x) for x in v)
        known = tuple(x for x in out if x is not None)
        return None if len(known) != len(out) else known
    return None


def float_of(v: Value) -> Optional[float]:
    if isinstance(v, bool):
        return None
    if isinstance(v, float):
        return v
    i = int_of(v)
    return None if i is None else float(i)


def truth(v: Value) -> Optional[bool]:
    """Python truthiness of a known value, None when unknown."""
    if isinstance(v, bool) or v is None:
        return bool(v)
    if isinstance(v, Poly):
        i = int_of(v)
        return None if i is None else bool(i)
    if isinstance(v, (float, str, tuple)):
        return bool(v)
    return None


def same_arithmetic(per_dim: Sequence[str]) -> Optional[str]:
    """The spatial formulas, each distinct one once (a square layer has one)."""
    distinct = list(dict.fromkeys(per_dim))
    return ", ".join(distinct) if distinct else None


def input_size_hint(param: str, written: str, incoming: Poly) -> Optional[str]:
    """``num_features=ndf * 2``: what a CVS201's input-size parameter should say.

    ``written`` is the argument as the code wrote it; ``incoming`` the Poly the replay has. A
    symbolic value is written symbolically (``ndf*2``) when the code used names, else as the
    integer it resolves to; None when it is neither.
    """
    resolved = incoming.resolved()
    value = resolved.int_value()
    uses_names = any(ch.isalpha() or ch == "_" for ch in written)
    if uses_names or value is None:
        text = str(incoming)
        if value is not None and text != str(value):
            return f"{param}={text} ({value})"
        return f"{param}={text}"
    return f"{param}={value}"


def should_be(args: Args, param: str, incoming: Poly) -> str:
    """``; use num_features=ndf*2``: the value a CVS201's input-size parameter should have,
    written with names where the code wrote names."""
    written = args.texts.get(param) if param in args.texts else None
    hint = input_size_hint(param, written or "", incoming) if written is not None else None
    return f"; use {hint}" if hint else ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def int_tuple(v: Value) -> Optional[Tuple[int, ...]]:
    """An int as ``(i,)`` or a tuple of ints, all concrete, without broadcasting; else None."""
    if isinstance(v, Poly):
        i = int_of(v)
        return None if i is None else (i,)
    if isinstance(v, tuple):
        out = tuple(int_of(x) for x in v)
        known = tuple(x for x in out if x is not None)
        return None if len(known) != len(out) else known
    return None


def total(*parts: Optional[Poly]) -> Optional[Poly]:
    """The sum of parameter counts; None when any part is unknown."""
    out = Poly.const(0)
    for p in parts:
        if p is None:
            return None
        out = out + p
    return out


def product(dims: Sequence[Optional[Poly]]) -> Optional[Poly]:
    """The product of sizes; None when any is unknown."""
    out = Poly.const(1)
    for d in dims:
        if d is None:
            return None
        out = out * d
    return out


ZERO = Poly.const(0)
ONE = Poly.const(1)

