#!/bin/sh
# Checks an installed dlinfer (make install PREFIX=...): the file layout, the soname, that the library is
# self-contained (ldd: only libc, libm, libstdc++, libgcc_s and the loader), that its dynamic symbol table holds
# exactly the functions of dlinfer.h, that pkg-config finds it, and that the C test passes against it.
# Usage: Tests/install/check_install.sh PREFIX
set -u
prefix=$(cd "$1" && pwd) || exit 2
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$prefix/lib/libdlinfer.so.1
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok; else fail "$desc"; fi; }

check "include/dlinfer.h installed" test -f "$prefix/include/dlinfer.h"
check "lib/libdlinfer.so.1 installed" test -f "$lib"
check "lib/libdlinfer.so links to libdlinfer.so.1" test "$(readlink "$prefix/lib/libdlinfer.so")" = libdlinfer.so.1
check "lib/pkgconfig/dlinfer.pc installed" test -f "$prefix/lib/pkgconfig/dlinfer.pc"
check "bin/dlinfer installed" test -x "$prefix/bin/dlinfer"
check "the library is stripped (no .symtab)" sh -c "! readelf -S '$lib' | grep -q '\.symtab'"
check "its debug info is in lib/.debug/libdlinfer.so.1.debug, named by .gnu_debuglink" sh -c \
    "test -s '$prefix/lib/.debug/libdlinfer.so.1.debug' && readelf --string-dump=.gnu_debuglink '$lib' | grep -q libdlinfer.so.1.debug"
echo "installed library: $(du -k "$lib" | cut -f1) KiB stripped"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "soname is libdlinfer.so.1 (got '$soname')" test "$soname" = libdlinfer.so.1

# Only the C and C++ runtimes may be needed: the Swift runtime and Foundation are linked in statically.
for f in "$lib" "$prefix/bin/dlinfer"; do
    extra=$(ldd "$f" | awk '{print $1}' | grep -Ev '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux-aarch64\.so\.1|ld-linux.*|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$')
    check "$(basename "$f") needs only libc/libm/libstdc++/libgcc_s (also: $(echo $extra))" test -z "$extra"
done

# The exported symbols are exactly the functions the header declares.
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
declared=$(grep -Eo '\bdlinfer_[a-z_]+\(' "$prefix/include/dlinfer.h" | tr -d '(' | sort -u)
check "nm -D lists only dlinfer_* symbols (others: $(echo "$exported" | grep -v '^dlinfer_' | head -5 | tr '\n' ' '))" \
    test -z "$(echo "$exported" | grep -v '^dlinfer_')"
check "exported symbols equal the header's functions" test "$exported" = "$declared"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
check "pkg-config --modversion matches the header" \
    test "$(pkg-config --modversion dlinfer)" = "$(sed -n 's/^#define DLINFER_VERSION_[A-Z]* \([0-9]*\)$/\1/p' "$prefix/include/dlinfer.h" | paste -sd. -)"
check "bin/dlinfer --version runs" "$prefix/bin/dlinfer" --version

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/hello.c" <<'C'
#include <dlinfer.h>
#include <stdio.h>
int main(void) {
    if ((dlinfer_api_version() >> 16) != DLINFER_VERSION_MAJOR) return 1;
    printf("%s\n", dlinfer_version_string());
    return 0;
}
C
# shellcheck disable=SC2046
check "a program builds with pkg-config's flags and runs" sh -c \
    "cc -std=c99 -Wall -Werror $(pkg-config --cflags dlinfer) '$tmp/hello.c' -o '$tmp/hello' $(pkg-config --libs dlinfer) && LD_LIBRARY_PATH='$prefix/lib' '$tmp/hello'"
if make -s -C "$root/Tests/c" test LIBDIR="$prefix/lib" OUT="$tmp/ctest" >"$tmp/ctest.log" 2>&1; then ok; else
    fail "the C test against the installed library"; cat "$tmp/ctest.log" >&2
fi

echo "install check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
