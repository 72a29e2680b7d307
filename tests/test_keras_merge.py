"""The Keras merge layers against Keras 3 itself (the torch backend, on CPU), through the
functional frontend.

Each draw is a merge (``Concatenate`` with an axis, or an element-wise one), written as a layer
(``layers.Add()([i0, i1])``) or as its function (``layers.add([i0, i1])``), and one to three
input shapes: mostly ones that fit (equal, or broadcasting with 1s and shorter ranks), often ones
that do not (a size changed, a rank changed, an axis out of range). The draw is rendered as a
functional model source and replayed with ``trace_source``; the real layer is called on zero
tensors of those shapes. It asserts that Keras raises exactly when the replay reports CVS201,
and otherwise that the shapes agree and neither has weights.

``CONVSHAPE_KERAS_EXAMPLES`` (default 60) examples per merge; the counts run are in ``RAN``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

# Keras on the torch backend, numpy and hypothesis as the layer differential sets them up (the
# whole module skips without them)
from test_keras_differential import N_EXAMPLES, RAISES, keras, np  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from flake8_convshape.analysis import trace_source  # noqa: E402
from flake8_convshape.layers.keras import KERAS  # noqa: E402

pytestmark = pytest.mark.keras

RAN: Counter = Counter()
MERGES = ("Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")

# a merge, its keyword arguments, the input shapes (without the batch), and whether it is
# written as the function (``layers.add([...])``)
Draw = Tuple[str, Dict[str, Any], List[Tuple[int, ...]], bool]


def render(name: str, kwargs: Dict[str, Any], shapes: List[Tuple[int, ...]], function: bool) -> str:
    names = [f"i{k}" for k in range(len(shapes))]
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    listed = "[" + ", ".join(names) + "]"
    merged = f"layers.{name.lower()}({listed}{', ' + args if args else ''})" if function else f"layers.{name}({args})({listed})"
    lines = ["import keras", "from keras import layers", ""]
    lines += [f"{n} = keras.Input(shape={s!r})" for n, s in zip(names, shapes)]
    lines += [f"merged = {merged}", f"model = keras.Model({listed}, merged)", ""]
    return "\n".join(lines)


def real(name: str, kwargs: Dict[str, Any], shapes: List[Tuple[int, ...]]) -> Optional[Tuple[Tuple[int, ...], int]]:
    """Keras's output shape (without the batch) and weight count, or None when it raises."""
    try:
        layer = getattr(keras.layers, name)(**kwargs)
        out = layer([np.zeros((2, *s), dtype="float32") for s in shapes])
    except Exception:  # noqa: BLE001  any refusal is what we compare
        return None
    return tuple(int(d) for d in out.shape[1:]), int(layer.count_params())


def replayed(source: str, name: str, function: bool) -> Tuple[Optional[Tuple[Optional[int], ...]], Optional[int], set]:
    traces = trace_source(source)
    assert len(traces) == 1, "the model was not found"
    steps = traces[0].steps
    shown = name.lower() if function else name
    assert [s.layer for s in steps][-1] == shown, steps
    step = steps[-1]
    params = step.parameters.resolved().int_value() if step.parameters is not None else None
    return (None if step.shape is None else tuple(step.shape[1:])), params, set(step.codes)


def check(draw: Draw) -> None:
    name, kwargs, shapes, function = draw
    RAN[name] += 1
    source = render(name, kwargs, shapes, function)
    got = real(name, kwargs, shapes)
    ours, params, codes = replayed(source, name, function)
    if got is None:
        assert codes & RAISES, f"Keras refuses, the replay does not:\n{source}"
        return
    assert not codes & RAISES, f"the replay reports {codes}, Keras runs it:\n{source}"
    out, count = got
    assert ours == out, f"replay {ours}, Keras {out}:\n{source}"
    assert params == count == 0, f"replay {params} weights, Keras {count}:\n{source}"


@st.composite
def merge_draw(draw: Callable[..., Any], name: str) -> Draw:
    base = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    count = draw(st.integers(1, 3))
    shapes = [base]
    for _ in range(count - 1):
        shape = list(base)
        if name != "Concatenate" and draw(st.booleans()):
            shape = shape[draw(st.integers(0, len(shape) - 1)) :]  # a shorter rank broadcasts
        how = draw(st.sampled_from(["same", "same", "one", "size", "rank", "axis"]))
        i = draw(st.integers(0, len(shape) - 1))
        if how == "one":
            shape[i] = 1
        elif how == "size":
            shape[i] = draw(st.integers(1, 4))
        elif how == "rank":
            shape = shape + [draw(st.integers(1, 3))] if draw(st.booleans()) else shape[1:] or [2]
        elif how == "axis" and name == "Concatenate":
            shape[-1] = draw(st.integers(1, 4))
        shapes.append(tuple(shape))
    kwargs: Dict[str, Any] = {}
    if name == "Concatenate" and draw(st.booleans()):
        kwargs["axis"] = draw(st.integers(-len(base) - 2, len(base) + 1))
    return name, kwargs, shapes, draw(st.booleans())


@pytest.mark.parametrize("name", MERGES)
def test_merge_matches_keras(name: str) -> None:
    @settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(merge_draw(name))
    def run(draw: Draw) -> None:
        check(draw)

    run()


def test_every_merge_is_drawn() -> None:
    """Each merge of the catalog (layer and function) is one of MERGES."""
    merges = {n for n, spec in KERAS.items() if spec.family == "keras_merge"}
    assert merges == set(MERGES) | {m.lower() for m in MERGES}


def test_report_counts() -> None:
    """Printed with ``-s``: how many examples each merge ran (the closing note's numbers)."""
    if RAN:
        print("\nKeras merge differential examples:", sum(RAN.values()), "over", len(RAN), "merges")


def test_the_graph_fixture_builds_in_keras_as_replayed():
    """fixtures/keras_graph.py's right model, built by Keras: every layer's output shape is the
    replay's; the defective one is refused by Keras where the replay reports CVS201."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "fixtures" / "keras_graph.py"
    source = path.read_text(encoding="utf-8")
    namespace: Dict[str, Any] = {}
    exec(compile(source, str(path), "exec"), namespace)  # our own fixture, not user code
    model = namespace["two_branch_net"]()
    real_layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    real_shapes = Counter(tuple(layer.output.shape)[1:] for layer in real_layers)
    steps = [s for s in trace_source(source)[0].steps if s.layer != "Input"]
    assert len(steps) == len(real_layers)
    # every layer the replay knows fully (the logits' size is the caller's num_classes) is Keras's
    known = [s for s in steps if None not in s.shape[1:]]
    assert len(known) == len(steps) - 1
    assert not Counter(tuple(s.shape)[1:] for s in known) - real_shapes
    weights = [s.parameters.int_value() + (s.buffers.int_value() if s.buffers is not None else 0) for s in known]
    logits = [layer for layer in real_layers if tuple(layer.output.shape) == (None, 10)]
    assert len(logits) == 1
    assert sum(weights) == model.count_params() - logits[0].count_params()
    with pytest.raises(ValueError, match="incompatible shapes"):
        namespace["two_branch_net_defects"]()
