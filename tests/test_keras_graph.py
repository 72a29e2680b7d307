"""Functional Keras models beyond one chain: branches, merges, several inputs and outputs, and
the statements the frontend cannot follow (their tensors unknown, never guessed). Keras's
own rules for the merges are tested against Keras in tests/test_keras_merge.py."""

from __future__ import annotations

import textwrap
from typing import List, Tuple

from flake8_convshape import check_source
from flake8_convshape.analysis import trace_source


def findings(source: str) -> List[Tuple[int, str, str]]:
    return [(f.line, f.code, f.message) for f in check_source(textwrap.dedent(source))]


def codes(source: str) -> List[Tuple[int, str]]:
    return [(line, code) for line, code, _ in findings(source)]


RESIDUAL = """\
import keras
from keras import layers


def block(filters):
    inputs = keras.Input(shape=(32, 32, 16))
    shortcut = inputs
    x = layers.Conv2D(filters, 3, padding="same")(inputs)  # (None, 32, 32, 16)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(16, 3, padding="same")(x)
    x = layers.Add()([x, shortcut])  # (None, 32, 32, 16)
    pooled = layers.MaxPooling2D()(x)
    # (None, 16, 16, 16)
    side = layers.Conv2D(8, 1)(x)  # (None, 32, 32, 8)
    joined = layers.Concatenate()([x, side])  # (None, 32, 32, 24)
    return keras.Model(inputs, [pooled, joined])
"""


def test_a_residual_block_and_a_concatenation_are_followed():
    assert findings(RESIDUAL) == []
    trace = trace_source(RESIDUAL)[0]
    assert trace.claims_total == 5 and trace.claims_checked == 5
    assert [s.layer for s in trace.steps] == [
        "Input", "Conv2D", "BatchNormalization", "ReLU", "Conv2D", "Add", "MaxPooling2D", "Conv2D", "Concatenate"
    ]
    assert trace.steps[-1].shape == (None, 32, 32, 24)
    assert trace.steps[5].parameters is not None and trace.steps[5].parameters.int_value() == 0


def test_a_wrong_comment_on_a_merge_shows_the_sum():
    wrong = RESIDUAL.replace("# (None, 32, 32, 24)", "# (None, 32, 32, 16)")
    (line, code, message), = findings(wrong)
    assert (line, code) == (16, "CVS101")
    assert message.endswith("gives (None, 32, 32, 24): on axis -1: 16 + 8 = 24"), message


def test_each_output_branch_is_checked():
    wrong = RESIDUAL.replace("# (None, 16, 16, 16)", "# (None, 32, 32, 16)")
    assert codes(wrong) == [(14, "CVS101")]


def test_a_residual_add_of_other_channels_is_what_keras_refuses():
    wrong = RESIDUAL.replace('layers.Conv2D(16, 3, padding="same")(x)', 'layers.Conv2D(32, 3, padding="same")(x)')
    (line, code, message), = findings(wrong)
    assert (line, code) == (12, "CVS201")
    assert "(None, 32, 32, 32) and (None, 32, 32, 16)" in message
    # the filters unknown: 16 may be what the caller passes, so nothing is said
    assert codes(RESIDUAL.replace('layers.Conv2D(16, 3, padding="same")(x)', 'layers.Conv2D(filters, 3, padding="same")(x)')) == []


