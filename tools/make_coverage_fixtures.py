#!/usr/bin/env python3
"""Writes the small whole-model coverage fixtures (issue #9) under Tests/Fixtures/models/<name>/, one per family of
the held-out matrix (torchvision classification / segmentation / video / detection, Ultralytics YOLO with and without
in-graph NMS, Hugging Face encoders and decoders, nn.TransformerEncoder), plus dynamo-exporter variants, a float16
model and an opset-23 dynamo export. Same layout as tools/make_model_fixtures.py:

  model.onnx                                    one file, no external data, at most ~2 MB
  test_data_set_0, test_data_set_1/input_J.pb, output_J.pb
                                                TensorProto files; the two sets have different input shapes where the
                                                model has dynamic dims, else the same shape and different values
  ops.txt                                       the sorted op types (main graph and any subgraph), space-separated
  README.md (in models/)                        one row per fixture appended/replaced (other rows kept)

Architectures are the real torchvision / transformers / ultralytics classes with reduced widths, depths and
configs and random seeded weights. Exporters, as a user of each family exports today:
  ts17     torch.onnx.export(..., dynamo=False, opset_version=17, dynamic_axes=...)   (torchvision, HF, nn models)
  dynamo   torch.onnx.export(..., dynamo=True, external_data=False, dynamic_shapes=...) (its default opset, or 23)
  ultralytics  YOLO(yaml).export(format="onnx", imgsz=128, nms=False|True)           (ultralytics' default opset)

References are onnxruntime 1.32.0's (CPU) outputs, each checked against PyTorch's own outputs before it is written:
float32 rtol 1e-3 atol 1e-4 (as the Swift tests), float16 rtol 1e-2 atol 1e-2 (PyTorch's fp16 CPU kernels and
onnxruntime's accumulate differently), integer outputs exactly; detection outputs (a data-dependent number of boxes)
must have the same shapes. The YOLO NMS fixture is checked against ultralytics' own non_max_suppression on the
PyTorch head output (same boxes and scores, order-insensitive).

Needs the venv /opt/torchenv (torch, torchvision, transformers, ultralytics, onnx 1.23.2, onnxruntime 1.32.0,
onnxscript, onnxslim; see tools/README.md). Usage:
    /opt/torchenv/bin/python tools/make_coverage_fixtures.py [name ...]        (about 2 minutes on 2 cores)
"""
import contextlib
import io
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
MAX_BYTES = 2_200_000


