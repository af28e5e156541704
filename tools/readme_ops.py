#!/usr/bin/env python3
"""Rewrites README.md's supported-operator list (between <!-- ops --> and <!-- /ops -->) from `dlinfer ops`, the
importer's registry. RegistryTests fails when the two drift apart. Usage: tools/readme_ops.py [path/to/dlinfer-cli]"""
import pathlib, re, subprocess, sys, textwrap

cli = sys.argv[1] if len(sys.argv) > 1 else ".build/release/dlinfer-cli"
rows = subprocess.run([cli, "ops"], check=True, capture_output=True, text=True).stdout.splitlines()[1:]
names = sorted(r.split()[0] for r in rows if r.strip() and not r.split()[0].isdigit())  # not the count line
listing = "\n".join(textwrap.wrap(", ".join(names) + ".", 118))
readme = pathlib.Path("README.md")
text = readme.read_text()
text, n = re.subn(r"<!-- ops -->.*?<!-- /ops -->", lambda _: f"<!-- ops -->\n{listing}\n<!-- /ops -->", text, flags=re.S)
if n != 1:
    sys.exit("README.md has no <!-- ops --> ... <!-- /ops --> block")
readme.write_text(text)
print(f"{len(names)} operators listed")
