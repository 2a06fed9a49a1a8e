# Sourced by the project's scripts: the one place that pins the Pulumi version
# and says where the toolchain, state and Pulumi home live.
# Keep PULUMI_VERSION equal to @pulumi/pulumi in package.json (test/unit checks it).
PULUMI_VERSION=3.248.0
HOSTNET_CACHE=${HOSTNET_CACHE:-/var/cache/hostnet}
HOSTNET_TOOLCHAIN=$HOSTNET_CACHE/pulumi-v$PULUMI_VERSION
HOSTNET_BASE_IMAGE=${HOSTNET_BASE_IMAGE:-hostnet/busybox:1}
export PULUMI_VERSION HOSTNET_CACHE HOSTNET_TOOLCHAIN HOSTNET_BASE_IMAGE