def calibrate_batchnorm(model, make_batch, batches=3):
    """Real running statistics and a random affine for every BatchNorm, then eval mode (as make_model_fixtures)."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(*make_batch())
    return model.eval()


def image_spec(model, sets, dynamic=(0, 2, 3), out="logits", out_dynamic=(0,)):
    return dict(model=model, input_names=["image"], output_names=[out] if isinstance(out, str) else out,
                dynamic_axes={"image": {d: f"d{d}" for d in dynamic},
                              **({out: {d: f"o{d}" for d in out_dynamic}} if isinstance(out, str) else {})},
                data_sets=sets)


# ---- classification -------------------------------------------------------------------------------------------

def mobilenet_v3_small():
    """torchvision mobilenet_v3_small(width_mult=0.5, num_classes=10): HardSwish, HardSigmoid squeeze-excitation,
    depthwise convs; TorchScript exporter, opset 17, dynamic N/H/W."""
    import torchvision
    m = torchvision.models.mobilenet_v3_small(weights=None, width_mult=0.5, num_classes=10)
    m = calibrate_batchnorm(m, lambda: (torch.randn(4, 3, 64, 64),))
    return image_spec(m, [[torch.randn(1, 3, 64, 64)], [torch.randn(2, 3, 48, 80)]])


def mobilenet_v3_small_dynamo():
    """The same mobilenet_v3_small (width 0.5) through the dynamo exporter (torch.onnx.export(dynamo=True), its
    default opset), dynamic N/H/W."""
    spec = mobilenet_v3_small()
    spec["exporter"] = "dynamo"
    return spec


def convnext_tiny_cfg():
    """torchvision ConvNeXt with block_setting [CNBlockConfig(16,32,1), CNBlockConfig(32,None,1)]: patchify stem,
    7x7 depthwise convs, LayerNorm2d (permute + LayerNormalization), exact GELU (Erf), layer scale; TorchScript
    exporter, opset 17, dynamic N/H/W."""
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    m = ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=10).eval()
    with torch.no_grad():  # layer scale is 1e-6 at init: make the residual branches count
        for blk in m.modules():
            if hasattr(blk, "layer_scale"):
                blk.layer_scale.uniform_(0.5, 1.0)
    return image_spec(m, [[torch.randn(1, 3, 64, 64)], [torch.randn(2, 3, 32, 48)]])


def vit_tiny():
    """torchvision VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
    mlp_dim=64, num_classes=10): conv patch embedding, class token, nn.MultiheadAttention, LayerNorm, GELU;
    TorchScript exporter, opset 17, dynamic batch (the image size is fixed by the position embedding)."""
    from torchvision.models.vision_transformer import VisionTransformer
    m = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
                          num_classes=10).eval()
    with torch.no_grad():
        m.heads.head.weight.normal_(0, 0.2)  # zero-initialised head: give it weights
    return image_spec(m, [[torch.randn(2, 3, 32, 32)], [torch.randn(3, 3, 32, 32)]], dynamic=(0,))


def vit_tiny_dynamo():
    """The same vit_tiny through the dynamo exporter at its default opset, dynamic batch."""
    spec = vit_tiny()
    spec["exporter"] = "dynamo"
    return spec


def vit_tiny_opset23():
    """The same vit_tiny through the dynamo exporter with opset_version=23 (an opset-21+ export), dynamic batch."""
    spec = vit_tiny()
    spec["exporter"] = "dynamo"
    spec["opset"] = 23
    return spec


def swin_tiny_cfg():
    """torchvision SwinTransformer(patch_size=[4,4], embed_dim=16, depths=[1,1], num_heads=[1,2],
    window_size=[4,4], num_classes=10) on 32x32: shifted windows (roll), relative position bias, patch merging;
    TorchScript exporter, opset 17, dynamic batch."""
    from torchvision.models.swin_transformer import SwinTransformer
    m = SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[1, 1], num_heads=[1, 2], window_size=[4, 4],
                        num_classes=10).eval()
    return image_spec(m, [[torch.randn(1, 3, 32, 32)], [torch.randn(2, 3, 32, 32)]], dynamic=(0,))


def efficientnet_b0_fp16():
    """A narrow EfficientNet-style CNN in float16 (`.half()` before export): Conv+BN+SiLU stem, two MBConv blocks
    (depthwise conv, squeeze-excitation with SiLU/Sigmoid, residual Add), global average pool, Linear; float16
    input, weights and output; TorchScript exporter, opset 17, dynamic N/H/W; references from onnxruntime run on the
    float16 model."""
    from torchvision.models.efficientnet import MBConvConfig, EfficientNet
    cfg = [MBConvConfig(1, 3, 1, 8, 8, 1, 0.25, 0.25), MBConvConfig(4, 3, 2, 8, 16, 1, 0.25, 0.25)]
    m = EfficientNet(cfg, dropout=0.0, num_classes=10, last_channel=32)
    m = calibrate_batchnorm(m, lambda: (torch.randn(4, 3, 32, 32),)).half()
    return dict(image_spec(m, [[torch.randn(1, 3, 32, 32).half()], [torch.randn(2, 3, 24, 40).half()]]),
                rtol=1e-2, atol=1e-2)


# ---- segmentation / video ---------------------------------------------------------------------------------------

def lraspp_small():
    """torchvision LRASPP over a mobilenet_v3_large(width_mult=0.25, reduced_tail=True, dilated=True) backbone
    (torchvision's own _lraspp_mobilenetv3 wiring), 4 classes: HardSwish, SE, dilated depthwise convs, global
    average-pool branch with Sigmoid gating, bilinear Resize to the input size; TorchScript exporter, opset 17,
    dynamic N/H/W; output 'out' only."""
    import torchvision
    from torchvision.models.segmentation.lraspp import _lraspp_mobilenetv3
    bb = torchvision.models.mobilenet_v3_large(weights=None, width_mult=0.25, reduced_tail=True, dilated=True)
    m = _lraspp_mobilenetv3(bb, num_classes=4)

    class Out(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, image):
            return self.m(image)["out"]
    m = calibrate_batchnorm(Out(m), lambda: (torch.randn(2, 3, 64, 64),))
    return image_spec(m, [[torch.randn(1, 3, 64, 64)], [torch.randn(2, 3, 48, 80)]], out="out",
                      out_dynamic=(0, 2, 3))


def video_resnet_small():
    """torchvision VideoResNet (r3d_18's layout: Conv3DSimple, BasicBlock, [1,1,1,1]) at widths 8/16/32/64 with a
    narrow stem, on [N,3,T,H,W] clips: Conv3d, BatchNorm3d, 3-D MaxPool-free stem, AdaptiveAvgPool3d, Linear;
    TorchScript exporter, opset 17, dynamic N/T/H/W."""
    from torchvision.models.video.resnet import BasicBlock, Conv3DSimple, VideoResNet
    m = VideoResNet(BasicBlock, [Conv3DSimple] * 4, [1, 1, 1, 1], stem=lambda: torch.nn.Identity(), num_classes=10)
    m.stem = torch.nn.Sequential(torch.nn.Conv3d(3, 8, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                                 torch.nn.BatchNorm3d(8), torch.nn.ReLU(inplace=True))
    m.inplanes = 8
    m.layer1 = m._make_layer(BasicBlock, Conv3DSimple, 8, 1, stride=1)
    m.layer2 = m._make_layer(BasicBlock, Conv3DSimple, 16, 1, stride=2)
    m.layer3 = m._make_layer(BasicBlock, Conv3DSimple, 32, 1, stride=2)
    m.layer4 = m._make_layer(BasicBlock, Conv3DSimple, 64, 1, stride=2)
    m.fc = torch.nn.Linear(64, 10)
    m = calibrate_batchnorm(m, lambda: (torch.randn(2, 3, 8, 32, 32),))
    return dict(model=m, input_names=["video"], output_names=["logits"],
                dynamic_axes={"video": {0: "N", 2: "T", 3: "H", 4: "W"}, "logits": {0: "N"}},
                data_sets=[[torch.randn(1, 3, 8, 32, 32)], [torch.randn(2, 3, 4, 48, 40)]])


# ---- detection ----------------------------------------------------------------------------------------------------

def ssdlite_small():
    """torchvision SSD with SSDLiteHead over mobilenet_v3_large(width_mult=0.25, reduced_tail=True) through
    SSDLiteFeatureExtractorMobileNet(width_mult=0.25), DefaultBoxGenerator as in ssdlite320_mobilenet_v3_large, at
    size 128, 5 classes, score_thresh 0.01, top 20: the in-graph resize (bilinear), anchors, box decoding, per-class
    batched NMS (NonMaxSuppression), TopK; TorchScript exporter, opset 17, image [3,H,W] with dynamic H/W -> boxes
    [K,4], scores [K], labels [K] (K data-dependent)."""
    from functools import partial
    import torchvision
    from torchvision.models.detection import _utils as det_utils
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD
    from torchvision.models.detection.ssdlite import SSDLiteFeatureExtractorMobileNet, SSDLiteHead
    norm = partial(torch.nn.BatchNorm2d, eps=0.001, momentum=0.03)
    bb = torchvision.models.mobilenet_v3_large(weights=None, width_mult=0.25, reduced_tail=True, norm_layer=norm)
    feats = bb.features
    stage = [0] + [i for i, b in enumerate(feats) if getattr(b, "_is_cn", False)] + [len(feats) - 1]
    backbone = SSDLiteFeatureExtractorMobileNet(feats, stage[-2], norm, width_mult=0.25)
    size = (128, 128)
    anchors = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95)
    out_ch = det_utils.retrieve_out_channels(backbone, size)
    m = SSD(backbone, anchors, size, 5, head=SSDLiteHead(out_ch, anchors.num_anchors_per_location(), 5, norm),
            score_thresh=0.01, nms_thresh=0.55, detections_per_img=20, topk_candidates=50,
            image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    m = calibrate_batchnorm(m.backbone, lambda: (torch.rand(2, 3, 128, 128),)) and m.eval()
    return detection_spec(m, [[torch.rand(3, 128, 128)], [torch.rand(3, 96, 160)]])


def fasterrcnn_small():
    """torchvision FasterRCNN with a tiny custom backbone (3 Conv+ReLU, stride 8, 16 channels), AnchorGenerator
    (3 sizes x 3 ratios), RPN (top 100 -> NMS -> 30 proposals), MultiScaleRoIAlign 7x7 (RoiAlign), a 64-wide
    TwoMLPHead, 4 classes, min_size 128 / max_size 160, score_thresh 0.05, 20 detections: the in-graph resize,
    anchors, box coding, NonMaxSuppression, TopK, RoiAlign, Gather/ScatterND-style index work; TorchScript exporter,
    opset 17, image [3,H,W] with dynamic H/W -> boxes [K,4], labels [K], scores [K]."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign
    bb = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2, 1), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, 2, 1),
                             torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3, 2, 1), torch.nn.ReLU())
    bb.out_channels = 16
    m = FasterRCNN(bb, num_classes=None, min_size=128, max_size=160,
                   rpn_anchor_generator=AnchorGenerator(((16, 32, 64),), ((0.5, 1.0, 2.0),)),
                   box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2),
                   box_head=TwoMLPHead(16 * 7 * 7, 64), box_predictor=FastRCNNPredictor(64, 4),
                   rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=30, box_score_thresh=0.05,
                   box_detections_per_img=20).eval()
    return detection_spec(m, [[torch.rand(3, 128, 128)], [torch.rand(3, 112, 144)]])


