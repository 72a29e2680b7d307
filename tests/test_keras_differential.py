"""Every Keras catalog layer against Keras 3 itself (the torch backend, on CPU).

For each layer a hypothesis strategy draws its arguments and an input shape (valid and invalid
ones: windows larger than the input, strides with dilation, output_padding not below strides,
groups that do not divide, reshapes that cannot match, rates out of range). The draw is rendered
as a one-layer ``keras.Sequential([keras.Input(shape=...), layers.X(...)])`` source, replayed with
``trace_source`` (so the frontend's binding of Keras's signatures is tested too), and the real
layer is built and called on a zero tensor of that shape. It asserts:

* Keras raises (at construction or on the call) exactly when the replay reports CVS201, CVS202
  or CVS203 on the layer;
* where Keras succeeds, the replayed output shape equals the real one and the parameter count
  (trainable and not) equals ``layer.count_params()``.

``CONVSHAPE_KERAS_EXAMPLES`` (default 60) is the number of examples per layer; the counts run
are printed at the end of the session (``-s``) and kept in ``RAN``.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Callable, Dict, Optional, Tuple

import pytest

pytest.importorskip("torch")  # the backend Keras runs on here
os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from flake8_convshape.analysis import trace_source  # noqa: E402
from flake8_convshape.layers.keras import KERAS  # noqa: E402

pytestmark = pytest.mark.keras

N_EXAMPLES = int(os.environ.get("CONVSHAPE_KERAS_EXAMPLES", "60"))
RAISES = {"CVS201", "CVS202", "CVS203"}
RAN: Counter = Counter()  # examples per layer, for the closing note
CORNERS: Counter = Counter()  # refusals of the torch backend alone (``backend_only``)

Draw = Tuple[str, Dict[str, Any], Tuple[int, ...]]  # layer, keyword arguments, input shape without batch


def render(name: str, kwargs: Dict[str, Any], shape: Tuple[int, ...]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return (
        "import keras\n"
        "from keras import layers\n"
        "model = keras.Sequential([\n"
        f"    keras.Input(shape={shape!r}),\n"
        f"    layers.{name}({args}),\n"
        "])\n"
    )


class Inner:
    """A layer given to a wrapper: rendered as source, built for Keras."""

    def __init__(self, name: str, kwargs: Dict[str, Any]) -> None:
        self.name, self.kwargs = name, kwargs

    def __repr__(self) -> str:
        return f"layers.{self.name}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"

    def build(self) -> Any:
        return getattr(keras.layers, self.name)(**self.kwargs)


def real(name: str, kwargs: Dict[str, Any], shape: Tuple[int, ...]) -> Optional[Tuple[Tuple[int, ...], int]]:
    """Keras's output shape (without the batch) and weight count, or None when it raises."""
    dtype = "int32" if name == "Embedding" else "float32"
    try:
        built = {k: v.build() if isinstance(v, Inner) else v for k, v in kwargs.items()}
        layer = getattr(keras.layers, name)(**built)
        out = layer(np.zeros((1, *shape), dtype=dtype))
    except Exception:  # noqa: BLE001  any refusal is what we compare
        return None
    sizes = tuple(int(d) for d in out.shape[1:])
    if 0 in sizes:  # an empty tensor: as good as a refusal (CVS202 says zero or negative)
        return None
    return sizes, int(layer.count_params())


def backend_only(name: str, kwargs: Dict[str, Any]) -> bool:
    """A refusal of the torch backend alone, which TensorFlow and JAX run: average pooling with
    'same' padding and a window larger than the padded input ("input image smaller than kernel
    size"). Not reported: a finding must hold on every backend."""
    return name.startswith("AveragePooling") and kwargs.get("padding") == "same"


def replayed(name: str, kwargs: Dict[str, Any], shape: Tuple[int, ...]) -> Tuple[Optional[Tuple[Optional[int], ...]], Optional[int], set]:
    traces = trace_source(render(name, kwargs, shape))
    assert len(traces) == 1, "the model was not found"
    steps = traces[0].steps
    assert [s.layer for s in steps] == ["Input", name], steps
    step = steps[1]
    total = None
    if step.parameters is not None:
        weights = step.parameters if step.buffers is None else step.parameters + step.buffers
        total = weights.resolved().int_value()
    return (None if step.shape is None else tuple(step.shape[1:])), total, set(step.codes)


