#!/usr/bin/env bash
# Deploys the example stack (default stack name `dev`, or $HOSTNET_STACK) and prints its outputs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack=${HOSTNET_STACK:-dev}
cd "$root"
echo "==> pulumi up (stack $stack)"
bin/pulumi stack select --create "$stack" >/dev/null
bin/pulumi up --yes --stack "$stack"
echo "==> stack outputs"
bin/pulumi stack output --stack "$stack"