def detection_spec(m, sets):
    return dict(model=m, input_names=["image"], dynamic_axes={"image": {1: "H", 2: "W"}}, list_input=True,
                data_sets=sets, output_names=None)


# ---- YOLO ---------------------------------------------------------------------------------------------------------

YOLO_YAML = """# yolov8.yaml (ultralytics %s) with one tiny scale and 8 classes
nc: 8
scales:
  t: [0.33, 0.0625, 1024]
"""


def _yolo(nms):
    import ultralytics
    from ultralytics import YOLO
    src = open(os.path.join(os.path.dirname(ultralytics.__file__), "cfg", "models", "v8", "yolov8.yaml")).read()
    body = src[src.index("# YOLOv8.0n backbone"):]
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "yolov8t.yaml")
    with open(path, "w") as f:
        f.write(YOLO_YAML % ultralytics.__version__ + body)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yolo = YOLO(path)
    return dict(yolo=yolo, tmp=tmp, nms=nms, exporter="ultralytics", input_names=["images"],
                data_sets=[[torch.rand(1, 3, 128, 128)], [torch.rand(1, 3, 128, 128)]])


def yolov8_tiny():
    """Ultralytics YOLOv8 detect (yolov8.yaml at depth 0.33, width 0.0625, 8 classes): C2f, SPPF, nearest Resize,
    DFL box decoding (Softmax over 16 bins, a 1x1 Conv), anchors; exported with YOLO(...).export(format="onnx",
    imgsz=128) (ultralytics' defaults: TorchScript exporter, its opset, onnxslim), static [1,3,128,128] ->
    [1, 12, 336]."""
    return _yolo(False)


