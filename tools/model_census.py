#!/usr/bin/env python3
"""Census of the ONNX models in a zoo (what tools/export_model_zoo.py writes): what an importer must implement.

    python3 tools/model_census.py ZOO_DIR [--json PATH] [--md PATH] [--per-model]

Reads every ZOO_DIR/*/model.onnx (weights are not loaded: external data stays on disk), runs onnx shape inference
(strict off, data propagation on) and records, per model:
  - the opset of every domain imported (default domain first), IR version, producer, external data files;
  - op types with counts (main graph, subgraphs and model-local functions, each node counted where it appears), with
    the domain for ops outside the default one;
  - per op type: every attribute combination used (name=value, sorted by name; tensor attributes shown as
    tensor(dtype, shape[, value if it has at most 8 elements]), graph attributes as <graph>), the element types of
    its inputs (a tuple, '-' for an absent optional input, '?' where shape inference gave no type), and which
    inputs are constant ('c': an initializer or a Constant/ConstantOfShape output of that graph, 'd': computed at run
    time, '-': absent), e.g. Resize 'd-c' = X, no roi, constant scales;
  - element types of graph inputs, outputs, initializers and all value_info after shape inference; sequence,
    optional and map types are flagged;
  - non-default domains, model-local functions (FunctionProto: domain, name, the ops inside) and subgraphs (If/Loop/
    Scan bodies, recursively, with their ops).
And a global summary: op type -> number of models using it (by exporter), outside/inside dlinfer's current op list,
the attribute values, input element types and constant patterns seen, with how many models use each.

Writes the JSON (default ZOO_DIR/census.json) and the markdown (default ZOO_DIR/census.md), and prints the markdown.
Needs only onnx (1.23.2: the system python3 here or /opt/fxenv/bin/python).
"""
import argparse
import collections
import glob
import json
import os
import sys

import onnx
from onnx import helper, numpy_helper

# What dlinfer implements today (README "What runs").
DLINFER_OPS = set("""Conv ConvTranspose MaxPool AveragePool GlobalAveragePool GlobalMaxPool Gemm MatMul LSTM GRU RNN
BatchNormalization LRN Relu LeakyRelu Sigmoid Tanh HardSigmoid Clip Elu Softmax LogSoftmax Add Sub Mul Div Pow Sqrt
Exp Sum Max Min Flatten Reshape Transpose Concat Split Slice Squeeze Unsqueeze Gather Shape Cast ConstantOfShape
Expand Pad Resize Upsample ReduceMean ReduceSum ReduceMax ArgMax Identity Dropout Constant""".split())

VARIADIC = {"Concat", "Sum", "Max", "Min", "Mean"}

DT = {v: k for k, v in onnx.TensorProto.DataType.items()}


def dtype_name(elem_type):
    return DT.get(elem_type, str(elem_type)).lower()


def type_str(tp):
    """TypeProto -> 'float', 'seq(int64)', 'optional(float)', 'map(...)'."""
    which = tp.WhichOneof("value")
    if which == "tensor_type":
        return dtype_name(tp.tensor_type.elem_type)
    if which == "sparse_tensor_type":
        return "sparse(" + dtype_name(tp.sparse_tensor_type.elem_type) + ")"
    if which == "sequence_type":
        return "seq(" + type_str(tp.sequence_type.elem_type) + ")"
    if which == "optional_type":
        return "optional(" + type_str(tp.optional_type.elem_type) + ")"
    if which == "map_type":
        return f"map({dtype_name(tp.map_type.key_type)},{type_str(tp.map_type.value_type)})"
    return "?"


def shape_str(tp):
    if tp.WhichOneof("value") != "tensor_type" or not tp.tensor_type.HasField("shape"):
        return None
    return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else "?")
            for d in tp.tensor_type.shape.dim]


def attr_value(a):
    t = a.type
    A = onnx.AttributeProto
    if t == A.INT:
        return str(a.i)
    if t == A.FLOAT:
        return repr(round(a.f, 7))
    if t == A.STRING:
        return a.s.decode(errors="replace")
    if t == A.INTS:
        return "[" + ",".join(map(str, a.ints)) + "]"
    if t == A.FLOATS:
        return "[" + ",".join(repr(round(f, 7)) for f in a.floats) + "]"
    if t == A.STRINGS:
        return "[" + ",".join(s.decode(errors="replace") for s in a.strings) + "]"
    if t == A.TENSOR:
        tens = a.t
        s = f"tensor({dtype_name(tens.data_type)}, {list(tens.dims)}"
        n = 1
        for d in tens.dims:
            n *= d
        if n <= 8 and tens.data_location != onnx.TensorProto.EXTERNAL:
            try:
                s += ", " + json.dumps(numpy_helper.to_array(tens).tolist())
            except Exception:  # noqa: BLE001
                pass
        return s + ")"
    if t == A.GRAPH:
        return "<graph>"
    if t == A.GRAPHS:
        return f"<{len(a.graphs)} graphs>"
    if t == A.TYPE_PROTO:
        return "type(" + type_str(a.tp) + ")"
    if a.ref_attr_name:
        return "@" + a.ref_attr_name
    return f"<attr type {t}>"


