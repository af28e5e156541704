"""The dlinfer Triton backend, for real: tritonserver (the build PyPI's nvidia-pytriton bundles) on 127.0.0.1 with a
model repository of two example models, plus one whose configuration the backend completes and two it must refuse;
requests over HTTP and gRPC checked against onnxruntime; bad requests; concurrent requests through the dynamic
batcher; and a bounded load whose throughput and latency percentiles are printed.

Needs DLINFER_TRITON_SERVER (the tritonserver binary) and DLINFER_TRITON_BACKENDS (the folder holding
dlinfer/libtriton_dlinfer.so); run.sh sets both. The server runs under `timeout`, so it stops by itself."""
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ROOT = Path(__file__).resolve().parents[3]
MODELS = ROOT / "examples" / "models"
DATA = ROOT / "examples" / "data"
DEVICE = os.environ.get("DLINFER_DEVICE", "cpu")
LOAD_CLIENTS, LOAD_REQUESTS = 8, 500

DIGITS_CONFIG = """
backend: "dlinfer"
max_batch_size: 64
input [ { name: "image" data_type: TYPE_FP32 dims: [ 1, 8, 8 ] } ]
output [ { name: "logits" data_type: TYPE_FP32 dims: [ 10 ] } ]
instance_group [ { count: 2 kind: KIND_CPU } ]
dynamic_batching { max_queue_delay_microseconds: 2000 }
"""
SENTIMENT_CONFIG = """
backend: "dlinfer"
max_batch_size: 16
input [ { name: "tokens" data_type: TYPE_INT64 dims: [ -1 ] } ]
output [ { name: "score" data_type: TYPE_FP32 dims: [ 1 ] } ]
dynamic_batching { }
parameters [ { key: "threads" value: { string_value: "1" } }, { key: "device" value: { string_value: "cpu" } } ]
"""
# The backend fills in inputs and outputs from the model.
AUTO_CONFIG = 'backend: "dlinfer"\nmax_batch_size: 8\n'
BAD_DIMS_CONFIG = DIGITS_CONFIG.replace("dims: [ 1, 8, 8 ]", "dims: [ 1, 9, 9 ]")
BAD_PARAMETER_CONFIG = DIGITS_CONFIG + 'parameters { key: "colour" value: { string_value: "blue" } }\n'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_model(repo, name, model_file, config):
    (repo / name / "1").mkdir(parents=True)
    shutil.copy(MODELS / model_file, repo / name / "1" / "model.onnx")
    (repo / name / "config.pbtxt").write_text(f'name: "{name}"\n' + config)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    repo = tmp_path_factory.mktemp("models")
    add_model(repo, "digits", "digits_cnn.onnx", DIGITS_CONFIG)
    add_model(repo, "sentiment", "keras_sentiment.onnx", SENTIMENT_CONFIG)
    add_model(repo, "digits_auto", "digits_cnn.onnx", AUTO_CONFIG)
    add_model(repo, "bad_dims", "digits_cnn.onnx", BAD_DIMS_CONFIG)
    add_model(repo, "bad_parameter", "digits_cnn.onnx", BAD_PARAMETER_CONFIG)
    http_port, grpc_port = free_port(), free_port()
    log = open(repo / "server.log", "w")
    proc = subprocess.Popen(
        ["timeout", "900", os.environ["DLINFER_TRITON_SERVER"], f"--model-repository={repo}",
         f"--backend-directory={os.environ['DLINFER_TRITON_BACKENDS']}", "--exit-on-error=false",
         "--strict-readiness=false", "--allow-metrics=false", "--exit-timeout-secs=5", "--http-address=127.0.0.1", f"--http-port={http_port}",
         "--grpc-address=127.0.0.1", f"--grpc-port={grpc_port}"],
        stdout=log, stderr=subprocess.STDOUT)
    http = httpclient.InferenceServerClient(f"127.0.0.1:{http_port}")
    deadline = time.time() + 120
    while True:
        try:
            if http.is_server_live():
                break
        except Exception:
            pass
        if proc.poll() is not None or time.time() > deadline:
            log.flush()
            pytest.fail("tritonserver did not start:\n" + (repo / "server.log").read_text()[-4000:])
        time.sleep(0.2)
    yield {"http": f"127.0.0.1:{http_port}", "grpc": f"127.0.0.1:{grpc_port}", "proc": proc, "log": repo / "server.log"}
    proc.terminate()
    try:
        proc.wait(timeout=60)
    finally:
        proc.kill()
        log.close()


