#!/usr/bin/env python3
"""Writes Tests/Fixtures/attention/<case>/: one model per form of decomposed attention that the FuseAttention pass
must fuse (or, for `probs_is_output`, must leave alone), with inputs and onnxruntime's outputs (graph optimisations
off, so the reference computes the graph as written). Each case's expected number of fused nodes is in
Tests/DLInferTests/AttentionFusionTests.swift.

Cases:
  bert_guarded      TorchScript BERT: Reshape/Transpose Q,K,V (K by [0,2,3,1]), sqrt-scale on Q and K, Add of a
                    [B,1,1,S] -inf mask with one batch fully masked, Softmax, Where(IsNaN(P), 0, P), MatMul V,
                    Transpose back, Reshape
  causal_nan        2-D causal mask added on the left with a fully masked row and no NaN guard (NaN rows), V's head
                    size differs from Q's
  vit               ViT: 4-D Q, K, V inputs, K by Transpose [0,1,3,2], scale on Q and K, no mask
  hf_div            older Hugging Face: MatMul, Div by sqrt(d), Add of a -10000 mask, output Transpose folded
  broadcast         Kᵀ given directly with batch 1, V with batch and heads 1, a 2-D mask, Mul(c, S) scale
  bmm_opset11       3-D batched attention, Transpose [0,2,1], Softmax-11 with axis 2, scale on the scores
  query_broadcast   one query row against a mask with two rows (the mask enlarges the scores)
  key_broadcast     one key against a mask with five columns, K's head-size axis strided (read through a copy)
  self_attention    one value as Q, K and V (K = Transpose(X))
  probs_is_output   the probabilities are also a graph output: nothing fuses
Run: python3 tools/make_attention_fixtures.py (needs onnx, onnxruntime, numpy)."""
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "attention")
rng = np.random.default_rng(20261204)


class Case:
    def __init__(self, name, opset=17):
        self.name, self.opset = name, opset
        self.nodes, self.inits, self.inputs, self.feeds, self.outputs = [], [], [], {}, []

    def input(self, name, a):
        a = np.asarray(a, dtype=np.float32)
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape)))
        self.feeds[name] = a
        return name

    def const(self, name, a, dtype=np.float32):
        self.inits.append(numpy_helper.from_array(np.asarray(a, dtype=dtype), name))
        return name

    def node(self, op, ins, out, **attrs):
        self.nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def output(self, name):
        self.outputs.append(name)

    def model(self, outputs):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        return model

    def write(self):
        # Run once with untyped outputs for their shapes, then declare them.
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        untyped = [helper.make_value_info(n, helper.make_tensor_type_proto(TensorProto.FLOAT, None)) for n in self.outputs]
        got = ort.InferenceSession(self.model(untyped).SerializeToString(), so).run(None, self.feeds)
        self.outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape)) for n, a in zip(self.outputs, got)]
        model = self.model(self.outputs)
        onnx.checker.check_model(model, full_check=True)
        d = os.path.join(OUT, self.name)
        os.makedirs(d)
        onnx.save(model, os.path.join(d, "model.onnx"))
        for i, v in enumerate(self.inputs):
            t = numpy_helper.from_array(self.feeds[v.name], v.name)
            open(os.path.join(d, f"input_{i}.pb"), "wb").write(t.SerializeToString())
        for i, (v, a) in enumerate(zip(self.outputs, got)):
            t = numpy_helper.from_array(a, v.name)
            open(os.path.join(d, f"output_{i}.pb"), "wb").write(t.SerializeToString())
        print(self.name, [a.shape for a in got], "NaNs:", sum(int(np.isnan(a).sum()) for a in got))


def normal(*shape):
    return rng.normal(0, 1, shape).astype(np.float32)


def bert_guarded():
    c = Case("bert_guarded")
    b, s, h, d = 2, 5, 4, 8
    heads = c.const("heads", [b, s, h, d], np.int64)
    root = c.const("root", np.float32(1 / np.sqrt(np.sqrt(d))))
    q = c.node("Transpose", [c.node("Reshape", [c.input("xq", normal(b, s, h * d)), heads], "rq")], "tq", perm=[0, 2, 1, 3])
    k = c.node("Transpose", [c.node("Reshape", [c.input("xk", normal(b, s, h * d)), heads], "rk")], "tk", perm=[0, 2, 3, 1])
    v = c.node("Transpose", [c.node("Reshape", [c.input("xv", normal(b, s, h * d)), heads], "rv")], "tv", perm=[0, 2, 1, 3])
    mask = np.zeros((b, 1, 1, s), np.float32)
    mask[0, 0, 0, 3:] = -np.inf
    mask[1] = -np.inf
    scores = c.node("MatMul", [c.node("Mul", [q, root], "sq"), c.node("Mul", [k, root], "sk")], "scores")
    p = c.node("Softmax", [c.node("Add", [scores, c.input("mask", mask)], "masked")], "p", axis=-1)
    guarded = c.node("Where", [c.node("IsNaN", [p], "isnan"), c.const("zero", np.float32(0)), p], "guarded")
    y = c.node("Transpose", [c.node("MatMul", [guarded, v], "ctx")], "ty", perm=[0, 2, 1, 3])
    c.node("Reshape", [y, c.const("merged", [b, s, h * d], np.int64)], "y")
    c.output("y")
    c.write()


