#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS seconds (default 30), one after the other;
# exits non-zero if any target crashed, panicked, hung or ran out of memory (the reproducer is
# then in fuzz/artifacts/<target>/). `run.sh 0` only replays the corpora (seeds plus anything a
# local run added): a quick regression check, built unoptimised (`cargo fuzz build --dev`: a
# few minutes on two cores where the optimised build, one codegen unit per crate, takes over
# twelve; with debug assertions, and a hang limit of 120 s for the slower code). With MAX_RUNS a target also stops after that many
# executions (issue 9's bar is 10^7 executions or 30 minutes, whichever comes first).
# FUZZ_TARGETS="a b" limits the run to those targets (two chains can then share two cores).
#
#   fuzz/run.sh [SECONDS [MAX_RUNS]]   e.g.  nice -n 19 fuzz/run.sh 1800 10000000
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler (libFuzzer is built from
# source). cargo fuzz passes nightly-only `-Z` flags to rustc (the sanitizer); RUSTC_BOOTSTRAP=1
# lets the stable toolchain accept them, so no nightly toolchain is needed.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-30}"
max_runs="${2:-}"
[[ "$secs" =~ ^[0-9]+$ && "$max_runs" =~ ^[0-9]*$ ]] || { echo "usage: $0 [SECONDS [MAX_RUNS]]" >&2; exit 2; }
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
start=$SECONDS
profile=()
hang=10
if (( secs == 0 )); then
  profile=(--dev)
  hang=120
fi
cargo fuzz build "${profile[@]}"
echo "==> built $(wc -w <<<"$targets") targets in $((SECONDS - start))s"

failed=()
for t in $targets; do
  mkdir -p "corpus/$t"
  if (( secs == 0 )); then
    limit=(-runs=0)
  else
    limit=(-max_total_time="$secs")
    [[ -n "$max_runs" ]] && limit+=(-runs="$max_runs")
  fi
  echo "==> $t (${secs}s)"
  # -timeout: one input taking longer than that is a hang; -rss_limit_mb: a leak or a blow-up.
  log="target/fuzz-$t.log"
  # A target's dictionary (dict/<target>.dict: the tokens of its language) speeds the search.
  dict=()
  [[ -f "dict/$t.dict" ]] && dict=(-dict="dict/$t.dict")
  rc=0
  cargo fuzz run "${profile[@]}" "$t" "corpus/$t" -- "${limit[@]}" "${dict[@]}" -timeout="$hang" -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || rc=$?
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+ +DONE' "$log" || true
  if (( rc != 0 )); then
    tail -n 40 "$log" >&2
    failed+=("$t")
  fi
done
if (( ${#failed[@]} )); then
  echo "==> FAILED: ${failed[*]} (logs: fuzz/target/fuzz-<target>.log, inputs: fuzz/artifacts/)" >&2
  exit 1
fi
echo "==> all targets passed ($((SECONDS - start))s)"
