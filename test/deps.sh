#!/usr/bin/env bash
# make deps: what make demo, make test and make test-long need on this
# machine (Debian 12), installed when missing.
#
#   test/deps.sh demo | test | test-long
#
# Quick when all is there: each need is checked by what it provides, not by
# a package name.  As root the missing packages are installed with apt-get;
# otherwise the script stops at once with the exact install line.  A DBA's
# `make && sudo make install` needs only the first four (compiler, server
# headers, pkg-config, libmongoc); FerretDB, built from source for the
# tests and the demo, needs Go.
set -euo pipefail

profile=${1:-test}
pg_bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
pg_includedir=$(pg_config --includedir-server 2>/dev/null || echo /nonexistent)
pg_pkglibdir=$(pg_config --pkglibdir 2>/dev/null || echo /nonexistent)

missing=()
need() {	# need PACKAGE CHECK...
	local package=$1
	shift
	"$@" >/dev/null 2>&1 || missing+=("$package")
}
fuzzer_runtime() {
	local lib
	lib=$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null) && [ -f "$lib" ]
}

need postgresql-15 test -x "$pg_bindir/postgres"
need make command -v make
need gcc command -v gcc
need postgresql-server-dev-15 test -f "$pg_includedir/postgres.h"
need pkg-config command -v pkg-config
need libmongoc-dev pkg-config --exists libmongoc-1.0
need libbson-dev pkg-config --exists libbson-1.0
need libssl-dev pkg-config --exists libcrypto
need golang-go command -v go
need curl command -v curl
need jq command -v jq
need prometheus command -v promtool
if [ "$profile" = test ] || [ "$profile" = test-long ]; then
	need postgresql-15-wal2json test -f "$pg_pkglibdir/wal2json.so"
	need libipc-run-perl perl -MIPC::Run -e 1
	need sqlite3 command -v sqlite3
	need pgbouncer test -x /usr/sbin/pgbouncer
	need python3-venv /usr/bin/python3 -c 'import ensurepip, venv'
fi
if [ "$profile" = test-long ]; then
	need chromium command -v chromium
	need clang command -v clang
	need libclang-rt-dev fuzzer_runtime
fi

[ ${#missing[@]} = 0 ] && exit 0

# libbson-dev comes with libmongoc-dev; name each package once
packages=$(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++' | paste -sd ' ')
if [ "$(id -u)" != 0 ]; then
	echo "authlog: make $profile needs Debian packages that are missing here. Install them with:" >&2
	echo "  sudo apt-get install -y --no-install-recommends $packages" >&2
	exit 1
fi
echo "authlog: installing $packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $packages
