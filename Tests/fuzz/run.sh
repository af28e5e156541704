#!/usr/bin/env bash
# Builds dlinfer with AddressSanitizer and libFuzzer coverage instrumentation (a debug build in .build-asan/), then
#   Tests/fuzz/run.sh fuzz SECONDS [libFuzzer flags...]  runs Tests/fuzz/fuzz_model.c on model files for SECONDS
#                                                       (on DLINFER_FUZZ_DEVICE, default cpu),
#                                                       seeded with every committed model and a sample of node tests
#   Tests/fuzz/run.sh capi                              runs the C API test (Tests/c/test_capi.c) under ASan
# Uses the toolchain's own clang, so that the sanitizer runtimes of the C harness and of the Swift library agree.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SWIFT_BIN=$(dirname "$(command -v swift)")
CLANG=${CLANG:-$SWIFT_BIN/clang}
SCRATCH=$ROOT/.build-asan
COVERAGE=edge,trace-cmp,inline-8bit-counters,pc-table
OUT=$SCRATCH/out
mkdir -p "$OUT"

build_library() {
    swift build -c debug --scratch-path "$SCRATCH" --product dlinfer \
        -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=$COVERAGE \
        -Xcc -fsanitize=address -Xcc -fsanitize-coverage=$COVERAGE >&2
    mkdir -p "$OUT/lib"
    ln -sf "$SCRATCH/debug/libdlinfer.so" "$OUT/lib/libdlinfer.so.1"
    ln -sf libdlinfer.so.1 "$OUT/lib/libdlinfer.so"
}

case "${1:-}" in
fuzz)
    seconds=${2:?seconds}
    shift 2
    build_library
    "$CLANG" -g -O1 -pthread -fsanitize=fuzzer,address -I include Tests/fuzz/fuzz_model.c -o "$OUT/fuzz_model" \
        -L "$OUT/lib" -ldlinfer -Wl,-rpath,"$OUT/lib"
    corpus=$OUT/corpus
    mkdir -p "$corpus"
    # Seeds: every committed model, and every 10th ONNX node test when they have been generated.
    find Tests/Fixtures examples/models -name '*.onnx' -size -4M -exec cp -f {} "$corpus/" \; 2>/dev/null || true
    cases=${ONNX_CASES:-.build/onnx-cases}
    if [ -d "$cases/node" ]; then
        i=0
        for m in "$cases"/node/*/model.onnx; do
            i=$((i + 1)); [ $((i % 10)) -eq 0 ] && cp -f "$m" "$corpus/node_$i.onnx"
        done
    fi
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 DLINFER_NUM_THREADS=1 \
        "$OUT/fuzz_model" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 -malloc_limit_mb=3072 \
        -print_final_stats=1 -artifact_prefix="$OUT/" "$@"
    ;;
capi)
    build_library
    make -C Tests/c test LIBDIR="$OUT/lib" OUT="$OUT/ctest" CC="$CLANG" \
        CFLAGS_EXTRA="-g -O0 -fsanitize=address -fno-omit-frame-pointer"
    ;;
*)
    echo "usage: $0 fuzz SECONDS [libFuzzer flags] | capi" >&2
    exit 2
    ;;
esac
