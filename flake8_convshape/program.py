"""The neutral program a frontend hands the engine: layers in order, with the comments between.

A ``Block`` is what one ``nn.Sequential`` or one ``forward()`` becomes: its input comments and
a list of items, each a ``Layer`` (a catalog layer or a tensor operation with bound arguments, a
nested block, an undecided choice, or something opaque) or a ``Comment`` tagged by where it
sits. A Sequential is one chain; a ``forward()`` names its tensors: ``Store`` keeps the current
tensor under a name, ``Load`` makes a named one current, and an operation's other tensors are
``Operand`` arguments (layers.base). Nothing here knows Python syntax; frontends build it,
``replay`` runs it.
"""

from __future__ import annotations

from typing import List, Optional, Protocol, Tuple, Union

from .layers.base import Args, LayerCall, LayerSpec
from .record import dataclass, field, replace


@dataclass
class Comment:
    line: int
    col: int  # 0-based, in characters
    text: str  # the token, starting with '#'
    own_line: bool
    scope: Optional["NameScope"] = None  # where its names resolve, when not the block's scope
    joined: bool = False  # two comment lines read as one claim (no automatic fix then)
    named: bool = False  # it names the tensor it describes (``# q: ...``, a docstring entry): no other placement


@dataclass
class Layer:
    """One argument of a Sequential: a known layer, a nested block, or something opaque."""

    line: int
    col: int
    call: LayerCall
    end_line: int = 0
    end_col: int = 0
    spec: Optional[LayerSpec] = None
    args: Optional[Args] = None
    nested: Optional["Block"] = None
    trailing: Optional[Comment] = None
    # a layer list that depends on a condition we cannot decide: both ways, and the shape
    # after them is known only if both give the same
    choice: Optional[Tuple[List["Item"], List["Item"]]] = None
    inlined: bool = False  # a helper or module of this file, replayed as its layers
    tensor_args: bool = False  # forward(): its arguments hold tensors or sizes read from them
    quiet: bool = False  # a nested block replayed for its shapes only (its comments are its own block's)


@dataclass
class Store:
    """Keep the current tensor under ``name`` (``index`` > 0: the layer's further output number
    ``index``, as LSTM's ``h`` in ``out, (h, c) = ...``)."""

    name: str
    index: int = 0


@dataclass
class Load:
    """Make the tensor kept under ``name`` current (an unknown one when nothing was kept)."""

    name: str


@dataclass
class Rank:
    """The tensor kept under ``name`` has ``rank`` dimensions, as code says
    (``B, C, H, W = x.shape``: Python would fail otherwise)."""

    name: str
    rank: int
    line: int


@dataclass
class Branch:
    """An ``if`` the frontend cannot decide: both ways are replayed without their comments, and
    each name in ``merged`` holds, after it, the shape both ways agree on (``(after, first-way
    name, second-way name)``)."""

    ways: Tuple[List["Item"], List["Item"]]
    merged: List[Tuple[str, str, str]] = field(default_factory=list)


Item = Union[Layer, Comment, Store, Load, Branch, Rank]


@dataclass
class Block:
    line: int
    col: int
    inputs: List[Comment] = field(default_factory=list)
    items: List[Item] = field(default_factory=list)
    scope: Optional["NameScope"] = None  # Scope or Overlay its names resolve in
    param: Optional[str] = None  # forward(): the name its input is kept under
    channels_last: bool = False  # a Keras model: shapes are (N, *spatial, C), comments read so


def copied(item: Item) -> Item:
    """A copy of ``item`` with every layer, block and branch in it a new object (comments and
    names are shared: nothing changes them). The engine keeps a layer's input and arithmetic by
    the layer's identity, so an element built once and used again must not be the same object."""
    if isinstance(item, Layer):
        nested = item.nested
        choice = item.choice
        return replace(
            item,
            nested=None if nested is None else replace(nested, inputs=list(nested.inputs), items=[copied(i) for i in nested.items]),
            choice=None if choice is None else ([copied(i) for i in choice[0]], [copied(i) for i in choice[1]]),
        )
    if isinstance(item, Branch):
        return replace(item, ways=([copied(i) for i in item.ways[0]], [copied(i) for i in item.ways[1]]), merged=list(item.merged))
    return item


@dataclass(frozen=True)
class ViewSeed:
    """The input a ``forward()`` gives a block (``x.view(-1, 1, 32, 32, 32)``): code, so a fact."""

    sizes: Tuple[int, ...]  # every size but the batch
    line: int  # where the view is written
    text: str  # ``x.view(-1, 1, 32, 32, 32)``, for messages


class NameScope(Protocol):
    """Where the names of a block (and of its comments) get their values: what the engine asks
    of a frontend's scopes."""

    def lookup(self, name: str) -> object: ...

    def symbol(self, name: str) -> object: ...
