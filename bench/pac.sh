#!/usr/bin/env bash
# bench/pac.sh: the PAC engine (crates/toll-pac) beside pacparser on the same generated PACs.
#
#   bench/pac.sh [--runs N] [--toll PATH]
#
# Generates a 1 MB PAC with ten thousand rules and a 100 KB one (one thousand rules), then for
# each, with the URL that falls through every rule (the slowest answer):
#   - toll-pac: `cargo run --release -p toll-pac --example pac_eval` — median compile (parse +
#     top level) and median call, in-process;
#   - pacparser 1.5.3 (PyPI; embeds QuickJS too) from Python: median parse_pac_file and
#     find_proxy, in-process (the PyPI package has no pactester command);
#   - with --toll PATH (a release toll): `toll pac` end to end (process start, read, compile,
#     call, print) with hyperfine.
# Progress goes to stderr, the Markdown table to stdout (bench/PAC.md records a run).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=20
TOLL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --toll) TOLL="$2"; shift 2 ;;
    *) echo "usage: bench/pac.sh [--runs N] [--toll PATH]" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

gen() { # gen RULES FILE
  python3 - "$1" "$2" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("// generated: %d rules\nfunction FindProxyForURL(url, host) {\n" % n)
    for i in range(n):
        f.write('  if (shExpMatch(host, "*.dept-%d.example.com") || dnsDomainIs(host, ".old-%d.example.com")) '
                'return "PROXY p%d.corp:8080";\n' % (i, i, i))
    f.write('  return "PROXY fallback.corp:3128; DIRECT";\n}\n')
PY
}
gen 10000 "$WORK/1mb.pac"
gen 1000 "$WORK/100kb.pac"
URL="http://www.other.org/"
HOST="www.other.org"

echo "building the engine example (release)…" >&2
cargo build -q --release -p toll-pac --example pac_eval >&2
EX="${CARGO_TARGET_DIR:-target}/release/examples/pac_eval"

pacparser_times() { # FILE -> "parse_ms call_ms answer"
  python3 - "$1" "$URL" "$HOST" "$RUNS" <<'PY'
import sys, time, statistics
import pacparser
path, url, host, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
parse, call, later = [], [], []
ans = None
for _ in range(runs):
    pacparser.init()
    t = time.perf_counter(); pacparser.parse_pac_file(path); parse.append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter(); ans = pacparser.find_proxy(url, host); call.append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter()
    for _ in range(10):
        pacparser.find_proxy(url, host)
    later.append((time.perf_counter() - t) * 1e2)
    pacparser.cleanup()
print("%.2f %.2f %.3f %s" % (statistics.median(parse), statistics.median(call), statistics.median(later), ans))
PY
}

have_pacparser=1
python3 -c 'import pacparser' 2>/dev/null || { have_pacparser=0; echo "pacparser missing: pip install pacparser" >&2; }

echo "| PAC | size | evaluator | compile (parse + top level) | first call | later calls | answer |"
echo "|---|---|---|---|---|---|---|"
for f in 1mb 100kb; do
  size=$(stat -c %s "$WORK/$f.pac")
  echo "timing toll-pac on $f…" >&2
  line=$("$EX" "$WORK/$f.pac" "$URL" "$RUNS")
  c=$(sed 's/.*compile_ms=\([^ ]*\).*/\1/' <<<"$line")
  e=$(sed 's/.*first_call_ms=\([^ ]*\).*/\1/' <<<"$line")
  l=$(sed 's/.*later_call_ms=\([^ ]*\).*/\1/' <<<"$line")
  a=$(sed 's/.*answer=//' <<<"$line")
  echo "| $f | $size B | toll-pac (QuickJS-NG via rquickjs 0.14) | $c ms | $e ms | $l ms | $a |"
  if [ $have_pacparser = 1 ]; then
    echo "timing pacparser on $f…" >&2
    read -r pc pe pl pa <<<"$(pacparser_times "$WORK/$f.pac")"
    echo "| $f | $size B | pacparser $(python3 -c 'import importlib.metadata as m; print(m.version("pacparser"))') | $pc ms | $pe ms | $pl ms | \"$pa\" |"
  fi
done
if [ -n "$TOLL" ] && command -v hyperfine >/dev/null; then
  echo
  echo "\`toll pac\` end to end (hyperfine, median):"
  echo
  for f in 1mb 100kb; do
    hyperfine -N -w 3 -r "$RUNS" --export-json "$WORK/$f.json" "$TOLL pac $WORK/$f.pac $URL" >/dev/null 2>&1
    python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print('- %s: %.1f ms' % (sys.argv[2], r['median']*1e3))" "$WORK/$f.json" "$f"
  done
fi
echo
echo "Load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores."
