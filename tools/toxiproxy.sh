#!/usr/bin/env bash
# Build Toxiproxy v2.5.0 (pinned) from the Go module proxy into the cache, once, and print the
# path of its server binary. Used by `cargo bench --bench proxy_vs_toxiproxy` to compare
# against our proxy; nothing here is ever written inside the repository.
#
#   tools/toxiproxy.sh            # prints .../tools/toxiproxy-2.5.0/toxiproxy-server
#
# Exit 3 when Go is not installed (the bench then says so and measures direct/ours only).
set -euo pipefail

VERSION=2.5.0
cache="${CHAOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spark-chaos}"
dir="$cache/tools/toxiproxy-$VERSION"
bin="$dir/toxiproxy-server"

if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "toxiproxy.sh: Go is not installed; cannot build Toxiproxy $VERSION" >&2
    exit 3
fi
mkdir -p "$cache/tools"
staging="$(mktemp -d "$cache/tools/.toxiproxy-$VERSION.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
echo "toxiproxy.sh: building Toxiproxy $VERSION with go install (once)" >&2
GOBIN="$staging" CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath" \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@v$VERSION" >&2
# v2.5.0's server package is `cmd/server`, so go install names the binary `server`.
mv "$staging/server" "$staging/toxiproxy-server"
# The finished directory appears atomically, so a crash never leaves a half-built binary.
rm -rf "$dir"
mv "$staging" "$dir"
trap - EXIT
chmod 755 "$dir"
echo "$bin"
