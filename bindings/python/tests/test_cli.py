"""The dlinfer CLI: run against onnxruntime through .npy files written and read by numpy, exit codes, help.
The binary is $DLINFER_CLI, else the repository's debug build, else `dlinfer` on PATH."""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import reference

REPO_BUILD = os.path.join(os.path.dirname(__file__), "..", "..", "..", ".build", "debug", "dlinfer-cli")
CLI = os.environ.get("DLINFER_CLI") or (REPO_BUILD if os.path.exists(REPO_BUILD) else shutil.which("dlinfer"))
pytestmark = pytest.mark.skipif(CLI is None, reason="no dlinfer CLI found (set DLINFER_CLI)")


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


def test_run_writes_onnxruntime_numbers(tmp_path, save, activations_model, rng):
    model = save(activations_model)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = cli("run", model, "-i", f"x={tmp_path / 'x.npy'}", "-o", str(tmp_path / "out"), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    for name, want in zip(["y", "z"], reference(activations_model, {"x": x})):
        got = np.load(tmp_path / "out" / f"{name}.npy")
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.float64, np.int32])
def test_npy_round_trip_dtypes(tmp_path, save, dtype):
    from onnx import TensorProto, helper
    from conftest import make_model, tensor
    onnx_type = {np.int64: TensorProto.INT64, np.float64: TensorProto.DOUBLE, np.int32: TensorProto.INT32}[dtype]
    model = make_model([helper.make_node("Add", ["a", "a"], ["b"])], [tensor("a", onnx_type, [2, 2, 3])],
                       [tensor("b", onnx_type, [2, 2, 3])])
    a = np.arange(12, dtype=dtype).reshape(2, 2, 3) - 5
    np.save(tmp_path / "a.npy", a)
    r = cli("run", save(model), "-i", f"a={tmp_path / 'a.npy'}", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), a + a)


def test_npy_raw_bytes_for_types_numpy_lacks(tmp_path, save):
    # numpy saves ml_dtypes' arrays as raw bytes ('V1', 'V2'); the CLI takes them for such an input and writes such
    # outputs the same way. int4 -> bfloat16 through Cast, numpy (ml_dtypes) the reference.
    ml_dtypes = pytest.importorskip("ml_dtypes")
    from onnx import TensorProto, helper
    from conftest import make_model, tensor
    model = make_model([helper.make_node("Cast", ["a"], ["b"], to=TensorProto.BFLOAT16)],
                       [tensor("a", TensorProto.INT4, [2, 8])], [tensor("b", TensorProto.BFLOAT16, [2, 8])], opset=21)
    a = (np.arange(16) - 8).reshape(2, 8).astype(ml_dtypes.int4)
    np.save(tmp_path / "a.npy", a)
    r = cli("run", save(model), "-i", f"a={tmp_path / 'a.npy'}", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    b = np.load(tmp_path / "b.npy")
    assert b.dtype == np.dtype("V2")
    np.testing.assert_array_equal(b.view(ml_dtypes.bfloat16).astype(np.float32), a.astype(np.float32))


def test_run_errors_exit_1_with_message(tmp_path, save, activations_model):
    model = save(activations_model)
    np.save(tmp_path / "f.npy", np.asfortranarray(np.zeros((2, 3, 4), np.float32)))
    np.save(tmp_path / "d.npy", np.zeros((2, 3, 4), np.float64))
    for args, text in [
        (["-i", f"x={tmp_path / 'f.npy'}"], "fortran_order"),
        (["-i", f"x={tmp_path / 'd.npy'}"], "float32"),
        (["-i", f"x={tmp_path / 'missing.npy'}"], "missing.npy"),
        ([], "'x' was not given"),
    ]:
        r = cli("run", model, *args, "-o", str(tmp_path / "out"))
        assert r.returncode == 1, (args, r.stderr)
        assert text in r.stderr
    r = cli("info", str(tmp_path / "nope.onnx"))
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_usage_errors_exit_2(save, activations_model):
    model = save(activations_model)
    for args in (["run", model, "-i", "x.npy", "-o", "out"], ["run", model], ["bench", model, "--iters", "0"],
                 ["bench", model, "--shape", "x=2by3"], ["info", model, "--device", "tpu"], ["frobnicate"], []):
        r = cli(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stderr


def test_info_lists_io_ops_and_placement(save, activations_model):
    r = cli("info", save(activations_model), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "x: float32 [batch, seq, 4]" in r.stdout
    assert "Sigmoid: 1" in r.stdout
    assert "placement (6 of 6 nodes on the CPU)" in r.stdout


def test_bench_and_devices(save, activations_model):
    r = cli("bench", save(activations_model), "--iters", "5", "--warmup", "1", "--shape", "x=2x3x4")
    assert r.returncode == 0, r.stderr
    assert "p50" in r.stdout and "p90" in r.stdout and "mean" in r.stdout
    r = cli("devices")
    assert r.returncode == 0 and "cpu" in r.stdout


def test_mistyped_command_is_named_with_a_suggestion():
    r = cli("nfo", "model.onnx")
    assert r.returncode == 2
    assert "unknown command 'nfo'; did you mean 'info'?" in r.stderr and "bench" in r.stderr


def test_negative_iterations_get_the_range_message(save, activations_model):
    for flag, text in (("--iters", "--iters must be at least 1"), ("--warmup", "--warmup must not be negative")):
        r = cli("bench", save(activations_model), flag, "-5")
        assert r.returncode == 2 and text in r.stderr, r.stderr


def test_file_errors_give_the_reason(tmp_path, save, activations_model):
    model = save(activations_model)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 3, 4), np.float32))
    r = cli("run", model, "-i", f"x={tmp_path / 'missing.npy'}", "-o", str(tmp_path / "out"))
    assert r.returncode == 1 and "missing.npy': No such file or directory" in r.stderr, r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli("run", model, "-i", f"x={x}", "-o", str(blocker / "sub"))
    assert r.returncode == 1 and f"cannot create the folder '{blocker}/sub': Not a directory" in r.stderr, r.stderr
    (tmp_path / "taken" / "y.npy").mkdir(parents=True)  # a folder where an output file must go
    r = cli("run", model, "-i", f"x={x}", "-o", str(tmp_path / "taken"))
    assert r.returncode == 1 and "y.npy': Is a directory" in r.stderr, r.stderr
    assert "Error(" not in r.stderr


