#!/usr/bin/env bash
# Deploys the example stack (default stack name `dev`, or $HOSTNET_STACK) in
# one pass of the engine, `pulumi up --skip-preview`: the way to deploy a
# program whose preview was seen. `pulumi up` previews first and then runs
# the program again to update; after `bin/pulumi preview` (or a pull
# request's `npm run preview:ci`) that first pass repeats what was shown.
# The engine still prints every operation as it does it.
#
# The program's TypeScript type-check is not lost: the language host
# remembers a check that passed and repeats it only when the program or
# anything it reads has changed, so a deploy right after a preview of the
# same program on this machine does not pay for it again, and any other
# deploy checks it first (see README, Speed).
#
# `npm run up` is the interactive way: preview, then update.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack=${HOSTNET_STACK:-dev}
cd "$root"
echo "==> pulumi up --skip-preview (stack $stack): one pass, for the program previewed"
bin/pulumi up --yes --skip-preview --stack "$stack"
