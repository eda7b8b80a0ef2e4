#!/usr/bin/env bash
# Install the Debian packages the tests drive for real: chromium (e2e page tests),
# tmux (terminal quiz test), podman + runc + slirp4netns + debootstrap (the container tests),
# docker-registry + skopeo (pipeline rehearsal), wrk (load benchmarks).
# Needs root and apt-get; elsewhere it says what is missing and the tests that need
# those tools skip with a reason.
set -euo pipefail
want=()
command -v chromium >/dev/null || want+=(chromium)
command -v tmux >/dev/null || want+=(tmux)
command -v podman >/dev/null || want+=(podman)
command -v runc >/dev/null || want+=(runc)
# slirp4netns: the local data plane's podman tasks reach the emulator on the host's loopback.
command -v slirp4netns >/dev/null || want+=(slirp4netns)
command -v debootstrap >/dev/null || want+=(debootstrap)
command -v docker-registry >/dev/null || want+=(docker-registry)
command -v skopeo >/dev/null || want+=(skopeo)
command -v wrk >/dev/null || want+=(wrk)
# node + npm: mermaid's own parser checks every diagram (tests/test_mermaid.py).
command -v node >/dev/null || want+=(nodejs)
command -v npm >/dev/null || want+=(npm)
# Container-name DNS for compose: podman here uses CNI, which needs the dnsname plugin.
[ -e /usr/lib/cni/dnsname ] || want+=(golang-github-containernetworking-plugin-dnsname)
((${#want[@]})) || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: not root or no apt-get; missing: ${want[*]} (tests needing them will skip)" >&2
  exit 0
fi
echo "system-deps: installing ${want[*]}"
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${want[@]}" >/dev/null