def test_run_prints_clean_paths_and_its_time(tmp_path, save, activations_model):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 3, 4), np.float32))
    r = cli("run", save(activations_model), "-i", f"x={x}", "-o", str(tmp_path / "out") + "//", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert f"-> {tmp_path / 'out' / 'y.npy'}" in r.stdout and "//" not in r.stdout
    assert re.search(r"^run: [0-9.]+ ms on cpu$", r.stdout, re.M), r.stdout


def test_bench_asks_for_shapes_when_symbolic_dims_of_1_fail(save):
    from onnx import TensorProto, helper
    from conftest import make_model, tensor
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 1, 3, 3], [0.1] * 18)
    model = make_model([helper.make_node("Conv", ["x", "w"], ["y"])], [tensor("x", TensorProto.FLOAT, ["N", 1, "H", "W"])],
                       [tensor("y", TensorProto.FLOAT, ["N", 2, "h", "w"])], [w])
    r = cli("bench", save(model), "--iters", "1", "--device", "cpu")
    assert r.returncode == 1
    assert "the symbolic dimensions were set to 1 (x [N, 1, H, W] as 1x1x1x1)" in r.stderr and "--shape" in r.stderr, r.stderr
    r = cli("bench", save(model), "--iters", "1", "--warmup", "0", "--device", "cpu", "--shape", "x=1x1x8x8")
    assert r.returncode == 0, r.stderr


def test_info_metadata_and_summary(save, activations_model):
    activations_model.producer_name = "unit-test"
    r = cli("info", save(activations_model), "--device", "cpu", "--summary")
    assert r.returncode == 0, r.stderr
    assert "opset: 13, producer: unit-test, graph: test" in r.stdout
    assert "parameters: 9 in 3 initializers" in r.stdout
    assert "  6 x cpu: Sigmoid, Mul, Add, Tanh, Sub, Relu" in r.stdout
    assert "-> cpu" not in r.stdout


def test_bench_profile_times_each_op_type(save, activations_model):
    r = cli("bench", save(activations_model), "--iters", "3", "--warmup", "1", "--shape", "x=2x3x4", "--device", "cpu",
            "--profile")
    assert r.returncode == 0, r.stderr
    assert "profile: 3 runs, node time per run" in r.stdout
    rows = re.findall(r"^  (\w+) +(\d+) +[0-9.]+ +[0-9.]+$", r.stdout, re.M)
    assert sorted(rows) == sorted([("Sigmoid", "1"), ("Mul", "1"), ("Add", "1"), ("Tanh", "1"), ("Sub", "1"), ("Relu", "1")]), r.stdout


def test_help_and_version():
    for args in (["--help"], ["run", "--help"], ["bench", "--help"], ["info", "--help"], ["devices", "--help"]):
        r = cli(*args)
        assert r.returncode == 0 and "USAGE" in r.stdout
    assert cli("--version").stdout.strip() == "1.0.0"


def has_opencl():
    r = cli("devices")
    return r.returncode == 0 and "opencl:0" in r.stdout


def test_opencl_placement_and_program_cache(tmp_path, save, activations_model):
    """`info --device opencl` places every node on the device; compiled programs land in DLINFER_CACHE_DIR, a corrupt
    entry is rebuilt, and an unusable cache folder only disables the cache."""
    if not has_opencl():
        pytest.skip("no OpenCL device")
    model = save(activations_model)
    cache = tmp_path / "cache"

    def info(cache_dir):
        env = dict(os.environ, DLINFER_CACHE_DIR=str(cache_dir))
        return subprocess.run([CLI, "info", model, "--device", "opencl"], capture_output=True, text=True, timeout=300, env=env)

    r = info(cache)
    assert r.returncode == 0, r.stderr
    assert "device: opencl:0" in r.stdout and "placement (0 of 6 nodes on the CPU)" in r.stdout
    assert r.stdout.count("-> opencl") == 6
    entries = sorted(cache.glob("*.clbin"))
    assert entries, "no program binary was cached"
    garbage = {}
    for p in entries:
        garbage[p] = b"dlinfer-clbin-1\n" + os.urandom(64)
        p.write_bytes(garbage[p])
    r = info(cache)
    assert r.returncode == 0, r.stderr
    assert sorted(cache.glob("*.clbin")) == entries
    for p in entries:
        assert p.read_bytes() != garbage[p], f"corrupt cache entry {p.name} was not rebuilt"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    r = info(blocker / "cache")
    assert r.returncode == 0, r.stderr
    assert "placement (0 of 6 nodes on the CPU)" in r.stdout