class Census:
    def __init__(self):
        self.ops = collections.Counter()              # "domain::Op" or "Op" -> nodes
        self.attrs = collections.defaultdict(collections.Counter)    # op -> "a=1, b=2" -> nodes
        self.in_types = collections.defaultdict(collections.Counter)  # op -> "(float,int64)" -> nodes
        self.const_pat = collections.defaultdict(collections.Counter)  # op -> "dc-" -> nodes
        self.out_types = collections.defaultdict(collections.Counter)  # op -> "(float)" -> nodes
        self.tensor_types = collections.defaultdict(collections.Counter)  # where -> type -> count
        self.subgraphs = []
        self.functions = []
        self.flags = set()

    def op_key(self, node):
        return f"{node.domain}::{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type

    def walk_graph(self, g, types, where, outer_consts=frozenset()):
        """types: name -> type string for everything visible in this scope (outer scopes included)."""
        types = dict(types)
        consts = set(outer_consts)
        for i in g.initializer:
            types[i.name] = dtype_name(i.data_type)
            consts.add(i.name)
            self.tensor_types["initializer"][dtype_name(i.data_type)] += 1
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            types[vi.name] = type_str(vi.type)
        for vi in g.input:
            self.tensor_types["graph input" if where == "main" else "subgraph input"][type_str(vi.type)] += 1
        for vi in g.output:
            self.tensor_types["graph output" if where == "main" else "subgraph output"][type_str(vi.type)] += 1
        for vi in g.value_info:
            self.tensor_types["value_info"][type_str(vi.type)] += 1
        for vi in list(g.value_info) + list(g.input) + list(g.output):
            ts = type_str(vi.type)
            if ts.startswith(("seq(", "optional(", "map(", "sparse(")):
                self.flags.add(f"{ts} value '{vi.name}' in {where}")
        for node in g.node:
            self.visit_node(node, types, consts, where)
            for o in node.output:
                if node.op_type in ("Constant", "ConstantOfShape") and node.domain in ("", "ai.onnx"):
                    consts.add(o)

    def visit_node(self, node, types, consts, where):
        k = self.op_key(node)
        self.ops[k] += 1
        attrs = []
        for a in sorted(node.attribute, key=lambda a: a.name):
            if node.op_type == "Constant" and a.name == "value":
                attrs.append("value=" + attr_value(a).split(",")[0] + ")" if a.t.dims else "value=" + attr_value(a))
            else:
                attrs.append(f"{a.name}={attr_value(a)}")
        self.attrs[k][", ".join(attrs) if attrs else "(none)"] += 1
        ins = [types.get(i, "?") if i else "-" for i in node.input]
        pat = ["-" if not i else "c" if i in consts else "d" for i in node.input]
        if node.op_type in VARIADIC and node.domain in ("", "ai.onnx") and len(ins) > 2:
            # Variadic inputs: the distinct types / constness, not one entry per arity.
            ins = [t + "..." for t in sorted(set(ins))]
            pat = ["{" + "".join(sorted(set(pat))) + "}..."]
        self.in_types[k]["(" + ",".join(ins) + ")"] += 1
        self.out_types[k]["(" + ",".join(types.get(o, "?") if o else "-" for o in node.output) + ")"] += 1
        self.const_pat[k]["".join(pat) or "(no inputs)"] += 1
        for a in node.attribute:
            subs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
            for j, sg in enumerate(subs):
                w = f"{where} > {node.op_type}('{node.name}').{a.name}"
                before = collections.Counter(self.ops)
                self.walk_graph(sg, types, w, frozenset(consts))
                inside = {op: n for op, n in (self.ops - before).items()}
                self.subgraphs.append(dict(where=w, graph=sg.name, inputs=[type_str(v.type) for v in sg.input],
                                           outputs=[type_str(v.type) for v in sg.output], ops=inside))

    def walk_functions(self, model):
        for f in model.functions:
            before = collections.Counter(self.ops)
            types = {}
            # Function bodies are untyped; value_info (IR 10+) gives some types.
            for vi in getattr(f, "value_info", []):
                types[vi.name] = type_str(vi.type)
            consts = set()
            for node in f.node:
                self.visit_node(node, types, consts, f"function {f.domain}::{f.name}")
                if node.op_type in ("Constant", "ConstantOfShape"):
                    consts.update(node.output)
            self.functions.append(dict(domain=f.domain, name=f.name, inputs=list(f.input), outputs=list(f.output),
                                       attributes=list(f.attribute) + [a.name for a in f.attribute_proto],
                                       opset_import={o.domain or "ai.onnx": o.version for o in f.opset_import},
                                       ops=dict(self.ops - before)))


