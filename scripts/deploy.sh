#!/usr/bin/env bash
# Deploys the example stack (default stack name `dev`, or $HOSTNET_STACK) in
# one pass of the engine: the way to deploy a program whose preview was seen
# and that CI type-checked. On a pull request, CI runs `npm test` (which
# type-checks every program with `tsc -p .`) and `npm run preview:ci` (the
# preview, type-checked, as a comment); the merged commit is then deployed by
# this. It skips what was done there, and says so:
#   - the preview pass `pulumi up` runs first (--skip-preview): the engine
#     still prints every operation as it does it;
#   - the program's TypeScript type-check (PULUMI_NODEJS_TRANSPILE_ONLY=true,
#     unless you set that variable yourself).
# `npm run up` is the interactive way: it previews, then updates, type-checking both times.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack=${HOSTNET_STACK:-dev}
cd "$root"
if [ -z "${PULUMI_NODEJS_TRANSPILE_ONLY:-}" ]; then
  export PULUMI_NODEJS_TRANSPILE_ONLY=true
  echo "==> type-check: not in this deploy; \`npm test\` (tsc -p .) and the preview do it (\`npm run typecheck\` now, or set PULUMI_NODEJS_TRANSPILE_ONLY=false)"
fi
echo "==> pulumi up --skip-preview (stack $stack)"
bin/pulumi up --yes --skip-preview --stack "$stack"