def check(draw: Draw) -> None:
    name, kwargs, shape = draw
    RAN[name] += 1
    got = real(name, kwargs, shape)
    ours, params, codes = replayed(name, kwargs, shape)
    source = render(name, kwargs, shape)
    if got is None:
        if backend_only(name, kwargs) and not codes & RAISES:
            CORNERS[name] += 1
            return
        assert codes & RAISES, f"Keras refuses, the replay does not:\n{source}"
        return
    assert not codes & RAISES, f"the replay reports {codes}, Keras runs it:\n{source}"
    out, count = got
    assert ours == out, f"replay {ours}, Keras {out}:\n{source}"
    assert params == count, f"replay {params} weights, Keras {count}:\n{source}"


# --------------------------------------------------------------------------------------------
# draws

small = st.integers(1, 5)
fmt = st.sampled_from([None, "channels_last", "channels_first"])


def per_axis(nd: int, values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.tuples(*[values] * nd))


@st.composite
def conv_draw(draw: Callable[..., Any], name: str, nd: int, kind: str) -> Draw:
    kw: Dict[str, Any] = {}
    if kind != "depthwise":
        kw["filters"] = draw(st.integers(1, 6))
    kw["kernel_size"] = draw(per_axis(nd, st.integers(1, 5)))
    if draw(st.booleans()):
        kw["strides"] = draw(per_axis(nd, st.integers(1, 3)))
    paddings = ["valid", "same", "SAME"] + (["causal"] if name == "Conv1D" else [])
    kw["padding"] = draw(st.sampled_from(paddings))
    if draw(st.booleans()):
        kw["dilation_rate"] = draw(per_axis(nd, st.integers(1, 3)))
    if kind == "conv" and draw(st.booleans()):
        kw["groups"] = draw(st.integers(1, 3))
    if kind == "transpose" and draw(st.booleans()):
        kw["output_padding"] = draw(per_axis(nd, st.integers(0, 3)))
    if kind in ("separable", "depthwise") and draw(st.booleans()):
        kw["depth_multiplier"] = draw(st.integers(1, 3))
    kw["use_bias"] = draw(st.booleans())
    data_format = draw(fmt)
    if data_format is not None:
        kw["data_format"] = data_format
    spatial = tuple(draw(st.integers(1, 9)) for _ in range(nd))
    channels = draw(st.integers(1, 6))
    shape = (channels, *spatial) if data_format == "channels_first" else (*spatial, channels)
    return name, kw, shape


@st.composite
def pool_draw(draw: Callable[..., Any], name: str, nd: int) -> Draw:
    kw: Dict[str, Any] = {"pool_size": draw(per_axis(nd, st.integers(1, 4)))}
    if draw(st.booleans()):
        kw["strides"] = draw(per_axis(nd, st.integers(1, 3)))
    kw["padding"] = draw(st.sampled_from(["valid", "same"]))
    data_format = draw(fmt)
    if data_format is not None:
        kw["data_format"] = data_format
    spatial = tuple(draw(st.integers(1, 8)) for _ in range(nd))
    channels = draw(small)
    shape = (channels, *spatial) if data_format == "channels_first" else (*spatial, channels)
    return name, kw, shape


@st.composite
def global_draw(draw: Callable[..., Any], name: str, nd: int) -> Draw:
    kw: Dict[str, Any] = {"keepdims": draw(st.booleans())}
    data_format = draw(fmt)
    if data_format is not None:
        kw["data_format"] = data_format
    return name, kw, tuple(draw(small) for _ in range(nd + 1))


@st.composite
def resize_draw(draw: Callable[..., Any], name: str, nd: int) -> Draw:
    kw: Dict[str, Any] = {}
    if name.startswith("UpSampling"):
        kw["size"] = draw(per_axis(nd, st.integers(1, 3)))
    else:
        key = "cropping" if name.startswith("Cropping") else "padding"
        pair = st.tuples(st.integers(0, 3), st.integers(0, 3))
        kw[key] = draw(st.one_of(st.integers(0, 3), st.tuples(*[st.integers(0, 3)] * nd), st.tuples(*[pair] * nd)))
        if nd == 1 and isinstance(kw[key], tuple) and len(kw[key]) == 1:
            kw[key] = kw[key][0]
    if nd > 1 or name == "ZeroPadding1D":
        data_format = draw(fmt) if nd > 1 else None
        if data_format is not None:
            kw["data_format"] = data_format
    return name, kw, tuple(draw(st.integers(1, 6)) for _ in range(nd + 1))


