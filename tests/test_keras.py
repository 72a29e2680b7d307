"""The Keras frontend and catalog without Keras installed: finding models, reading their claims
(comments in Keras's order, ``assert model.output_shape == ...``), the findings, ``fix`` and
``summary``. Keras itself is the oracle of tests/test_keras_differential.py."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import List, Tuple

from flake8_convshape import check_source
from flake8_convshape.analysis import analyse, trace_source
from flake8_convshape.claims import ShapeClaim, parse_comment
from flake8_convshape.fix import fix_source
from flake8_convshape.layers.keras import KERAS
from flake8_convshape.keras_summary import keras_block_json, render_keras_table

ROOT = Path(__file__).resolve().parents[1]
# the seed's generator and discriminator, both Sequential styles; clean
GENERATOR = (ROOT / "fixtures" / "keras_dcgan.py").read_text(encoding="utf-8")


def findings(source: str) -> List[Tuple[int, int, str, str]]:
    return [(f.line, f.col, f.code, f.message) for f in check_source(textwrap.dedent(source))]


def codes(source: str) -> List[Tuple[int, str]]:
    return [(line, code) for line, _, code, _ in findings(source)]


def line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def test_the_seed_generator_is_clean():
    assert findings(GENERATOR) == []
    generator = trace_source(GENERATOR)[0]
    assert generator.claims_total == 7 and generator.claims_checked == 7


WRONG_ASSERT = GENERATOR.replace("output_shape == (None, 14, 14, 64)", "output_shape == (None, 14, 14, 32)")


def test_a_wrong_assert_is_reported_at_its_tuple_with_keras_arithmetic():
    ((line, col, code, message),) = findings(WRONG_ASSERT)
    assert (line, code) == (line_of(WRONG_ASSERT, "(None, 14, 14, 32)"), "CVS101")
    assert col == WRONG_ASSERT.splitlines()[line - 1].index("(None, 14, 14, 32)")
    assert message.startswith("assert says (None, 14, 14, 32), but Conv2DTranspose(64, (5, 5), strides=(2, 2)")
    assert "gives (None, 14, 14, 64): 'same' with strides 2: 7*2 = 14" in message


def test_a_stride_bug_is_caught_by_the_asserts_after_it_and_hinted():
    source = GENERATOR.replace("Conv2DTranspose(64, (5, 5), strides=(2, 2)", "Conv2DTranspose(64, (5, 5), strides=(1, 1)")
    got = findings(source)
    # the comments above the layers and the asserts after them: wrong whichever layer they describe
    expected = [line_of(source, text) for text in ("14*14*64", "== (None, 14, 14, 64)", "# 28*28*1", "== (None, 28, 28, 1)")]
    assert [(line, code) for line, _, code, _ in got] == [(n, "CVS101") for n in expected]
    assert got[1][3].endswith("gives (None, 7, 7, 64): 'same' keeps 7; strides=2 gives 14")


def test_fix_rewrites_the_assert_tuple_and_nothing_else():
    result = fix_source(WRONG_ASSERT)
    assert result.text == GENERATOR
    assert result.changed_lines == [line_of(WRONG_ASSERT, "(None, 14, 14, 32)")]


def test_none_is_the_batch_of_a_keras_shape():
    claim = parse_comment("# (None, 7, 7, 128)", trailing=False)
    assert isinstance(claim, ShapeClaim) and claim.has_batch and len(claim.dims) == 4


LIST = '''\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),  # (None, 26, 26, 32)
    layers.MaxPooling2D(),
    # 13x13x32
    layers.Conv2D(64, 3, activation="relu"),
    # COMMENT
    layers.Flatten(),
    layers.Dense(10),
])
'''


def test_comments_read_in_keras_order_right_and_wrong():
    assert findings(LIST.replace("COMMENT", "(None, 11, 11, 64)")) == []
    assert findings(LIST.replace("COMMENT", "11x11x64")) == []
    wrong = findings(LIST.replace("COMMENT", "(None, 11, 11, 32)"))
    assert [(line, code) for line, _, code, _ in wrong] == [(9, "CVS101")]
    assert "gives (None, 11, 11, 64): 13-3+1 = 11" in wrong[0][3]
    # channels first (PyTorch's order) is the other reading of a Keras shape, not a finding
    assert codes(LIST.replace("COMMENT", "(None, 64, 11, 11)")) == []
    assert codes(LIST.replace("COMMENT", "(None, 32, 11, 11)")) == [(9, "CVS101")]


def test_wrong_comment_gets_a_padding_hint():
    ((_, _, _, message),) = findings(LIST.replace("COMMENT", "(None, 13, 13, 64)"))
    assert message.endswith("; padding='same' gives 13")


def test_import_spellings():
    spellings = [
        ("import keras\n", "keras.Sequential", "keras.layers."),
        ("import tensorflow as tf\n", "tf.keras.Sequential", "tf.keras.layers."),
        ("from keras.layers import Conv2D, Flatten\nfrom keras.models import Sequential\n", "Sequential", ""),
        ("import keras.layers as L\nimport keras\n", "keras.models.Sequential", "L."),
        ("from tensorflow.keras import layers as kl\nfrom tensorflow import keras\n", "keras.Sequential", "kl."),
    ]
    for header, seq, prefix in spellings:
        source = (
            f"{header}m = {seq}([\n"
            f"    {prefix}Conv2D(8, 3, input_shape=(10, 10, 3)),\n"
            "    # 8x8x9\n"
            f"    {prefix}Flatten(),\n"
            "])\n"
        )
        assert codes(source) == [(len(header.splitlines()) + 3, "CVS101")], source


def test_unknown_sizes_are_never_a_finding():
    source = """\
    import keras
    from keras import layers

    def build(h, w, extra):
        return keras.Sequential([
            keras.Input(shape=(h, w, 3)),
            layers.Conv2D(64, 3, padding="same"),
            # (None, 32, 32, 64)
            layers.Conv2D(64, 3, padding="same", **extra),
            # (None, 17, 17, 999)
            layers.Dense(10),
        ])
    """
    assert findings(source) == []


def test_unknown_keyword_and_loops_make_the_shape_unknown():
    source = """\
    import keras
    from keras import layers

    def build(blocks):
        model = keras.Sequential()
        model.add(layers.Conv2D(8, 3, input_shape=(16, 16, 3), mystery=2))
        assert model.output_shape == (None, 99, 99, 8)
        for _ in range(blocks):
            model.add(layers.Conv2D(8, 3))
        assert model.output_shape == (None, 5, 5, 8)
        model.add(layers.Flatten())
        return model
    """
    assert findings(source) == []


def test_refusals():
    source = """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=(4, 4, 3)),
        layers.Conv2D(8, 5),
    ])
    strided = keras.Sequential([
        keras.Input(shape=(16, 16, 3)),
        layers.Conv2D(8, 3, strides=2, dilation_rate=2),
        layers.Conv2DTranspose(8, 3, strides=2, output_padding=2),
        layers.Reshape((7, 7, 3)),
    ])
    """
    got = findings(source)
    assert [(line, code) for line, _, code, _ in got] == [(6, "CVS202"), (10, "CVS203"), (11, "CVS203")]
    assert got[0][3] == "Conv2D(8, 5) gives a size of 0 (zero or negative): 4-5+1 = 0"
    reshape = """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=(8, 8, 3)),
        layers.Flatten(),
        layers.Reshape((7, 7, 3)),
    ])
    """
    ((line, _, code, message),) = findings(reshape)
    assert (line, code) == (7, "CVS201")
    assert message == "Reshape((7, 7, 3)): target_shape holds 147 values, but the incoming tensor holds 192"


def test_channels_first_keeps_its_order():
    source = """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=(3, 32, 32)),
        layers.Conv2D(16, 3, strides=2, padding="same", data_format="channels_first"),
        # (None, 16, 16, 16)
        layers.MaxPooling2D(data_format="channels_first"),
        # (None, 16, 8, 8)
        layers.Conv2D(8, 3, data_format="channels_first"),
        # (None, 8, 6, 7)
    ])
    """
    assert codes(source) == [(11, "CVS101")]


def test_torch_and_keras_models_in_one_file_use_their_own_catalogs():
    source = """\
    import torch.nn as nn
    import keras
    from keras import layers

    torch_model = nn.Sequential(
        # input: 3 x 8 x 8
        nn.Flatten(),
        # 192
        nn.Linear(192, 10),
    )
    keras_model = keras.Sequential([
        keras.Input(shape=(8, 8, 3)),
        layers.Flatten(),
        # (None, 192)
        layers.Dense(10),
        # (None, 11)
    ])
    """
    assert codes(source) == [(16, "CVS101")]


def test_a_functional_chain_is_read_and_an_expression_it_cannot_follow_is_unknown():
    source = """\
    import keras
    from keras import layers

    def build():
        inputs = keras.Input(shape=(32, 32, 3))
        x = layers.Conv2D(32, 3, padding="same")(inputs)  # (None, 32, 32, 32)
        x = layers.MaxPooling2D()(x)
        # (None, 16, 16, 32)
        x = layers.Conv2D(64, 3)(x)
        # (None, 16, 16, 64)
        outputs = layers.Dense(10)(x)
        return keras.Model(inputs, outputs)
    """
    assert codes(source) == [(10, "CVS101")]
    branch = source.replace("x = layers.MaxPooling2D()(x)", "x = layers.MaxPooling2D()(x) + layers.AveragePooling2D()(x)")
    # the sum is an unknown tensor: the comment below it settles it, and the next one is
    # weighed against that (a 3x3 'valid' conv cannot keep 16), never against a guess
    assert codes(branch) == [(10, "CVS103")]
    assert codes(branch.replace("# (None, 16, 16, 64)", "# (None, 14, 14, 64)")) == []


def test_a_functional_file_without_sequential_passes_the_prefilter():
    source = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(8,))
    x = layers.Dense(4)(inputs)
    # (None, 5)
    model = keras.Model(inputs=inputs, outputs=x)
    """
    assert codes(source) == [(5, "CVS101")]


