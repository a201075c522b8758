#!/usr/bin/env bash
# Runs one libFuzzer target, seeded with the checked-in corpus (copied, so new
# inputs do not dirty the tree). Fails on any crash, leak, sanitizer report or
# timeout the fuzzer finds.
#
# Under ctest the run is deterministic: a fixed seed and a fixed number of
# runs (FUZZ_RUNS), with the seconds only as a cap. For exploration, set
# FUZZ_SEED=0 (random) and FUZZ_RUNS=-1 (until the time is up).
set -euo pipefail
bin=${1:?fuzz binary}; corpus=${2:?corpus dir}; seconds=${3:-30}
artifacts=${4:-$PWD/fuzz-artifacts}  # crashing inputs are kept here
if [[ ! -x "$bin" ]]; then
  echo "fuzz: $bin is missing: build it with 'make clang-build' (make test does)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp -r "$corpus"/. "$work/corpus/" 2>/dev/null || true
mkdir -p "$artifacts"
cd "$work"
set +e
"$bin" -seed="${FUZZ_SEED:-20261122}" -runs="${FUZZ_RUNS:-200000}" \
       -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$artifacts/" "$work/corpus"
rc=$?
if ((rc != 0)); then
  for f in "$artifacts"/*; do
    [[ -f "$f" ]] || continue
    echo "fuzz: kept $f (reproduce: $bin $f); its bytes, base64:"
    base64 -w0 "$f"; echo
  done
fi
exit $rc
