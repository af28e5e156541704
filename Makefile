# dlinfer: build, install and test helpers. CONFIG=release (default) or debug picks the build the tests use.
#   make                      build the library, the CLI and the tests (swift build -c $(CONFIG))
#   make demo                 build, then classify the bundled digits with the Python and C examples on the default device
#   make install PREFIX=DIR   release build; installs include/dlinfer.h, lib/libdlinfer.so.1 (+ libdlinfer.so),
#                             lib/pkgconfig/dlinfer.pc and bin/dlinfer, stripped, with their debug info in .debug/ beside them,
#                             into DIR (default /usr/local; DESTDIR honoured)
#   make test                 every test suite below (what CI runs)
#   make test-swift           the Swift tests on the CPU: ONNX node-test conformance, light models, whole models, units
#   make test-swift-opencl    on OpenCL (DLINFER_DEVICE=opencl): the OpenCL kernels against the CPU backend (then again
#                             with float32 stored as half, DLINFER_TEST_PRECISION=fp16), the conformance runner, the whole
#                             models (also in precision=fp16) and the reliability tests; fails if no OpenCL device exists
#   make test-c               the C API test against the built library, on each of $(DEVICES)
#   make test-c-valgrind      the same under valgrind, on the CPU
#   make test-python          the Python package's pytest suite against the built library and CLI, on each of $(DEVICES)
#   make kernels              re-embeds kernels/*.cl into the library (tools/embed_kernels.py; a test fails when stale)
#   make test-install         installs into a temporary prefix and checks the layout, ldd, nm -D and pkg-config
#   make wheel                dist/dlinfer-VERSION-py3-none-manylinux_X_Y_ARCH.whl: the Python package with the
#                             (stripped) library and the CLI inside, the CLI as the `dlinfer` command
#   make test-wheel           the wheel in a fresh venv, used with no environment variable (Tests/wheel/check_wheel.sh)
#   make test-examples        builds examples/c, runs the C and Python examples and checks what they print, on each of $(DEVICES)
#   make test-asan            a debug build of the library under AddressSanitizer (.build-asan/): the C API test, then
#                             the libFuzzer target Tests/fuzz/fuzz_model.c for $(FUZZ_SECONDS) s on every committed model
#   make examples             builds examples/c against the built library
#   make triton-backend       .build/triton/backends/dlinfer/: the Triton Inference Server backend (serving/triton)
#   make test-triton          the backend in a real tritonserver (from PyPI's nvidia-pytriton, in .build/triton-venv)
#                             on 127.0.0.1: HTTP and gRPC against onnxruntime, bad requests, a bounded load; each of $(DEVICES)
PREFIX  ?= /usr/local
SWIFT   ?= swift
PYTHON  ?= python3
VERSION := $(shell sed -n 's/^\#define DLINFER_VERSION_[A-Z]* \([0-9]*\)$$/\1/p' include/dlinfer.h | paste -sd. -)
CONFIG  ?= release
BUILD   := $(CURDIR)/.build/$(CONFIG)
# The built library under its soname, for the C and Python tests and the examples.
TESTLIB := $(CURDIR)/.build/ctest/lib
VGLIB   := $(CURDIR)/.build/ctest-valgrind/lib
# Where the ONNX backend node tests are written (generated from the pinned onnx package).
ONNX_CASES ?= $(CURDIR)/.build/onnx-cases
# The devices the C and Python suites run on (DLINFER_DEVICE for each run).
DEVICES ?= cpu opencl
# How long `make test-asan` fuzzes.
FUZZ_SECONDS ?= 180

.PHONY: all build release install demo test test-swift test-swift-opencl test-c test-c-valgrind test-python test-install \
        test-examples test-asan examples built-lib kernels wheel test-wheel triton-backend test-triton

all: build

build:
	$(SWIFT) build -c $(CONFIG) --build-tests

release:
	$(SWIFT) build -c release --product dlinfer
	$(SWIFT) build -c release --product dlinfer-cli