def yolov8_tiny_nms():
    """The same YOLOv8 (tiny scale, 8 classes) exported with nms=True: the head plus ultralytics' in-graph NMS
    (TopK, NonMaxSuppression, gathers, padding to 300 rows) -> [1, 300, 6] (x1, y1, x2, y2, score, class)."""
    return _yolo(True)


# ---- transformers ----------------------------------------------------------------------------------------------

class HFWrap(torch.nn.Module):
    """Calls a Hugging Face model with keyword arguments and returns its output tensors as a tuple."""

    def __init__(self, m, names):
        super().__init__()
        self.m, self.names = m, names

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.m(**dict(zip(self.names, [input_ids, attention_mask, token_type_ids])))
        return out.to_tuple()


def _text_sets(names, vocab=100):
    sets = []
    for b, t in ((1, 7), (2, 12)):
        ids = torch.randint(3, vocab, (b, t))
        mask = torch.ones(b, t, dtype=torch.int64)
        if b > 1:
            mask[1, t - 4:] = 0
        s = [ids, mask]
        if "token_type_ids" in names:
            tt = torch.zeros(b, t, dtype=torch.int64)
            tt[:, t // 2:] = 1
            s.append(tt)
        sets.append(s)
    return sets


def _hf_spec(model, names, outs):
    model = HFWrap(model.eval(), names).eval()
    return dict(model=model, input_names=names, output_names=outs,
                dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names}, **{o: {0: "batch", 1: "seq"} for o in outs
                                                                               if o != "pooler_output"},
                              **({"pooler_output": {0: "batch"}} if "pooler_output" in outs else {})},
                data_sets=_text_sets(names))


