#!/usr/bin/env bash
# One-command set-up on a fresh Debian/Ubuntu machine: system libraries for the native `canvas`
# (charts), the test oracles (python3-onnx, python3-torch; python3-torchvision and python3-pil for the
# ISIC pipelines of scripts/torch_train.py), node modules, and the compiled CLI.
# libopenblas0-pthread: without it Debian's PyTorch runs its BLAS-backed ops on the reference BLAS,
# which would make the PyTorch side of npm run bench:vs-torch an unfairly slow yardstick.
# chromium-headless-shell: the headless browser the report test (test/report/page.test.ts) opens report.html in.
# mesa-vulkan-drivers + libvulkan1 from <codename>-backports: Mesa's software Vulkan (lavapipe), on which
# onnxruntime-node's bundled WebGPU provider runs the GPU graphs in the tests (test/onnx/webgpu-parity.test.ts).
# Test oracles, like Chromium, not runtime dependencies. Bookworm's own Mesa 22.3 is refused by Dawn
# ("shaderUniform*ArrayDynamicIndexing required"), so they come from backports (Mesa 24+).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian only: add <codename>-backports with the URI the machine's main suite already uses (a new
# sources file, written only when no configured source lists that suite), then install from it.
install_vulkan_oracle() {
  local want=(mesa-vulkan-drivers libvulkan1) id="" codename=""
  [ -r /etc/os-release ] && { id=$(. /etc/os-release && echo "${ID:-}"); codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}"); }
  if [ "$id" != debian ] || [ -z "$codename" ]; then
    echo "setup: not Debian ('${id:-unknown}'); for the WebGPU tests install Mesa >= 24 with its Vulkan drivers (lavapipe) and libvulkan1 yourself" >&2
    return 0
  fi
  local suite="$codename-backports" mesa
  # done already? libvulkan1 at any version, Mesa's drivers at 24 or later (bookworm's 22.3 does not count)
  mesa=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null | sed -n 's/^install ok installed //p')
  if dpkg -s libvulkan1 >/dev/null 2>&1 && [ -n "$mesa" ] && dpkg --compare-versions "$mesa" ge 24; then return 0; fi
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if ! grep -rqsE "^(Suites:.*[[:space:]]|deb[[:space:]].*[[:space:]])$suite([[:space:]]|\$)" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    local uri
    uri=$(awk '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "'"$codename"'") { print u; exit } }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "'"$codename"'" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    if [ -z "$uri" ]; then
      echo "setup: cannot find the Debian archive URI of suite '$codename' in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; add '$suite' yourself, then rerun bash scripts/setup.sh" >&2
      return 1
    fi
    local file=/etc/apt/sources.list.d/$suite.sources
    echo "setup: adding $suite ($uri) as $file"
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" "$suite" | $SUDO tee "$file.tmp" >/dev/null
    $SUDO mv "$file.tmp" "$file"
  fi
  echo "setup: installing ${want[*]} from $suite (the WebGPU tests' software Vulkan)"
  $SUDO apt-get update -qq
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends -t "$suite" "${want[@]}" >/dev/null; then
    echo "setup: apt-get install -t $suite ${want[*]} failed (see above); the WebGPU tests need them" >&2
    return 1
  fi
}

APT_PACKAGES=(build-essential pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev python3-onnx python3-torch python3-torchvision python3-pil python3-numpy libopenblas0-pthread chromium-headless-shell)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  install_vulkan_oracle
else
  echo "setup: no apt-get here; install cairo, pango, libjpeg, giflib and librsvg development packages for 'canvas' yourself" >&2
fi

# onnxruntime-node's install step fetches the CUDA provider from a feed offline machines cannot
# reach: skip it (the CPU and WebGPU providers ship in the npm package). GPU users: see README "GPU".
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
npm ci --no-audit --no-fund
npm run build
echo "setup: done. Run the tests with: npm test"
