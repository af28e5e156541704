#!/bin/sh
# Every GPU check of the OpenCL issue in one command on the GPU machine (device tool; no Swift, no pytest there).
# Here:  ../shared/device/prepare.sh && make release && cp .build/release/libdlinfer.so .gpu/
# There: .gpu/setup.sh && tools/gpu_check.sh .gpu "$OUT"     (DEVICE=opencl:nvidia by default)
# Writes fixtures.txt (fp32 and fp16, with run times), sgemm.txt, models.txt and cold_start.txt into the output folder.
set -eu
carry=$1
out=${2:-.}
device=${DEVICE:-opencl:nvidia}
export DLINFER_LIBRARY="$carry/libdlinfer.so" DLINFER_CACHE_DIR="$out/cache"
mkdir -p "$out"
python3 -c "import sys; sys.path.insert(0, 'bindings/python'); import dlinfer; print(*dlinfer.devices(), sep='\n')"
python3 tools/check_fixtures.py --device "$device" --time 2>&1 | tee "$out/fixtures.txt"
python3 tools/check_fixtures.py --device "$device" --time --precision fp16 2>&1 | tee -a "$out/fixtures.txt"
python3 benchmarks/opencl_cold_start.py --device "$device" 2>&1 | tee "$out/cold_start.txt"
python3 benchmarks/opencl_sgemm.py --device "${device#opencl:}" 2>&1 | tee "$out/sgemm.txt"
python3 benchmarks/gpu_vs_pytorch.py --device "$device" 2>&1 | tee "$out/models.txt"