@pytest.fixture(scope="module")
def digits():
    images = np.load(DATA / "digits_test_images.npy")
    session = ort.InferenceSession(str(MODELS / "digits_cnn.onnx"), providers=["CPUExecutionProvider"])
    return images, session.run(None, {"image": images})[0]


def sentiment_reference(tokens):
    session = ort.InferenceSession(str(MODELS / "keras_sentiment.onnx"), providers=["CPUExecutionProvider"])
    return session.run(None, {"tokens": tokens})[0]


def infer_http(client, model, name, array, output):
    inp = httpclient.InferInput(name, list(array.shape), "FP32" if array.dtype == np.float32 else
                                {np.dtype(np.int64): "INT64", np.dtype(np.float64): "FP64"}[array.dtype])
    inp.set_data_from_numpy(array)
    return client.infer(model, [inp], outputs=[httpclient.InferRequestedOutput(output)]).as_numpy(output)


def infer_grpc(client, model, name, array, output):
    inp = grpcclient.InferInput(name, list(array.shape), "FP32")
    inp.set_data_from_numpy(array)
    return client.infer(model, [inp], outputs=[grpcclient.InferRequestedOutput(output)]).as_numpy(output)


def test_models_load_and_bad_configurations_are_refused_with_reasons(server):
    client = httpclient.InferenceServerClient(server["http"])
    for name in ("digits", "sentiment", "digits_auto"):
        assert client.is_model_ready(name), server["log"].read_text()[-3000:]
    index = {m["name"]: m for m in client.get_model_repository_index()}
    assert index["bad_dims"]["state"] == "UNAVAILABLE"
    assert "input 'image': the configuration's dims [1, 9, 9] do not fit the model's [-1, 1, 8, 8]" in \
        index["bad_dims"]["reason"]
    assert index["bad_parameter"]["state"] == "UNAVAILABLE"
    assert "unknown parameter 'colour'" in index["bad_parameter"]["reason"]


def test_one_session_per_instance_on_the_configured_device(server):
    log = server["log"].read_text()
    digits_device = "cpu" if DEVICE == "cpu" else "opencl:"
    for instance in ("digits_0_0", "digits_0_1"):
        assert f"dlinfer: instance '{instance}' runs on {digits_device}" in log
    # The configuration's device parameter wins over DLINFER_DEVICE.
    assert "dlinfer: instance 'sentiment_0' runs on cpu (" in log


def test_configuration_is_completed_from_the_model(server):
    config = httpclient.InferenceServerClient(server["http"]).get_model_config("digits_auto")
    assert config["max_batch_size"] == 8
    assert [(i["name"], i["data_type"], list(map(int, i["dims"]))) for i in config["input"]] == \
        [("image", "TYPE_FP32", [1, 8, 8])]
    assert [(o["name"], o["data_type"], list(map(int, o["dims"]))) for o in config["output"]] == \
        [("logits", "TYPE_FP32", [10])]


def test_http_batch_matches_onnxruntime(server, digits):
    images, expected = digits
    client = httpclient.InferenceServerClient(server["http"])
    for model in ("digits", "digits_auto"):
        got = infer_http(client, model, "image", images[:7], "logits")
        np.testing.assert_allclose(got, expected[:7], rtol=1e-4, atol=1e-5)


def test_grpc_batch_matches_onnxruntime(server, digits):
    images, expected = digits
    got = infer_grpc(grpcclient.InferenceServerClient(server["grpc"]), "digits", "image", images[10:13], "logits")
    np.testing.assert_allclose(got, expected[10:13], rtol=1e-4, atol=1e-5)