@st.composite
def dense_draw(draw: Callable[..., Any]) -> Draw:
    kw = {"units": draw(st.integers(1, 8)), "use_bias": draw(st.booleans())}
    return "Dense", kw, tuple(draw(small) for _ in range(draw(st.integers(1, 3))))


@st.composite
def embedding_draw(draw: Callable[..., Any]) -> Draw:
    kw = {"input_dim": draw(st.integers(1, 20)), "output_dim": draw(st.integers(1, 8))}
    return "Embedding", kw, tuple(draw(small) for _ in range(draw(st.integers(1, 2))))


@st.composite
def reshape_draw(draw: Callable[..., Any]) -> Draw:
    shape = tuple(draw(small) for _ in range(draw(st.integers(1, 3))))
    target = list(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return "Reshape", {"target_shape": tuple(target)}, shape


@st.composite
def permute_draw(draw: Callable[..., Any]) -> Draw:
    rank = draw(st.integers(1, 3))
    dims = tuple(draw(st.permutations(range(1, rank + 1))))
    if draw(st.integers(0, 5)) == 0:
        dims = tuple(draw(st.lists(st.integers(0, rank + 1), min_size=rank, max_size=rank)))
    return "Permute", {"dims": dims}, tuple(draw(small) for _ in range(rank))


@st.composite
def norm_draw(draw: Callable[..., Any], name: str) -> Draw:
    kw = {"center": draw(st.booleans()), "scale": draw(st.booleans())}
    return name, kw, tuple(draw(small) for _ in range(draw(st.integers(1, 3))))


@st.composite
def rnn_draw(draw: Callable[..., Any], name: str) -> Draw:
    kw: Dict[str, Any] = {"units": draw(st.integers(1, 6)), "return_sequences": draw(st.booleans()), "use_bias": draw(st.booleans())}
    if name == "GRU" and draw(st.booleans()):
        kw["reset_after"] = draw(st.booleans())
    return name, kw, (draw(small), draw(small))


@st.composite
def identity_draw(draw: Callable[..., Any], name: str) -> Draw:
    kw: Dict[str, Any] = {}
    if name in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout", "AlphaDropout"):
        kw["rate"] = draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, -0.1]))
    rank = {"SpatialDropout1D": 2, "SpatialDropout2D": 3, "SpatialDropout3D": 4}.get(name) or draw(st.integers(1, 3))
    if name == "PReLU" and draw(st.booleans()):
        kw["shared_axes"] = tuple(sorted(draw(st.sets(st.integers(1, rank), min_size=1, max_size=rank))))
    if name == "Activation":
        kw["activation"] = "relu"
    return name, kw, tuple(draw(small) for _ in range(rank))


@st.composite
def bidirectional_draw(draw: Callable[..., Any]) -> Draw:
    inner = draw(st.sampled_from(["LSTM", "GRU", "SimpleRNN"]))
    kw = {"units": draw(st.integers(1, 5)), "return_sequences": draw(st.booleans()), "use_bias": draw(st.booleans())}
    outer: Dict[str, Any] = {"layer": Inner(inner, kw)}
    if draw(st.booleans()):
        outer["merge_mode"] = draw(st.sampled_from(["concat", "sum", "mul", "ave"]))
    return "Bidirectional", outer, (draw(small), draw(small))


@st.composite
def time_distributed_draw(draw: Callable[..., Any]) -> Draw:
    kind = draw(st.sampled_from(["Dense", "Conv2D", "MaxPooling2D"]))
    steps = draw(small)
    if kind == "Dense":
        return "TimeDistributed", {"layer": Inner("Dense", {"units": draw(small)})}, (steps, *(draw(small) for _ in range(draw(st.integers(1, 2)))))
    image = (draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(small))
    if kind == "Conv2D":
        kw: Dict[str, Any] = {"filters": draw(small), "kernel_size": draw(st.integers(1, 4)), "padding": draw(st.sampled_from(["valid", "same"]))}
    else:
        kw = {"pool_size": draw(st.integers(1, 3))}
    return "TimeDistributed", {"layer": Inner(kind, kw)}, (steps, *image)


