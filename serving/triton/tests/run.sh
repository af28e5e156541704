#!/usr/bin/env bash
# The Triton backend test: builds nothing itself (make test-triton builds the backend first). Makes a virtual
# environment holding tritonclient, onnxruntime and the tritonserver that PyPI's nvidia-pytriton wheel bundles, then
# runs test_triton.py on each device in $DEVICES (default: cpu).
#   serving/triton/tests/run.sh BACKEND_DIR     (the folder holding dlinfer/libtriton_dlinfer.so)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="${TRITON_VENV:-$root/.build/triton-venv}"
if ! "$venv/bin/python" -c "import tritonclient.grpc, tritonclient.http, onnxruntime, pytest" 2>/dev/null ||
   ! ls "$venv"/lib/python3*/site-packages/pytriton/tritonserver/bin/tritonserver >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$here/requirements.txt"
    "$venv/bin/pip" install -q --no-deps nvidia-pytriton==0.7.0
fi
export DLINFER_TRITON_BACKENDS="$1"
export DLINFER_TRITON_SERVER="$(ls "$venv"/lib/python3*/site-packages/pytriton/tritonserver/bin/tritonserver)"
for device in ${DEVICES:-cpu}; do
    DLINFER_DEVICE="$device" "$venv/bin/python" -m pytest -q -s -p no:cacheprovider "$here/test_triton.py"
done
