#!/usr/bin/env python3
"""Feeds malformed ONNX models to the dlinfer CLI and reports the ones that crash it.

A model that dlinfer cannot accept must be refused with an error status and a message; a Swift trap, a signal or an
abort takes the user's host process down. This script starts from the committed models and small one-node models of
each op family, mutates them (truncation, byte flips, and mostly structural changes made with the onnx API: odd
attribute values, wrong initializer shapes and types, mismatched input ranks, zero-size dims, dangling or duplicate
names, missing inputs, unusual input types), and runs each variant through `dlinfer-cli info` and `dlinfer-cli run`
with inputs of the declared shapes, in a subprocess with a timeout.

    python3 tools/fuzz_models.py [--count N] [--seed S] [--cli .build/debug/dlinfer-cli] [--keep DIR] [--only SUBSTR]

The CPU targets build with -Ounchecked, so an out-of-bounds access may go unnoticed; a build with AddressSanitizer
catches them: `swift build --build-path /tmp/dlinfer-asan -Xswiftc -sanitize=address --product dlinfer-cli`, then
`--cli /tmp/dlinfer-asan/debug/dlinfer-cli`.

A crash is a negative return code (death by signal), a return code of 128+signal from a wrapper, or "Fatal error" or
an AddressSanitizer report on stderr. The summary counts variants, clean rejections, successful runs and crashes, and lists the first crashes with
the mutation that made them; --keep saves every crashing model (and its inputs) to DIR.
"""
import argparse
import copy
import glob
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NP_OF = {
    TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64, TensorProto.INT64: np.int64,
    TensorProto.INT32: np.int32, TensorProto.INT16: np.int16, TensorProto.INT8: np.int8, TensorProto.UINT8: np.uint8,
    TensorProto.UINT16: np.uint16, TensorProto.UINT32: np.uint32, TensorProto.UINT64: np.uint64,
    TensorProto.BOOL: np.bool_, TensorProto.FLOAT16: np.float16,
}
ODD_DTYPES = [TensorProto.DOUBLE, TensorProto.INT64, TensorProto.INT32, TensorProto.INT8, TensorProto.UINT8,
              TensorProto.BOOL, TensorProto.FLOAT16, TensorProto.UINT64, TensorProto.STRING, TensorProto.BFLOAT16,
              TensorProto.COMPLEX64, 0, 99]
ODD_INTS = [0, 1, -1, -2, 2, 3, 7, 100, 2**31 - 1, 2**31, 2**40, 2**62, -2**63, 2**63 - 1]
ODD_FLOATS = [0.0, -1.0, 1e-30, 1e30, float("nan"), float("inf"), -float("inf")]
FLOAT = TensorProto.FLOAT


# ---------------------------------------------------------------------------------------------------------------------
# Base models


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, shape, dtype=FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def rnd(shape, dtype=np.float32, rng=np.random.default_rng(0)):
    return rng.standard_normal(shape).astype(dtype)