def bert_tiny():
    """transformers BertModel (hidden 32, 2 layers, 2 heads, intermediate 64, vocabulary 100): input_ids,
    attention_mask, token_type_ids (int64, dynamic batch/sequence) -> last_hidden_state, pooler_output; extended
    attention mask, exact GELU, LayerNorm, tanh pooler; TorchScript exporter, opset 17."""
    import transformers as T
    m = T.BertModel(T.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=64, max_position_embeddings=64))
    return _hf_spec(m, ["input_ids", "attention_mask", "token_type_ids"], ["last_hidden_state", "pooler_output"])


def distilbert_tiny():
    """transformers DistilBertModel (dim 32, 2 layers, 2 heads, hidden 64, vocabulary 100): input_ids,
    attention_mask (int64, dynamic batch/sequence) -> last_hidden_state; TorchScript exporter, opset 17."""
    import transformers as T
    m = T.DistilBertModel(T.DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                             max_position_embeddings=64))
    return _hf_spec(m, ["input_ids", "attention_mask"], ["last_hidden_state"])


def gpt2_tiny():
    """transformers GPT2LMHeadModel (n_embd 32, 2 layers, 2 heads, vocabulary 100, use_cache=False): input_ids,
    attention_mask (int64, dynamic batch/sequence) -> logits [N,T,100]; causal + padding mask, Conv1D projections,
    tanh GELU, tied LM head; TorchScript exporter, opset 17."""
    import transformers as T
    m = T.GPT2LMHeadModel(T.GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=2, n_positions=64,
                                       use_cache=False))
    return _hf_spec(m, ["input_ids", "attention_mask"], ["logits"])


class _MaskedEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)

    def forward(self, x, padding_mask):
        return self.enc(x, src_key_padding_mask=padding_mask)


def transformer_encoder():
    """torch.nn.TransformerEncoder (2 x TransformerEncoderLayer, d_model 32, 4 heads, feed-forward 64, ReLU,
    post-norm, batch_first) with src_key_padding_mask: x [N,T,32] float, padding_mask [N,T] bool (True = padding)
    -> [N,T,32]; TorchScript exporter, opset 17 (exported in grad mode: under no_grad the fused fast path is taken,
    which the TorchScript exporter cannot export); dynamic N, T fixed at 6 (the TorchScript exporter bakes the
    traced sequence length into nn.MultiheadAttention's reshapes)."""
    m = _MaskedEncoder().eval()
    sets = []
    for b, t in ((2, 6), (3, 6)):
        pad = torch.zeros(b, t, dtype=torch.bool)
        pad[1, t - 3:] = True
        if b > 2:
            pad[2, t - 1:] = True
        sets.append([torch.randn(b, t, 32), pad])
    return dict(model=m, input_names=["x", "padding_mask"], output_names=["y"],
                dynamic_axes={"x": {0: "N"}, "padding_mask": {0: "N"}, "y": {0: "N"}},
                data_sets=sets)


def transformer_encoder_dynamo():
    """The same masked nn.TransformerEncoder through the dynamo exporter (its default opset), dynamic N and T."""
    spec = transformer_encoder()
    spec["exporter"] = "dynamo"
    spec["dynamic_axes"] = {"x": {0: "N", 1: "T"}, "padding_mask": {0: "N", 1: "T"}}
    x, pad = spec["data_sets"][1][0][:, :4], spec["data_sets"][1][1][:, :4].clone()
    pad[1, 3:] = True
    spec["data_sets"][1] = [x, pad]
    return spec


