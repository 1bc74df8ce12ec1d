#!/usr/bin/env bash
# qharness set-up: installs the Debian packages the build needs (only when one is missing), builds, and then
#   ./setup.sh main   runs the main job (the quickstart suite on the built-in zoo models, writing a report)
#   ./setup.sh test   runs the whole test suite (ctest)
#   ./setup.sh build  only builds
# Idempotent: a second run with nothing changed installs nothing and rebuilds nothing.
# Environment: QH_PRESET=release|debug|asan (default release), QH_JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# The one list of dependencies (ARCHITECTURE.md 4). Debian 12 packages only; nothing is downloaded otherwise.
DEBIAN_PACKAGES=(
  cmake g++ make git pkg-config ca-certificates
  libdnnl-dev libhwy-dev libeigen3-dev libgtest-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libpcre2-dev libicu-dev libsentencepiece-dev  # tokenizers: Unicode regexes, normalization, tokenizer.model
  ocl-icd-opencl-dev         # libdnnl-dev's CMake config calls find_package(OpenCL); only a Recommends of it
  clang libclang-rt-14-dev libomp-14-dev  # libFuzzer target: clang, its sanitizer runtime, its OpenMP
  base-files                 # /usr/share/common-licenses: the text corpus of the text-LM zoo models
)
# Only the tests need these: report.html is rendered in headless Chromium to check every chart is visible;
# tests/slurm starts a single-node Slurm cluster (its own munged, slurmctld and slurmd) to run a suite on it.
TEST_PACKAGES=(chromium fonts-dejavu-core slurm-wlm munge)

install_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  local preset="${QH_PRESET:-release}"
  local jobs="${QH_JOBS:-$(nproc)}"
  # Configure when the build system was never generated. A configure that failed part-way leaves a
  # CMakeCache.txt but no Makefile: start that one over from an empty cache rather than stay broken.
  if [ ! -f "build/$preset/Makefile" ]; then
    mkdir -p build
    rm -f "build/$preset/CMakeCache.txt"
    if ! cmake --preset "$preset" >"build/$preset.configure.log" 2>&1; then
      cat "build/$preset.configure.log" >&2
      rm -f "build/$preset/CMakeCache.txt"
      echo "setup: configure failed (log above)" >&2
      exit 1
    fi
    rm -f "build/$preset.configure.log"
  fi
  # With a target (the main job needs only qharness), the test executables are not built.
  cmake --build --preset "$preset" -j "$jobs" ${1:+--target "$1"}
}

cmd="${1:-main}"
shift || true
case "$cmd" in
  build)
    install_packages; build ;;
  test)
    install_packages "${TEST_PACKAGES[@]}"; build
    ctest --preset "${QH_PRESET:-release}" -j "${QH_JOBS:-$(nproc)}" "$@" ;;
  main)
    install_packages; build qharness
    bin="build/${QH_PRESET:-release}/qharness"
    if [ -f suites/quickstart.yaml ]; then
      "$bin" run suites/quickstart.yaml --out reports/quickstart "$@"
      echo "report: reports/quickstart/report.md (and report.html, results.json, junit.xml, cases.csv)"
    else
      exec "$bin" --help
    fi ;;
  *)
    echo "usage: ./setup.sh [main|test|build]" >&2; exit 2 ;;
esac
