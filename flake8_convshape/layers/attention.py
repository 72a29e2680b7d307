"""Transformer layers and attention: TransformerEncoderLayer (one input: it sits in a
Sequential), TransformerDecoderLayer, Transformer and MultiheadAttention.

The modules of several inputs take the first (the one the replay hands in as ``shape``) as
PyTorch binds it: ``query``, ``tgt`` (decoder layer), ``src`` (Transformer). The others are
``Operand``s the forward() frontend puts in the arguments by their forward() names (``key``,
``value``, ``memory``, ``tgt``), with forward()'s keyword arguments (``need_weights``,
``average_attn_weights``); absent, the result is what the first input alone decides.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..codes import CVS201, CVS203
from ..dims import Poly, describe, differs
from .base import (
    Problem,
    REQUIRED,
    ZERO,
    Args,
    LayerCall,
    Operand,
    Outcome,
    Shape,
    UNKNOWN_SHAPE,
    float_of,
    int_of,
    poly_of,
    register,
    truth,
    should_be,
)

ENCODER_PARAMS = (
    ("d_model", REQUIRED),
    ("nhead", REQUIRED),
    ("dim_feedforward", 2048),
    ("dropout", 0.1),
    ("activation", "relu"),
    ("layer_norm_eps", 1e-5),
    ("batch_first", False),
    ("norm_first", False),
    ("bias", True),
    ("device", None),
    ("dtype", None),
)


def layer_problems(args: Args, call: LayerCall) -> List[Problem]:
    """What a transformer layer's constructor refuses: d_model and nhead (nhead must divide
    d_model), dim_feedforward, the dropout probability (nn.Dropout's check), the activation."""
    problems: List[Problem] = []
    d_model, nhead, ff = poly_of(args["d_model"]), int_of(args["nhead"]), poly_of(args["dim_feedforward"])
    e = int_of(d_model) if d_model is not None else None
    if (e is not None and e <= 0) or (nhead is not None and nhead <= 0):
        problems.append((CVS203, f"{call.text}: d_model and nhead must be positive"))
    elif nhead is not None and d_model is not None and d_model.resolved().mod(nhead) not in (None, 0):
        problems.append((CVS203, f"{call.text}: d_model {describe(d_model)} is not divisible by nhead={nhead}"))
    f = int_of(ff) if ff is not None else None
    if f is not None and f < 0:
        problems.append((CVS203, f"{call.text}: dim_feedforward must not be negative, got {f}"))
    p = args["dropout"]
    p_value = float(p) if isinstance(p, bool) else float_of(p)
    if p_value is not None and not 0.0 <= p_value <= 1.0:
        problems.append((CVS203, f"{call.text}: dropout probability must be between 0 and 1, got {args.texts['dropout']}"))
    act = args["activation"]
    if isinstance(act, str) and act not in ("relu", "gelu"):
        problems.append((CVS203, f"{call.text}: activation must be 'relu' or 'gelu' (or a callable), got {act!r}"))
    return problems


def width_problem(
    call: LayerCall, expected: Optional[Poly], incoming: Optional[Poly], whose: str, param: str, args: Optional[Args] = None
) -> List[Problem]:
    """CVS201 when a tensor's last size is provably not the width the layer expects."""
    if expected is None or incoming is None or not differs(expected, incoming):
        return []
    hint = should_be(args, param, incoming) if args is not None else ""
    return [(CVS201, f"{call.text} expects {param} = {describe(expected)} features, but {whose} has {describe(incoming)}{hint}")]


def layer_parameters(args: Args, attentions: int, norms: int) -> Optional[Poly]:
    """A transformer layer's sum(p.numel()): ``attentions`` attention blocks of 4*E*E (+ 4*E
    biases), the feed-forward 2*E*F (+ F + E), ``norms`` LayerNorms of E (+ E)."""
    d_model, ff, bias = poly_of(args["d_model"]), poly_of(args["dim_feedforward"]), truth(args["bias"])
    if d_model is None or ff is None or bias is None:
        return None
    params = (d_model * d_model).scale(4 * attentions) + (d_model * ff).scale(2) + d_model.scale(norms)
    if bias:
        params = params + d_model.scale(4 * attentions + 1 + norms) + ff
    return params


@register("TransformerEncoderLayer", "attention", ENCODER_PARAMS, ranks=(3,), accepts=(2, 3))
def encoder_layer(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Shape-preserving on (S, N, E) or (N, S, E) (batch_first only swaps what S and N mean);
    the last dimension must be d_model, and nhead must divide d_model."""
    problems = layer_problems(args, call)
    if not problems:
        problems += width_problem(call, poly_of(args["d_model"]), shape.last_dim, "the incoming tensor", "d_model", args)
    macs = _encoder_macs(args, shape, poly_of(args["d_model"]), poly_of(args["dim_feedforward"]), problems)
    return Outcome(shape, problems, changes=False, parameters=layer_parameters(args, 1, 2), buffers=ZERO, macs=macs)


def _encoder_macs(args: Args, shape: Shape, e: Optional[Poly], f: Optional[Poly], problems: List[Problem]) -> Optional[Poly]:
    """One sample of S tokens: the q, k, v and output projections 4*S*E*E, the attention
    scores and the weighted sum 2*S*S*E, the feed-forward 2*S*E*F. The sequence is the second
    dimension with batch_first, else the first, which the replay takes for the batch and
    rarely knows."""
    batch_first = truth(args["batch_first"])
    if problems or e is None or f is None or batch_first is None or shape.dims is None or len(shape.dims) != 3:
        return None
    s = shape.dims[1] if batch_first else shape.dims[0]
    if s is None:
        return None
    return (s * e * e).scale(4) + (s * s * e).scale(2) + (s * e * f).scale(2)


def _operand_dims(args: Args, name: str) -> Optional[Tuple[Optional[Poly], ...]]:
    """The dims of a forward() tensor the frontend passed by name (``memory``, ``key``)."""
    v = args.values.get(name)
    return v.shape.dims if isinstance(v, Operand) else None


def _batch(dims: Tuple[Optional[Poly], ...], batch_first: Optional[bool]) -> Optional[Poly]:
    """The batch size of a 3-d sequence tensor (None for an unbatched one or an unknown layout)."""
    if len(dims) != 3 or batch_first is None:
        return None
    return dims[0 if batch_first else 1]


def batch_problem(call: LayerCall, a: Tuple[Optional[Poly], ...], b: Tuple[Optional[Poly], ...], first: Optional[bool], names: str) -> List[Problem]:
    x, y = _batch(a, first), _batch(b, first)
    if x is None or y is None or not differs(x, y):
        return []
    return [(CVS201, f"{call.text}: the batch sizes of {names} differ, {describe(x)} and {describe(y)}")]


@register("TransformerDecoderLayer", "attention", ENCODER_PARAMS, ranks=(3,), accepts=(2, 3))
def decoder_layer(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``forward(tgt, memory)``: tgt is the input and gives the output shape; memory (the
    ``memory`` operand, when the frontend passes one) must have d_model features and tgt's batch."""
    problems = layer_problems(args, call)
    d_model, first = poly_of(args["d_model"]), truth(args["batch_first"])
    memory = _operand_dims(args, "memory")
    if not problems:
        problems += width_problem(call, d_model, shape.last_dim, "the incoming tensor (tgt)", "d_model", args)
        if memory is not None and memory:
            problems += width_problem(call, d_model, memory[-1], "memory", "d_model")
            if shape.dims is not None:
                problems += batch_problem(call, shape.dims, memory, first, "tgt and memory")
    return Outcome(shape, problems, changes=False, parameters=layer_parameters(args, 2, 3), buffers=ZERO)


TRANSFORMER_PARAMS = (
    ("d_model", 512),
    ("nhead", 8),
    ("num_encoder_layers", 6),
    ("num_decoder_layers", 6),
    *ENCODER_PARAMS[2:5],  # dim_feedforward, dropout, activation
    ("custom_encoder", None),
    ("custom_decoder", None),
    *ENCODER_PARAMS[5:],
)


@register("Transformer", "attention", TRANSFORMER_PARAMS, ranks=(3,), accepts=(2, 3))
def transformer(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``forward(src, tgt)``: src is the input the frontend binds first; the output has the
    shape of tgt (the ``tgt`` operand). Without it only the batch and d_model are known."""
    problems = layer_problems(args, call)
    d_model, first = poly_of(args["d_model"]), truth(args["batch_first"])
    counts = [int_of(args[n]) for n in ("num_encoder_layers", "num_decoder_layers")]
    if any(c is not None and c <= 0 for c in counts):
        problems.append((CVS203, f"{call.text}: num_encoder_layers and num_decoder_layers must be positive"))
    custom = args["custom_encoder"] is not None or args["custom_decoder"] is not None
    tgt = _operand_dims(args, "tgt")
    if not problems and not custom:
        problems += width_problem(call, d_model, shape.last_dim, "the incoming tensor (src)", "d_model", args)
        if tgt:
            problems += width_problem(call, d_model, tgt[-1], "tgt", "d_model")
        if tgt is not None and shape.dims is not None and len(shape.dims) == 3 and len(tgt) >= 2:
            problems += batch_problem(call, shape.dims, tgt if len(tgt) == 3 else (*tgt, None), first, "src and tgt")
    params = None
    layers = [poly_of(args[n]) for n in ("num_encoder_layers", "num_decoder_layers")]
    encoder, decoder = layer_parameters(args, 1, 2), layer_parameters(args, 2, 3)
    bias = truth(args["bias"])
    if not custom and d_model is not None and encoder is not None and decoder is not None and None not in layers and bias is not None:
        norm = d_model.scale(2 if bias else 1)
        n_enc, n_dec = layers[0], layers[1]
        assert n_enc is not None and n_dec is not None
        params = n_enc * encoder + n_dec * decoder + norm.scale(2)
    if custom or shape.dims is None or len(shape.dims) not in (2, 3):
        out = UNKNOWN_SHAPE
    elif tgt is not None and len(tgt) == len(shape.dims):
        out = Shape((*tgt[:-1], d_model))
    elif len(shape.dims) == 3 and first is not None:
        batch = shape.dims[0 if first else 1]
        out = Shape((batch, None, d_model) if first else (None, batch, d_model))
    else:
        out = Shape((None, d_model)) if len(shape.dims) == 2 else UNKNOWN_SHAPE
    return Outcome(out, problems, parameters=params, buffers=ZERO)


MHA_PARAMS = (
    ("embed_dim", REQUIRED),
    ("num_heads", REQUIRED),
    ("dropout", 0.0),
    ("bias", True),
    ("add_bias_kv", False),
    ("add_zero_attn", False),
    ("kdim", None),
    ("vdim", None),
    ("batch_first", False),
    ("device", None),
    ("dtype", None),
)


def _mha_parameters(args: Args, e: Optional[Poly], kdim: Optional[Poly], vdim: Optional[Poly]) -> Optional[Poly]:
    """q, k, v projections (E x E, E x kdim, E x vdim), out_proj E x E, biases 4*E, bias_k/v 2*E."""
    bias, extra = truth(args["bias"]), truth(args["add_bias_kv"])
    if e is None or kdim is None or vdim is None or bias is None or extra is None:
        return None
    params = e * (e + kdim + vdim + e)
    return params + e.scale((4 if bias else 0) + (2 if extra else 0))


def _key_problems(
    call: LayerCall, query: Tuple[Optional[Poly], ...], key: Optional[Tuple[Optional[Poly], ...]],
    value: Optional[Tuple[Optional[Poly], ...]], kdim: Optional[Poly], vdim: Optional[Poly], first: Optional[bool],
) -> List[Problem]:
    """key and value: their widths, one sequence length and batch, the query's batch."""
    problems: List[Problem] = []
    for name, dims, width in (("key", key, kdim), ("value", value, vdim)):
        if dims:
            problems += width_problem(call, width, dims[-1], name, "kdim" if name == "key" else "vdim")
    if key is not None and value is not None and len(key) == len(value):
        for a, b in zip(key[:-1], value[:-1]):
            if a is not None and b is not None and differs(a, b):
                problems.append((CVS201, f"{call.text}: key and value differ in sequence length or batch ({describe(a)} and {describe(b)})"))
                break
    if key is not None:
        problems += batch_problem(call, query, key, first, "query and key")
    return problems


@register("MultiheadAttention", "attention", MHA_PARAMS, ranks=(3,), accepts=(2, 3))
def multihead_attention(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``forward(query, key, value)``: the output has the query's shape with embed_dim last; the
    weights (``rest``, unless need_weights=False) are (N, L, S), or (N, heads, L, S) when not
    averaged, S the key's length (+1 for add_bias_kv, +1 for add_zero_attn)."""
    problems: List[Problem] = []
    e, heads = poly_of(args["embed_dim"]), int_of(args["num_heads"])
    e_value = int_of(e) if e is not None else None
    if (e_value is not None and e_value <= 0) or (heads is not None and heads <= 0):
        problems.append((CVS203, f"{call.text}: embed_dim and num_heads must be positive"))
    elif heads is not None and e is not None and e.resolved().mod(heads) not in (None, 0):
        problems.append((CVS203, f"{call.text}: embed_dim {describe(e)} is not divisible by num_heads={heads}"))
    kdim = e if args["kdim"] is None else poly_of(args["kdim"])
    vdim = e if args["vdim"] is None else poly_of(args["vdim"])
    params = _mha_parameters(args, e, kdim, vdim)
    if shape.dims is None:
        return Outcome(Shape(None, e), problems, parameters=params, buffers=ZERO)
    first = truth(args["batch_first"])
    key, value = _operand_dims(args, "key"), _operand_dims(args, "value")
    if not problems:
        problems += width_problem(call, e, shape.last_dim, "the query", "embed_dim", args)
        problems += _key_problems(call, shape.dims, key, value, kdim, vdim, first)
    out = Shape((*shape.dims[:-1], e))
    if args.values.get("need_weights", True) is False:
        return Outcome(out, problems, parameters=params, buffers=ZERO)
    return Outcome(out, problems, parameters=params, buffers=ZERO, rest=(_weights(args, shape.dims, key, first, heads),))


def _weights(
    args: Args, query: Tuple[Optional[Poly], ...], key: Optional[Tuple[Optional[Poly], ...]], first: Optional[bool], heads: Optional[int]
) -> Shape:
    batched = len(query) == 3
    length = None if first is None and batched else query[(1 if first else 0) if batched else 0]
    source: Optional[Poly] = None
    if key is not None and len(key) == len(query) and (first is not None or not batched):
        source = key[(1 if first else 0) if batched else 0]
        extra = sum(1 for name in ("add_bias_kv", "add_zero_attn") if truth(args[name]))
        if source is not None and all(truth(args[n]) is not None for n in ("add_bias_kv", "add_zero_attn")):
            source = source + Poly.const(extra)
        else:
            source = None
    averaged = args.values.get("average_attn_weights", True)
    head_dims: Tuple[Optional[Poly], ...] = () if averaged is True else (None if heads is None else Poly.const(heads),) if averaged is False else (None,)
    batch = (_batch(query, first),) if batched else ()
    if averaged not in (True, False):
        return UNKNOWN_SHAPE
    return Shape((*batch, *head_dims, length, source))