# name -> (seed, builder)
FIXTURES = {
    "mobilenet_v3_small": (201, mobilenet_v3_small),
    "mobilenet_v3_small_dynamo": (201, mobilenet_v3_small_dynamo),
    "convnext_tiny_cfg": (202, convnext_tiny_cfg),
    "vit_tiny": (203, vit_tiny),
    "vit_tiny_dynamo": (203, vit_tiny_dynamo),
    "vit_tiny_opset23": (203, vit_tiny_opset23),
    "swin_tiny_cfg": (204, swin_tiny_cfg),
    "efficientnet_fp16": (205, efficientnet_b0_fp16),
    "lraspp_small": (206, lraspp_small),
    "video_resnet_small": (207, video_resnet_small),
    "ssdlite_small": (208, ssdlite_small),
    "fasterrcnn_small": (209, fasterrcnn_small),
    "yolov8_tiny": (210, yolov8_tiny),
    "yolov8_tiny_nms": (210, yolov8_tiny_nms),
    "bert_tiny": (211, bert_tiny),
    "distilbert_tiny": (212, distilbert_tiny),
    "gpt2_tiny": (213, gpt2_tiny),
    "transformer_encoder": (214, transformer_encoder),
    "transformer_encoder_dynamo": (214, transformer_encoder_dynamo),
}


# ---- export, references, checks -------------------------------------------------------------------------------

def flat(x):
    from torch.utils._pytree import tree_leaves
    if hasattr(x, "to_tuple"):
        x = x.to_tuple()
    return [t for t in tree_leaves(x) if isinstance(t, torch.Tensor)]


def export(name, spec, path):
    ex = spec.get("exporter", "ts17")
    args = tuple(spec["data_sets"][0])
    if spec.get("list_input"):
        args = (list(args),)
    if ex == "ultralytics":
        cwd = os.getcwd()
        os.chdir(spec["tmp"])
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                out = spec["yolo"].export(format="onnx", imgsz=128, nms=spec["nms"], verbose=False)
        finally:
            os.chdir(cwd)
        shutil.move(os.path.join(spec["tmp"], out), path)
    elif ex == "ts17":
        torch.onnx.export(spec["model"], args, path, dynamo=False, opset_version=17,
                          input_names=spec["input_names"], output_names=spec.get("output_names"),
                          dynamic_axes=spec["dynamic_axes"])
    else:
        dyn = tuple({ax: torch.export.Dim.DYNAMIC for ax in spec["dynamic_axes"].get(n, {})} or None
                    for n in spec["input_names"])
        with contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(spec["model"], args, path, dynamo=True, external_data=False,
                              opset_version=spec.get("opset"), input_names=spec["input_names"],
                              output_names=spec.get("output_names"), dynamic_shapes=dyn)
    m = onnx.load(path)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer):
        sys.exit(f"{name}: the export has external data")
    onnx.checker.check_model(m, full_check=True)
    keep = [p for p in m.metadata_props if p.key != "date"]  # ultralytics stamps the export time: keep reruns equal
    del m.metadata_props[:]
    m.metadata_props.extend(keep)
    m.doc_string = f"dlinfer fixture '{name}': " + " ".join((spec.get("doc") or "").split())
    onnx.save(m, path)
    return m


def all_ops(g):
    ops = set()
    for n in g.node:
        ops.add(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}")
        for a in n.attribute:
            for sg in ([a.g] if a.type == onnx.AttributeProto.GRAPH else a.graphs):
                ops |= all_ops(sg)
    return ops


def torch_reference(spec, inputs):
    if "yolo" in spec:
        with torch.no_grad():
            y = spec["yolo"].model.eval()(inputs[0])
        y = y[0] if isinstance(y, (tuple, list)) else y
        if spec["nms"]:
            from ultralytics.utils.nms import non_max_suppression
            det = non_max_suppression(y, conf_thres=0.25, iou_thres=0.7, max_det=300)[0]
            return ("nms", det.numpy())
        return [y.numpy()]
    with torch.no_grad():
        args = (list(inputs),) if spec.get("list_input") else inputs
        return [t.numpy() for t in flat(spec["model"](*args))]