def test_embedding_input_length_and_recurrent_layers():
    source = """\
    import keras
    from keras import layers

    model = keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64, input_length=50))
    assert model.output_shape == (None, 50, 64)
    model.add(layers.LSTM(32, return_sequences=True))
    assert model.output_shape == (None, 50, 32)
    model.add(layers.GRU(16))
    assert model.output_shape == (None, 50, 16)
    """
    assert codes(source) == [(10, "CVS101")]


def test_bad_input_never_raises():
    for source in (
        "import keras\nm = keras.Sequential(layers)\n",
        "import keras\nm = keras.Sequential([keras.layers.Conv2D()])\n",
        "import keras\nm = keras.Sequential([keras.layers.Dense(units='x', input_shape=3)])\nassert m.output_shape == (None,\n 3)\n",
        "import keras\nm = keras.Sequential()\nm.add()\nm.add(*ls)\nassert m.output_shape == 3\n",
        "import keras\nx = keras.Input(shape=(3,))\nmodel = keras.Model(x, x)\n",
    ):
        errors: list = []
        result = analyse(source, on_error=lambda line, exc: errors.append(exc))
        assert result.findings == [] and errors == [], source


def test_summary_counts_like_keras():
    result = analyse(GENERATOR)
    trace = result.traces[0]
    table = render_keras_table("gen.py", trace, lines=result.lines)
    # the numbers Keras 3 prints for this model (model.summary())
    assert "Total params: 2,330,944" in table
    assert "Trainable params: 2,305,472" in table
    assert "Non-trainable params: 25,472" in table
    assert " 0  Dense(7 * 7 * BASE, use_bias=False, input_shape=(NOISE_DIM))" in table
    assert "(None, 28, 28, 1)" in table
    data = keras_block_json("gen.py", trace, lines=result.lines)
    assert (data["framework"], data["total_parameters"], data["non_trainable_buffers"]) == ("keras", 2330944, 25472)


