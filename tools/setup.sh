#!/usr/bin/env bash
# One-time setup on a fresh Debian/Ubuntu machine: the system packages WebGPU needs here, then npm ci.
#   chromium   - headless browser for the Chromium tests/benchmarks, and its SwiftShader Vulkan driver
#                (/usr/lib/chromium/vk_swiftshader_icd.json), which Node's Dawn uses when there is no GPU
#   libvulkan1 - the Vulkan loader Dawn opens
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x "${CHROME_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || missing+=(libvulkan1)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install -y ${missing[*]}  (or set CHROME_PATH to a Chrome binary)" >&2
    exit 1
  fi
fi

# onnxruntime-node's installer tries a download this machine cannot make; its CPU binaries are bundled.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
# The CLI (dist/effnet.js) and the browser bundles are built from the sources.
npm run build --silent
