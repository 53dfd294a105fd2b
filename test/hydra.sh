#!/usr/bin/env bash
# Ory Hydra v2, the real OIDC provider of authlog-api's tests: it issues the
# client-credentials tokens (JWT access tokens) the API and begin_request
# verify.  Built once from its Go module into build/bin/hydra (cached).
#
#   test/hydra.sh build
#
# `go install github.com/ory/hydra/v2@v2.3.0` cannot build it: a module's
# replace directives only apply in its own build (pop must be ory's fork),
# and the module zip lacks the directory its hydra-client-go replace points
# to.  So this builds the module's source in place, with the published
# hydra-client-go instead.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/bin/hydra
version=v2.3.0

[ "${1:-}" = build ] || { echo "usage: $0 build" >&2; exit 2; }
[ -x "$bin" ] && exit 0
command -v go >/dev/null || { echo "hydra.sh: Go is required to build Hydra" >&2; exit 1; }
mkdir -p "$top/build/bin"
dir=$(cd "$top/build" && GOFLAGS=-mod=mod go mod download -json "github.com/ory/hydra/v2@$version" |
	sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "hydra.sh: could not download github.com/ory/hydra/v2@$version" >&2; exit 1; }
src=$top/build/hydra-src
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
(cd "$src" && go mod edit -dropreplace github.com/ory/hydra-client-go/v2 &&
	GOFLAGS=-mod=mod go build -o "$bin" .)
rm -rf "$src"
echo "hydra.sh: built Hydra $version" >&2