def census_model(path):
    model = onnx.load(path, load_external_data=False)
    info = dict(path=path, ir_version=model.ir_version, producer=f"{model.producer_name} {model.producer_version}",
                opset_import={o.domain or "ai.onnx": o.version for o in model.opset_import})
    info["opset"] = info["opset_import"].get("ai.onnx")
    ext = set()
    for i in model.graph.initializer:
        if i.data_location == onnx.TensorProto.EXTERNAL:
            ext.add(next((e.value for e in i.external_data if e.key == "location"), "?"))
    info["external_data"] = sorted(ext)
    info["initializers"] = len(model.graph.initializer)
    info["nodes_main_graph"] = len(model.graph.node)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
        info["shape_inference"] = "ok"
    except Exception as e:  # noqa: BLE001
        inferred = model
        info["shape_inference"] = f"failed: {str(e).splitlines()[0][:300]}"
    g = inferred.graph
    info["inputs"] = [dict(name=v.name, type=type_str(v.type), shape=shape_str(v.type)) for v in g.input]
    info["outputs"] = [dict(name=v.name, type=type_str(v.type), shape=shape_str(v.type)) for v in g.output]
    c = Census()
    c.walk_graph(g, {}, "main")
    c.walk_functions(inferred)
    info["ops"] = dict(sorted(c.ops.items()))
    info["attributes"] = {k: dict(v) for k, v in sorted(c.attrs.items())}
    info["input_types"] = {k: dict(v) for k, v in sorted(c.in_types.items())}
    info["output_types"] = {k: dict(v) for k, v in sorted(c.out_types.items())}
    info["const_inputs"] = {k: dict(v) for k, v in sorted(c.const_pat.items())}
    info["tensor_types"] = {k: dict(v) for k, v in c.tensor_types.items()}
    info["non_default_domains"] = sorted({d for d in info["opset_import"] if d != "ai.onnx"}
                                         | {k.split("::")[0] for k in c.ops if "::" in k})
    info["functions"] = c.functions
    info["subgraphs"] = c.subgraphs
    info["flags"] = sorted(c.flags)
    info["outside_dlinfer"] = sorted(k for k in c.ops if k not in DLINFER_OPS)
    return info


def load_meta(folder):
    p = os.path.join(folder, "meta.json")
    return json.load(open(p)) if os.path.exists(p) else {}