# The library and the CLI are installed stripped; their debug info goes to a .debug/ folder beside each, where gdb
# looks for the file the binary's .gnu_debuglink names.
install: release
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/.debug $(DESTDIR)$(PREFIX)/bin/.debug
	install -m 644 include/dlinfer.h $(DESTDIR)$(PREFIX)/include/dlinfer.h
	objcopy --only-keep-debug .build/release/libdlinfer.so $(DESTDIR)$(PREFIX)/lib/.debug/libdlinfer.so.1.debug
	objcopy --strip-unneeded --add-gnu-debuglink=$(DESTDIR)$(PREFIX)/lib/.debug/libdlinfer.so.1.debug \
	    .build/release/libdlinfer.so $(DESTDIR)$(PREFIX)/lib/libdlinfer.so.1
	chmod 755 $(DESTDIR)$(PREFIX)/lib/libdlinfer.so.1
	ln -sf libdlinfer.so.1 $(DESTDIR)$(PREFIX)/lib/libdlinfer.so
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|g' -e 's|@VERSION@|$(VERSION)|g' dlinfer.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/dlinfer.pc
	objcopy --only-keep-debug .build/release/dlinfer-cli $(DESTDIR)$(PREFIX)/bin/.debug/dlinfer.debug
	objcopy --strip-unneeded --add-gnu-debuglink=$(DESTDIR)$(PREFIX)/bin/.debug/dlinfer.debug \
	    .build/release/dlinfer-cli $(DESTDIR)$(PREFIX)/bin/dlinfer
	chmod 755 $(DESTDIR)$(PREFIX)/bin/dlinfer
	@echo "installed: lib/libdlinfer.so.1 $$(du -k $(DESTDIR)$(PREFIX)/lib/libdlinfer.so.1 | cut -f1) KiB, bin/dlinfer $$(du -k $(DESTDIR)$(PREFIX)/bin/dlinfer | cut -f1) KiB (stripped; debug info in lib/.debug/ and bin/.debug/)"

built-lib: build
	mkdir -p $(TESTLIB)
	ln -sf $(BUILD)/libdlinfer.so $(TESTLIB)/libdlinfer.so.1
	ln -sf libdlinfer.so.1 $(TESTLIB)/libdlinfer.so

demo: built-lib
	DLINFER_LIBRARY=$(BUILD)/libdlinfer.so PYTHONPATH=$(CURDIR)/bindings/python $(PYTHON) examples/python/classify_digits.py
	$(MAKE) -C examples/c LIBDIR=$(TESTLIB)
	examples/c/classify_digits

test: test-swift test-swift-opencl test-c test-c-valgrind test-python test-install test-wheel test-examples test-triton test-asan

kernels:
	$(PYTHON) tools/embed_kernels.py

$(ONNX_CASES)/.stamp: Tests/conformance/generate_node_tests.py
	rm -rf $(ONNX_CASES)
	$(PYTHON) Tests/conformance/generate_node_tests.py $(ONNX_CASES)
	touch $@

test-swift: build $(ONNX_CASES)/.stamp
	rm -f $(CURDIR)/.build/conformance-report.txt
	DLINFER_DEVICE=cpu DLINFER_ONNX_CASES=$(ONNX_CASES) DLINFER_CONFORMANCE_REPORT=$(CURDIR)/.build/conformance-report.txt \
	    $(SWIFT) test -c $(CONFIG) --skip-build --skip OpenCL
# Three threads on any machine: work split three ways, and a session's limit below the pool's threads.
	DLINFER_NUM_THREADS=3 DLINFER_DEVICE=cpu $(SWIFT) test -c $(CONFIG) --skip-build --filter 'ParallelTests|SGEMMTests|ConvTests'
# The narrower kernel sets under whole models and the ops that call their kernels (the rest run the fastest).
	for set in avx2 generic; do \
	    DLINFER_CPU_KERNELS=$$set DLINFER_DEVICE=cpu DLINFER_ONNX_CASES=$(ONNX_CASES) $(SWIFT) test -c $(CONFIG) --skip-build \
	        --filter 'ONNXConformanceTests|WholeModelTests|WinogradConvTests|ConvTests|PoolTests|RecurrentTests|SoftmaxTests' \
	        || exit 1; \
	done

test-swift-opencl: build $(ONNX_CASES)/.stamp
	rm -f $(CURDIR)/.build/conformance-report-opencl.txt
	DLINFER_DEVICE=opencl DLINFER_REQUIRE_OPENCL=1 DLINFER_ONNX_CASES=$(ONNX_CASES) \
	    DLINFER_CONFORMANCE_REPORT=$(CURDIR)/.build/conformance-report-opencl.txt \
	    $(SWIFT) test -c $(CONFIG) --skip-build --filter 'ONNXConformanceTests|WholeModelTests|ReliabilityTests|OpenCL'
	DLINFER_DEVICE=opencl DLINFER_REQUIRE_OPENCL=1 DLINFER_TEST_PRECISION=fp16 \
	    $(SWIFT) test -c $(CONFIG) --skip-build --filter OpenCL --skip OpenCLHalfStorageModelTests

