#!/usr/bin/env python3
"""Exports a zoo of real architectures to ONNX, the way users export them today, for the coverage survey (issue #9).

    /opt/torchenv/bin/python tools/export_model_zoo.py OUT_DIR [--only REGEX] [--priority N] [--jobs N]
                                                       [--timeout S] [--force] [--list]

For each model x exporter it writes OUT_DIR/<model>__<exporter>/ with
  model.onnx (+ model.onnx.data when the exporter writes external data: the dynamo exporter does by default)
  test_data_set_0/input_K.pb, output_K.pb    seeded inputs and onnxruntime 1.32.0's outputs (CPU), TensorProto files,
                                             the layout of Tests/Fixtures/models/*; names are the graph's
  meta.json                                  exporter, opset, versions, wall times, the export error if the export
                                             itself failed, whether onnxruntime loaded/ran it, ORT vs PyTorch max diff

Exporters:
  ts17        torch.onnx.export(model, args, dynamo=False, opset_version=17)    (the TorchScript exporter)
  dynamo      torch.onnx.export(model, args, dynamo=True)                       (its default opset and options:
                                                                                 optimize=True, external_data=True)
  ultralytics YOLO(...).export(format="onnx", imgsz=..., nms=False|True)       (ultralytics' own defaults: TorchScript
                                                                                 exporter, its opset, onnxslim)

Models (random seeded weights; nothing is downloaded): every builder of torchvision.models.list_models() in the
classification, segmentation, video and detection modules (weights=None, weights_backbone=None; detection models at
320x320 via min_size/max_size and a low score threshold so that random weights still give detections), optical flow
(raft_small, raft_large at 128x128) as optional extras, Ultralytics YOLOv8/YOLO11/YOLO26 detect/segment/pose/obb/
classify from the package's yaml files with and without in-graph NMS, small Hugging Face encoders/decoders (BERT,
DistilBERT, RoBERTa, ALBERT, ELECTRA, GPT-2, Llama, T5, ViT) from tiny configs, and torch.nn.TransformerEncoder.
Inputs are small: 64x64 images where the architecture allows, 224 (or 299 for Inception v3) where it fixes the size
(VGG/AlexNet's adaptive pool, ViT/MaxViT/Swin), video at 8 frames of 64x64 (16x224x224 where fixed: S3D, MViT).
Text models get dynamic batch/sequence axes (what users export); vision models static shapes (the exporters'
default).

Priorities: 0 = one representative per family, 1 = the rest, 2 = heavy (> ~150M parameters or slow to export on
2 cores: vit_h_14, vit_l_*, regnet_y_128gf, ...). By default only priorities <= 1 run; --priority 2 adds the heavy
ones. Jobs run in order of priority, each in its own subprocess with a timeout (default 1200 s; a timeout or a crash
is recorded in meta.json). Folders that already have a meta.json are skipped unless --force, so a rerun resumes.

Needs the venv /opt/torchenv: torch, torchvision, transformers, ultralytics, onnx 1.23.2, onnxruntime 1.32.0,
onnxscript, onnxslim, numpy, pillow (see tools/README.md). Ultralytics reports itself offline here and would try to
pip-install onnxslim; installing onnxslim in the venv beforehand gives the default (simplified) export.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.abspath(__file__)

# ---- the matrix ------------------------------------------------------------------------------------------------

# torchvision classification: name -> image size (default 64)
CLS_SIZE = {"alexnet": 224, "inception_v3": 299, "maxvit_t": 224}
for _n in ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
           "vit_b_16", "vit_b_32", "vit_h_14", "vit_l_16", "vit_l_32",
           "swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"]:
    CLS_SIZE[_n] = 224

REPRESENTATIVES = {
    # classification
    "alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_s", "googlenet", "inception_v3",
    "maxvit_t", "mnasnet0_5", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "regnet_x_400mf",
    "regnet_y_400mf", "resnet18", "resnet50", "resnext50_32x4d", "shufflenet_v2_x0_5", "squeezenet1_0",
    "squeezenet1_1", "swin_t", "swin_v2_t", "vgg11", "vgg11_bn", "vit_b_16", "wide_resnet50_2",
    # segmentation
    "lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "fcn_resnet50", "deeplabv3_resnet50",
    # video
    "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s", "mvit_v1_b", "swin3d_t",
    # detection
    "ssdlite320_mobilenet_v3_large", "ssd300_vgg16", "fasterrcnn_mobilenet_v3_large_320_fpn",
    "fasterrcnn_resnet50_fpn", "retinanet_resnet50_fpn", "fcos_resnet50_fpn", "maskrcnn_resnet50_fpn",
    "keypointrcnn_resnet50_fpn",
}
HEAVY = {"vit_h_14", "vit_l_16", "vit_l_32", "regnet_y_128gf", "regnet_y_32gf", "regnet_x_32gf", "regnet_y_16gf",
         "efficientnet_b7", "efficientnet_b6", "efficientnet_v2_l", "swin_b", "swin_v2_b", "swin3d_b", "convnext_large",
         "vgg19_bn", "vgg19", "vgg16_bn", "resnext101_64x4d", "wide_resnet101_2", "raft_large"}

YOLO_FAMILIES = ["yolov8", "yolo11", "yolo26"]
YOLO_TASKS = {"detect": "", "segment": "-seg", "pose": "-pose", "obb": "-obb", "classify": "-cls"}

HF_MODELS = ["bert", "distilbert", "roberta", "albert", "electra", "gpt2", "llama", "t5", "vit_hf"]


def tv_modules():
    import torchvision.models as M
    return {"classification": M, "segmentation": M.segmentation, "video": M.video, "detection": M.detection,
            "optical_flow": M.optical_flow}


def all_jobs():
    """[(priority, model, exporter, family)] in the order they run."""
    import torchvision.models as M
    jobs = []
    for family, mod in tv_modules().items():
        for name in M.list_models(module=mod):
            pr = 2 if name in HEAVY else 0 if name in REPRESENTATIVES else 1
            if family == "optical_flow" and name != "raft_large":
                pr = 1
            for ex in ("ts17", "dynamo"):
                jobs.append((pr, name, ex, "tv_" + family))
    for fam in YOLO_FAMILIES:
        for task, suffix in YOLO_TASKS.items():
            base = f"{fam}n{suffix}"
            pr = 0 if fam in ("yolov8", "yolo11") else 1
            jobs.append((pr, base, "ultralytics", "yolo"))
            if task != "classify":
                jobs.append((pr, base + "_nms", "ultralytics", "yolo"))
            for ex in ("ts17", "dynamo"):  # the raw nn.Module through both PyTorch exporters (no NMS)
                jobs.append((1 if fam == "yolo11" or task != "detect" else 0, base, ex, "yolo"))
    for name in HF_MODELS:
        for ex in ("ts17", "dynamo"):
            jobs.append((0, "hf_" + name, ex, "hf"))
    for name in ("transformer_encoder", "transformer_encoder_mask"):
        for ex in ("ts17", "dynamo"):
            jobs.append((0, name, ex, "nn"))
    order = {"ts17": 0, "ultralytics": 0, "dynamo": 1}
    jobs.sort(key=lambda j: (j[0], order[j[2]] if j[0] else 0))
    return jobs


# ---- builders (run in the worker) ------------------------------------------------------------------------------

def build(model_name, family):
    """-> dict(model, args (tuple), input_names, dynamic_axes or None, yolo_task...)"""
    import torch
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)

    if family.startswith("tv_"):
        import torchvision
        kind = family[3:]
        kw = dict(weights=None)
        if kind in ("segmentation", "detection"):
            kw["weights_backbone"] = None
        if kind == "detection":
            if model_name.startswith("ssd"):
                size = 300 if "ssd300" in model_name else 320  # SSD fixes its own input size
            else:
                size = 320
                kw.update(min_size=size, max_size=size)
            if "rcnn" in model_name:
                kw["box_score_thresh"] = 0.001
            else:
                kw["score_thresh"] = 0.001
            model = torchvision.models.get_model(model_name, **kw).eval()
            img = torch.rand(3, size, size, generator=g)
            return dict(model=model, args=([img],), input_names=["image"], dynamic_axes=None)
        if kind == "optical_flow":
            model = torchvision.models.get_model(model_name, **kw).eval()
            a = torch.rand(1, 3, 128, 128, generator=g) * 2 - 1
            b = torch.rand(1, 3, 128, 128, generator=g) * 2 - 1
            return dict(model=model, args=(a, b), input_names=["image1", "image2"], dynamic_axes=None)
        if kind == "video":
            t, s = (16, 224) if model_name in ("s3d", "mvit_v1_b", "mvit_v2_s") else (8, 64)
            model = torchvision.models.get_model(model_name, **kw).eval()
            x = torch.randn(1, 3, t, s, s, generator=g)
            return dict(model=model, args=(x,), input_names=["video"], dynamic_axes=None)
        if kind == "segmentation":
            model = torchvision.models.get_model(model_name, **kw).eval()
            x = torch.randn(1, 3, 128, 128, generator=g)
            return dict(model=model, args=(x,), input_names=["image"], dynamic_axes=None)
        size = CLS_SIZE.get(model_name, 64)
        if model_name in ("googlenet", "inception_v3"):
            kw["init_weights"] = True
        model = torchvision.models.get_model(model_name, **kw).eval()
        x = torch.randn(1, 3, size, size, generator=g)
        return dict(model=model, args=(x,), input_names=["image"], dynamic_axes=None)

    if family == "yolo":
        from ultralytics import YOLO
        base = model_name[:-4] if model_name.endswith("_nms") else model_name
        yolo = YOLO(base + ".yaml")
        size = 64 if base.endswith("-cls") else 160
        m = yolo.model.eval()
        for p in m.parameters():
            p.requires_grad_(False)
        if not model_name.endswith("_nms"):
            # What ultralytics' exporter does before torch.onnx.export: fuse Conv+BN, put the heads in export mode
            # (one output tensor instead of the training tuple).
            m = m.fuse()
            for mod in m.modules():
                if hasattr(mod, "export"):
                    mod.export = True
                    mod.format = "onnx"
        x = torch.rand(1, 3, size, size, generator=g)
        return dict(model=m, args=(x,), input_names=["images"], dynamic_axes=None, yolo=yolo, imgsz=size,
                    nms=model_name.endswith("_nms"))

    if family == "hf":
        return build_hf(model_name[3:], g)

    if family == "nn":
        layer = torch.nn.TransformerEncoderLayer(
            d_model=64, nhead=4, dim_feedforward=128, batch_first=True,
            **(dict(activation="gelu", norm_first=True) if model_name.endswith("_mask") else {}))
        enc = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False).eval()
        x = torch.randn(2, 10, 64, generator=g)
        if model_name.endswith("_mask"):
            class Masked(torch.nn.Module):
                def __init__(self, enc):
                    super().__init__()
                    self.enc = enc

                def forward(self, x, pad):
                    return self.enc(x, src_key_padding_mask=pad)
            pad = torch.zeros(2, 10, dtype=torch.bool)
            pad[1, 7:] = True
            return dict(model=Masked(enc).eval(), args=(x, pad), input_names=["x", "padding_mask"],
                        dynamic_axes={"x": {0: "batch", 1: "seq"}, "padding_mask": {0: "batch", 1: "seq"}})
        return dict(model=enc, args=(x,), input_names=["x"], dynamic_axes={"x": {0: "batch", 1: "seq"}})
    raise ValueError(family)


def build_hf(name, g):
    import torch
    import transformers as T
    vocab, seq, batch = 1000, 16, 2
    ids = torch.randint(3, vocab, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[1, 12:] = 0
    common = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                  vocab_size=vocab, max_position_embeddings=128)
    if name == "bert":
        model = T.BertModel(T.BertConfig(**common))
        tt = torch.zeros(batch, seq, dtype=torch.int64)
        tt[:, 8:] = 1
        args, names = (ids, mask, tt), ["input_ids", "attention_mask", "token_type_ids"]
    elif name == "distilbert":
        model = T.DistilBertModel(T.DistilBertConfig(vocab_size=vocab, dim=64, n_layers=2, n_heads=4, hidden_dim=128,
                                                     max_position_embeddings=128))
        args, names = (ids, mask), ["input_ids", "attention_mask"]
    elif name == "roberta":
        model = T.RobertaModel(T.RobertaConfig(**{**common, "max_position_embeddings": 130}))
        args, names = (ids, mask), ["input_ids", "attention_mask"]
    elif name == "albert":
        model = T.AlbertModel(T.AlbertConfig(embedding_size=32, **common))
        args, names = (ids, mask), ["input_ids", "attention_mask"]
    elif name == "electra":
        model = T.ElectraModel(T.ElectraConfig(embedding_size=32, **common))
        args, names = (ids, mask), ["input_ids", "attention_mask"]
    elif name == "gpt2":
        model = T.GPT2LMHeadModel(T.GPT2Config(vocab_size=vocab, n_embd=64, n_layer=2, n_head=4, n_positions=128,
                                               use_cache=False))
        args, names = (ids, mask), ["input_ids", "attention_mask"]
    elif name == "llama":
        model = T.LlamaForCausalLM(T.LlamaConfig(num_key_value_heads=2, use_cache=False, **common))
        args, names = (ids, mask), ["input_ids", "attention_mask"]
    elif name == "t5":
        model = T.T5Model(T.T5Config(vocab_size=vocab, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                                     use_cache=False, decoder_start_token_id=0))
        dec = torch.randint(3, vocab, (batch, 5), generator=g)

        class T5Wrap(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, decoder_input_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              decoder_input_ids=decoder_input_ids).last_hidden_state
        model = T5Wrap(model)
        return dict(model=model.eval(), args=(ids, mask, dec),
                    input_names=["input_ids", "attention_mask", "decoder_input_ids"],
                    dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                  "decoder_input_ids": {0: "batch", 1: "dec_seq"}})
    elif name == "vit_hf":
        model = T.ViTModel(T.ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=64,
                                       num_hidden_layers=2, num_attention_heads=4, intermediate_size=128))
        x = torch.randn(batch, 3, 32, 32, generator=g)
        return dict(model=model.eval(), args=(x,), input_names=["pixel_values"],
                    dynamic_axes={"pixel_values": {0: "batch"}})
    else:
        raise ValueError(name)
    model = HFWrap(model.eval(), names).eval()
    return dict(model=model, args=args, input_names=names, dynamic_axes={n: {0: "batch", 1: "seq"} for n in names})


def _hf_wrap_class():
    import torch

    class HFWrap(torch.nn.Module):
        """Calls a Hugging Face model with keyword arguments (the positional order differs between versions, and
        both exporters bind keyword arguments awkwardly) and returns the output tensors as a tuple."""

        def __init__(self, m, names):
            super().__init__()
            self.m, self.names = m, list(names)

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            tensors = [input_ids, attention_mask, token_type_ids]
            out = self.m(**dict(zip(self.names, tensors)))
            return out.to_tuple() if hasattr(out, "to_tuple") else out
    return HFWrap


def HFWrap(m, names):
    return _hf_wrap_class()(m, names)


# ---- the worker --------------------------------------------------------------------------------------------------

def flat_tensors(x):
    import torch
    from torch.utils._pytree import tree_leaves
    if hasattr(x, "to_tuple"):
        x = x.to_tuple()
    return [t for t in tree_leaves(x) if isinstance(t, torch.Tensor)]


def flat_inputs(args):
    import torch
    from torch.utils._pytree import tree_leaves
    return [t for t in tree_leaves(args) if isinstance(t, torch.Tensor)]


def worker(model_name, exporter, family, folder):
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import numpy_helper
    torch.set_num_threads(1)
    meta = dict(model=model_name, exporter=exporter, family=family, torch=torch.__version__,
                onnx=onnx.__version__, onnxruntime=ort.__version__, export_error=None, ort_load=None,
                ort_run=None, ort_error=None)
    try:
        import torchvision
        meta["torchvision"] = torchvision.__version__
    except ImportError:
        pass

    def save_meta():
        with open(os.path.join(folder, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)

    path = os.path.join(folder, "model.onnx")
    t0 = time.time()
    try:
        spec = build(model_name, family)
    except Exception as e:  # noqa: BLE001
        meta["export_error"] = "build: " + "".join(traceback.format_exception_only(e)).strip()[-3000:]
        save_meta()
        return
    meta["build_s"] = round(time.time() - t0, 2)
    meta["parameters"] = sum(p.numel() for p in spec["model"].parameters())
    model, args = spec["model"], spec["args"]
    with torch.no_grad():
        t0 = time.time()
        try:
            want = flat_tensors(model(*args, **spec.get("kwargs", {})))
        except Exception as e:  # noqa: BLE001
            want = None
            meta["torch_error"] = "".join(traceback.format_exception_only(e)).strip()[-2000:]
        meta["torch_run_s"] = round(time.time() - t0, 2)

    t0 = time.time()
    try:
        if exporter == "ultralytics":
            import contextlib
            import io
            cwd = os.getcwd()
            os.chdir(folder)
            log = io.StringIO()
            try:
                with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                    out = spec["yolo"].export(format="onnx", imgsz=spec["imgsz"], nms=spec["nms"], verbose=False)
            finally:
                os.chdir(cwd)
            meta["ultralytics_log"] = log.getvalue()[-4000:]
            os.replace(out, path)
            import ultralytics
            meta["ultralytics"] = ultralytics.__version__
        elif exporter == "ts17":
            # Grad mode as a user's script has it (under no_grad, nn.TransformerEncoder takes its fused fast path,
            # which the TorchScript exporter cannot export).
            torch.onnx.export(model, args, path, dynamo=False, opset_version=17, kwargs=spec.get("kwargs"),
                              input_names=spec["input_names"], dynamic_axes=spec["dynamic_axes"])
        elif exporter == "dynamo":
            # dynamic_axes given as the equivalent positional dynamic_shapes (Dim.DYNAMIC: no constraints to state).
            dyn = None
            if spec["dynamic_axes"]:
                dyn = tuple({ax: torch.export.Dim.DYNAMIC for ax in spec["dynamic_axes"].get(n, {})} or None
                            for n in spec["input_names"])
            torch.onnx.export(model, args, path, dynamo=True, kwargs=spec.get("kwargs"),
                              input_names=spec["input_names"], dynamic_shapes=dyn)
        else:
            raise ValueError(exporter)
    except Exception as e:  # noqa: BLE001
        meta["export_s"] = round(time.time() - t0, 2)
        meta["export_error"] = "".join(traceback.format_exception_only(e)).strip()[-3000:]
        save_meta()
        return
    meta["export_s"] = round(time.time() - t0, 2)
    if not os.path.exists(path):
        meta["export_error"] = "the exporter wrote no model.onnx"
        save_meta()
        return
    mp = onnx.load(path, load_external_data=False)
    meta["opset"] = next((o.version for o in mp.opset_import if o.domain in ("", "ai.onnx")), None)
    meta["opset_imports"] = {o.domain or "ai.onnx": o.version for o in mp.opset_import}
    meta["ir_version"] = mp.ir_version
    meta["producer"] = f"{mp.producer_name} {mp.producer_version}"
    meta["files"] = {f: os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
                     if f.startswith("model.onnx")}

    # onnxruntime: load, run on the seeded inputs, store inputs and outputs.
    t0 = time.time()
    try:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        meta["ort_load"] = True
    except Exception as e:  # noqa: BLE001
        meta["ort_load"] = False
        meta["ort_error"] = "".join(traceback.format_exception_only(e)).strip()[-3000:]
        save_meta()
        return
    ins = flat_inputs((args, spec.get("kwargs", {})))
    gin = sess.get_inputs()
    meta["graph_inputs"] = [dict(name=i.name, type=i.type, shape=[str(d) for d in i.shape]) for i in gin]
    if len(gin) != len(ins):
        meta["ort_run"] = False
        meta["ort_error"] = f"graph has {len(gin)} inputs, the model took {len(ins)} tensors"
        save_meta()
        return
    feeds = {}
    for i, t in zip(gin, ins):
        a = t.detach().numpy()
        feeds[i.name] = a
    try:
        got = sess.run(None, feeds)
        meta["ort_run"] = True
    except Exception as e:  # noqa: BLE001
        meta["ort_run"] = False
        meta["ort_error"] = "".join(traceback.format_exception_only(e)).strip()[-3000:]
        save_meta()
        return
    meta["ort_run_s"] = round(time.time() - t0, 2)
    d = os.path.join(folder, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    for k, (i, a) in enumerate(zip(gin, ins)):
        onnx.save_tensor(numpy_helper.from_array(feeds[i.name], i.name), os.path.join(d, f"input_{k}.pb"))
    gout = sess.get_outputs()
    for k, (o, a) in enumerate(zip(gout, got)):
        onnx.save_tensor(numpy_helper.from_array(np.asarray(a), o.name), os.path.join(d, f"output_{k}.pb"))
    meta["outputs"] = [dict(name=o.name, dtype=str(np.asarray(a).dtype), shape=list(np.asarray(a).shape))
                       for o, a in zip(gout, got)]
    # How faithful the export is (PyTorch vs onnxruntime), when the flattened outputs line up.
    if want is not None and exporter != "ultralytics":  # ultralytics exports a wrapped/fused model
        cmp = []
        if len(want) == len(got):
            for w, a in zip(want, got):
                w = w.detach().numpy()
                a = np.asarray(a)
                if w.shape != a.shape:
                    cmp.append(f"shape {list(w.shape)} vs {list(a.shape)}")
                elif w.size == 0:
                    cmp.append(0.0)
                else:
                    cmp.append(float(np.max(np.abs(w.astype(np.float64) - a.astype(np.float64)))))
        else:
            cmp = f"{len(want)} torch outputs vs {len(got)} onnx outputs"
        meta["ort_vs_torch_max_abs"] = cmp
    save_meta()


def short_error(e):
    """The most telling line of an exporter's error (the dynamo exporter ends with a generic line)."""
    lines = [x.strip() for x in (e or "").splitlines() if x.strip()]
    for x in lines:
        if x.startswith("<class "):
            return x
    for x in reversed(lines):
        if not x.startswith(("(Refer to", "Use tlparse")):
            return x
    return ""