@st.composite
def preprocessing_draw(draw: Callable[..., Any], name: str) -> Draw:
    image = (draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(small))
    if name in ("Resizing", "CenterCrop", "RandomCrop"):
        kw: Dict[str, Any] = {"height": draw(st.integers(1, 8)), "width": draw(st.integers(1, 8))}
        if name != "Resizing" and draw(st.booleans()):
            kw["data_format"] = draw(st.sampled_from(["channels_last", "channels_first"]))
        return name, kw, image
    first = {"Rescaling": {"scale": 0.5}, "RandomFlip": {}, "RandomRotation": {"factor": 0.1}, "RandomZoom": {"height_factor": 0.1},
             "RandomContrast": {"factor": 0.2}, "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1}, "RandomBrightness": {"factor": 0.1}}
    return name, first[name], image


STRATEGIES: Dict[str, st.SearchStrategy[Draw]] = {}
for _name in ("Rescaling", "RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast", "RandomTranslation", "RandomBrightness", "Resizing", "CenterCrop", "RandomCrop"):
    STRATEGIES[_name] = preprocessing_draw(_name)
STRATEGIES["Bidirectional"] = bidirectional_draw()
STRATEGIES["TimeDistributed"] = time_distributed_draw()
for _nd in (1, 2, 3):
    STRATEGIES[f"Conv{_nd}D"] = conv_draw(f"Conv{_nd}D", _nd, "conv")
    STRATEGIES[f"Conv{_nd}DTranspose"] = conv_draw(f"Conv{_nd}DTranspose", _nd, "transpose")
    STRATEGIES[f"MaxPooling{_nd}D"] = pool_draw(f"MaxPooling{_nd}D", _nd)
    STRATEGIES[f"AveragePooling{_nd}D"] = pool_draw(f"AveragePooling{_nd}D", _nd)
    STRATEGIES[f"GlobalAveragePooling{_nd}D"] = global_draw(f"GlobalAveragePooling{_nd}D", _nd)
    STRATEGIES[f"GlobalMaxPooling{_nd}D"] = global_draw(f"GlobalMaxPooling{_nd}D", _nd)
    for _kind in ("UpSampling", "ZeroPadding", "Cropping"):
        STRATEGIES[f"{_kind}{_nd}D"] = resize_draw(f"{_kind}{_nd}D", _nd)
for _nd in (1, 2):
    STRATEGIES[f"SeparableConv{_nd}D"] = conv_draw(f"SeparableConv{_nd}D", _nd, "separable")
    STRATEGIES[f"DepthwiseConv{_nd}D"] = conv_draw(f"DepthwiseConv{_nd}D", _nd, "depthwise")
STRATEGIES["Dense"] = dense_draw()
STRATEGIES["Embedding"] = embedding_draw()
STRATEGIES["Reshape"] = reshape_draw()
STRATEGIES["Permute"] = permute_draw()
STRATEGIES["Flatten"] = norm_draw("Flatten").map(lambda d: ("Flatten", {}, d[2]))
STRATEGIES["RepeatVector"] = st.tuples(st.just("RepeatVector"), st.builds(lambda n: {"n": n}, small), st.tuples(small))
for _name in ("BatchNormalization", "LayerNormalization"):
    STRATEGIES[_name] = norm_draw(_name)
for _name in ("LSTM", "GRU", "SimpleRNN"):
    STRATEGIES[_name] = rnn_draw(_name)
for _name in (
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout", "AlphaDropout",
    "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU",
    "ActivityRegularization", "Identity", "Masking", "UnitNormalization",  # GaussianNoise: flaky in Keras (shares keeps_shape)
):
    STRATEGIES[_name] = identity_draw(_name)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_layer_matches_keras(name: str) -> None:
    @settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(STRATEGIES[name])
    def run(draw: Draw) -> None:
        check(draw)

    run()


def test_every_catalog_layer_is_drawn() -> None:
    """Each KERAS entry is drawn, or is an alias of one that is (the same transfer function),
    or is the input every draw starts from, or is a merge (drawn in test_keras_merge.py)."""
    assert set(STRATEGIES) <= set(KERAS)
    drawn = {KERAS[name].fn for name in STRATEGIES}
    left = {name for name, spec in KERAS.items() if spec.fn not in drawn and spec.family != "keras_merge"}
    assert left == {"Input", "InputLayer"}


def test_report_counts() -> None:
    """Printed with ``-s``: how many examples each layer ran (the closing note's numbers)."""
    if RAN:
        print("\nKeras differential examples:", sum(RAN.values()), "over", len(RAN), "layers;", "backend-only refusals:", sum(CORNERS.values()))