def test_a_name_assigned_again_is_another_tensor():
    """``shortcut`` keeps the tensor it was given, not what ``x`` becomes later."""
    source = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(8, 8, 16))
    x = layers.Conv2D(32, 1)(inputs)
    shortcut = x
    x = layers.Conv2D(64, 1)(x)
    x = layers.add([x, shortcut])
    model = keras.Model(inputs=inputs, outputs=x)
    """
    assert codes(source) == [(7, "CVS201")]
    assert codes(source.replace("shortcut = x", "shortcut = layers.Conv2D(64, 1)(x)")) == []


def test_several_inputs():
    source = """\
    import keras
    from keras import layers
    image = keras.Input(shape=(28, 28, 1))
    meta = keras.Input(shape=(5,))
    x = layers.Flatten()(image)  # (None, 784)
    m = layers.Dense(16)(meta)
    x = layers.concatenate([x, m], axis=-1)  # (None, 800)
    out = layers.Dense(1)(x)
    model = keras.Model([image, meta], out)
    """
    assert codes(source) == []
    assert codes(source.replace("(None, 800)", "(None, 790)")) == [(7, "CVS101")]
    trace = trace_source(textwrap.dedent(source))[0]
    assert trace.claims_checked == 2


def test_a_statement_it_cannot_follow_is_an_unknown_tensor():
    source = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(8, 3)(inputs)  # (None, 30, 30, 8)
    y = my_block(x)
    z = layers.Add()([x, y])  # (None, 30, 30, 8)
    model = keras.Model(inputs, z)
    """
    assert codes(source) == []
    # the unknown tensor settles nothing wrong: Keras broadcasts, so the sum's sizes stay unknown
    assert codes(source.replace("z = layers.Add()([x, y])  # (None, 30, 30, 8)", "z = layers.Add()([x, y])  # (None, 7, 7, 8)")) == []


def test_a_tensor_from_outside_the_function_is_unknown():
    source = """\
    import keras
    from keras import layers

    def head(features):
        inputs = keras.Input(shape=(10,))
        x = layers.Dense(4)(inputs)
        x = layers.Concatenate()([x, features])  # (None, 9)
        return keras.Model(inputs, x)
    """
    assert codes(source) == []


def test_a_shared_layer_is_not_followed():
    source = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(16,))
    dense = layers.Dense(4)
    x = dense(inputs)  # (None, 5)
    out = layers.Dense(2)(x)  # (None, 2)
    model = keras.Model(inputs, out)
    """
    assert codes(source) == []


def test_a_tensor_the_model_does_not_use_is_not_its_own():
    """Statements outside the graph from the inputs to the outputs are not the model's: their
    comments are not its claims."""
    source = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(16,))
    unused = layers.Dense(3)(inputs)  # (None, 99)
    out = layers.Dense(2)(inputs)  # (None, 2)
    model = keras.Model(inputs, out)
    """
    assert codes(source) == []
    trace = trace_source(textwrap.dedent(source))[0]
    assert [s.layer for s in trace.steps] == ["Input", "Dense"]


def test_an_own_line_comment_describes_the_tensor_just_made():
    source = """\
    import keras
    from keras import layers
    a = keras.Input(shape=(8, 8, 3))
    b = layers.Conv2D(4, 3)(a)
    # (None, 6, 6, 4)
    c = layers.Conv2D(5, 1)(a)
    # (None, 8, 8, 5)
    d = layers.Concatenate()([layers.ZeroPadding2D()(b), c])
    model = keras.Model(a, [b, c])
    """
    assert codes(source) == []
    assert codes(source.replace("# (None, 8, 8, 5)", "# (None, 6, 6, 5)")) == [(7, "CVS101")]