def test_claims_say_keras_order():
    claims = analyse(LIST.replace("COMMENT", "(None, 11, 11, 64)")).claims
    assert [c.claim for c in claims][:1] == ["(None, 26, 26, 32): in Keras's order, the output of its layer"]


def test_the_keras_page_names_every_catalog_layer():
    page = (ROOT / "docs" / "keras.md").read_text(encoding="utf-8")
    words = set(re.findall(r"[A-Za-z0-9]+", page))
    for name in KERAS:
        # ``MaxPooling1D/2D/3D`` and the ``Convolution...`` aliases are written once for all
        stem = re.sub(r"[123]D", "1D", name)
        assert name in words or stem in words or name.startswith(("Convolution", "SeparableConvolution", "MaxPool", "AvgPool", "GlobalAvgPool", "GlobalMaxPool")), name


def test_the_readme_example_is_what_the_checker_prints():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = (ROOT / "tests" / "expected_flake8.txt").read_text(encoding="utf-8").splitlines()
    shown = [line for line in readme.splitlines() if line.startswith("fixtures/keras_")]
    assert shown and all(line in expected for line in shown)


def test_star_imports_and_keras_1_convolutions():
    source = """\
    from keras.models import *
    from keras.layers import *

    model = Sequential()
    model.add(Conv2D(32, (3, 3), input_shape=(28, 28, 1)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    # (None, 12, 12, 32)
    old = Sequential()
    old.add(Convolution2D(32, 3, 3, input_shape=(28, 28, 1)))
    # (None, 26, 26, 32)
    """
    # Keras 1's Convolution2D(nb_filter, nb_row, nb_col) is not read with Keras 2's strides
    assert codes(source) == [(7, "CVS101")]