def check(name, k, got, want, spec):
    rtol, atol = spec.get("rtol", 1e-3), spec.get("atol", 1e-4)
    if isinstance(want, tuple) and want[0] == "nms":
        det = want[1]  # [n, 6]
        rows = got[0][0]
        rows = rows[rows[:, 4] > 0]
        key = lambda a: a[np.lexsort((a[:, 0], -np.round(a[:, 4], 4)))]  # noqa: E731
        if rows.shape != det.shape or not np.allclose(key(rows), key(det), rtol=rtol, atol=1e-3):
            sys.exit(f"{name} set {k}: in-graph NMS {rows.shape} differs from ultralytics' NMS {det.shape}")
        return
    if len(got) != len(want):
        sys.exit(f"{name} set {k}: {len(got)} ORT outputs vs {len(want)} torch outputs")
    for j, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape:
            sys.exit(f"{name} set {k} output {j}: ORT shape {g.shape} vs torch {w.shape}")
        if w.dtype.kind in "iub":
            ok = np.array_equal(g, w)
        else:
            ok = np.allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol)
        if not ok:
            d = np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))
            sys.exit(f"{name} set {k} output {j}: ORT vs torch max|diff| {d:.3g} (rtol {rtol}, atol {atol})")


def write_fixture(name):
    seed, build = FIXTURES[name]
    torch.manual_seed(seed)
    spec = build()
    spec["doc"] = build.__doc__
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, "model.onnx")
    m = export(name, spec, path)
    if "tmp" in spec:
        shutil.rmtree(spec["tmp"], ignore_errors=True)
    if os.path.getsize(path) > MAX_BYTES:
        sys.exit(f"{name}: model.onnx is {os.path.getsize(path)} bytes, over {MAX_BYTES}")
    ops = sorted(all_ops(m.graph))
    with open(os.path.join(folder, "ops.txt"), "w") as f:
        f.write(" ".join(ops) + "\n")
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    in_names = [i.name for i in sess.get_inputs()]
    out_names = [o.name for o in sess.get_outputs()]
    shapes, nout = [], []
    for k, inputs in enumerate(spec["data_sets"]):
        feeds = {n: t.numpy() for n, t in zip(in_names, inputs)}
        got = sess.run(None, feeds)
        check(name, k, got, torch_reference(spec, inputs), spec)
        d = os.path.join(folder, f"test_data_set_{k}")
        os.makedirs(d)
        for j, n in enumerate(in_names):
            onnx.save_tensor(numpy_helper.from_array(feeds[n], n), os.path.join(d, f"input_{j}.pb"))
        for j, (n, a) in enumerate(zip(out_names, got)):
            onnx.save_tensor(numpy_helper.from_array(np.asarray(a), n), os.path.join(d, f"output_{j}.pb"))
        shapes.append(", ".join(f"{n} {list(feeds[n].shape)}" for n in in_names)
                      + " -> " + ", ".join(f"{list(np.asarray(a).shape)}" for a in got))
        nout.append(got)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(folder) for f in fs)
    print(f"{name}: opset {opset}, {os.path.getsize(path) / 1e6:.2f} MB model, {size / 1e6:.2f} MB in all")
    print(f"  ops: {' '.join(ops)}")
    for k, s in enumerate(shapes):
        print(f"  set {k}: {s}")
    doc = " ".join((build.__doc__ or "").split())
    return (f"| `{name}` | {doc} (opset {opset}) | {' '.join(ops)} | {os.path.getsize(path) / 1e6:.2f} MB | "
            f"{'; '.join(shapes)} |")


def main(argv):
    names = argv or list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        sys.exit(f"unknown fixture(s) {unknown}; known: {list(FIXTURES)}")
    torch.set_num_threads(1)
    rows = {n: write_fixture(n) for n in names}
    readme = os.path.join(OUT, "README.md")
    lines = open(readme).read().rstrip("\n").split("\n")
    mine = {}
    for line in lines:  # this script's rows from an earlier run, kept for fixtures not rebuilt now
        if line.startswith("| `") and line.split("`")[1] in FIXTURES:
            mine[line.split("`")[1]] = line
    mine.update(rows)
    lines = [x for x in lines if not (x.startswith("| `") and x.split("`")[1] in FIXTURES)]
    lines += [mine[n] for n in FIXTURES if n in mine]  # after the other generators' rows, in FIXTURES order
    with open(readme, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