def test_calls_nested_in_one_statement_are_followed():
    source = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(16, 16, 8))
    x = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(inputs)))  # (None, 16, 16, 8)
    y = layers.Dropout(0.1)(x, training=True)
    z = layers.add([y, layers.Conv2D(8, 1)(inputs)])  # (None, 16, 16, 8)
    model = keras.Model(inputs, z)
    """
    assert codes(source) == []
    trace = trace_source(textwrap.dedent(source))[0]
    assert [s.layer for s in trace.steps] == ["Input", "Conv2D", "BatchNormalization", "ReLU", "Dropout", "Conv2D", "add"]
    assert trace.claims_checked == 2
    assert codes(source.replace("layers.Conv2D(8, 1)(inputs)", "layers.Conv2D(4, 1)(inputs)")) == [(6, "CVS201")]
    # the trailing comment is the whole statement's tensor, not its innermost call's
    assert codes(source.replace("(None, 16, 16, 8)\n    y", "(None, 16, 16, 9)\n    y")) == [(4, "CVS101")]


def test_bad_functional_code_never_raises():
    for body in (
        "x = layers.Add()([])",
        "x = layers.concatenate([])",
        "x = layers.Add()(inputs)",
        "x = layers.Add()([*parts])",
        "x = layers.Concatenate(axis=k)([inputs, inputs])",
        "x = layers.Concatenate(axis=9)([inputs, inputs])",
        "x = layers.Dense(3)(inputs, mask=m)",
        "x, y = layers.Dense(3)(inputs), inputs",
        "x = layers.Subtract()([inputs])",
        "x = keras.Input(shape=(2,))(inputs)",
        "x = layers.Dense(3)()",
        "x = layers.Dense(3)(x)",
    ):
        source = f"import keras\nfrom keras import layers\ninputs = keras.Input(shape=(4,))\n{body}\nmodel = keras.Model(inputs, x)\n"
        check_source(source)
        trace_source(source)
    assert codes("import keras\nfrom keras import layers\ni = keras.Input(shape=(4,))\nx = layers.Concatenate(axis=9)([i, i])\nm = keras.Model(i, x)\n") == [(4, "CVS201")]


def test_output_shape_asserts_on_a_functional_model():
    source = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(8, 3)(inputs)
    a = layers.Flatten()(x)
    b = layers.GlobalMaxPooling2D()(x)
    model = keras.Model(inputs, [a, b])
    assert model.output_shape == [(None, 5408), (None, 8)]
    single = keras.Model(inputs, b)
    assert single.output_shape == (None, 8)
    """
    assert codes(source) == []
    wrong = findings(source.replace("(None, 5408), (None, 8)]", "(None, 5408), (None, 9)]"))
    assert [(line, code) for line, code, _ in wrong] == [(8, "CVS101")]
    assert wrong[0][2].startswith("assert says (None, 9), but GlobalMaxPooling2D() at line 6 gives (None, 8)")
    assert codes(source.replace("== (None, 8)", "== (None, 1, 8)")) == [(10, "CVS101")]
    # a list whose length is not the outputs', or a model assigned again: not its claim
    assert codes(source.replace("[(None, 5408), (None, 8)]", "[(None, 5408)]")) == []
    again = source.replace("    single = keras.Model(inputs, b)\n", "    single = keras.Model(inputs, b)\n    single = make()\n")
    assert codes(again.replace("== (None, 8)", "== (None, 1, 8)")) == []


def test_fix_rewrites_a_functional_models_assert():
    from flake8_convshape.fix import fix_source

    source = textwrap.dedent("""\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(28, 28, 1))
    b = layers.GlobalMaxPooling2D()(layers.Conv2D(8, 3)(inputs))
    model = keras.Model(inputs, b)
    assert model.output_shape == (None, 9)
    """)
    fixed = fix_source(source)
    assert fixed.text == source.replace("(None, 9)", "(None, 8)")


def test_subtract_of_three_is_refused_whatever_their_shapes():
    source = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(4,))
    y = my_layer(inputs)
    x = layers.Subtract()([inputs, y, y])
    model = keras.Model(inputs, x)
    """
    assert codes(source) == [(5, "CVS201")]
    assert codes(source.replace("[inputs, y, y]", "[inputs, y]")) == []


def test_a_comment_above_the_model_call_is_read_once():
    source = "import keras\nfrom keras import layers\n\ninputs = keras.Input(shape=(32,))\nout = layers.Dense(10)(inputs)\n\n# (None, 10)\nmodel = keras.Model(inputs, out)\n"
    trace = trace_source(source)[0]
    assert trace.claims_total == 1 and trace.claims_checked == 1
    assert codes(source) == []
