#!/usr/bin/env bash
# The wheel as a new user meets it: a fresh venv, `pip install` of the wheel (numpy comes from PyPI), then, with no
# DLINFER_* variable and from a folder outside the repository, `import dlinfer`, the digits example against
# onnxruntime's stored logits, and the bundled `dlinfer` command. Also checks the wheel's name and contents.
# Usage: check_wheel.sh WHEEL VENV_DIR
set -euo pipefail
wheel=$(realpath "$1"); venv=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "check_wheel: $*" >&2; exit 1; }

name=$(basename "$wheel")
[[ $name =~ ^dlinfer-[0-9.]+-py3-none-manylinux_[0-9]+_[0-9]+_$(uname -m)\.whl$ ]] || fail "unexpected wheel name $name"
contents=$(python3 -m zipfile -l "$wheel")
for f in dlinfer/libdlinfer.so dlinfer/bin/dlinfer dlinfer/__init__.py; do
    grep -q " *$f " <<<"$contents" || grep -q "^$f " <<<"$contents" || fail "$f missing from the wheel"
done
echo "wheel: $name, $(du -k "$wheel" | cut -f1) KiB"

rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q "$wheel"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
clean=(env -u DLINFER_LIBRARY -u DLINFER_CLI -u PYTHONPATH -u LD_LIBRARY_PATH DLINFER_DEVICE=cpu)
"${clean[@]}" "$venv/bin/python" -c "import dlinfer, os; print('import dlinfer', dlinfer.__version__, 'from', os.path.dirname(dlinfer.__file__))"
out=$("${clean[@]}" "$venv/bin/python" "$repo/examples/python/classify_digits.py")
echo "$out" | tail -2
grep -q "^accuracy: " <<<"$out" || fail "the digits example printed no accuracy"
diff=$(sed -n 's/^max |logit - onnxruntime.s|: //p' <<<"$out")
python3 -c "import sys; sys.exit(0 if float('$diff') <= 1e-4 else 1)" || fail "logits differ from onnxruntime's by $diff"
[[ $("${clean[@]}" "$venv/bin/dlinfer" --version) == "$("${clean[@]}" "$venv/bin/python" -c 'import dlinfer; print(dlinfer.__version__)')" ]] \
    || fail "the bundled CLI's version differs from the package's"
"${clean[@]}" "$venv/bin/dlinfer" info "$repo/examples/models/digits_cnn.onnx" --summary | head -3
echo "check_wheel: ok"
