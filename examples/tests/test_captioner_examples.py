"""Runs the captioner examples, C and Python, in both modes (host-stepped decoder and in-graph Loop), on the default
device (DLINFER_DEVICE), and checks what they print against onnxruntime run here on the same scenes: every caption
and every word's most-attended region, the two modes' captions identical, and at least 90 % of the bundled held-out
scenes captioned exactly. The C programs must be built first (make examples); the Python package must be importable
(PYTHONPATH=bindings/python, DLINFER_LIBRARY)."""
import pathlib
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / "examples" / "models"
DATA = ROOT / "examples" / "data"
SCENES = DATA / "captioner"
MAX_STEPS = 16
PALETTE = [(255, 255, 255), (255, 64, 64), (64, 255, 64), (80, 128, 255), (255, 255, 64), (255, 64, 255),
           (64, 255, 255), (255, 160, 32)]


def c_example(name):
    path = ROOT / "examples" / "c" / name
    if not path.exists():
        pytest.fail(f"{path} is not built: run `make examples` first")
    return [str(path)]


def py_example(name):
    return [sys.executable, str(ROOT / "examples" / "python" / f"{name}.py")]


EXAMPLES = {"c": c_example, "python": py_example}


def run(command, *args, expect_rc=0):
    r = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == expect_rc, f"{command} {args} exited {r.returncode}: {r.stderr}"
    return r


def read_ppm(path):
    data = path.read_bytes()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    return np.frombuffer(data, np.uint8, w * h * 3, m.end()).reshape(h, w, 3)


@pytest.fixture(scope="module")
def onnxruntime_captions():
    """file name -> (reference caption, onnxruntime's caption, its attention [words, R]), after checking that
    onnxruntime's host-stepped and in-graph Loop decoding agree."""
    vocab = (DATA / "captioner_vocab.txt").read_text().split()
    bos, eos = vocab.index("<bos>"), vocab.index("<eos>")
    opts = {"providers": ["CPUExecutionProvider"]}
    encoder = ort.InferenceSession(str(MODELS / "caption_encoder.onnx"), **opts)
    decoder = ort.InferenceSession(str(MODELS / "caption_decoder_step.onnx"), **opts)
    greedy = ort.InferenceSession(str(MODELS / "caption_greedy.onnx"), **opts)
    out = {}
    for line in (SCENES / "captions.txt").read_text().split("\n"):
        if not line.strip():
            continue
        name, *reference = line.split()
        image = read_ppm(SCENES / name).transpose(2, 0, 1)[None].astype(np.float32) / 255
        regions, h, c = encoder.run(None, {"image": image})
        token, tokens, attentions = np.array([bos], np.int64), [], []
        for _ in range(MAX_STEPS):
            logits, attention, h, c = decoder.run(None, {"token": token, "h": h, "c": c, "regions": regions})
            token = logits.argmax(1)
            tokens.append(int(token[0]))
            attentions.append(attention[0])
            if tokens[-1] == eos:
                break
        loop_tokens, loop_attention = greedy.run(None, {"image": image})
        assert list(loop_tokens) == tokens, name
        np.testing.assert_allclose(loop_attention, np.stack(attentions), atol=1e-5)
        n = tokens.index(eos) if eos in tokens else len(tokens)
        out[name] = (" ".join(reference), " ".join(vocab[t] for t in tokens[:n]), np.stack(attentions[:n]))
    return out


def check_regions(line, caption, attention):
    """The regions line names each word with the cell (row, col) of its largest attention weight; where onnxruntime's
    two largest weights are within 1e-5, either cell is accepted."""
    words = caption.split()
    found = re.findall(r" (\S+)\((\d+),(\d+)\)", line)
    assert line == " " + "".join(f" {w}({r},{c})" for w, r, c in found), line
    assert [w for w, _, _ in found] == words
    grid = int(round(attention.shape[1] ** 0.5))
    for (word, r, c), a in zip(found, attention):
        cell = int(r) * grid + int(c)
        assert a[cell] >= a.max() - 1e-5, f"{word}: cell ({r},{c}) is not the most attended"


_outputs = {}


def eval_output(lang, mode):
    """The example's stdout over the bundled scenes (each language and mode run once per test session)."""
    if (lang, mode) not in _outputs:
        _outputs[lang, mode] = run(EXAMPLES[lang]("caption_image"), "--mode", mode).stdout
    return _outputs[lang, mode]


