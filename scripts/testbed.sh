#!/usr/bin/env bash
# Several simulated Docker hosts on this machine, for multi-host tests (issue 10):
# each a network namespace with its own sshd and dockerd, joined by an underlay
# bridge; this machine is host A, the controller. The work is done by
# tools/testbed/ (TypeScript: host commands as argument arrays, one code path
# for up and down, the same types as the tests); this is only its entry point.
#
#   scripts/testbed.sh up [--hosts N] [--id ID]    prints how to reach each host;
#                                                  JSON in /run/hostnet-testbed/ID/testbed.json
#   scripts/testbed.sh down [--id ID]              removes everything of test bed ID
#   scripts/testbed.sh status                      lists the test beds on this machine
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -x "$root/node_modules/.bin/ts-node" ]; then
  echo "testbed: node_modules is missing; run \`npm run setup\` first" >&2
  exit 1
fi
TS_NODE_PROJECT="$root/tsconfig.json" exec node --require "$root/node_modules/ts-node/register/transpile-only" "$root/tools/testbed/cli.ts" "$@"
