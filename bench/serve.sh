#!/usr/bin/env bash
# toll serve vs px and cntlm under load: the same Squid upstream, a compiled load generator
# (bench/loadgen), 10 / 100 / 1,000 concurrent clients. See bench/README.md and bench/SERVE.md.
#
#   bench/serve.sh [--quick] [--duration S] [--warmup S] [--timeout S] [--clients "10 100 1000"]
#                  [--only "squid toll-ntlm …"] [--modes "http connect tls"]
#                  [--toll PATH] [--no-build] [--port-base N] [--keep] [--results FILE]
#                  [--rounds N]
#
# --rounds N measures every cell N times (each round interleaved with the other proxies' cells
# of that load and client count) and reports each cell's median: a host whose speed drifts from
# minute to minute moves a median far less than one sample (bench/SERVE.md, run 20).
# --results FILE (bench/RESULTS.md for the record) also puts the report into FILE, in place of
# the section between its "serve:begin" and "serve:end" markers (or at its end); bench/run.sh
# keeps that section when it rewrites the file.
# --only picks from: squid squid-ntlm toll-ntlm px-ntlm cntlm-ntlm toll-basic px-basic toll-digest
# px-digest (the default set; squid-ntlm is the NTLM Squid answered by the load generator itself,
# tunnels only: the bound for NTLM tunnels) and tollmmap-ntlm (toll with glibc's mmap threshold
# pinned: a diagnosis of its tunnel-buffer memory, see SERVE.md).
# The Markdown report goes to stdout, progress to stderr. Needs root (squid drops to 'proxy',
# cntlm to 'cntlm', /proc/PID/clear_refs resets the peak RSS between cells).
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DURATION=4 WARMUP=2 OP_TIMEOUT=10 CLIENTS="10 100 1000" MODES="http connect tls"
DEFAULT_ONLY="squid squid-ntlm toll-ntlm px-ntlm cntlm-ntlm toll-basic px-basic toll-digest px-digest"
ONLY=$DEFAULT_ONLY
KEEP=0 BUILD=1 PB=23100 INTO= ROUNDS=1
TOLL=${TOLL:-}
PX_VERSION=0.13.0
PX_VENV=${PX_VENV:-$REPO/target/bench-px-venv}

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --quick) DURATION=2 WARMUP=1 ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --timeout) OP_TIMEOUT=$2; shift ;;
        --clients) CLIENTS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --modes) MODES=$2; shift ;;
        --keep) KEEP=1 ;;
        --no-build) BUILD=0 ;;
        --toll) TOLL=$2; BUILD=0; shift ;;
        --port-base) PB=$2; shift ;;
        --results) INTO=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "serve.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