def test_annotate_writes_keras_shapes_that_read_back():
    from flake8_convshape.annotate import annotate_source

    source = """\
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(32, 3),
    layers.ReLU(),
    layers.MaxPooling2D(),
    layers.Flatten(),
])
"""
    result = annotate_source(source)
    added = [line.strip() for line in result.text.splitlines() if line.strip().startswith("#")]
    assert added == ["# (None, 28, 28, 1)", "# (None, 26, 26, 32)", "# (None, 13, 13, 32)", "# (None, 5408)"]
    statuses = analyse(result.text).claims
    assert len(statuses) == 4 and all(c.compared and c.code is None for c in statuses)


def test_none_is_any_size_and_the_rank_counts():
    source = """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=(None, 8)),
        layers.Conv1D(16, 3, padding="same"),
        # (None, None, 16)
        layers.LSTM(4),
        # (None, 4)
    ])
    """
    assert codes(source) == []
    assert codes(source.replace("(None, None, 16)", "(None, None, 17)")) == [(7, "CVS101")]
    ((_, _, _, message),) = findings(source.replace("# (None, 4)", "# (None, None, 4)"))
    assert message == "comment says (None, None, 4), but LSTM(4) at line 8 gives (None, 4)"


def test_an_if_raise_on_output_shape_is_a_claim_and_fixed():
    source = """\
import keras
from keras import layers

model = keras.Sequential([keras.Input(shape=(8, 8, 3)), layers.Conv2D(4, 3)])
if model.output_shape != (None, 6, 6, 5):
    raise ValueError(model.output_shape)
"""
    ((line, col, code, message),) = findings(source)
    assert (line, col, code) == (5, 25, "CVS101")
    assert message.startswith("assert says (None, 6, 6, 5), but Conv2D(4, 3) at line 4 gives (None, 6, 6, 4)")
    assert "(None, 6, 6, 4):" in fix_source(source).text


def test_an_assert_after_the_model_is_replaced_is_not_its_claim():
    source = """\
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4)])
    assert model.output_shape == (None, 4)
    model = make_other_model()
    assert model.output_shape == (None, 7)
    """
    assert codes(source) == []
    assert codes(source.replace("(None, 4)", "(None, 5)")) == [(5, "CVS101")]


def test_a_file_that_changes_the_default_layout_is_left_alone():
    source = """\
    import keras
    from keras import layers

    keras.backend.set_image_data_format("channels_first")
    model = keras.Sequential([keras.Input(shape=(3, 32, 32)), layers.Conv2D(8, 3)])
    assert model.output_shape == (None, 8, 30, 30)
    """
    assert codes(source) == []
    assert trace_source(source) == []


