#!/usr/bin/env bash
# Mutation-test one module against the suites that test it directly — minutes, not the hours of the
# five-folder run. Usage: scripts/mutate-one.sh SRC_FILE[,SRC_FILE…] "TEST_GLOB [TEST_GLOB…]" [REPORT.json]
# e.g. scripts/mutate-one.sh src/store/minhash.ts test/minhash.test.ts
# Tests too slow to run per mutant (trust.test's multi-process ones) are skipped (MUTATION_FAST=1).
# Prints Stryker's table and a list of the mutants that survived (file:line, mutator, replacement).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$1; tests=$2; report=${3:-.stryker-tmp-one.json}
cfg=.stryker-one.config.json
node -e '
const [src, report] = process.argv.slice(1);
const base = JSON.parse(require("fs").readFileSync("stryker.focus.config.json", "utf8"));
base.mutate = src.split(",");
base.jsonReporter = { fileName: report };
base.reporters = ["clear-text", "json"];
require("fs").writeFileSync(".stryker-one.config.json", JSON.stringify(base, null, 2));
' "$src" "$report"
MUTATION_FAST=1 MUTATION_TESTS=$tests npx stryker run "$cfg" --logLevel warn
rm -f "$cfg"
node scripts/mutants.mjs "$report"
