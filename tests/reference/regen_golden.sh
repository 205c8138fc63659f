#!/bin/sh
# Regenerate tests/golden/*.json from the reference implementation, for the cases listed in
# tests/golden/cases.txt (`name | arguments`). Review the diff before committing it.
set -eu
cd "$(dirname "$0")/../.."
grep -v '^#' tests/golden/cases.txt | grep -v '^[[:space:]]*$' | while IFS='|' read -r name args; do
    name=$(echo "$name" | tr -d '[:space:]')
    # shellcheck disable=SC2086 # the arguments are split on purpose
    python3 tests/reference/ctq_reference.py --source fixtures -o json $args > "tests/golden/$name.json"
    echo "tests/golden/$name.json"
done
