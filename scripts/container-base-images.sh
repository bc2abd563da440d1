#!/usr/bin/env bash
# Makes, with podman, the base images the Dockerfile builds from on a machine that reaches no image
# registry (this project's machines reach Debian's mirror and NuGet only). The Dockerfile's defaults
# stay Microsoft's and Docker Hub's public images; scripts/container-check.sh passes these instead:
#
#   localhost/trainingservice-base/debian:12       debootstrap --variant=minbase bookworm, imported,
#                                                  with this machine's CA bundle (local images only:
#                                                  it is what lets a build reach NuGet over HTTPS here)
#   localhost/trainingservice-base/dotnet-sdk:10.0 + the host's .NET SDK (/usr/share/dotnet), g++, patchelf
#   localhost/trainingservice-base/aspnet:10.0     + the host's .NET and ASP.NET Core runtimes, the app user
#   localhost/trainingservice-base/postgres:15     + Debian's PostgreSQL 15, the official image's variables
#
# The Containerfiles are in build/containers/. An image that exists and was made from the same
# inputs (the host's .NET SDK version, its Containerfile) is kept: a second run builds nothing.
# --rebuild makes them all again. Prints the image names as NAME=value lines on stdout (what
# container-check.sh reads); progress goes to stderr.
#
# Needs root, podman, runc, debootstrap (scripts/prerequisites.sh --containers installs them) and
# CONTAINERS_CONF pointing to a containers.conf that works here (container-check.sh writes one).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

rebuild=false
[ "${1:-}" = "--rebuild" ] && rebuild=true

registry=localhost/trainingservice-base
debian_image=$registry/debian:12
sdk_image=$registry/dotnet-sdk:10.0
aspnet_image=$registry/aspnet:10.0
postgres_image=$registry/postgres:15
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
host_dotnet=${HOST_DOTNET_ROOT:-/usr/share/dotnet}
ca_bundle=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

log() { echo "container-base-images: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

command -v podman >/dev/null || die "podman is not installed (bash scripts/prerequisites.sh --containers)"
[ -x "$host_dotnet/dotnet" ] || die "no .NET SDK at $host_dotnet to copy into the images"
[ -f "$ca_bundle" ] || die "no CA bundle at $ca_bundle"
sdk_version=$("$host_dotnet/dotnet" --version)

# An image is current when it exists and its label holds the digest of what it was made from.
inputs_digest() { cat "$@" | sha256sum | cut -c1-16; }
current() { # IMAGE DIGEST
    [ "$rebuild" = false ] || return 1
    podman image exists "$1" || return 1
    [ "$(podman image inspect --format '{{ index .Labels "trainingservice.base-inputs" }}' "$1")" = "$2" ]
}

# ---- Debian 12 (minbase) with the host's CA bundle
debian_digest=$(inputs_digest <(echo "$mirror bookworm minbase ca-certificates") "$ca_bundle")
if current "$debian_image" "$debian_digest"; then
    log "$debian_image is current"
else
    command -v debootstrap >/dev/null || die "debootstrap is not installed (bash scripts/prerequisites.sh --containers)"
    rootfs=$(mktemp -d /var/tmp/trainingservice-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
    start=$(date +%s)
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
        || { tail -20 "$rootfs.log" >&2; die "debootstrap failed (log above)"; }
    rm -f "$rootfs.log"
    # The extra authorities this machine trusts (its mirrors' HTTPS), kept through later
    # update-ca-certificates runs; then the bundle is the host's plus Debian's.
    cp "$ca_bundle" "$rootfs/usr/local/share/ca-certificates/host-bundle.crt"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed"
    # Small and reproducible: no package caches or lists; apt installs without recommends.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$rootfs/etc/apt/apt.conf.d/90trainingservice"
    tar -C "$rootfs" -c . | podman import \
        --change 'CMD ["/bin/bash"]' \
        --change 'ENV DEBIAN_FRONTEND=noninteractive' \
        --change "LABEL trainingservice.base-inputs=$debian_digest" \
        - "$debian_image" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    log "$debian_image made in $(( $(date +%s) - start )) s"
fi

build() { # IMAGE CONTAINERFILE DIGEST [extra podman build arguments]
    local image=$1 file=$2 digest=$3
    shift 3
    if current "$image" "$digest"; then
        log "$image is current"
        return
    fi
    log "building $image from build/containers/$file"
    local start
    start=$(date +%s)
    podman build --quiet --layers=false -f "build/containers/$file" --build-arg BASE_IMAGE="$debian_image" \
        --label "trainingservice.base-inputs=$digest" "$@" -t "$image" build/containers >/dev/null \
        || die "podman build $image failed"
    log "$image made in $(( $(date +%s) - start )) s"
}

base_digest=$(podman image inspect --format '{{ .Id }}' "$debian_image" | cut -c1-16)
build "$sdk_image" dotnet-sdk.Containerfile \
    "$(inputs_digest build/containers/dotnet-sdk.Containerfile <(echo "$base_digest $sdk_version"))" \
    --volume "$host_dotnet:/host/dotnet:ro"
build "$aspnet_image" aspnet.Containerfile \
    "$(inputs_digest build/containers/aspnet.Containerfile <(echo "$base_digest $sdk_version"))" \
    --volume "$host_dotnet:/host/dotnet:ro"
build "$postgres_image" postgres.Containerfile \
    "$(inputs_digest build/containers/postgres.Containerfile build/containers/postgres-entrypoint.sh <(echo "$base_digest"))"

echo "SDK_IMAGE=$sdk_image"
echo "RUNTIME_IMAGE=$aspnet_image"
echo "POSTGRES_IMAGE=$postgres_image"
