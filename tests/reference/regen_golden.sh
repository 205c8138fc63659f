#!/bin/sh
# Regenerate tests/golden/<name>.json from the reference implementation, for the cases of
# tests/golden/cases.txt tagged `golden` (lines `name | tests | ctq arguments`; the file's header
# says more). The table and SQL golden files come from ctq: `CTQ_BLESS=1 cargo test golden`.
# Review the diff before committing it.
set -eu
cd "$(dirname "$0")/../.."
grep -v '^[[:space:]]*#' tests/golden/cases.txt | grep -v '^[[:space:]]*$' | while IFS='|' read -r name tests args; do
    name=$(echo "$name" | tr -d '[:space:]')
    # shellcheck disable=SC2086 # the tags are split on purpose
    case " $(echo $tests) " in
        *" golden "*) ;;
        *) continue ;;
    esac
    # shellcheck disable=SC2086 # the arguments are split on purpose
    python3 tests/reference/ctq_reference.py --source fixtures -o json $args > "tests/golden/$name.json"
    echo "tests/golden/$name.json"
done