# ---- the driver -------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?")
    ap.add_argument("--only", help="regular expression over '<model>__<exporter>' (re.search)")
    ap.add_argument("--priority", type=int, default=1, help="run jobs of priority <= N (0, 1, 2; default 1)")
    ap.add_argument("--jobs", type=int, default=1, help="concurrent exports (default 1)")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per export job (default 1200)")
    ap.add_argument("--force", action="store_true", help="redo folders that already have a meta.json")
    ap.add_argument("--list", action="store_true", help="print the jobs and exit")
    ap.add_argument("--_worker", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._worker:
        worker(*a._worker)
        return
    if not a.out and not a.list:
        ap.error("OUT_DIR is required")
    jobs = [j for j in all_jobs() if j[0] <= a.priority
            and (not a.only or re.search(a.only, f"{j[1]}__{j[2]}"))]
    if a.list:
        for pr, m, ex, fam in jobs:
            print(pr, f"{m}__{ex}", fam)
        print(len(jobs), "jobs")
        return
    os.makedirs(a.out, exist_ok=True)
    todo = []
    for pr, m, ex, fam in jobs:
        folder = os.path.join(a.out, f"{m}__{ex}")
        if os.path.exists(os.path.join(folder, "meta.json")) and not a.force:
            continue
        todo.append((pr, m, ex, fam, folder))
    print(f"{len(todo)} of {len(jobs)} jobs to run", flush=True)
    running = []
    env = dict(os.environ, PYTHONUNBUFFERED="1", YOLO_OFFLINE="1")

    def finish(p, job, t0, log):
        pr, m, ex, fam, folder = job
        wall = time.time() - t0
        log.close()
        mpath = os.path.join(folder, "meta.json")
        meta = json.load(open(mpath)) if os.path.exists(mpath) else dict(
            model=m, exporter=ex, family=fam, export_error=(
                f"worker timed out after {a.timeout} s" if p.returncode in (-9, 124) and wall >= a.timeout
                else f"worker died (exit status {p.returncode}); see worker.log"))
        meta["wall_s"] = round(wall, 1)
        meta["priority"] = pr
        with open(mpath, "w") as f:
            json.dump(meta, f, indent=1)
        st = ("EXPORT FAILED: " + short_error(meta["export_error"])[:150] if meta.get("export_error")
              else "ORT FAILED: " + (meta.get("ort_error") or "").splitlines()[-1][:150] if not meta.get("ort_run")
              else "ok")
        print(f"[{time.strftime('%H:%M:%S')}] {m}__{ex}: {wall:.0f} s, opset {meta.get('opset')}, {st}", flush=True)

    while todo or running:
        while todo and len(running) < a.jobs:
            job = todo.pop(0)
            folder = job[4]
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            log = open(os.path.join(folder, "worker.log"), "w")
            p = subprocess.Popen([sys.executable, HERE, "--_worker", job[1], job[2], job[3], folder],
                                 stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder, start_new_session=True)
            running.append((p, job, time.time(), log))
        time.sleep(0.5)
        for r in list(running):
            p, job, t0, log = r
            if p.poll() is None and time.time() - t0 > a.timeout:
                os.killpg(p.pid, 9)
                p.wait()
            if p.poll() is not None:
                running.remove(r)
                finish(p, job, t0, log)


if __name__ == "__main__":
    main()