say() { printf '\033[1mserve-bench:\033[0m %s\n' "$*" >&2; }
die() { printf 'serve-bench: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (squid and cntlm drop privileges; clear_refs needs it)"
for c in squid nginx openssl cntlm python3 awk; do
    command -v "$c" >/dev/null 2>&1 || die "missing $c (apt-get install squid nginx openssl cntlm python3)"
done
SQUID_LIB=/usr/lib/squid
for h in basic_ncsa_auth digest_file_auth ntlm_fake_auth; do
    [ -x "$SQUID_LIB/$h" ] || die "missing $SQUID_LIB/$h (package squid)"
done
command -v htpasswd >/dev/null 2>&1 || die "missing htpasswd (apt-get install apache2-utils)"

# 1,000 clients, each through a proxy to Squid to nginx: several descriptors per client.
ulimit -n "$(ulimit -Hn)" || true
[ "$(ulimit -n)" -ge 8192 ] || die "ulimit -n is $(ulimit -n); 1,000 clients need at least 8192"

export LC_NUMERIC=C
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY \
    TOLL_PROXY_USER TOLL_PROXY_PASSWORD TOLL_REMEMBER || true

# ---------------------------------------------------------------------------------------------
# Builds: toll, the load generator (its own cargo project), px (a venv)
# ---------------------------------------------------------------------------------------------
if [ -z "$TOLL" ]; then
    TOLL="${CARGO_TARGET_DIR:-$REPO/target}/release/toll"
    if [ "$BUILD" = 1 ]; then
        say "cargo build --release"
        (cd "$REPO" && cargo build --release >&2) || die "cargo build --release failed"
    fi
fi
[ -x "$TOLL" ] || die "no toll binary at $TOLL"
LOADGEN_TARGET=${CARGO_TARGET_DIR:-$REPO/target}/loadgen
LOADGEN=$LOADGEN_TARGET/release/toll-loadgen
if [ "$BUILD" = 1 ] || [ ! -x "$LOADGEN" ]; then
    say "building bench/loadgen"
    CARGO_TARGET_DIR=$LOADGEN_TARGET cargo build --release --manifest-path "$HERE/loadgen/Cargo.toml" >&2 ||
        die "building bench/loadgen failed"
fi
PX=$PX_VENV/bin/px
if [ ! -x "$PX" ]; then
    say "installing px-proxy $PX_VERSION into $PX_VENV"
    python3 -m venv "$PX_VENV" && "$PX_VENV/bin/pip" install -q "px-proxy==$PX_VERSION" >&2 ||
        die "pip install px-proxy failed"
fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Work dir, processes, cleanup
# ---------------------------------------------------------------------------------------------
W=$(mktemp -d /tmp/toll-sbench.XXXXXX)
chmod 755 "$W"
export XDG_CONFIG_HOME="$W/config" XDG_STATE_HOME="$W/state"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
PIDS=()
stop_pid() { # pid: TERM, wait up to 4 s, KILL
    local p=$1 i
    kill -TERM "$p" 2>/dev/null || return 0
    for i in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    if [ "$KEEP" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port pid name log
    local i
    for i in $(seq 1 150); do
        port_busy "$1" && return 0
        kill -0 "$2" 2>/dev/null || { tail -n 20 "$4" >&2 || true; die "$3 exited during start-up"; }
        sleep 0.1
    done
    tail -n 20 "$4" >&2 || true
    die "$3 did not listen on 127.0.0.1:$1"
}

# Fixed ports below the ephemeral range (a listener there may collide with a client's port).
HTTP_PORT=$((PB + 1)) HTTPS_PORT=$((PB + 2))
declare -A SQPORT=([noauth]=$((PB + 10)) [basic]=$((PB + 11)) [digest]=$((PB + 12)) [ntlm]=$((PB + 13)))
declare -A PPORT=(
    [squid]=$((PB + 10)) [squid-ntlm]=$((PB + 13))
    [toll-ntlm]=$((PB + 20)) [toll-basic]=$((PB + 21)) [toll-digest]=$((PB + 22))
    [px-ntlm]=$((PB + 30)) [px-basic]=$((PB + 31)) [px-digest]=$((PB + 32))
    [cntlm-ntlm]=$((PB + 40))
    [tollmmap-ntlm]=$((PB + 23))
)
for p in "$HTTP_PORT" "$HTTPS_PORT" "${SQPORT[@]}" "${PPORT[@]}"; do
    port_busy "$p" && die "port $p is in use (choose another --port-base)"
done
PUSER=benchuser PPASS='bench:pässword' REALM=toll-bench

# ---------------------------------------------------------------------------------------------
# Origin: nginx, a 1 KiB file over http and https (P-256 leaf from a throw-away CA)
# ---------------------------------------------------------------------------------------------
say "work dir $W; ulimit -n $(ulimit -n); load average $LOAD_START"
mkdir -p "$W/tls" "$W/www" "$W/nginx/tmp"
(
    cd "$W/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
        -out ca.pem -days 3 -subj "/CN=toll-sbench CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key \
        -out leaf.csr -subj "/CN=127.0.0.1"
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
        extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1 > leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 \
        -extfile leaf.ext -out leaf.pem
) >/dev/null 2>&1 || die "openssl failed"
chmod 644 "$W"/tls/*
CA=$W/tls/ca.pem
head -c 1024 /dev/urandom > "$W/www/1k.bin"
NGX_USER=www-data; id "$NGX_USER" >/dev/null 2>&1 || NGX_USER=nobody
chown -R "$NGX_USER" "$W/nginx/tmp"
cat > "$W/nginx/nginx.conf" <<EOF
user $NGX_USER;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log error;
daemon off;
events { worker_connections 16000; }
http {
    access_log off;
    client_body_temp_path $W/nginx/tmp/body;
    proxy_temp_path $W/nginx/tmp/proxy;
    fastcgi_temp_path $W/nginx/tmp/fastcgi;
    uwsgi_temp_path $W/nginx/tmp/uwsgi;
    scgi_temp_path $W/nginx/tmp/scgi;
    types { application/octet-stream bin; }
    default_type application/octet-stream;
    keepalive_requests 1000000;
    open_file_cache max=16;
    ssl_session_cache off;
    ssl_session_tickets off;
    server {
        listen 127.0.0.1:$HTTP_PORT backlog=4096;
        listen 127.0.0.1:$HTTPS_PORT ssl backlog=4096;
        ssl_certificate $W/tls/leaf.pem;
        ssl_certificate_key $W/tls/leaf.key;
        root $W/www;
        location / { }
    }
}
EOF
nginx -t -q -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>"$W/nginx/test.log" ||
    { cat "$W/nginx/test.log" >&2; die "nginx -t failed"; }
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>>"$W/nginx/error.log" &
PIDS+=($!)
wait_port "$HTTP_PORT" "${PIDS[-1]}" nginx "$W/nginx/error.log"
wait_port "$HTTPS_PORT" "${PIDS[-1]}" nginx "$W/nginx/error.log"

# ---------------------------------------------------------------------------------------------
# Squid: one instance per scheme, plus one without authentication (the ceiling)
# ---------------------------------------------------------------------------------------------
declare -A SQPID=()
# Squid's default: a Digest nonce serves this many requests, then Squid answers 407 stale=true.
# Only a non-CONNECT answer can carry the next nonce (a CONNECT's 200 has no header for it), so
# for tunnels alone one 407 in NONCE_MAX_COUNT requests is the least any client can get.
NONCE_MAX_COUNT=50
start_squid() { # name
    local name=$1 port=${SQPORT[$1]} d="$W/squid-$1" auth="" acl="acl bench_users src 127.0.0.1/32"
    mkdir -p "$d"
    case $name in
        basic)
            htpasswd -b -c -m "$d/passwd" "$PUSER" "$PPASS" >/dev/null 2>&1
            auth="auth_param basic program $SQUID_LIB/basic_ncsa_auth $d/passwd
auth_param basic realm $REALM
auth_param basic children 10 startup=2" ;;
        digest)
            printf '%s:%s:%s\n' "$PUSER" "$REALM" \
                "$(printf '%s:%s:%s' "$PUSER" "$REALM" "$PPASS" | md5sum | cut -d' ' -f1)" > "$d/passwd"
            # Squid's defaults (nonce_max_count spelled out: the report derives the tunnels'
            # 407 floor from it; check_nonce_count on).
            auth="auth_param digest program $SQUID_LIB/digest_file_auth -c $d/passwd
auth_param digest realm $REALM
auth_param digest children 10 startup=2
auth_param digest nonce_max_count $NONCE_MAX_COUNT" ;;
        ntlm)
            # The whole type 1 / type 2 / type 3 exchange; any password.
            auth="auth_param ntlm program $SQUID_LIB/ntlm_fake_auth
auth_param ntlm children 20 startup=5 idle=2
auth_param ntlm keep_alive on" ;;
    esac
    [ -n "$auth" ] && acl="acl bench_users proxy_auth REQUIRED"
    cat > "$d/squid.conf" <<EOF
http_port 127.0.0.1:$port
visible_hostname toll-sbench-$name
pid_filename $d/squid.pid
cache_log $d/cache.log
coredump_dir $d
max_filedescriptors 16384
logformat bench %ts.%03tu %>a %Ss/%03>Hs %<st %rm %ru %un
access_log stdio:$d/access.log logformat=bench
buffered_logs off
logfile_rotate 0
cache deny all
cache_mem 8 MB
pinger_enable off
netdb_filename none
dns_nameservers 127.0.0.1
shutdown_lifetime 1 second
$auth
$acl
acl CONNECT method CONNECT
acl tls_origin port $HTTPS_PORT
http_access deny CONNECT !tls_origin
http_access allow bench_users
http_access deny all
EOF
    : > "$d/access.log"
    chown -R proxy:proxy "$d"
    squid -N -f "$d/squid.conf" -n "tollsbench${name}$$" >"$d/stdout.log" 2>&1 &
    PIDS+=($!)
    SQPID[$name]=$!
    wait_port "$port" "$!" "squid ($name)" "$d/cache.log"
}
say "starting nginx (:$HTTP_PORT, :$HTTPS_PORT) and squid (noauth :${SQPORT[noauth]}, basic :${SQPORT[basic]}, digest :${SQPORT[digest]}, ntlm :${SQPORT[ntlm]})"
for s in noauth basic digest ntlm; do start_squid "$s"; done

# ---------------------------------------------------------------------------------------------
# The proxies under test: one fresh process per cell
# ---------------------------------------------------------------------------------------------
scheme_of() { echo "${1##*-}"; }    # toll-ntlm -> ntlm; squid -> squid
CUR_PID=""
start_proxy() { # name
    local name=$1 port=${PPORT[$1]} d="$W/$1" scheme
    scheme=$(scheme_of "$name")
    mkdir -p "$d"
    case $name in
        squid) CUR_PID=${SQPID[noauth]}; return ;;
        squid-ntlm) CUR_PID=${SQPID[ntlm]}; return ;;
        toll-*|tollmmap-*)
            # A fresh state dir: remembered auth starts empty, so warm-up really warms up.
            # tollmmap-*: an experiment, not in the default set: glibc's fixed mmap threshold
            # (128 KiB) makes every tunnel's 2 × 256 KiB copy buffers fresh mappings that go
            # back to the kernel when the tunnel closes.
            local menv=()
            [ "${name%%-*}" = tollmmap ] && menv=(MALLOC_MMAP_THRESHOLD_=131072)
            mkdir -p "$d/state"
            env "${menv[@]}" XDG_STATE_HOME="$d/state" "$TOLL" serve --listen "127.0.0.1:$port" \
                -x "http://127.0.0.1:${SQPORT[$scheme]}" -U "$PUSER:$PPASS" --proxy-anyauth --no-prompt \
                --log "$d/access.log" >>"$d/stderr.log" 2>&1 &
            CUR_PID=$! ;;
        px-*)
            # px reads px.ini from its working directory: an empty one there.
            : > "$d/px.ini"
            (cd "$d" && PX_PASSWORD="$PPASS" exec "$PX" --config="$d/px.ini" \
                --proxy="127.0.0.1:${SQPORT[$scheme]}" --listen=127.0.0.1 --port="$port" \
                --username="$PUSER" --auth="${scheme^^}") >>"$d/stderr.log" 2>&1 &
            CUR_PID=$! ;;
        cntlm-ntlm)
            # No NoProxy line: Debian's default sends 127.0.0.* direct. NTLMv1 flags: Squid's
            # fake helper sends no target info, so NTLMv2 fails.
            cat > "$d/cntlm.conf" <<EOF
Username $PUSER
Domain BENCH
Password $PPASS
Auth NTLM
Flags 0x05b20000
Listen 127.0.0.1:$port
Proxy 127.0.0.1:${SQPORT[ntlm]}
EOF
            chmod 644 "$d/cntlm.conf"
            cntlm -f -c "$d/cntlm.conf" -U cntlm >>"$d/stderr.log" 2>&1 &
            CUR_PID=$! ;;
    esac
    PIDS+=("$CUR_PID")
    wait_port "$port" "$CUR_PID" "$name" "$d/stderr.log"
}
stop_proxy() { # name
    case $1 in squid|squid-ntlm) return ;; esac
    stop_pid "$CUR_PID"
}

# The proxy's process and its descendants (px may fork workers; Squid has helpers).
tree() {
    local p=$1 c
    echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree "$c"; done
}
reset_peak() { local p; for p in $(tree "$1"); do echo 5 2>/dev/null > "/proc/$p/clear_refs" || true; done; }
# Sum of VmHWM over the tree, KiB (for one process: its peak; for several an upper bound).
peak_kib() {
    local p s=0 v
    for p in $(tree "$1"); do
        v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        s=$((s + ${v:-0}))
    done
    echo "$s"
}

# CPU time (user + system) of the tree, in clock ticks.
cpu_ticks() {
    local p s=0 v
    for p in $(tree "$1"); do
        v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || true)
        s=$((s + ${v:-0}))
    done
    echo "$s"
}
HZ=$(getconf CLK_TCK)

# 407 lines (and all lines) Squid logged with a time stamp in [from, to].
count_407() { # log from to
    awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b { n++; split($3, s, "/"); if (s[2] == "407") d++ }
        END { printf "%d %d\n", d + 0, n + 0 }' "$1"
}
sq_log_of() { # proxy name -> the access.log of the Squid it talks to
    case $1 in squid) echo "$W/squid-noauth/access.log" ;; *) echo "$W/squid-$(scheme_of "$1")/access.log" ;; esac
}

# One row per cell and round; RESULTS, one row per cell (the rounds' medians), is made from it.
ROUND_ROWS=$W/rounds.tsv
RESULTS=$W/results.tsv
: > "$ROUND_ROWS"
CRASHES=0
run_cell() { # proxy mode clients
    local name=$1 mode=$2 n=$3 t0 from to out rss log d407 nlines timeout note="" c0 c1 cpuop
    local target="127.0.0.1:$HTTP_PORT"

    [ "$mode" = http ] || target="127.0.0.1:$HTTPS_PORT"
    timeout=$OP_TIMEOUT
    reset_peak "$CUR_PID"
    log=$(sq_log_of "$name")
    c0=$(cpu_ticks "$CUR_PID")
    t0=$EPOCHREALTIME
    local extra=()
    [ "$name" = squid-ntlm ] && extra=(--proxy-ntlm-fake)
    out=$("$LOADGEN" --proxy "127.0.0.1:${PPORT[$name]}" --mode "$mode" --target "$target" \
        --path /1k.bin --body 1024 --ca "$CA" --concurrency "$n" --warmup "$WARMUP" \
        --duration "$DURATION" --timeout "$timeout" "${extra[@]}" 2>"$W/loadgen.err") || out="ok=0 fail=0 rps=0 success=0 p50_ms=nan p99_ms=nan max_ms=nan cpu_pct=0 conns=0 errors=loadgen_failed"
    rss=$(peak_kib "$CUR_PID")
    c1=$(cpu_ticks "$CUR_PID")
    if ! kill -0 "$CUR_PID" 2>/dev/null; then
        note="crashed"
        CRASHES=$((CRASHES + 1))
        rss=nan
    fi
    sleep 0.5    # a CONNECT is logged when its tunnel closes
    from=$(awk -v t="$t0" -v w="$WARMUP" 'BEGIN { printf "%.3f", t + w }')
    to=$(awk -v t="$t0" -v w="$WARMUP" -v d="$DURATION" -v x="$timeout" 'BEGIN { printf "%.3f", t + w + d + x }')
    read -r d407 nlines < <(count_407 "$log" "$from" "$to")
    # shellcheck disable=SC2086
    local $out
    local per
    # Proxy CPU per successful operation over the whole run (warm-up included): robust
    # against a busy machine, unlike req/s.
    cpuop=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="${all_ok:-0}" 'BEGIN { if (n == 0 || b < a) print "nan"; else printf "%.3f", (b - a) * 1000 / hz / n }')
    # A proxy that died took its CPU time with it: not measured (a 0 would pull a median down).
    [ "$note" = crashed ] && cpuop=nan
    per=$(awk -v d="$d407" -v o="$ok" 'BEGIN { if (o == 0) print "nan"; else printf "%.3f", d / o }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$mode" "$n" "$rps" "$success" \
        "$p50_ms" "$p99_ms" "$rss" "$per" "$cpu_pct" "$conns" "$ok" "$errors${note:+ **$note**}" "$cpuop" >> "$ROUND_ROWS"
    say "$( [ "$ROUNDS" = 1 ] || echo "round $ROUND: ")$(printf '%-12s %-7s %5s clients: %8s req/s  %6s%% ok  p50 %7s ms  p99 %8s ms  RSS %6s KiB  407/req %s  proxy CPU/op %s ms  loadgen CPU %s%%  conns %s  errors %s' \
        "$name" "$mode" "$n" "$rps" "$success" "$p50_ms" "$p99_ms" "$rss" "$per" "$cpuop" "$cpu_pct" "$conns" "$errors")${note:+ ($note)}"
}

NCELLS=0
# squid-ntlm: tunnels only (the http cells' bound is Squid alone: one handshake per connection).
cell_wanted() { [ "$1" != squid-ntlm ] || [ "$2" != http ]; }
for p in $ONLY; do for m in $MODES; do cell_wanted "$p" "$m" || continue; for c in $CLIENTS; do NCELLS=$((NCELLS + 1)); done; done; done
case $ROUNDS in '' | *[!0-9]* | 0) die "--rounds wants a whole number ≥ 1, not '$ROUNDS'" ;; esac
say "$NCELLS cells of ${WARMUP} s warm-up + ${DURATION} s each$( [ "$ROUNDS" = 1 ] || echo ", $ROUNDS rounds")"
# Each cell gets a fresh proxy process (Squid's ceiling instance excepted): its peak RSS is that
# cell's, and a crash does not spill into the next cell. toll's remembered auth lives in its
# state dir and survives the restart, as it would for a user.
# Interleaved: for each load and client count, every proxy in turn, so that the cells a ratio
# compares ran within about a minute and a half of each other. Run one proxy's cells after
# another's, and a host that slows down for a few minutes (a shared VM does) moves the ratios
# by up to 2 × (bench/SERVE.md, run 16).
for p in $ONLY; do [ -n "${PPORT[$p]:-}" ] || die "unknown proxy $p (one of: ${!PPORT[*]})"; done
for m in $MODES; do
    for c in $CLIENTS; do
        for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
            for p in $ONLY; do
                cell_wanted "$p" "$m" || continue
                start_proxy "$p"
                run_cell "$p" "$m" "$c"
                stop_proxy "$p"
                sleep 1   # let closing connections finish before the next cell
            done
        done
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# One row per cell, in the order the cells first ran: the median of the rounds for req/s,
# latencies, 407s and CPU (of the rounds that measured it: nan only when none did); success is
# the worst round's, peak RSS the highest round's (nan if a round crashed), errors all rounds';
# column 15 lists each round's req/s.
awk -F'\t' -v OFS='\t' '
    function median(list,    v, n, i, j, t, m) {
        n = 0
        m = split(list, v, " ")
        for (i = 1; i <= m; i++) if (v[i] != "nan" && v[i] != "") a[++n] = v[i] + 0
        if (n == 0) return "nan"
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        k = $1 OFS $2 OFS $3
        if (!(k in seen)) { seen[k] = 1; order[++nk] = k; succ[k] = $5; rss[k] = $8; err[k] = $13; each[k] = $4 }
        else {
            each[k] = each[k] " / " $4
            if ($5 + 0 < succ[k] + 0) succ[k] = $5
            if ($8 == "nan" || rss[k] == "nan") rss[k] = "nan"; else if ($8 + 0 > rss[k] + 0) rss[k] = $8
            if ($13 != "-" && index(err[k], $13) == 0) err[k] = (err[k] == "-") ? $13 : err[k] "; " $13
        }
        for (i = 4; i <= 14; i++) col[k, i] = col[k, i] " " $i
    }
    END {
        for (x = 1; x <= nk; x++) {
            k = order[x]
            printf "%s", k
            for (i = 4; i <= 14; i++) {
                if (i == 5) v = succ[k]; else if (i == 8) v = rss[k]; else if (i == 13) v = err[k]
                else if (i == 11 || i == 12) v = sprintf("%d", median(col[k, i]))
                else { v = median(col[k, i]); if (v != "nan") v = sprintf(i == 4 ? "%.1f" : (i == 10 ? "%.1f" : (i == 6 || i == 7 ? "%.2f" : "%.3f")), v) }
                printf "%s%s", OFS, v
            }
            printf "%s%s\n", OFS, each[k]
        }
    }' "$ROUND_ROWS" > "$RESULTS"

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN { if (k == "nan") print "—"; else printf "%.1f", k / 1024 }'; }
get() { # proxy mode clients column(4=rps 5=success 6=p50 7=p99 8=rss 9=407/req)
    awk -F'\t' -v p="$1" -v m="$2" -v c="$3" -v k="$4" '$1 == p && $2 == m && $3 == c { print $k; f = 1 } END { if (!f) print "nan" }' "$RESULTS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b + 0 == 0) print "nan"; else printf "%.2f", a / b }'; }
cmp_met() { # value op limit
    awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { if (a == "nan") { print "—"; exit }
        ok = (op == ">=") ? (a + 0 >= b + 0) : (a + 0 <= b + 0); print ok ? "met" : "**not met**" }'
}
verdict() { # value op limit bound: cmp_met, and whether a zero-cost proxy (bound) would miss too
    local v; v=$(cmp_met "$1" "$2" "$3")
    if [ "$v" = "**not met**" ] && [ -n "$4" ] && [ "$(cmp_met "$4" "$2" "$3")" = "**not met**" ]; then
        v="$v (bound short of it too)"
    fi
    echo "$v"
}
modename() { case $1 in http) echo "http keep-alive GET" ;; connect) echo "CONNECT, read 200, close" ;; tls) echo "CONNECT + TLS + GET" ;; esac; }
label() {
    case $1 in
        squid) echo "Squid, no auth (ceiling)" ;;
        squid-ntlm) echo "Squid, NTLM, answered by the load generator (NTLM bound)" ;;
        toll-*) echo "toll serve, $(scheme_of "$1")" ;;
        tollmmap-*) echo "toll serve, $(scheme_of "$1"), MALLOC_MMAP_THRESHOLD_=131072" ;;
        px-*) echo "px, $(scheme_of "$1")" ;;
        cntlm-*) echo "cntlm, ntlm" ;;
    esac
}
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "## Results ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "- command: \`bench/serve.sh$( [ "$DURATION" = 4 ] && [ "$WARMUP" = 2 ] && [ "$OP_TIMEOUT" = 10 ] || echo " --warmup $WARMUP --duration $DURATION --timeout $OP_TIMEOUT")$( [ "$ONLY" = "$DEFAULT_ONLY" ] || echo " --only \"$ONLY\"")$( [ "$MODES" = "http connect tls" ] || echo " --modes \"$MODES\"")$( [ "$CLIENTS" = "10 100 1000" ] || echo " --clients \"$CLIENTS\"")$( [ "$ROUNDS" = 1 ] || echo " --rounds $ROUNDS")\`; $WARMUP s warm-up + $DURATION s measured per cell, 1 KiB bodies, per-operation timeout $OP_TIMEOUT s; cells interleaved (every proxy for one load and client count, then the next)$( [ "$ROUNDS" = 1 ] || echo "; each cell measured in $ROUNDS rounds, each round interleaved: every figure is the rounds' median, except success (the worst round's) and peak RSS (the highest); the last column has each round's req/s")"
    echo "- load average at start: $LOAD_START; at end: $LOAD_END; \`nproc\` = $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "- $("$TOLL" --version 2>&1 | head -n1) (commit $commit), px $("$PX_VENV/bin/pip" show px-proxy 2>/dev/null | awk '/^Version/ { print $2 }'), cntlm $(dpkg-query -W -f='${Version}' cntlm 2>/dev/null || echo '?'), $(squid -v | head -n1 | sed 's/ for .*//'), $(nginx -v 2>&1 | sed 's/nginx version: //')"
    echo
    if [ "$ROUNDS" = 1 ]; then
        echo "| proxy | load | clients | req/s | success | p50 ms | p99 ms | peak RSS MiB | upstream 407/req | proxy CPU ms/op | loadgen CPU | client conns | errors |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    else
        echo "| proxy | load | clients | req/s | success | p50 ms | p99 ms | peak RSS MiB | upstream 407/req | proxy CPU ms/op | loadgen CPU | client conns | errors | req/s of each round |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    fi
    # One proxy's cells together (they ran interleaved with the others').
    for p in $ONLY; do
        awk -F'\t' -v p="$p" '$1 == p' "$RESULTS"
    done | while IFS=$'\t' read -r name mode n rps success p50 p99 rss per cpu conns ok errors cpuop each; do
        echo "| $(label "$name") | $(modename "$mode") | $n | $rps | $success % | $p50 | $p99 | $(mib "$rss") | $per | $cpuop | $cpu % | $conns | $errors |$( [ "$ROUNDS" = 1 ] || echo " $each |")"
    done
    echo
    echo "### Goals (issue 13), NTLM upstream unless stated"
    echo
    echo "What a proxy costing nothing would reach, from this same run, is in the column \"zero-cost"
    echo "bound\": for requests/s, Squid alone (no authentication) ÷ the reference — for NTLM tunnels"
    echo "the NTLM Squid answered by the load generator itself (two CONNECTs a tunnel, no proxy in"
    echo "between), which is also the p99 bound; for Digest tunnels, one 407 per nonce_max_count"
    echo "($NONCE_MAX_COUNT) requests. Where the bound itself misses the goal, the verdict says so."
    echo
    echo "| goal | load | clients | toll | reference | ratio | zero-cost bound | |"
    echo "|---|---|---|---|---|---|---|---|"
    for m in $MODES; do
        for c in $CLIENTS; do
            t=$(get toll-ntlm "$m" "$c" 4) x=$(get px-ntlm "$m" "$c" 4) k=$(get cntlm-ntlm "$m" "$c" 4)
            # The bound for NTLM tunnels: Squid's own two requests per tunnel, nothing in between.
            q=$(get squid "$m" "$c" 4)
            [ "$m" = http ] || q=$(get squid-ntlm "$m" "$c" 4)
            r=$(ratio "$t" "$x") b=$(ratio "$q" "$x")
            echo "| req/s ≥ 5 × px | $(modename "$m") | $c | $t | px $x | $r | $b | $(verdict "$r" '>=' 5 "$b") |"
            r=$(ratio "$t" "$k") b=$(ratio "$q" "$k")
            echo "| req/s ≥ cntlm | $(modename "$m") | $c | $t | cntlm $k | $r | $b | $(verdict "$r" '>=' 1 "$b") |"
            t=$(get toll-ntlm "$m" "$c" 7) x=$(get squid "$m" "$c" 7) b=""
            [ "$m" = http ] || b=$(ratio "$(get squid-ntlm "$m" "$c" 7)" "$x")
            r=$(ratio "$t" "$x")
            echo "| p99 ≤ 2 × Squid's | $(modename "$m") | $c | $t ms | Squid $x ms | $r | $b | $(verdict "$r" '<=' 2 "$b") |"
        done
    done
    for sch in basic digest; do
        for m in $MODES; do
            for c in $CLIENTS; do
                t=$(get "toll-$sch" "$m" "$c" 4) x=$(get "px-$sch" "$m" "$c" 4) q=$(get squid "$m" "$c" 4)
                r=$(ratio "$t" "$x") b=$(ratio "$q" "$x")
                echo "| req/s ≥ 5 × px, $sch | $(modename "$m") | $c | $t | px $x | $r | $b | $(verdict "$r" '>=' 5 "$b") |"
            done
        done
    done
    for m in connect tls; do
        case " $MODES " in *" $m "*) ;; *) continue ;; esac
        case " $CLIENTS " in *" 1000 "*) ;; *) continue ;; esac
        s=$(get toll-ntlm "$m" 1000 5)
        echo "| 100 % success at 1,000 tunnels | $(modename "$m") | 1000 | $s % | | | | $(cmp_met "$s" '>=' 100) |"
        r=$(get toll-ntlm "$m" 1000 8); [ "$r" = nan ] || r=$(mib "$r")
        echo "| peak RSS ≤ 30 MiB at 1,000 tunnels | $(modename "$m") | 1000 | $r MiB | | | | $(cmp_met "$r" '<=' 30) |"
    done
    for p in toll-basic toll-digest; do
        for m in $MODES; do
            for c in $CLIENTS; do
                v=$(get "$p" "$m" "$c" 9) b=""
                # Digest tunnels: a nonce's last use cannot fetch the next one (see NONCE_MAX_COUNT).
                [ "$p" = toll-digest ] && [ "$m" != http ] && b=$(awk -v n="$NONCE_MAX_COUNT" 'BEGIN { printf "%.3f", 1 / n }')
                echo "| 0 upstream 407s per request after warm-up, $(scheme_of "$p") | $(modename "$m") | $c | $v | | | $b | $(verdict "$v" '<=' 0 "$b") |"
            done
        done
    done
    case " $MODES " in *" http "*)
        for c in $CLIENTS; do
            v=$(get toll-ntlm http "$c" 9)
            echo "| no NTLM handshake per keep-alive request (407/req ≈ 0) | http keep-alive GET | $c | $v | | | | $(cmp_met "$v" '<=' 0.01) |"
        done ;;
    esac
    echo
} > "$W/report.md"
cat "$W/report.md"
if [ -n "$INTO" ]; then
    # The section in FILE: a heading of its own, the report's headings one level down.
    {
        echo "<!-- serve:begin (written by bench/serve.sh --results; bench/run.sh keeps it) -->"
        echo "## 6. toll serve beside px and cntlm (bench/serve.sh; issue 13)"
        echo
        echo "Its own run, with its own time and load; bench/SERVE.md says how to read it and keeps earlier runs."
        echo
        sed 's/^## /### /; s/^### Goals/#### Goals/' "$W/report.md"
        echo "<!-- serve:end -->"
    } > "$W/section.md"
    touch "$INTO"
    awk -v sec="$W/section.md" '
        function put() { while ((getline l < sec) > 0) print l; done = 1 }
        /^<!-- serve:begin/ { put(); skip = 1; next }
        /^<!-- serve:end/ { skip = 0; next }
        !skip { print }
        END { if (!done) { print ""; put() } }' "$INTO" > "$INTO.tmp"
    mv "$INTO.tmp" "$INTO"
    say "report also in $INTO"
fi
say "done: $NCELLS cells$( [ "$ROUNDS" = 1 ] || echo " × $ROUNDS rounds"); raw results in $RESULTS$( [ "$KEEP" = 1 ] || echo ' (removed; --keep keeps them)')"
