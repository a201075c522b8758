#!/usr/bin/env bash
# Fails when a layer includes what it must not (DESIGN.md "Layers").
set -u
root=${1:?source dir}
fail=0
check() { # layer, forbidden-include regex, why
  local hits
  hits=$(grep -rnE "#include[[:space:]]*[<\"]($2)" "$root/$1" 2>/dev/null)
  if [[ -n "$hits" ]]; then
    echo "layering: $1/ must not include $3:"; echo "$hits"; fail=1
  fi
}
check protocols 'caf/|liburing|spdlog/|actors/|drivers/|media/' "CAF, liburing, spdlog or a higher layer"
check drivers   'caf/|actors/|media/' "CAF or a higher layer"
check media     'actors/|drivers/' "actors/ or drivers/"
if ((fail == 0)); then echo "layering: ok"; fi
exit $fail
