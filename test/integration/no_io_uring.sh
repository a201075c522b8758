#!/usr/bin/env bash
# With io_uring forbidden (as under Docker's default seccomp profile) the
# switch must exit non-zero with a message that says so and what to do,
# never crash. Args: DENY_TOOL CENTRALITA
set -u
deny=$1; bin=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 20 "$deny" "$bin" --listen 127.0.0.1:0 --data-dir "$(mktemp -d)" >"$out" 2>&1
rc=$?
cat "$out"
if [[ $rc -eq 77 ]]; then echo "SKIP: cannot install a seccomp filter here"; exit 77; fi
fail=0
if [[ $rc -ne 3 ]]; then echo "FAIL: exit code $rc, expected 3 (io_uring unavailable)"; fail=1; fi
if ! grep -q "io_uring is forbidden here" "$out"; then echo "FAIL: no explanation"; fail=1; fi
if ! grep -q "seccomp" "$out"; then echo "FAIL: no hint about seccomp"; fail=1; fi
if ((fail == 0)); then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