test-c: built-lib
	for d in $(DEVICES); do DLINFER_DEVICE=$$d $(MAKE) -C Tests/c test LIBDIR=$(TESTLIB) || exit 1; done

# Debian's valgrind 3.19 cannot read the DWARF 5 the toolchain emits ("possibly corrupted debuginfo"), so memcheck
# runs on a copy of the library without debug sections; errors and leaks are still reported, with symbol names.
# OpenCL drivers are not valgrind-clean (PoCL's LLVM and hwloc report their own errors), so no driver is loaded here:
# valgrind checks dlinfer's own memory on the CPU path; the OpenCL path runs in test-c.
test-c-valgrind: build
	mkdir -p $(VGLIB)
	objcopy --strip-debug $(BUILD)/libdlinfer.so $(VGLIB)/libdlinfer.so.1
	ln -sf libdlinfer.so.1 $(VGLIB)/libdlinfer.so
	DLINFER_DEVICE=cpu DLINFER_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1 $(MAKE) -C Tests/c valgrind LIBDIR=$(VGLIB) OUT=$(CURDIR)/.build/ctest-valgrind

test-python: build
	for d in $(DEVICES); do DLINFER_DEVICE=$$d DLINFER_LIBRARY=$(BUILD)/libdlinfer.so DLINFER_CLI=$(BUILD)/dlinfer-cli \
	    PYTHONPATH=$(CURDIR)/bindings/python $(PYTHON) -m pytest -q bindings/python/tests || exit 1; done

test-install:
	rm -rf .build/install-test
	$(MAKE) install PREFIX=$(CURDIR)/.build/install-test
	Tests/install/check_install.sh $(CURDIR)/.build/install-test

# The package is staged in .build/wheel-src so that the source tree never holds the binaries.
wheel: release
	rm -rf .build/wheel-src dist/dlinfer-*.whl
	mkdir -p .build/wheel-src dist
	cp -r bindings/python/README.md bindings/python/pyproject.toml bindings/python/setup.py bindings/python/dlinfer .build/wheel-src/
	rm -rf .build/wheel-src/dlinfer/__pycache__
	install -m 755 .build/release/libdlinfer.so .build/wheel-src/dlinfer/libdlinfer.so
	install -d .build/wheel-src/dlinfer/bin
	install -m 755 .build/release/dlinfer-cli .build/wheel-src/dlinfer/bin/dlinfer
	strip --strip-unneeded .build/wheel-src/dlinfer/libdlinfer.so .build/wheel-src/dlinfer/bin/dlinfer
	$(PYTHON) -m pip wheel -q --no-deps -w dist .build/wheel-src

test-wheel: wheel
	Tests/wheel/check_wheel.sh dist/dlinfer-$(VERSION)-*.whl $(CURDIR)/.build/wheel-venv

# The OpenCL drivers are not sanitizer-clean (as under valgrind): the CPU path only.
test-asan: $(ONNX_CASES)/.stamp
	DLINFER_DEVICE=cpu DLINFER_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1 Tests/fuzz/run.sh capi
	DLINFER_DEVICE=cpu DLINFER_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1 ONNX_CASES=$(ONNX_CASES) Tests/fuzz/run.sh fuzz $(FUZZ_SECONDS)

triton-backend: built-lib
	$(MAKE) -C serving/triton LIBDIR=$(TESTLIB)

test-triton: triton-backend
	$(MAKE) -C serving/triton test-json
	DEVICES="$(DEVICES)" serving/triton/tests/run.sh $(CURDIR)/.build/triton/backends

examples: built-lib
	$(MAKE) -C examples/c LIBDIR=$(TESTLIB)

test-examples: examples
	for d in $(DEVICES); do DLINFER_DEVICE=$$d DLINFER_LIBRARY=$(BUILD)/libdlinfer.so PYTHONPATH=$(CURDIR)/bindings/python \
	    $(PYTHON) -m pytest -q examples/tests || exit 1; done
