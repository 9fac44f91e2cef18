#!/usr/bin/env bash
# Fuzzing with libFuzzer (clang): builds the targets in build-fuzz, then
#   tests/fuzz/run.sh [TARGET...]          `make fuzz`: each target fuzzes for
#                                          FUZZ_SECONDS (default 60) from its
#                                          corpus, growing var/fuzz/corpus/<target>
#   tests/fuzz/run.sh --quick [TARGET...]  `make test`: replays every input in
#                                          tests/fuzz/corpus/<target>/, then a short
#                                          fixed-seed run per target (about 45 s in all)
#   tests/fuzz/run.sh --replay [TARGET...] only the replay
# A finding (crash, sanitizer report, broken invariant, hang) fails the run;
# its input is saved under var/fuzz/findings/<target>/ with the command that
# replays it. Keep it as a regression case by copying it into
# tests/fuzz/corpus/<target>/ once it is fixed (tests/fuzz/README.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

MODE=long
case "${1:-}" in
  --quick) MODE=quick; shift ;;
  --replay) MODE=replay; shift ;;
  -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
esac
ALL=(json router webhook_telegram webhook_whatsapp webhook_twilio webhook_vapi webhook_wapi http)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
  [[ " ${ALL[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (targets: ${ALL[*]})" >&2; exit 2; }
done

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
OUT=var/fuzz
mkdir -p "$OUT/logs" "$OUT/findings" "$OUT/corpus"

tools/deps.sh fuzz || exit 1
echo "== fuzz: building the targets in $BUILD (clang, libFuzzer, ASan/UBSan)"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOWHOST_FUZZ=ON >/dev/null || exit 1
cmake --build "$BUILD" -j"$(nproc)" --target fuzz_all >"$OUT/logs/build.log" 2>&1 || { tail -40 "$OUT/logs/build.log"; exit 1; }

# per target: dictionary, largest input, quick-run executions
dict_of() {
  case "$1" in
    json) echo tests/fuzz/dict/json.dict ;;
    webhook_*) echo tests/fuzz/dict/webhook.dict ;;
    *) echo tests/fuzz/dict/http.dict ;;
  esac
}
max_len_of() { case "$1" in router) echo 1024 ;; http) echo 4096 ;; *) echo 8192 ;; esac; }
quick_runs_of() { case "$1" in http) echo 2000 ;; *) echo 15000 ;; esac; }
quick_secs_of() { case "$1" in http) echo 8 ;; *) echo 4 ;; esac; }
timeout_of() { case "$1" in http) echo 40 ;; *) echo 10 ;; esac; }

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=0 summary=()

finding() { # target, log, input or ""
  failed=$((failed + 1))
  echo "== fuzz $1: FINDING (log: $2)"
  # the target's own message (up to the stack dump), or the sanitizer's report
  awk '/^fuzz target /{on=1} /^==[0-9]+==/{if(on){exit}} on' "$2" | head -40
  grep -E -A20 "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ERROR: libFuzzer: (timeout|out-of-memory)" "$2" | head -30
  if [ -n "$3" ] && [ -f "$3" ]; then
    echo "   input: $3"
    echo "   replay: $BUILD/fuzz_$1 $3"
  fi
}

replay() { # target: every kept input, each once, in as few processes as findings allow
  local t=$1 dir=tests/fuzz/corpus/$1 log=$OUT/logs/$1-replay.log
  local files=("$dir"/*) bad=0 total
  [ -e "${files[0]}" ] || { echo "== fuzz $t: no inputs in $dir"; return 0; }
  total=${#files[@]}
  while [ ${#files[@]} -gt 0 ]; do
    mkdir -p "$OUT/findings/$t"
    if "$BUILD/fuzz_$t" -timeout="$(timeout_of "$t")" -artifact_prefix="$OUT/findings/$t/" "${files[@]}" >"$log" 2>&1; then break; fi
    local last i
    last=$(grep '^Running: ' "$log" | tail -1 | sed 's/^Running: //')
    cp "$log" "$log.$((bad += 1))"
    finding "$t" "$log.$bad" "$last"
    # go on with the inputs after the one that failed
    for i in "${!files[@]}"; do [ "${files[$i]}" = "$last" ] && break; done
    [ "${files[$i]}" = "$last" ] || break
    files=("${files[@]:$((i + 1))}")
  done
  [ $bad -eq 0 ] && echo "== fuzz $t: $total kept inputs replayed, ok"
  [ $bad -eq 0 ]
}

fuzz() { # target, seconds, runs (0: no limit), seed, working corpus
  local t=$1 secs=$2 runs=$3 seed=$4 work=$5 log=$OUT/logs/$1.log
  local found=$OUT/findings/$t
  mkdir -p "$work" "$found"
  local args=(-seed="$seed" -max_total_time="$secs" -max_len="$(max_len_of "$t")" -timeout="$(timeout_of "$t")"
              -dict="$(dict_of "$t")" -artifact_prefix="$found/" -print_final_stats=1)
  [ "$runs" -gt 0 ] && args+=(-runs="$runs")
  "$BUILD/fuzz_$t" "${args[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  local rc=$?
  local stats execs rate cov ft corp
  stats=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$stats")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$stats")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$stats")
  summary+=("$(printf '%-18s %9s execs %7s/s  cov %5s  ft %6s  corpus %5s  %s' "$t" "${execs:-?}" "${rate:-?}" \
               "${cov:-?}" "${ft:-?}" "${corp:-?}" "$([ $rc -eq 0 ] && echo ok || echo FINDING)")")
  if [ $rc -ne 0 ]; then
    local input
    input=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
    finding "$t" "$log" "$input"
    return 1
  fi
  echo "== fuzz $t: ${execs:-?} inputs in ${secs}s or less, no finding"
}

for t in "${TARGETS[@]}"; do
  case $MODE in
    replay) replay "$t" ;;
    quick)
      replay "$t" || continue
      work=$(mktemp -d "$OUT/quick-$t.XXXXXX")    # from the kept inputs only: the same run every time
      fuzz "$t" "$(quick_secs_of "$t")" "$(quick_runs_of "$t")" 1 "$work"
      rm -rf "$work" ;;
    long)
      fuzz "$t" "$FUZZ_SECONDS" 0 "${FUZZ_SEED:-$RANDOM}" "$OUT/corpus/$t" ;;
  esac
done

if [ ${#summary[@]} -gt 0 ]; then
  echo "== fuzz summary"
  printf '   %s\n' "${summary[@]}"
fi
if [ $failed -gt 0 ]; then
  echo "fuzz: $failed finding(s); inputs under $OUT/findings/, logs under $OUT/logs/"
  exit 1
fi
echo "fuzz: no findings"
