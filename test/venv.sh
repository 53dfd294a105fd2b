#!/usr/bin/env bash
# The Python tools of authlog-api's contract test, from PyPI, pinned:
# schemathesis (the live API against its OpenAPI document) and
# ocsf-emitter (the OCSF output against its OCSF 1.5.0 models: ocsf-lib
# needs the schema server, py-ocsf-models has no Authentication class);
# pymongo, which lays a store out as 1.0's library did for the migration
# test (test/store_as_1_0.py, test/t/260).  Made once in
# build/venv; a copy of the tree keeps working (run its python, not its
# scripts' shebangs).
#
#   test/venv.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
venv=$top/build/venv
want="schemathesis==4.32.5 ocsf-emitter==0.3.0 pymongo==4.20.0"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.authlog-requirements" 2>/dev/null)" = "$want" ]; then
	exit 0
fi
rm -rf "$venv"
# Debian's python3: the venv must run as the postgres user too (a python
# under root's home would not)
/usr/bin/python3 -m venv "$venv"
# shellcheck disable=SC2086
"$venv/bin/python" -m pip install -q --disable-pip-version-check $want
echo "$want" >"$venv/.authlog-requirements"
echo "venv.sh: installed $want into build/venv" >&2
