#!/usr/bin/env bash
# Runs `sevex demo --export`, then validates every object of every state's STIX bundle against
# the OASIS STIX 2.1 JSON schemas with ajv (installed from the npm registry into the build tree).
#   stix_schema_test.sh SEVEX_BINARY SOURCE_DIR WORK_DIR
# Exit 77 (skipped) only when node or npm is absent, and not under CI=true: there it fails.
set -euo pipefail
sevex=$1 src=$2 work=$3
schemas="$src/../shared/reference/stix2-json-schemas/schemas"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  case "${CI:-}" in
    ""|0|false)
      echo "SKIPPED: node and npm are needed to run ajv (apt-get install nodejs npm)"
      exit 77 ;;
    *)
      echo "FAILED: node and npm are needed to run ajv (apt-get install nodejs npm); CI=true, so this does not skip" >&2
      exit 1 ;;
  esac
fi
if [ ! -d "$schemas" ]; then
  echo "FAILED: the OASIS STIX 2.1 schemas are not at $schemas (shared/ sits beside the repository)" >&2
  exit 1
fi
mkdir -p "$work"
cp "$src/tests/stix/package.json" "$src/tests/stix/package-lock.json" "$work/"
if [ ! -d "$work/node_modules/ajv" ] || ! cmp -s "$src/tests/stix/package-lock.json" "$work/node_modules/.package-lock.json.src"; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$src/tests/stix/package-lock.json" "$work/node_modules/.package-lock.json.src"
fi
cp "$src/tests/stix/validate.mjs" "$src/tests/stix/"*.schema.json "$work/"
out=$(mktemp -d "$work/export-XXXXXX")
trap 'rm -rf "$out"' EXIT
"$sevex" demo --export "$out" --format json >"$out/demo.json"
bundles=("$out"/*.stix.json)
[ "${#bundles[@]}" -eq 5 ] || { echo "FAILED: expected 5 bundles, got ${#bundles[@]}" >&2; exit 1; }
# Each bundle holds one incident per notice the state received: as many as its JSON lines.
for b in "${bundles[@]}"; do
  state=$(basename "$b" .stix.json)
  lines=$(wc -l <"$out/$state.jsonl")
  incidents=$(grep -c '"type": "incident"' "$b" || true)
  [ "$lines" -eq "$incidents" ] || { echo "FAILED: $state: $incidents incidents, $lines JSON lines" >&2; exit 1; }
done
node "$work/validate.mjs" "$schemas" "${bundles[@]}"
