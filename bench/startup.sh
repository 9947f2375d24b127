#!/usr/bin/env bash
# bench:startup — #23: `mistique --help` ≤ 300 ms and `mistique ls` ≤ 500 ms on the bench:trad store
# (bench/out/trad-dedup, from npm run bench:trad): wall time of the whole process, 5 interleaved runs each,
# median with min and max; one ls first (the stored-bytes cache as a second ls finds it).
cd "$(dirname "$0")/.."
h=(); l=()
node dist/src/cli/bin.js ls --store bench/out/trad-dedup > /dev/null   # the cache of stored bytes as a user's second ls finds it
for i in 1 2 3 4 5; do
  s=$(date +%s%N); node dist/src/cli/bin.js --help > /dev/null; e=$(date +%s%N); h+=($(( (e - s) / 1000000 )))
  s=$(date +%s%N); node dist/src/cli/bin.js ls --store bench/out/trad-dedup > /dev/null; e=$(date +%s%N); l+=($(( (e - s) / 1000000 )))
done
med() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
mn() { printf '%s\n' "$@" | sort -n | head -1; }
mx() { printf '%s\n' "$@" | sort -n | tail -1; }
echo "{\"help_ms\":{\"median\":$(med "${h[@]}"),\"min\":$(mn "${h[@]}"),\"max\":$(mx "${h[@]}")},\"ls_trad_ms\":{\"median\":$(med "${l[@]}"),\"min\":$(mn "${l[@]}"),\"max\":$(mx "${l[@]}")},\"targets\":{\"help\":300,\"ls\":500}}"