def test_claims_list_an_assert_at_its_tuple():
    statuses = analyse(GENERATOR).claims
    line = line_of(GENERATOR, "== (None, 7, 7, 256)")
    (status,) = [c for c in statuses if c.line == line]
    assert status.col == GENERATOR.splitlines()[line - 1].index("(None, 7, 7, 256)")
    assert (status.text, status.claim) == ("(None, 7, 7, 256)", "(None, 7, 7, 256): in Keras's order, the model's output_shape")


def test_wrappers_run_the_layer_they_wrap():
    source = """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=(20, 8)),
        layers.Bidirectional(layers.LSTM(16, return_sequences=True)),
        # (None, 20, 32)
        layers.TimeDistributed(layers.Dense(5)),
        # (None, 20, 5)
        layers.Bidirectional(layers.GRU(4), merge_mode="sum"),
        # (None, 8)
        layers.Bidirectional(Custom(4)),
        # (None, 99)
    ])
    """
    assert codes(source) == [(11, "CVS101")]
    steps = trace_source(textwrap.dedent(source))[0].steps
    assert [s.parameters.resolved().int_value() for s in steps[1:4]] == [3200, 165, 264]


def test_an_image_model_that_starts_with_preprocessing():
    source = """\
    import tensorflow as tf
    from tensorflow.keras import layers

    model = tf.keras.Sequential([
        layers.Rescaling(1.0 / 255, input_shape=(180, 180, 3)),
        layers.RandomFlip("horizontal"),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        # (None, 90, 90, 16)
        layers.Resizing(64, 64, crop_to_aspect_ratio=True),
        # (None, 64, 64, 15)
    ])
    """
    assert codes(source) == [(11, "CVS101")]


def test_a_comment_on_another_statement_is_not_the_models():
    source = """\
    import keras
    from keras import layers

    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(32, 3)(inputs)
    aux = layers.Dense(10)(inputs)  # (None, 10)
    x = layers.Flatten()(x)  # (None, 28800)
    model = keras.Model(inputs, x)

    m = keras.Sequential()
    m.add(layers.Dense(8, input_shape=(4,)))
    data = load().reshape(60000, 28, 28, 1)  # (60000, 28, 28, 1)
    for _ in range(3):
        print(data.shape)  # (None, 3)
    m.add(layers.Dense(3))  # (None, 4)
    """
    assert codes(source) == [(15, "CVS101")]


def test_the_seeds_chinese_comments_are_claims():
    claim = parse_comment("#转化为14*14*64", trailing=False)
    assert isinstance(claim, ShapeClaim) and claim.text == "14*14*64"
    assert parse_comment("# 变为 2 倍", trailing=False) is None


def test_channels_first_comments_on_a_keras_model_are_a_reading():
    source = """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, 3, padding="same"),
        # 64 x 28 x 28
        layers.MaxPooling2D(),
        # 64 x 14 x 14
        layers.Conv2D(32, 3),
        # 64 x 12 x 12
    ])
    """
    ((line, _, code, message),) = findings(source)
    assert (line, code) == (11, "CVS101")
    assert message.startswith("comment says 64 x 12 x 12, but Conv2D(32, 3) at line 10 gives 32 x 12 x 12")
    assert "# 32 x 12 x 12" in fix_source(textwrap.dedent(source)).text
    claims = analyse(textwrap.dedent(source)).claims
    assert claims[0].claim == "64 x 28 x 28: channels first, the shape above it"


def test_loops_over_known_values_are_unrolled():
    source = """\
    import keras
    from keras import layers

    FILTERS = [32, 64, 128]


    def build(blocks=2):
        model = keras.Sequential()
        model.add(keras.Input(shape=(64, 64, 3)))
        for f in FILTERS:
            model.add(layers.Conv2D(f, 3, padding="same"))  # (None, 64, 64, 32): not one layer's
            model.add(layers.MaxPooling2D())
        # (None, 8, 8, 128)
        for i in range(2):
            model.add(layers.Dense(16 * (i + 1)))
        # (None, 8, 8, 48)
        for i in range(blocks):
            model.add(layers.Dense(5))
        # (None, 8, 8, 7)
        return model
    """
    assert codes(source) == [(16, "CVS101")]
    steps = trace_source(textwrap.dedent(source))[0].steps
    assert [s.parameters.resolved().int_value() for s in steps[1:9]] == [896, 0, 18496, 0, 73856, 0, 2064, 544]