def trunc(items, n=14):
    items = list(items)
    return items if len(items) <= n else items[:n] + [f"... ({len(items)} distinct)"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("zoo")
    ap.add_argument("--json", help="default ZOO_DIR/census.json")
    ap.add_argument("--md", help="default ZOO_DIR/census.md")
    ap.add_argument("--per-model", action="store_true", help="print the per-model sections too (always in --md)")
    a = ap.parse_args()
    folders = sorted(d for d in glob.glob(os.path.join(a.zoo, "*")) if os.path.exists(os.path.join(d, "model.onnx")))
    models = {}
    failed_exports, failed_ort = {}, {}
    for d in sorted(glob.glob(os.path.join(a.zoo, "*"))):
        meta = load_meta(d)
        if meta.get("export_error"):
            failed_exports[os.path.basename(d)] = meta["export_error"]
        elif meta and not meta.get("ort_run"):
            failed_ort[os.path.basename(d)] = meta.get("ort_error") or "?"
    for d in folders:
        key = os.path.basename(d)
        try:
            info = census_model(os.path.join(d, "model.onnx"))
        except Exception as e:  # noqa: BLE001
            info = dict(error=str(e)[:500])
        meta = load_meta(d)
        info["exporter"] = meta.get("exporter", key.split("__")[-1])
        info["family"] = meta.get("family")
        info["ort_run"] = meta.get("ort_run")
        models[key] = info
        print(f"census: {key}", file=sys.stderr)

    # Global summary.
    exporters = sorted({m["exporter"] for m in models.values()})
    glob_ops = collections.defaultdict(lambda: dict(models=0, nodes=0, by_exporter=collections.Counter(),
                                                    attributes=collections.Counter(),
                                                    input_types=collections.Counter(),
                                                    const_inputs=collections.Counter(), model_names=[]))
    for key, m in models.items():
        if "ops" not in m:
            continue
        for op, n in m["ops"].items():
            s = glob_ops[op]
            s["models"] += 1
            s["nodes"] += n
            s["by_exporter"][m["exporter"]] += 1
            s["model_names"].append(key)
            for field in ("attributes", "input_types", "const_inputs"):
                for v in m[field].get(op, {}):
                    s[field][v] += 1  # counted in models, not nodes
    summary = {}
    for op, s in sorted(glob_ops.items(), key=lambda kv: (-kv[1]["models"], kv[0])):
        summary[op] = dict(models=s["models"], nodes=s["nodes"], by_exporter=dict(s["by_exporter"]),
                           in_dlinfer=op in DLINFER_OPS,
                           attributes=dict(s["attributes"].most_common()),
                           input_types=dict(s["input_types"].most_common()),
                           const_inputs=dict(s["const_inputs"].most_common()),
                           model_names=s["model_names"])
    type_totals = collections.Counter()
    for m in models.values():
        for where, cnt in m.get("tensor_types", {}).items():
            for t, n in cnt.items():
                type_totals[(where, t)] += n
    census = dict(models=models, summary=summary, failed_exports=failed_exports, failed_ort=failed_ort,
                  dlinfer_ops=sorted(DLINFER_OPS))
    jpath = a.json or os.path.join(a.zoo, "census.json")
    with open(jpath, "w") as f:
        json.dump(census, f, indent=1, default=list)

    # Markdown.
    L = []
    w = L.append
    w(f"# Model census of {os.path.abspath(a.zoo)}\n")
    per_ex = ", ".join(f"{e}: {sum(m['exporter'] == e for m in models.values())}" for e in exporters)
    w(f"{len(models)} exported models ({per_ex}); "
      f"{len(failed_exports)} exports failed in the exporter (listed at the end). Counts below are models "
      "(model x exporter folders) unless they say nodes. 'in dlinfer' = in today's op list.\n")
    opsets = collections.Counter((m["exporter"], m.get("opset")) for m in models.values())
    w("Default-domain opsets: " + ", ".join(f"{e} opset {o}: {n}" for (e, o), n in sorted(opsets.items(), key=str)) + "\n")
    doms = collections.Counter(d for m in models.values() for d in m.get("non_default_domains", []))
    w("Non-default domains: " + (", ".join(f"{d} ({n} models)" for d, n in doms.most_common()) or "none") + "\n")
    nf = collections.Counter(f"{f['domain']}::{f['name']}" for m in models.values() for f in m.get("functions", []))
    w("Model-local functions: " + (", ".join(f"{k} ({n})" for k, n in nf.most_common()) or "none") + "\n")
    ns = collections.Counter(s["where"].split(" > ")[-1].split("(")[0] for m in models.values()
                             for s in m.get("subgraphs", []))
    w("Subgraphs: " + (", ".join(f"{k} bodies: {n}" for k, n in ns.most_common()) or "none") + "\n")
    ext = sum(1 for m in models.values() if m.get("external_data"))
    w(f"Models with external data: {ext}\n")
    flags = collections.Counter(fl.split(" value ")[0] for m in models.values() for fl in m.get("flags", []))
    w("Sequence/optional/map/sparse values: " + (", ".join(f"{k} ({n})" for k, n in flags.items()) or "none") + "\n")
    w("Tensor element types (count of tensors, all models): " + "; ".join(
        f"{where}: " + ", ".join(f"{t} {n}" for (wh, t), n in sorted(type_totals.items(), key=lambda kv: -kv[1]) if wh == where)
        for where in ["graph input", "graph output", "initializer", "value_info", "subgraph input", "subgraph output"]
        if any(wh == where for wh, _ in type_totals)) + "\n")
    notin = [op for op, s in summary.items() if not s["in_dlinfer"]]
    w(f"## Ops outside dlinfer's list ({len(notin)}), by number of models\n")
    w(", ".join(f"{op} ({summary[op]['models']})" for op in notin) + "\n")
    only_in = [k for k, m in models.items() if "ops" in m and not m["outside_dlinfer"]]
    w(f"Models that use only ops in dlinfer's list ({len(only_in)}): {', '.join(only_in) or 'none'}\n")
    w("## Op types\n")
    w("| op | models | " + " | ".join(exporters) + " | nodes | in dlinfer |")
    w("|---|---|" + "---|" * len(exporters) + "---|---|")
    for op, s in summary.items():
        w(f"| {op} | {s['models']} | " + " | ".join(str(s['by_exporter'].get(e, 0)) for e in exporters)
          + f" | {s['nodes']} | {'yes' if s['in_dlinfer'] else '**no**'} |")
    w("\n## Per op: attribute combinations, input element types, constant inputs (models using each)\n")
    w("Input types are a tuple per node ('-' absent optional input, '?' untyped); constant pattern per input: "
      "c = initializer/Constant, d = computed, - = absent.\n")
    for op, s in summary.items():
        w(f"### {op} ({s['models']} models{'' if s['in_dlinfer'] else ', not in dlinfer'})\n")
        w("- attributes: " + "; ".join(f"`{k}` ({n})" for k, n in list(s["attributes"].items())[:40]) + (
            f"; ... {len(s['attributes'])} distinct combinations" if len(s["attributes"]) > 40 else ""))
        if len(s["attributes"]) > 40:
            per_name = collections.defaultdict(collections.Counter)
            for combo, n in s["attributes"].items():
                for part in split_combo(combo):
                    nm, _, v = part.partition("=")
                    per_name[nm][v] += n
            for nm, vals in per_name.items():
                vals = vals.most_common()
                w(f"  - `{nm}`: " + ", ".join(f"{v} ({n})" for v, n in vals[:40])
                  + (f", ... ({len(vals)} distinct)" if len(vals) > 40 else ""))
        w("- input types: " + "; ".join(f"`{k}` ({n})" for k, n in s["input_types"].items()))
        w("- constant inputs: " + "; ".join(f"`{k}` ({n})" for k, n in s["const_inputs"].items()))
        w("")
    w("## Model-local functions and subgraphs\n")
    for key, m in models.items():
        for f in m.get("functions", []):
            w(f"- {key}: function `{f['domain']}::{f['name']}` ops {f['ops']}")
        for sg in m.get("subgraphs", []):
            w(f"- {key}: {sg['where']}: inputs {sg['inputs']} outputs {sg['outputs']} ops {sg['ops']}")
    w("\n## Per model\n")
    w("| model | exporter | opset | domains | nodes | ops outside dlinfer | input types | external data | ORT ran |")
    w("|---|---|---|---|---|---|---|---|---|")
    for key, m in models.items():
        if "ops" not in m:
            w(f"| {key} | | | | | census failed: {m.get('error')} | | | |")
            continue
        w(f"| {key.split('__')[0]} | {m['exporter']} | {m['opset']} | {', '.join(m['non_default_domains']) or '-'} | "
          f"{sum(m['ops'].values())} | {' '.join(m['outside_dlinfer']) or '-'} | "
          f"{', '.join(i['name'] + ':' + i['type'] + str(i['shape']).replace(' ', '') for i in m['inputs'])} | "
          f"{'yes' if m['external_data'] else '-'} | {m['ort_run']} |")
    per_model_md = list(L)
    w("\n## Per model: op counts\n")
    for key, m in models.items():
        if "ops" in m:
            w(f"- **{key}** (opset {m['opset']}, {m['shape_inference']}): " + ", ".join(f"{k} {v}" for k, v in m["ops"].items()))
    if failed_exports:
        w("\n## Exports that failed in the exporter\n")
        for k, e in sorted(failed_exports.items()):
            w(f"- {k}: {short_error(e)}")
    if failed_ort:
        w("\n## Exports that onnxruntime could not load or run\n")
        for k, e in sorted(failed_ort.items()):
            w(f"- {k}: {short_error(e)}")
    md = "\n".join(L) + "\n"
    mpath = a.md or os.path.join(a.zoo, "census.md")
    with open(mpath, "w") as f:
        f.write(md)
    print(md if a.per_model else "\n".join(per_model_md) + "\n")
    print(f"wrote {jpath} and {mpath}", file=sys.stderr)


def split_combo(combo):
    """'a=1, b=[1,2]' -> ['a=1', 'b=[1,2]'] (commas inside brackets/parentheses kept)."""
    out, depth, cur = [], 0, ""
    i = 0
    while i < len(combo):
        ch = combo[i]
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if depth == 0 and combo.startswith(", ", i):
            out.append(cur)
            cur = ""
            i += 2
            continue
        cur += ch
        i += 1
    if cur and cur != "(none)":
        out.append(cur)
    return out


def short_error(e):
    """The most telling line of an exporter's error."""
    lines = [x.strip() for x in e.splitlines() if x.strip()]
    for x in lines:
        if x.startswith("<class "):
            return x[:300]
    for x in reversed(lines):
        if not x.startswith("(Refer to") and not x.startswith("Use tlparse"):
            return x[:300]
    return (lines or [""])[0][:300]


if __name__ == "__main__":
    main()
