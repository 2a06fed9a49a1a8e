#!/usr/bin/env bash
# Makes the project's base image without any registry: a root filesystem
# holding Debian's static busybox (sh, ip, ping, nc, httpd, nslookup),
# imported with `docker import`. Labelled as the project's own.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/toolchain.env.sh"

if docker image inspect "$HOSTNET_BASE_IMAGE" >/dev/null 2>&1; then
  echo "    already present"
  exit 0
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,var/www}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/bin/sh"]' \
  --change 'ENV PATH=/bin' \
  --change 'LABEL io.hostnet.owned=true' \
  - "$HOSTNET_BASE_IMAGE" >/dev/null
echo "    imported $HOSTNET_BASE_IMAGE"
