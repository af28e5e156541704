# dlinfer: build, install and test helpers.
#   make                      debug build (swift build)
#   make install PREFIX=DIR   release build; installs include/dlinfer.h, lib/libdlinfer.so.1 (+ libdlinfer.so),
#                             lib/pkgconfig/dlinfer.pc and bin/dlinfer into DIR (default /usr/local; DESTDIR honoured)
#   make test-c               the C API test against the debug library
#   make test-c-valgrind      the same under valgrind
#   make test-python          the Python package's pytest suite against the debug library and CLI
#   make test-install         installs into a temporary prefix and checks the layout, ldd, nm -D and pkg-config
#   make examples             builds examples/c against the debug library
PREFIX  ?= /usr/local
SWIFT   ?= swift
PYTHON  ?= python3
VERSION := $(shell sed -n 's/^\#define DLINFER_VERSION_[A-Z]* \([0-9]*\)$$/\1/p' include/dlinfer.h | paste -sd. -)
# The debug library under its soname, for the C and Python tests and the examples.
TESTLIB := $(CURDIR)/.build/ctest/lib

.PHONY: all build release install test-c test-c-valgrind test-python test-install examples debug-lib

all: build

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product dlinfer
	$(SWIFT) build -c release --product dlinfer-cli

install: release
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/dlinfer.h $(DESTDIR)$(PREFIX)/include/dlinfer.h
	install -m 755 .build/release/libdlinfer.so $(DESTDIR)$(PREFIX)/lib/libdlinfer.so.1
	ln -sf libdlinfer.so.1 $(DESTDIR)$(PREFIX)/lib/libdlinfer.so
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|g' -e 's|@VERSION@|$(VERSION)|g' dlinfer.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/dlinfer.pc
	install -m 755 .build/release/dlinfer-cli $(DESTDIR)$(PREFIX)/bin/dlinfer

debug-lib: build
	mkdir -p $(TESTLIB)
	ln -sf ../../debug/libdlinfer.so $(TESTLIB)/libdlinfer.so.1
	ln -sf libdlinfer.so.1 $(TESTLIB)/libdlinfer.so

test-c: debug-lib
	$(MAKE) -C Tests/c test LIBDIR=$(TESTLIB)

test-c-valgrind: debug-lib
	$(MAKE) -C Tests/c valgrind LIBDIR=$(TESTLIB)

test-python: build
	DLINFER_LIBRARY=$(CURDIR)/.build/debug/libdlinfer.so DLINFER_CLI=$(CURDIR)/.build/debug/dlinfer-cli \
	    PYTHONPATH=$(CURDIR)/bindings/python $(PYTHON) -m pytest -q bindings/python/tests

test-install:
	rm -rf .build/install-test
	$(MAKE) install PREFIX=$(CURDIR)/.build/install-test
	Tests/install/check_install.sh $(CURDIR)/.build/install-test

examples: debug-lib
	$(MAKE) -C examples/c LIBDIR=$(TESTLIB)
