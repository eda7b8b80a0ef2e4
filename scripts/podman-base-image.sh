#!/usr/bin/env bash
# Copied from the workplace's verified container recipe (shared/container/podman-setup.sh).
# Make this machine able to build and run the project's Dockerfile for real.
#
# There is no Docker engine here and no container registry can be reached,
# but Debian's podman works, and a Python base image can be made locally
# from Debian packages with debootstrap. After this script:
#
#   podman build --format docker --isolation=chroot \
#       -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
#       --build-arg PYTHON_IMAGE="$BASE_IMAGE" -t localhost/app:test .
#   podman run -d --runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
#       -p 127.0.0.1:8080:8080 localhost/app:test
#
#   podman healthcheck run CONTAINER     # runs the image's HEALTHCHECK once
#   podman image inspect IMAGE --format '{{.Size}}'   # real image size, bytes
#   podman history IMAGE                  # size of each layer
#
# Why each flag: --format docker keeps HEALTHCHECK (the OCI format drops it);
# --isolation=chroot avoids the OCI runtime during builds (this
# machine's cgroups are in hybrid mode); the CA bundle mount lets pip inside
# the build reach the package index the same way the host does; runc plus
# explicit ulimits is what runs containers here (crun and the default
# RLIMIT_NOFILE are refused). podman logs errors about systemd timers for
# healthchecks; they are harmless here. `podman stop` sends SIGTERM and waits
# 10 s before SIGKILL, as ECS does with its stop timeout: a server that is
# PID 1 and ignores SIGTERM shows up as a 10 s stop.
#
# The base image is Debian bookworm's python3 (3.11), tagged
# $BASE_IMAGE (default localhost/python-base:3.11-bookworm). Give the Dockerfile
# an `ARG PYTHON_IMAGE=python:3.12-slim` so users get the official image and
# this machine gets the local one. `python` and `pip` are on PATH in it, as in
# the official image; curl is NOT in it (nor in python:*-slim).
#
# Idempotent; takes about a minute the first time. Prints the image name last.
set -euo pipefail
BASE_IMAGE="${BASE_IMAGE:-localhost/python-base:3.11-bookworm}"
# The Debian mirror this machine's apt already uses (first non-security URI).
MIRROR="${DEBIAN_MIRROR:-$(grep -hoE '^URIs: *[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | awk '{print $2}' | grep -v security | head -1)}"
[ -n "$MIRROR" ] || { echo "no Debian mirror found in apt sources; set DEBIAN_MIRROR" >&2; exit 1; }

need_pkgs=()
command -v podman >/dev/null || need_pkgs+=(podman)
command -v runc >/dev/null || need_pkgs+=(runc)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
if ((${#need_pkgs[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! podman image exists "$BASE_IMAGE"; then
  rootfs="$(mktemp -d)"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" "$MIRROR" >/dev/null
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
  tar -C "$rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' \
    --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi
echo "$BASE_IMAGE"