def one_node_models():
    """Small well-formed models, one per op (family), that the mutations then break."""
    N = helper.make_node
    ms = {}
    x4 = vi("x", [1, 2, 5, 5])
    ms["conv"] = model([N("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                          dilations=[1, 1], group=1)], [x4], [vi("y", None)],
                       [init("w", rnd([3, 2, 3, 3])), init("b", rnd([3]))])
    ms["conv_group"] = model([N("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], group=2, auto_pad="SAME_UPPER")],
                             [vi("x", [1, 4, 6, 6])], [vi("y", None)], [init("w", rnd([4, 2, 3, 3]))])
    ms["conv1d"] = model([N("Conv", ["x", "w"], ["y"], strides=[2])], [vi("x", [2, 3, 9])], [vi("y", None)],
                         [init("w", rnd([4, 3, 3]))])
    ms["convtranspose"] = model([N("ConvTranspose", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                   pads=[1, 1, 1, 1], output_padding=[1, 1])], [x4], [vi("y", None)],
                                [init("w", rnd([2, 3, 3, 3])), init("b", rnd([3]))])
    ms["maxpool"] = model([N("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
                          [x4], [vi("y", None), vi("i", None, TensorProto.INT64)])
    ms["avgpool"] = model([N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)],
                          [x4], [vi("y", None)])
    ms["globalpool"] = model([N("GlobalAveragePool", ["x"], ["y"])], [x4], [vi("y", None)])
    ms["batchnorm"] = model([N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-5)], [x4],
                            [vi("y", None)], [init("s", rnd([2])), init("b", rnd([2])), init("m", rnd([2])),
                                              init("v", np.abs(rnd([2])))])
    ms["lrn"] = model([N("LRN", ["x"], ["y"], size=3)], [x4], [vi("y", None)])
    ms["gemm"] = model([N("Gemm", ["a", "w", "c"], ["y"], transB=1, alpha=1.0, beta=1.0)], [vi("a", [2, 3])],
                       [vi("y", None)], [init("w", rnd([4, 3])), init("c", rnd([4]))])
    ms["matmul"] = model([N("MatMul", ["a", "b"], ["y"])], [vi("a", [2, 3, 4]), vi("b", [4, 5])], [vi("y", None)])
    for kind, g in (("LSTM", 4), ("GRU", 3), ("RNN", 1)):
        h = 3
        ins = ["x", "W", "R", "B", "lens", "h0"] + (["c0", "P"] if kind == "LSTM" else [])
        inits = [init("W", rnd([2, g * h, 4])), init("R", rnd([2, g * h, h])), init("B", rnd([2, 2 * g * h])),
                 init("h0", rnd([2, 2, h]))]
        if kind == "LSTM":
            inits += [init("c0", rnd([2, 2, h])), init("P", rnd([2, 3 * h]))]
        outs = ["y", "yh"] + (["yc"] if kind == "LSTM" else [])
        ms[kind.lower()] = model([N(kind, ins, outs, hidden_size=h, direction="bidirectional")],
                                 [vi("x", [5, 2, 4]), vi("lens", [2], TensorProto.INT32)],
                                 [vi(o, None) for o in outs], inits)
    ms["unary"] = model([N("Relu", ["x"], ["t"]), N("Sigmoid", ["t"], ["u"]), N("LeakyRelu", ["u"], ["v"], alpha=0.1),
                         N("Elu", ["v"], ["y"], alpha=1.0)], [vi("x", [2, 3])], [vi("y", None)])
    ms["clip"] = model([N("Clip", ["x", "lo", "hi"], ["y"])], [vi("x", [2, 3])], [vi("y", None)],
                       [init("lo", np.float32(-1)), init("hi", np.float32(1))])
    ms["binary"] = model([N("Add", ["a", "b"], ["t"]), N("Pow", ["t", "b"], ["u"]), N("Div", ["u", "a"], ["y"])],
                         [vi("a", [2, 1, 4]), vi("b", [3, 1])], [vi("y", None)])
    ms["binary_int"] = model([N("Div", ["a", "b"], ["y"])], [vi("a", [2, 3], TensorProto.INT32),
                                                              vi("b", [3], TensorProto.INT32)],
                             [vi("y", None, TensorProto.INT32)])
    ms["variadic"] = model([N("Sum", ["a", "b", "c"], ["y"])], [vi("a", [2, 3]), vi("b", [3]), vi("c", [1, 1])],
                           [vi("y", None)])
    ms["softmax"] = model([N("Softmax", ["x"], ["y"], axis=1)], [vi("x", [2, 3, 4])], [vi("y", None)])
    ms["logsoftmax"] = model([N("LogSoftmax", ["x"], ["y"], axis=-1)], [vi("x", [2, 3])], [vi("y", None)])
    ms["reshape"] = model([N("Reshape", ["x", "s"], ["y"])], [vi("x", [2, 3, 4])], [vi("y", None)],
                          [init("s", np.array([0, -1, 2], np.int64))])
    ms["reshape_dyn"] = model([N("Shape", ["x"], ["s"]), N("Reshape", ["x", "s"], ["y"])], [vi("x", ["n", 3])],
                              [vi("y", None)])
    ms["flatten"] = model([N("Flatten", ["x"], ["y"], axis=2)], [vi("x", [2, 3, 4])], [vi("y", None)])
    ms["squeeze"] = model([N("Squeeze", ["x", "a"], ["y"])], [vi("x", [2, 1, 4])], [vi("y", None)],
                          [init("a", np.array([1], np.int64))])
    ms["unsqueeze"] = model([N("Unsqueeze", ["x", "a"], ["y"])], [vi("x", [2, 4])], [vi("y", None)],
                            [init("a", np.array([0, -1], np.int64))])
    ms["transpose"] = model([N("Transpose", ["x"], ["y"], perm=[2, 0, 1])], [vi("x", [2, 3, 4])], [vi("y", None)])
    ms["concat"] = model([N("Concat", ["a", "b"], ["y"], axis=1)], [vi("a", [2, 3]), vi("b", [2, 5])], [vi("y", None)])
    ms["split"] = model([N("Split", ["x", "s"], ["y0", "y1"], axis=1)], [vi("x", [2, 5])],
                        [vi("y0", None), vi("y1", None)], [init("s", np.array([2, 3], np.int64))], opset=13)
    ms["split18"] = model([N("Split", ["x"], ["y0", "y1"], axis=0, num_outputs=2)], [vi("x", [5, 2])],
                          [vi("y0", None), vi("y1", None)], opset=18)
    ms["split_attr"] = model([N("Split", ["x"], ["y0", "y1"], axis=1, split=[1, 4])], [vi("x", [2, 5])],
                             [vi("y0", None), vi("y1", None)], opset=11)
    ms["slice"] = model([N("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], [vi("x", [4, 6])], [vi("y", None)],
                        [init("st", np.array([1, -1], np.int64)), init("en", np.array([3, -7], np.int64)),
                         init("ax", np.array([0, 1], np.int64)), init("sp", np.array([1, -2], np.int64))])
    ms["slice_dyn"] = model([N("Slice", ["x", "st", "en"], ["y"])], [vi("x", [4, 6]), vi("st", [1], TensorProto.INT64),
                                                                     vi("en", [1], TensorProto.INT64)], [vi("y", None)])
    ms["gather"] = model([N("Gather", ["x", "i"], ["y"], axis=1)], [vi("x", [3, 4])], [vi("y", None)],
                         [init("i", np.array([[0, 3], [-1, 1]], np.int64))])
    ms["gather_dyn"] = model([N("Gather", ["x", "i"], ["y"], axis=0)], [vi("x", [3, 4]), vi("i", [2], TensorProto.INT64)],
                             [vi("y", None)])
    ms["cast"] = model([N("Cast", ["x"], ["y"], to=TensorProto.INT8)], [vi("x", [2, 3])], [vi("y", None, TensorProto.INT8)])
    ms["constantofshape"] = model([N("ConstantOfShape", ["s"], ["y"], value=helper.make_tensor("v", FLOAT, [1], [2.0]))],
                                  [], [vi("y", None)], [init("s", np.array([2, 3], np.int64))])
    ms["expand"] = model([N("Expand", ["x", "s"], ["y"])], [vi("x", [3, 1])], [vi("y", None)],
                         [init("s", np.array([2, 1, 4], np.int64))])
    ms["pad"] = model([N("Pad", ["x", "p", "v"], ["y"], mode="constant")], [vi("x", [2, 3])], [vi("y", None)],
                      [init("p", np.array([1, 0, 0, 2], np.int64)), init("v", np.float32(1))])
    ms["resize"] = model([N("Resize", ["x", "", "sc"], ["y"], mode="nearest")], [x4], [vi("y", None)],
                         [init("sc", np.array([1, 1, 2, 2], np.float32))], opset=13)
    ms["reduce"] = model([N("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)], [vi("x", [2, 3, 4])], [vi("y", None)],
                         opset=13)
    ms["argmax"] = model([N("ArgMax", ["x"], ["y"], axis=1, keepdims=1)], [vi("x", [2, 3])],
                         [vi("y", None, TensorProto.INT64)])
    ms["dropout"] = model([N("Dropout", ["x"], ["y", "m"])], [vi("x", [2, 3])], [vi("y", None),
                                                                                vi("m", None, TensorProto.BOOL)])
    ms["shape"] = model([N("Shape", ["x"], ["y"], start=1, end=-1)], [vi("x", [2, 3, 4])],
                        [vi("y", None, TensorProto.INT64)], opset=15)
    # Parameters given as graph inputs: their values (fed as small random integers) are only known at run time.
    I64 = TensorProto.INT64
    ms["reshape_in"] = model([N("Reshape", ["x", "s"], ["y"])], [vi("x", [2, 3, 4]), vi("s", [3], I64)], [vi("y", None)])
    ms["expand_in"] = model([N("Expand", ["x", "s"], ["y"])], [vi("x", [3, 1]), vi("s", [2], I64)], [vi("y", None)])
    ms["constantofshape_in"] = model([N("ConstantOfShape", ["s"], ["y"])], [vi("s", [2], I64)], [vi("y", None)])
    ms["squeeze_in"] = model([N("Squeeze", ["x", "a"], ["y"])], [vi("x", [2, 1, 1]), vi("a", [1], I64)], [vi("y", None)])
    ms["unsqueeze_in"] = model([N("Unsqueeze", ["x", "a"], ["y"])], [vi("x", [2, 3]), vi("a", [1], I64)], [vi("y", None)])
    ms["split_in"] = model([N("Split", ["x", "s"], ["y0", "y1"], axis=1)], [vi("x", [2, 5]), vi("s", [2], I64)],
                           [vi("y0", None), vi("y1", None)], opset=13)
    ms["slice_in"] = model([N("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
                           [vi("x", [4, 6]), vi("st", [2], I64), vi("en", [2], I64), vi("ax", [2], I64), vi("sp", [2], I64)],
                           [vi("y", None)])
    ms["clip_in"] = model([N("Clip", ["x", "lo", "hi"], ["y"])], [vi("x", [2, 3]), vi("lo", []), vi("hi", [])],
                          [vi("y", None)])
    ms["pad_in"] = model([N("Pad", ["x", "p"], ["y"], mode="reflect")], [vi("x", [2, 3]), vi("p", [4], I64)],
                         [vi("y", None)])
    ms["resize_in"] = model([N("Resize", ["x", "", "", "sz"], ["y"], mode="linear")], [x4, vi("sz", [4], I64)],
                            [vi("y", None)], opset=13)
    ms["reduce_in"] = model([N("ReduceSum", ["x", "a"], ["y"])], [vi("x", [2, 3, 4]), vi("a", [1], I64)], [vi("y", None)],
                            opset=13)
    # Symbolic dims (fed random sizes, zero included).
    ms["conv_sym"] = model([N("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
                           [vi("x", ["n", 2, "h", "w"])], [vi("y", None)], [init("w", rnd([3, 2, 3, 3]))])
    ms["pool_sym"] = model([N("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2])],
                           [vi("x", ["n", 2, "h", "w"])], [vi("y", None)])
    ms["gemm_sym"] = model([N("MatMul", ["a", "b"], ["t"]), N("Gemm", ["t", "w"], ["y"])],
                           [vi("a", ["n", "k"]), vi("b", ["k", 3])], [vi("y", None)], [init("w", rnd([3, 2]))])
    ms["lstm_sym"] = model([N("LSTM", ["x", "W", "R"], ["y", "yh"], hidden_size=3)], [vi("x", ["t", "n", 4])],
                           [vi("y", None), vi("yh", None)], [init("W", rnd([1, 12, 4])), init("R", rnd([1, 12, 3]))])
    ms["concat_sym"] = model([N("Concat", ["a", "b"], ["y"], axis=0)], [vi("a", ["n", 3]), vi("b", ["m", 3])],
                             [vi("y", None)])
    ms["transpose_sym"] = model([N("Transpose", ["x"], ["y"])], [vi("x", ["a", "b", "c"])], [vi("y", None)])
    ms["softmax_sym"] = model([N("Softmax", ["x"], ["y"])], [vi("x", ["n", "c"])], [vi("y", None)])
    ms["binary_sym"] = model([N("Mul", ["a", "b"], ["y"])], [vi("a", ["n", 1]), vi("b", ["m"])], [vi("y", None)])
    return ms


def committed_models():
    paths = sorted(glob.glob(os.path.join(ROOT, "Tests/Fixtures/models/*/model.onnx")))
    paths += sorted(glob.glob(os.path.join(ROOT, "Tests/Fixtures/recurrent/*/model.onnx")))
    paths += [os.path.join(ROOT, "examples/models/digits_cnn.onnx")]
    out = {}
    for p in paths:
        if os.path.exists(p):
            name = os.path.relpath(os.path.dirname(p) if p.endswith("/model.onnx") else p, ROOT)
            out[name] = onnx.load(p)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Mutations: each takes (model, rng) and returns (model or bytes, description), or None when it does not apply.


def initializer_names(m):
    return {i.name for i in m.graph.initializer}


def real_inputs(m):
    inits = initializer_names(m)
    return [i for i in m.graph.input if i.name not in inits]


def odd_int(rng):
    return rng.choice(ODD_INTS + [rng.randint(-5, 10)] * 4)


def odd_ints(rng, a):
    n = len(a.ints)
    choice = rng.randrange(7)
    if choice == 0:
        return []
    if choice == 1:
        return list(a.ints) + [rng.randint(-2, 4)]
    if choice == 2 and n > 1:
        return list(a.ints)[:-1]
    v = list(a.ints) or [1]
    v[rng.randrange(len(v))] = odd_int(rng)
    return v


def mutate_attribute(m, rng):
    nodes = [n for n in m.graph.node if n.attribute and n.op_type != "Constant"]
    if not nodes:
        return None
    n = rng.choice(nodes)
    a = rng.choice(n.attribute)
    if a.type == onnx.AttributeProto.INT:
        a.i = odd_int(rng)
        what = a.i
    elif a.type == onnx.AttributeProto.INTS:
        v = odd_ints(rng, a)
        del a.ints[:]
        a.ints.extend(v)
        what = v
    elif a.type == onnx.AttributeProto.FLOAT:
        a.f = rng.choice(ODD_FLOATS)
        what = a.f
    elif a.type == onnx.AttributeProto.FLOATS:
        v = list(a.floats)
        if v and rng.random() < 0.5:
            v.pop()
        else:
            v.append(rng.choice(ODD_FLOATS))
        del a.floats[:]
        a.floats.extend(v)
        what = v
    elif a.type == onnx.AttributeProto.STRING:
        a.s = rng.choice([b"", b"bogus", b"SAME_LOWER", b"VALID", b"reverse", b"forward", b"\xff\xfe"])
        what = a.s
    elif a.type == onnx.AttributeProto.STRINGS:
        v = list(a.strings)
        if v and rng.random() < 0.5:
            v.pop()
        else:
            v.append(rng.choice([b"Tanh", b"Relu", b"bogus", b"ScaledTanh", b"Affine"]))
        del a.strings[:]
        a.strings.extend(v)
        what = v
    elif a.type == onnx.AttributeProto.TENSOR:
        t = a.t
        arr = rng.choice([np.zeros([0], np.float32), np.zeros([2], np.float32), np.array(1, np.int64),
                          np.array([3], np.uint8)])
        a.t.CopyFrom(numpy_helper.from_array(arr, t.name))
        what = f"tensor {arr.dtype}{list(arr.shape)}"
    else:
        return None
    return m, f"{n.op_type} '{n.name or n.output[0]}' attribute {a.name} = {what!r}"


def add_attribute(m, rng):
    """Adds an attribute the op's schema knows but the node lacks, with an odd value of the schema's type."""
    nodes = [n for n in m.graph.node if n.op_type != "Constant"]
    if not nodes:
        return None
    n = rng.choice(nodes)
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 17)
    try:
        schema = onnx.defs.get_schema(n.op_type, opset)
    except Exception:
        return None
    have = {a.name for a in n.attribute}
    cands = [(k, v) for k, v in schema.attributes.items() if k not in have]
    if not cands:
        return None
    name, attr = rng.choice(cands)
    T = onnx.defs.OpSchema.AttrType
    if attr.type == T.INT:
        val = odd_int(rng)
    elif attr.type == T.INTS:
        val = [odd_int(rng) for _ in range(rng.randint(0, 4))]
    elif attr.type == T.FLOAT:
        val = rng.choice(ODD_FLOATS)
    elif attr.type == T.FLOATS:
        val = [rng.choice(ODD_FLOATS) for _ in range(rng.randint(0, 3))]
    elif attr.type == T.STRING:
        val = rng.choice(["", "bogus", "SAME_UPPER", "VALID", "reverse", "bidirectional", "linear", "reflect"])
    elif attr.type == T.STRINGS:
        val = [rng.choice(["Tanh", "Sigmoid", "bogus"]) for _ in range(rng.randint(0, 6))]
    elif attr.type == T.TENSOR:
        val = numpy_helper.from_array(rng.choice([np.zeros([0], np.float32), np.array([7], np.int32)]))
    else:
        return None
    if isinstance(val, list) and not val:
        return None  # helper cannot type an empty list
    n.attribute.append(helper.make_attribute(name, val))
    return m, f"{n.op_type} '{n.name or n.output[0]}' add attribute {name} = {val if attr.type != T.TENSOR else 'tensor'!r}"


def set_initializer(m, idx, arr):
    old = m.graph.initializer[idx]
    new = numpy_helper.from_array(arr, old.name)
    m.graph.initializer[idx].CopyFrom(new)


def mutate_initializer(m, rng):
    if not m.graph.initializer:
        return None
    idx = rng.randrange(len(m.graph.initializer))
    t = m.graph.initializer[idx]
    arr = numpy_helper.to_array(t)
    choice = rng.randrange(9)
    if choice == 0 and arr.ndim > 0:
        new = arr.reshape(-1)[: max(arr.size - 1, 0)]  # one element short, rank 1
        what = f"shape {list(arr.shape)} -> {list(new.shape)}"
    elif choice == 1:
        new = arr.reshape(arr.shape + (1,))  # one more dim
        what = f"shape {list(arr.shape)} -> {list(new.shape)}"
    elif choice == 2 and arr.ndim > 0:
        new = arr.reshape(-1)  # flattened
        what = f"shape {list(arr.shape)} -> {list(new.shape)}"
    elif choice == 3:
        shape = list(arr.shape) or [1]
        shape[rng.randrange(len(shape))] = 0
        new = np.zeros(shape, arr.dtype)
        what = f"shape {list(arr.shape)} -> {shape} (empty)"
    elif choice == 4:
        dt = rng.choice([np.float64, np.int64, np.int32, np.float16, np.uint8, np.bool_, np.float32])
        new = arr.astype(dt)
        what = f"dtype {arr.dtype} -> {np.dtype(dt)}"
    elif choice == 5:
        new = np.array(arr.reshape(-1)[0] if arr.size else 0, arr.dtype)
        what = f"shape {list(arr.shape)} -> scalar"
    elif choice == 6 and arr.dtype.kind in "iu":
        new = arr.copy().reshape(-1)
        if new.size:
            new[rng.randrange(new.size)] = rng.choice([-1, -2, 0, 2**31 - 1, -2**63, 2**62, 1000000])
        new = new.reshape(arr.shape)
        what = f"integer values {arr.reshape(-1)[:8].tolist()} -> {new.reshape(-1)[:8].tolist()}"
    elif choice == 7:
        # Raw bytes that do not match the dims.
        t.raw_data = t.raw_data[: len(t.raw_data) // 2] if t.raw_data else b"\x00"
        del t.float_data[:]
        del t.int64_data[:]
        del t.int32_data[:]
        return m, f"initializer '{t.name}' raw_data truncated"
    elif choice == 8:
        # Dims that claim far more than the data holds (must be refused before anything is allocated).
        del t.dims[:]
        t.dims.extend(rng.choice([[2**20, 2**20], [2**40], [2**62, 4], [1, 2**31, 2**31]]))
        return m, f"initializer '{t.name}' dims -> {list(t.dims)}"
    else:
        return None
    set_initializer(m, idx, new)
    return m, f"initializer '{t.name}' {what}"


def mutate_input_type(m, rng):
    ins = real_inputs(m)
    if not ins:
        return None
    i = rng.choice(ins)
    tt = i.type.tensor_type
    choice = rng.randrange(7)
    dims = tt.shape.dim
    if choice == 6 and len(dims) > 0:
        for k, d in enumerate(dims):
            d.dim_param = f"s{k}"
        return m, f"input '{i.name}' has only symbolic dims (fed random sizes)"
    if choice == 0:
        tt.elem_type = rng.choice(ODD_DTYPES)
        return m, f"input '{i.name}' dtype -> {tt.elem_type}"
    if choice == 1 and len(dims) > 0:
        del dims[-1]
        return m, f"input '{i.name}' loses its last dim"
    if choice == 2:
        dims.add().dim_value = rng.choice([1, 2, 3])
        return m, f"input '{i.name}' gets an extra dim"
    if choice == 3 and len(dims) > 0:
        d = dims[rng.randrange(len(dims))]
        d.dim_value = rng.choice([0, 1, 7])
        return m, f"input '{i.name}' dim -> {d.dim_value}"
    if choice == 4 and len(dims) > 0:
        d = dims[rng.randrange(len(dims))]
        d.dim_param = "sym"
        return m, f"input '{i.name}' dim -> symbol (fed a random size)"
    if choice == 5:
        tt.ClearField("shape")
        return m, f"input '{i.name}' has no shape (fed the original shape)"
    return None


def mutate_wiring(m, rng):
    g = m.graph
    nodes = [n for n in g.node if n.op_type != "Constant"]
    if not nodes:
        return None
    n = rng.choice(nodes)
    names = [i.name for i in g.input] + [t.name for t in g.initializer] + [o for x in g.node for o in x.output]
    choice = rng.randrange(8)
    if choice == 0 and n.input:
        k = rng.randrange(len(n.input))
        n.input[k] = ""
        return m, f"{n.op_type} input {k} omitted"
    if choice == 1 and n.input:
        k = rng.randrange(len(n.input))
        n.input[k] = rng.choice(names)
        return m, f"{n.op_type} input {k} -> '{n.input[k]}'"
    if choice == 2 and n.input:
        del n.input[-1]
        return m, f"{n.op_type} loses its last input"
    if choice == 3:
        n.input.append(rng.choice(names + [""]))
        return m, f"{n.op_type} gets an extra input '{n.input[-1]}'"
    if choice == 4 and n.input:
        n.input[rng.randrange(len(n.input))] = "dangling"
        return m, f"{n.op_type} reads a dangling name"
    if choice == 5:
        n.output.append(rng.choice(["extra", n.output[0]]))
        return m, f"{n.op_type} gets an extra output '{n.output[-1]}'"
    if choice == 6 and len(n.output) > 1:
        del n.output[-1]
        return m, f"{n.op_type} loses its last output"
    if choice == 7:
        other = rng.choice(g.node)
        if other is not n and other.output:
            n.output[0] = other.output[0]
            return m, f"{n.op_type} output duplicates '{other.output[0]}'"
    return None


def mutate_graph(m, rng):
    g = m.graph
    choice = rng.randrange(6)
    if choice == 0:
        g.output.add().CopyFrom(g.output[0])
        return m, "graph output listed twice"
    if choice == 1 and g.input:
        g.input.add().CopyFrom(g.input[0])
        return m, "graph input listed twice"
    if choice == 2 and len(g.node) > 1:
        k = rng.randrange(len(g.node) - 1)
        a, b = copy.deepcopy(g.node[k]), copy.deepcopy(g.node[k + 1])
        g.node[k].CopyFrom(b)
        g.node[k + 1].CopyFrom(a)
        return m, f"nodes {k} and {k + 1} swapped"
    if choice == 3:
        g.output[0].name = rng.choice([i.name for i in g.input] + [t.name for t in g.initializer] or ["nothing"])
        return m, f"graph output -> '{g.output[0].name}'"
    if choice == 4:
        del m.opset_import[:]
        m.opset_import.extend([helper.make_opsetid("", rng.choice([1, 5, 6, 7, 9, 11, 22, 0, -1, 2**40]))])
        return m, f"opset -> {m.opset_import[0].version}"
    if choice == 5 and g.node:
        g.node.append(copy.deepcopy(rng.choice(g.node)))
        return m, "a node duplicated"
    return None


def truncate(data, rng):
    k = rng.randrange(1, max(len(data), 2))
    return data[:k], f"truncated to {k} of {len(data)} bytes"


def flip(data, rng):
    b = bytearray(data)
    n = rng.randint(1, 8)
    for _ in range(n):
        p = rng.randrange(len(b))
        b[p] = rng.randrange(256)
    return bytes(b), f"{n} random bytes changed"


def keep(m, rng):
    """No change: the model is run on new random inputs (run-time parameters, symbolic dims)."""
    return m, "unchanged (random inputs)"


STRUCTURAL = [keep, mutate_attribute, mutate_attribute, add_attribute, mutate_initializer, mutate_initializer,
              mutate_input_type, mutate_wiring, mutate_wiring, mutate_graph]


# ---------------------------------------------------------------------------------------------------------------------
# Inputs and running


def feeds_for(m, rng, base_feeds):
    """Arrays of each real input's declared type and shape (symbolic dims get small random sizes)."""
    out = {}
    for i in real_inputs(m):
        tt = i.type.tensor_type
        dt = NP_OF.get(tt.elem_type)
        if dt is None:
            return None
        if tt.HasField("shape"):
            shape = [d.dim_value if d.HasField("dim_value") else (base_feeds[i.name].shape[k]
                     if i.name in base_feeds and k < base_feeds[i.name].ndim else rng.choice([0, 1, 2, 3, 5, 8]))
                     for k, d in enumerate(tt.shape.dim)]
        elif i.name in base_feeds:
            shape = list(base_feeds[i.name].shape)
        else:
            shape = [2, 3]
        if int(np.prod(shape, dtype=np.float64)) > 4_000_000:
            return None
        if i.name in base_feeds and list(base_feeds[i.name].shape) == shape and base_feeds[i.name].dtype == dt:
            out[i.name] = base_feeds[i.name]
        elif np.issubdtype(dt, np.integer):
            out[i.name] = np.random.default_rng(rng.randrange(2**32)).integers(-3, 8, shape).astype(dt)
        else:
            out[i.name] = np.random.default_rng(rng.randrange(2**32)).standard_normal(shape).astype(dt)
    return out


def base_feeds_for(name, m):
    """The committed test data's inputs for a committed model (so symbolic dims get sizes that make sense)."""
    d = os.path.join(ROOT, name, "test_data_set_0")
    out = {}
    for k, i in enumerate(real_inputs(m)):
        p = os.path.join(d, f"input_{k}.pb")
        if os.path.exists(p):
            t = TensorProto()
            with open(p, "rb") as f:
                t.ParseFromString(f.read())
            out[i.name] = numpy_helper.to_array(t)
    if name == "Tests/Fixtures/models/bilstm_classifier":
        for k in out:
            out[k] = np.clip(out[k], 0, 9)
    return out


def classify(proc):
    """'crash' with a reason, or 'ok' / 'rejected'."""
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode < 0:
        return "crash", f"signal {-proc.returncode}"
    if proc.returncode >= 128 or "Fatal error" in err or "AddressSanitizer" in err or "Segmentation" in err or "Illegal instruction" in err:
        return "crash", f"exit {proc.returncode}"
    return ("ok" if proc.returncode == 0 else "rejected"), None


def run_cli(cli, args, timeout):
    # Heap checks catch some out-of-bounds writes in a normal build; a build with -sanitize=address catches all.
    env = dict(os.environ, MALLOC_CHECK_="3", MALLOC_PERTURB_="165", DLINFER_NUM_THREADS="2",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0")
    try:
        return subprocess.run([cli] + args, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1500, help="variants to try (default 1500)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--cli", default=os.path.join(ROOT, ".build/debug/dlinfer-cli"))
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--keep", help="folder to save crashing models and their inputs in")
    ap.add_argument("--only", help="use only base models whose name contains this")
    ap.add_argument("--show", type=int, default=15, help="crashes to list (default 15)")
    args = ap.parse_args()
    if not os.access(args.cli, os.X_OK):
        sys.exit(f"{args.cli} is not built; run `swift build` first")

    rng = random.Random(args.seed)
    bases = {f"op:{k}": v for k, v in one_node_models().items()}
    bases.update(committed_models())
    if args.only:
        bases = {k: v for k, v in bases.items() if args.only in k}
    base_feeds = {k: base_feeds_for(k, v) for k, v in bases.items()}
    # One-node models are small and reach each op's checks directly: they get most of the variants.
    names = sorted(bases)
    weights = [1 if k.startswith("op:") else 0.25 for k in names]
    bytes_of = {k: v.SerializeToString() for k, v in bases.items()}

    counts = {"variants": 0, "rejected": 0, "ran": 0, "crashed": 0, "timeout": 0, "skipped": 0}
    crashes = []
    tmp = tempfile.mkdtemp(prefix="dlinfer-fuzz-")
    try:
        for v in range(args.count):
            name = rng.choices(names, weights)[0]
            r = rng.random()
            if r < 0.06:
                data, what = truncate(bytes_of[name], rng)
                mm = None
            elif r < 0.14:
                data, what = flip(bytes_of[name], rng)
                mm = None
            else:
                m = copy.deepcopy(bases[name])
                res = None
                for _ in range(rng.randint(1, 2)):  # sometimes two mutations at once
                    try:
                        step = rng.choice(STRUCTURAL)(m, rng)
                    except (ValueError, TypeError):  # e.g. an initializer an earlier mutation left unreadable
                        step = None
                    if step:
                        res = (step[0], (res[1] + "; " if res else "") + step[1])
                        m = step[0]
                if not res:
                    counts["skipped"] += 1
                    continue
                mm, what = res
                try:
                    data = mm.SerializeToString()
                except Exception:
                    counts["skipped"] += 1
                    continue
            counts["variants"] += 1
            path = os.path.join(tmp, f"v{v}.onnx")
            with open(path, "wb") as f:
                f.write(data)

            proc = run_cli(args.cli, ["info", path], args.timeout)
            stage = "info"
            if proc is not None and proc.returncode == 0:
                try:
                    parsed = mm if mm is not None else onnx.load_from_string(data)
                    feeds = feeds_for(parsed, rng, base_feeds[name])
                except Exception:
                    feeds = None
                if feeds is not None:
                    argv = ["run", path, "-o", os.path.join(tmp, f"out{v}")]
                    for k, (iname, arr) in enumerate(feeds.items()):
                        fp = os.path.join(tmp, f"v{v}_in{k}.npy")
                        np.save(fp, arr)
                        argv += ["-i", f"{iname}={fp}"]
                    proc = run_cli(args.cli, argv, args.timeout)
                    stage = "run"
            if proc is None:
                counts["timeout"] += 1
                continue
            kind, why = classify(proc)
            if kind == "crash":
                counts["crashed"] += 1
                err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                msg = next((l for l in err if "Fatal error" in l or "error" in l.lower()), err[-1] if err else "")
                crashes.append((name, what, stage, why, msg[:300]))
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    shutil.copy(path, os.path.join(args.keep, f"crash{len(crashes)}.onnx"))
                    for fp in glob.glob(os.path.join(tmp, f"v{v}_in*.npy")):
                        shutil.copy(fp, os.path.join(args.keep, f"crash{len(crashes)}_" + os.path.basename(fp)))
            else:
                # A model that loads but has inputs the script cannot make (odd types, huge shapes) counts as ran.
                counts["ran" if kind == "ok" else "rejected"] += 1
            for fp in glob.glob(os.path.join(tmp, f"v{v}*")):
                os.remove(fp)
            shutil.rmtree(os.path.join(tmp, f"out{v}"), ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"variants {counts['variants']}, rejected cleanly {counts['rejected']}, ran {counts['ran']}, "
          f"crashed {counts['crashed']}, timed out {counts['timeout']} (seed {args.seed}, {counts['skipped']} "
          f"mutations did not apply)")
    for name, what, stage, why, msg in crashes[: args.show]:
        print(f"CRASH [{stage}, {why}] {name}: {what}\n    {msg}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