def test_variable_sequence_lengths_match_onnxruntime(server):
    client = httpclient.InferenceServerClient(server["http"])
    rng = np.random.default_rng(7)
    for length in (3, 11, 1):
        tokens = rng.integers(0, 81, size=(4, length), dtype=np.int64)
        got = infer_http(client, "sentiment", "tokens", tokens, "score")
        np.testing.assert_allclose(got, sentiment_reference(tokens), rtol=1e-4, atol=1e-5)


def test_bad_requests_get_errors_and_the_server_keeps_serving(server, digits):
    images, expected = digits
    client = httpclient.InferenceServerClient(server["http"])
    cases = [
        ("digits", "image", images[:2].astype(np.float64), "logits", "FP64"),
        ("digits", "image", np.zeros((2, 1, 9, 9), np.float32), "logits", "[2,1,9,9]"),
        ("digits", "image", np.zeros((65, 1, 8, 8), np.float32), "logits", "64"),
        # Reaches the backend: a token id outside the embedding table is caught by dlinfer's Gather.
        ("sentiment", "tokens", np.array([[5, 1000, 2]], np.int64), "score", "out of range"),
    ]
    for model, name, array, output, fragment in cases:
        with pytest.raises(InferenceServerException) as failure:
            infer_http(client, model, name, array, output)
        print(f"  {model} {array.dtype}{list(array.shape)}: {failure.value.message()}")
        assert fragment.replace(" ", "") in failure.value.message().replace(" ", "")
    with pytest.raises(InferenceServerException, match="unexpected inference output 'nope'"):
        inp = httpclient.InferInput("image", [1, 1, 8, 8], "FP32")
        inp.set_data_from_numpy(images[:1])
        client.infer("digits", [inp], outputs=[httpclient.InferRequestedOutput("nope")])
    assert server["proc"].poll() is None
    np.testing.assert_allclose(infer_http(client, "digits", "image", images[:1], "logits"), expected[:1],
                               rtol=1e-4, atol=1e-5)


def run_clients(address, images, clients, requests, results):
    """`clients` threads, each with its own gRPC connection, each sending `requests` one-image requests in turn."""
    errors = []

    def client_loop(c):
        client = grpcclient.InferenceServerClient(address)
        for r in range(requests):
            i = (c * requests + r) % len(images)
            start = time.perf_counter()
            try:
                out = infer_grpc(client, "digits", "image", images[i:i + 1], "logits")
            except Exception as e:
                errors.append(repr(e))
                return
            results.append((i, out[0], time.perf_counter() - start))

    threads = [threading.Thread(target=client_loop, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, errors


def test_dynamic_batching_splits_each_request_its_own_rows(server, digits):
    images, expected = digits
    results = []
    _, errors = run_clients(server["grpc"], images, 8, 40, results)
    assert not errors
    assert len(results) == 320
    for i, logits, _ in results:
        np.testing.assert_allclose(logits, expected[i], rtol=1e-4, atol=1e-5)
    stats = httpclient.InferenceServerClient(server["http"]).get_inference_statistics("digits")["model_stats"][0]
    print(f"  digits: {stats['inference_count']} requests in {stats['execution_count']} runs")
    assert stats["execution_count"] < stats["inference_count"], "the dynamic batcher never merged requests"


def test_bounded_load_throughput_and_latency(server, digits):
    images, expected = digits
    results = []
    wall, errors = run_clients(server["grpc"], images, LOAD_CLIENTS, LOAD_REQUESTS, results)
    assert not errors, errors[:3]
    assert len(results) == LOAD_CLIENTS * LOAD_REQUESTS
    for i, logits, _ in results[::97]:
        np.testing.assert_allclose(logits, expected[i], rtol=1e-4, atol=1e-5)
    latencies = np.array([r[2] for r in results]) * 1000
    print(f"\n  Triton + dlinfer ({DEVICE}), digits_cnn over gRPC, {LOAD_CLIENTS} clients x {LOAD_REQUESTS} requests "
          f"of one image: {len(results) / wall:.0f} requests/s, p50 {np.percentile(latencies, 50):.2f} ms, "
          f"p99 {np.percentile(latencies, 99):.2f} ms, {wall:.1f} s")