def causal_nan():
    c = Case("causal_nan")
    s = 6
    mask = np.triu(np.full((s, s), -np.inf, np.float32), 1)
    mask[2] = -np.inf
    scores = c.node("MatMul", [c.input("q", normal(1, 2, s, 4)),
                               c.node("Transpose", [c.input("k", normal(1, 2, s, 4))], "kt", perm=[0, 1, 3, 2])], "scores")
    p = c.node("Softmax", [c.node("Add", [c.input("mask", mask), scores], "masked")], "p", axis=3)
    c.node("MatMul", [p, c.input("v", normal(1, 2, s, 3))], "y")
    c.output("y")
    c.write()


def vit():
    c = Case("vit")
    b, h, s, d = 2, 3, 7, 4
    root = c.const("root", [np.float32(1 / np.sqrt(np.sqrt(d)))])
    q = c.node("Mul", [c.input("q", normal(b, h, s, d)), root], "sq")
    k = c.node("Mul", [c.node("Transpose", [c.input("k", normal(b, h, s, d))], "kt", perm=[0, 1, 3, 2]), root], "sk")
    p = c.node("Softmax", [c.node("MatMul", [q, k], "scores")], "p", axis=-1)
    c.node("MatMul", [p, c.input("v", normal(b, h, s, d))], "y")
    c.output("y")
    c.write()


def hf_div():
    c = Case("hf_div")
    b, h, s, d = 2, 2, 4, 6
    mask = np.zeros((b, 1, 1, s), np.float32)
    mask[1, 0, 0, 2:] = -10000.0
    scores = c.node("MatMul", [c.input("q", normal(b, h, s, d)),
                               c.node("Transpose", [c.input("k", normal(b, h, s, d))], "kt", perm=[0, 1, 3, 2])], "scores")
    scaled = c.node("Div", [scores, c.const("sqrt_d", np.float32(np.sqrt(d)))], "scaled")
    p = c.node("Softmax", [c.node("Add", [scaled, c.input("mask", mask)], "masked")], "p", axis=-1)
    ctx = c.node("MatMul", [p, c.input("v", normal(b, h, s, d))], "ctx")
    c.node("Transpose", [ctx], "y", perm=[0, 2, 1, 3])
    c.output("y")
    c.write()


def broadcast():
    c = Case("broadcast")
    scores = c.node("MatMul", [c.input("q", normal(2, 3, 4, 8)), c.input("kt", normal(1, 3, 8, 6))], "scores")
    scaled = c.node("Mul", [c.const("scale", np.float32(0.3)), scores], "scaled")
    p = c.node("Softmax", [c.node("Add", [scaled, c.input("mask", normal(4, 6))], "masked")], "p", axis=-1)
    c.node("MatMul", [p, c.input("v", normal(1, 1, 6, 5))], "y")
    c.output("y")
    c.write()


def bmm_opset11():
    c = Case("bmm_opset11", opset=11)
    scores = c.node("MatMul", [c.input("q", normal(6, 5, 8)),
                               c.node("Transpose", [c.input("k", normal(6, 5, 8))], "kt", perm=[0, 2, 1])], "scores")
    p = c.node("Softmax", [c.node("Mul", [scores, c.const("scale", [np.float32(0.35)])], "scaled")], "p", axis=2)
    c.node("MatMul", [p, c.input("v", normal(6, 5, 8))], "y")
    c.output("y")
    c.write()


def query_broadcast():
    c = Case("query_broadcast")
    scores = c.node("MatMul", [c.input("q", normal(1, 2, 1, 4)),
                               c.node("Transpose", [c.input("k", normal(1, 2, 3, 4))], "kt", perm=[0, 1, 3, 2])], "scores")
    p = c.node("Softmax", [c.node("Add", [scores, c.input("mask", normal(1, 1, 2, 3))], "masked")], "p", axis=-1)
    c.node("MatMul", [p, c.input("v", normal(1, 2, 3, 4))], "y")
    c.output("y")
    c.write()


def key_broadcast():
    c = Case("key_broadcast")
    # K stored [batch, head_size, heads, 1]: Kᵀ = Transpose [0,2,1,3] keeps the key axis (size 1) contiguous only.
    kt = c.node("Transpose", [c.input("k", normal(1, 4, 2, 1))], "kt", perm=[0, 2, 1, 3])
    scores = c.node("MatMul", [c.input("q", normal(1, 2, 3, 4)), kt], "scores")
    p = c.node("Softmax", [c.node("Add", [scores, c.input("mask", normal(1, 1, 1, 5))], "masked")], "p", axis=-1)
    c.node("MatMul", [p, c.input("v", normal(1, 2, 5, 4))], "y")
    c.output("y")
    c.write()


def self_attention():
    c = Case("self_attention")
    x = c.input("x", normal(3, 5, 4))
    scores = c.node("MatMul", [x, c.node("Transpose", [x], "xt", perm=[0, 2, 1])], "scores")
    p = c.node("Softmax", [scores], "p", axis=-1)
    c.node("MatMul", [p, x], "y")
    c.output("y")
    c.write()


def probs_is_output():
    c = Case("probs_is_output")
    scores = c.node("MatMul", [c.input("q", normal(2, 3, 4)), c.input("kt", normal(2, 4, 3))], "scores")
    p = c.node("Softmax", [scores], "p", axis=-1)
    c.node("MatMul", [p, c.input("v", normal(2, 3, 4))], "y")
    c.output("y")
    c.output("p")
    c.write()


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    for make in [bert_guarded, causal_nan, vit, hf_div, broadcast, bmm_opset11, query_broadcast, key_broadcast,
                 self_attention, probs_is_output]:
        make()