@pytest.mark.parametrize("mode", ["step", "loop"])
@pytest.mark.parametrize("lang", EXAMPLES)
def test_caption_bundled_scenes(lang, mode, onnxruntime_captions):
    lines = eval_output(lang, mode).rstrip("\n").split("\n")
    assert lines[0].startswith("device: ")
    assert lines[1] == f"mode: {mode}"
    body = lines[2:-1]
    assert len(body) == 2 * len(onnxruntime_captions)
    seen = {}
    for caption_line, regions_line in zip(body[::2], body[1::2]):
        m = re.fullmatch(r"(\S+): (.*) \(reference (.*)\)( WRONG)?", caption_line)
        assert m, f"unexpected line {caption_line!r}"
        name, caption, reference, wrong = m.groups()
        expected_reference, expected, attention = onnxruntime_captions[name]
        assert (reference, caption) == (expected_reference, expected), name
        assert bool(wrong) == (caption != reference)
        check_regions(regions_line, caption, attention)
        seen[name] = caption
    assert seen.keys() == onnxruntime_captions.keys()
    correct = sum(seen[n] == ref for n, (ref, _, _) in onnxruntime_captions.items())
    total = len(onnxruntime_captions)
    assert lines[-1] == f"accuracy: {100 * correct / total:.2f} % ({correct}/{total})"
    assert correct >= 0.9 * total


@pytest.mark.parametrize("lang", EXAMPLES)
def test_loop_and_step_captions_identical(lang):
    step = eval_output(lang, "step").split("\n")
    loop = eval_output(lang, "loop").split("\n")
    assert step[0] == loop[0] and step[1] == "mode: step" and loop[1] == "mode: loop"
    assert step[2:] == loop[2:]


def annotated(pixels, cells, grid, scale=4):
    """What --out should hold: the image enlarged, word k's cell outlined in colour k, inset 2k pixels."""
    image = pixels.repeat(scale, axis=0).repeat(scale, axis=1).copy()
    side = image.shape[0] // grid
    for k, cell in enumerate(cells):
        inset = 2 * (k % 8)
        top, left = (cell // grid) * side + inset, (cell % grid) * side + inset
        bottom, right = top + side - 1 - 2 * inset, left + side - 1 - 2 * inset
        image[top, left:right + 1] = image[bottom, left:right + 1] = PALETTE[k % 8]
        image[top:bottom + 1, left] = image[top:bottom + 1, right] = PALETTE[k % 8]
    return image


@pytest.mark.parametrize("mode", ["step", "loop"])
@pytest.mark.parametrize("lang", EXAMPLES)
def test_caption_images_and_out(lang, mode, onnxruntime_captions, tmp_path):
    names = ["scene_000.ppm", "scene_001.ppm"]
    paths = [str(SCENES / n) for n in names]
    out = tmp_path / "annotated.ppm"
    r = run(EXAMPLES[lang]("caption_image"), "--mode", mode, "--out", str(out), *paths)
    lines = r.stdout.split("\n")
    assert lines[1] == f"mode: {mode}"
    assert lines[2] == f"{paths[0]}: {onnxruntime_captions[names[0]][1]}"
    check_regions(lines[3], *onnxruntime_captions[names[0]][1:])
    assert lines[4] == f"wrote {out}"
    assert lines[5] == f"{paths[1]}: {onnxruntime_captions[names[1]][1]}"
    check_regions(lines[6], *onnxruntime_captions[names[1]][1:])
    assert lines[7:] == [""]
    attention = onnxruntime_captions[names[0]][2]
    grid = int(round(attention.shape[1] ** 0.5))
    written = read_ppm(out)
    assert written.shape == (256, 256, 3)
    assert np.array_equal(written, annotated(read_ppm(SCENES / names[0]), attention.argmax(1), grid))


@pytest.mark.parametrize("lang", EXAMPLES)
def test_caption_errors(lang, tmp_path):
    example = EXAMPLES[lang]("caption_image")
    r = run(example, str(DATA / "captioner_vocab.txt"), expect_rc=1)
    assert "PPM" in r.stderr
    small = tmp_path / "small.ppm"
    small.write_bytes(b"P6\n32 32\n255\n" + bytes(32 * 32 * 3))
    r = run(example, str(small), expect_rc=1)
    assert "64x64" in r.stderr
    run(example, "--mode", "beam", expect_rc=2)
    r = run(example, "--models", str(DATA), expect_rc=1)
    assert "DLINFER_ERR_NOT_FOUND" in r.stderr
