#!/bin/sh
# Runs a program under valgrind memcheck and fails on any invalid access or definite/indirect leak.
# "Possibly lost" and "still reachable" blocks are not errors: the Swift runtime keeps its metadata caches and
# the thread-local error slot of the main thread until exit. No suppression file is needed today; if one ever
# is, it must name only Swift-runtime-internal frames, never dlinfer's own code.
set -eu
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
exec valgrind --quiet --error-exitcode=1 --leak-check=full \
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    "$@"
