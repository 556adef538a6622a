#!/usr/bin/env bash
# Installs the Debian packages the network-namespace suite and the dataplane
# benchmark need: iproute2 (ip netns, veth, tuntap, vxlan), iputils-ping,
# iperf3, tinc (reference overlay in the benchmark), nftables, tcpdump, curl
# (admin endpoints inside namespaces), traceroute and bird2 (the virtual
# routers' interop tests: kernel traceroute through them, RIPv2 with BIRD),
# busybox-static and isc-dhcp-client (real DHCP and DNS clients in guests),
# qemu-system-x86, linux-image-amd64 and kmod (the real VM test boots the
# distribution kernel with a busybox initramfs; modprobe finds its modules),
# the toolchain node-gyp uses for agent/native (python3, make, g++), the
# kernel fast path's (clang, libbpf-dev for the BPF headers, bpftool, and ethtool for the
# GRO pair that merges super-packets for VMs), and
# Chromium for the browser suite.
# Idempotent and quiet: it runs `apt-get update` at most once and only when a
# package is missing, so a machine that already has everything touches nothing.
set -euo pipefail

# package name -> a file that proves it is installed
declare -A need=(
  [iproute2]=/usr/sbin/ip
  [iputils-ping]=/usr/bin/ping
  [iperf3]=/usr/bin/iperf3
  [tinc]=/usr/sbin/tincd
  [nftables]=/usr/sbin/nft
  [tcpdump]=/usr/bin/tcpdump
  [curl]=/usr/bin/curl
  [traceroute]=/usr/sbin/traceroute
  [bird2]=/usr/sbin/bird
  [procps]=/usr/bin/pkill
  [python3]=/usr/bin/python3
  [make]=/usr/bin/make
  [g++]=/usr/bin/g++
  [chromium]=/usr/bin/chromium
  [busybox-static]=/bin/busybox
  [isc-dhcp-client]=/sbin/dhclient
  [qemu-system-x86]=/usr/bin/qemu-system-x86_64
  [linux-image-amd64]=/usr/share/doc/linux-image-amd64
  [kmod]=/usr/sbin/modprobe
  [clang]=/usr/bin/clang
  [libbpf-dev]=/usr/include/bpf/bpf_helpers.h
  [bpftool]=/usr/sbin/bpftool
  [ethtool]=/usr/sbin/ethtool
)

missing=()
for pkg in "${!need[@]}"; do
  [ -e "${need[$pkg]}" ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  echo "install-deps: installing ${missing[*]}"
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  # Output goes to a log that is shown only when apt fails.
  if ! {
    $sudo apt-get update -qq &&
      # iperf3's maintainer script asks whether to start a daemon: answer no.
      { echo 'iperf3 iperf3/start_daemon boolean false' | $sudo debconf-set-selections || true; } &&
      $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get failed" >&2
    exit 1
  fi
fi

# The TAP guests need the tun device node; containers sometimes lack it.
if [ ! -c /dev/net/tun ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo mkdir -p /dev/net
  $sudo mknod /dev/net/tun c 10 200 2>/dev/null || true
  $sudo chmod 0666 /dev/net/tun 2>/dev/null || true
fi

echo "install-deps: ok"
