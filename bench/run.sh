#!/usr/bin/env bash
# toll benchmark harness: toll vs curl through real Squid proxies (Basic and Digest) on loopback,
# against a local nginx origin (http and https). See bench/README.md.
#
#   bench/run.sh [--quick] [--only N,N] [--toll PATH] [--no-build] [--out FILE] [--keep]
#   bench/run.sh --serve     start the proxies and the origin, print how to use them, wait for Ctrl-C
#
# Writes bench/RESULTS.md (or --out FILE) and prints the same report on stdout; progress on stderr.
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
QUICK=0 KEEP=0 BUILD=1 SERVE=0 ONLY=""
OUT="$HERE/RESULTS.md"
TOLL=${TOLL:-}

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1 ;;
        --only) ONLY=$2; shift ;;
        --only=*) ONLY=${1#--only=} ;;
        --keep) KEEP=1 ;;
        --serve) SERVE=1 ;;
        --no-build) BUILD=0 ;;
        --toll) TOLL=$2; BUILD=0; shift ;;
        --toll=*) TOLL=${1#--toll=}; BUILD=0 ;;
        --out) OUT=$2; shift ;;
        --out=*) OUT=${1#--out=} ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

# --only 3,5 runs those sections only (1 407s per run, 2 small requests, 3 bulk, 4 start-up, 5 PAC).
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
if [ "$QUICK" = 1 ]; then
    MODE=quick REPEATS=2 SMALL_N=50 SMALL_RUNS=3 BULK_RUNS=2 START_RUNS=50
else
    MODE=full REPEATS=3 SMALL_N=50 SMALL_RUNS=10 BULK_RUNS=9 START_RUNS=300
fi

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------------------------
SQUID_LIB=/usr/lib/squid
declare -A PKG=(
    [squid]=squid [htpasswd]=apache2-utils [hyperfine]=hyperfine [curl]=curl [nginx]=nginx
    [openssl]=openssl [/usr/bin/time]=time [$SQUID_LIB/basic_ncsa_auth]=squid
    [$SQUID_LIB/digest_file_auth]=squid [$SQUID_LIB/ntlm_fake_auth]=squid [md5sum]=coreutils [awk]=gawk
)
missing_pkgs() {
    local c miss=()
    for c in "${!PKG[@]}"; do
        case $c in
            /*) [ -x "$c" ] || miss+=("${PKG[$c]}") ;;
            *) command -v "$c" >/dev/null 2>&1 || miss+=("${PKG[$c]}") ;;
        esac
    done
    [ ${#miss[@]} -eq 0 ] || printf '%s\n' "${miss[@]}" | sort -u | tr '\n' ' '
}
MISSING=$(missing_pkgs)
if [ -n "$MISSING" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing: $MISSING"
        # Debian starts squid (*:3128) and nginx (*:80) on install unless policy-rc.d forbids it.
        made_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
            made_policy=1
        fi
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $MISSING >&2 ||
            { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $MISSING >&2; } ||
            { [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get install $MISSING failed"; }
        if [ $made_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
        MISSING=$(missing_pkgs)
        [ -z "$MISSING" ] || die "still missing after install: $MISSING"
    else
        die "missing tools; install them with:  sudo apt-get install $MISSING"
    fi
fi

# ---------------------------------------------------------------------------------------------
# toll
# ---------------------------------------------------------------------------------------------
BUILT_HERE=0
if [ -z "$TOLL" ]; then
    BUILT_HERE=$BUILD
    TOLL="${CARGO_TARGET_DIR:-$REPO/target}/release/toll"
    if [ "$BUILD" = 1 ]; then
        say "cargo build --release"
        (cd "$REPO" && cargo build --release >&2) || die "cargo build --release failed"
    fi
fi
[ -x "$TOLL" ] || die "no toll binary at $TOLL (build it, or pass --toll PATH)"
TOLL=$(cd "$(dirname "$TOLL")" && pwd)/$(basename "$TOLL")
CURL=$(command -v curl)
"$TOLL" --version >/dev/null 2>&1 || die "$TOLL --version failed"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
unset LC_ALL
export LC_NUMERIC=C   # '.' in $EPOCHREALTIME and awk's numbers
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (\$EPOCHREALTIME)"

# Nothing from the caller's environment may steer either client.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY \
    TOLL_PROXY_USER TOLL_PROXY_PASSWORD TOLL_REMEMBER CURL_HOME SSL_CERT_FILE SSL_CERT_DIR || true

# ---------------------------------------------------------------------------------------------
# Work dir, cleanup
# ---------------------------------------------------------------------------------------------
W=$(mktemp -d /tmp/toll-bench.XXXXXX)
chmod 755 "$W"
export XDG_CONFIG_HOME="$W/config"   # no user config for toll (curl gets -q: no .curlrc)
mkdir -p "$XDG_CONFIG_HOME"
PIDS=()
cleanup() {
    local rc=$? p i alive
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for i in $(seq 1 80); do   # squid needs 2-3 s after SIGTERM
        alive=0
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$KEEP" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

USED_PORTS=" "
# Below the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768+ by default): a port
# there may be free to connect to and still be some client's local port, and bind() then fails.
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
    local p
    for _ in $(seq 1 500); do
        p=$((10000 + RANDOM % (EPHEMERAL_LOW > 12000 ? EPHEMERAL_LOW - 10000 : 20000)))
        case $USED_PORTS in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            USED_PORTS="$USED_PORTS$p "
            echo "$p"
            return
        fi
    done
    die "no free port found"
}
wait_port() { # port pid name log
    local i
    for i in $(seq 1 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { tail -n 20 "$4" >&2 || true; die "$3 exited during start-up"; }
        sleep 0.1
    done
    tail -n 20 "$4" >&2 || true
    die "$3 did not listen on 127.0.0.1:$1"
}

HTTP_PORT=$(free_port) HTTPS_PORT=$(free_port) BASIC_PORT=$(free_port) DIGEST_PORT=$(free_port)
NTLM_PORT=$(free_port)
PUSER=benchuser PPASS='bench:pässword'   # a ':' and UTF-8 in the password, as real ones have
REALM=toll-bench

# ---------------------------------------------------------------------------------------------
# Origin: nginx, static files over http and https, POST /upload reads and drops the whole body
# ---------------------------------------------------------------------------------------------
say "work dir $W; making certificates and test files"
mkdir -p "$W/tls" "$W/www" "$W/nginx/tmp" "$W/dl"
(
    cd "$W/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
        -out ca.pem -days 3 -subj "/CN=toll-bench CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key \
        -out leaf.csr -subj "/CN=127.0.0.1"
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
        extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost > leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 \
        -extfile leaf.ext -out leaf.pem
) >/dev/null 2>&1 || die "openssl failed"
chmod 644 "$W"/tls/*
CA="$W/tls/ca.pem"
head -c 1024 /dev/urandom > "$W/www/1k.bin"
head -c $((1024 * 1024)) /dev/urandom > "$W/www/1m.bin"
head -c $((200 * 1024 * 1024)) /dev/urandom > "$W/www/200m.bin"
UPLOAD_FILE="$W/up100m.bin"
UPLOAD_SIZE=$((100 * 1024 * 1024))
head -c $UPLOAD_SIZE /dev/urandom > "$UPLOAD_FILE"

NGX_USER_LINE=""
if [ "$(id -u)" = 0 ]; then
    NGX_USER=www-data; id "$NGX_USER" >/dev/null 2>&1 || NGX_USER=nobody
    NGX_USER_LINE="user $NGX_USER;"
    chown -R "$NGX_USER" "$W/nginx/tmp"
fi
cat > "$W/nginx/nginx.conf" <<EOF
$NGX_USER_LINE
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    log_format bench '\$request_method \$uri \$status \$request_length \$bytes_sent';
    access_log $W/nginx/access.log bench;
    client_body_temp_path $W/nginx/tmp/body;
    proxy_temp_path $W/nginx/tmp/proxy;
    fastcgi_temp_path $W/nginx/tmp/fastcgi;
    uwsgi_temp_path $W/nginx/tmp/uwsgi;
    scgi_temp_path $W/nginx/tmp/scgi;
    types { application/octet-stream bin; }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$HTTP_PORT;
        listen 127.0.0.1:$HTTPS_PORT ssl;
        ssl_certificate $W/tls/leaf.pem;
        ssl_certificate_key $W/tls/leaf.key;
        root $W/www;
        location / { }
        # 'return' would answer before the body is read; proxying with request buffering reads
        # the whole body first (checked below from \$request_length), then drops it.
        location = /upload {
            client_max_body_size 0;
            client_body_buffer_size 4m;
            proxy_request_buffering on;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_pass http://127.0.0.1:$HTTP_PORT/sink;
        }
        location = /sink { access_log off; return 204; }
        # The PAC of section 5, cacheable for an hour as a PAC server would serve it.
        location ~ \.pac\$ { types { application/x-ns-proxy-autoconfig pac; } expires 1h; }
    }
}
EOF
nginx -t -q -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>"$W/nginx/test.log" ||
    { cat "$W/nginx/test.log" >&2; die "nginx -t failed"; }
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>>"$W/nginx/error.log" &
PIDS+=($!)
wait_port "$HTTP_PORT" "${PIDS[-1]}" nginx "$W/nginx/error.log"
wait_port "$HTTPS_PORT" "${PIDS[-1]}" nginx "$W/nginx/error.log"
HTTP_URL="http://127.0.0.1:$HTTP_PORT"
HTTPS_URL="https://127.0.0.1:$HTTPS_PORT"

# ---------------------------------------------------------------------------------------------
# Squid: one instance per scheme
# ---------------------------------------------------------------------------------------------
start_squid() { # name port
    local name=$1 port=$2 d="$W/squid-$1" auth
    mkdir -p "$d"
    if [ "$name" = basic ]; then
        htpasswd -b -c -m "$d/passwd" "$PUSER" "$PPASS" >/dev/null 2>&1
        auth="auth_param basic program $SQUID_LIB/basic_ncsa_auth $d/passwd
auth_param basic realm $REALM
auth_param basic children 5"
    elif [ "$name" = ntlm ]; then
        # ntlm_fake_auth runs the whole NTLM exchange (type 1 → 407 with a type 2 → type 3) but
        # accepts any password: enough to count round trips, which is what this proxy is for.
        auth="auth_param ntlm program $SQUID_LIB/ntlm_fake_auth
auth_param ntlm children 5 startup=1 idle=1
auth_param ntlm keep_alive on"
    else
        printf '%s:%s:%s\n' "$PUSER" "$REALM" \
            "$(printf '%s:%s:%s' "$PUSER" "$REALM" "$PPASS" | md5sum | cut -d' ' -f1)" > "$d/passwd"
        # Squid's defaults are kept: nonce_max_count 50, nonce_max_duration 30 minutes.
        auth="auth_param digest program $SQUID_LIB/digest_file_auth -c $d/passwd
auth_param digest realm $REALM
auth_param digest children 5"
    fi
    cat > "$d/squid.conf" <<EOF
http_port 127.0.0.1:$port
visible_hostname toll-bench-$name
pid_filename $d/squid.pid
cache_log $d/cache.log
coredump_dir $d
logformat bench %ts.%03tu %>a %Ss/%03>Hs %<st %>st %rm %ru %un
access_log stdio:$d/access.log logformat=bench
buffered_logs off
logfile_rotate 0
cache deny all
cache_mem 8 MB
pinger_enable off
netdb_filename none
dns_nameservers 127.0.0.1
shutdown_lifetime 1 second
# Squid 5 Bug 5405: a fast upload that fills the request buffer (default 512 KB) is cut off
# (TCP_MISS_ABORTED, client sees EPIPE); fixed in Squid 6. A larger buffer avoids it here.
client_request_buffer_max_size 4 MB
$auth
acl bench_users proxy_auth REQUIRED
acl CONNECT method CONNECT
acl tls_origin port $HTTPS_PORT
http_access deny CONNECT !tls_origin
http_access allow bench_users
http_access deny all
EOF
    : > "$d/access.log"
    if [ "$(id -u)" = 0 ]; then chown -R proxy:proxy "$d"; fi
    squid -N -f "$d/squid.conf" -n "tollbench${name}$$" >"$d/stdout.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port" "${PIDS[-1]}" "squid ($name)" "$d/cache.log"
}
say "starting squid (basic :$BASIC_PORT, digest :$DIGEST_PORT, ntlm :$NTLM_PORT), nginx (:$HTTP_PORT, :$HTTPS_PORT)"
start_squid basic "$BASIC_PORT"
start_squid digest "$DIGEST_PORT"
start_squid ntlm "$NTLM_PORT"

if [ "$SERVE" = 1 ]; then
    cat >&2 <<EOF
bench: serving until Ctrl-C (work dir $W)
  origin:  $HTTP_URL/{1k,1m,200m}.bin   $HTTPS_URL/...  (CA: $W/tls/ca.pem)   POST /upload
  proxies: http://127.0.0.1:$BASIC_PORT (Basic)   http://127.0.0.1:$DIGEST_PORT (Digest)   http://127.0.0.1:$NTLM_PORT (NTLM, any password)
  user:    -U '$PUSER:$PPASS'
  logs:    $W/squid-basic/access.log  $W/squid-digest/access.log  $W/squid-ntlm/access.log  $W/nginx/access.log
  e.g.     $TOLL -x http://127.0.0.1:$DIGEST_PORT -U '$PUSER:$PPASS' --cacert $W/tls/ca.pem $HTTPS_URL/1k.bin | wc -c
EOF
    while :; do sleep 1; done
fi

declare -A PPORT=([basic]=$BASIC_PORT [digest]=$DIGEST_PORT [ntlm]=$NTLM_PORT)
declare -A BASE=([http]=$HTTP_URL [https]=$HTTPS_URL)
alog() { echo "$W/squid-$1/access.log"; }

# Command lines (arrays). Same flags for both tools; -q keeps ~/.curlrc out.
toll_cmd() { # proxy -> prints nothing; sets CMD
    CMD=("$TOLL" -fsS -x "http://127.0.0.1:${PPORT[$1]}" -U "$PUSER:$PPASS" --proxy-anyauth --cacert "$CA")
}
curl_cmd() {
    CMD=("$CURL" -q -fsS -x "http://127.0.0.1:${PPORT[$1]}" -U "$PUSER:$PPASS" --proxy-anyauth --cacert "$CA")
}
shq() { local a out=""; for a in "$@"; do out+=" $(printf '%q' "$a")"; done; echo "${out# }"; }

lines() { wc -l < "$1" | tr -d ' '; }
# Wait until Squid has logged everything (a CONNECT is logged when its tunnel closes).
settle() {
    local log=$1 a b
    sleep 0.25
    a=$(lines "$log")
    for _ in $(seq 1 30); do
        sleep 0.25
        b=$(lines "$log")
        [ "$a" = "$b" ] && return 0
        a=$b
    done
}
# Count 407 / 200 / other lines in the access log after line $2.
count_since() {
    tail -n +"$(($2 + 1))" "$1" | awk '{ split($3, s, "/"); if (s[2] == "407") d++; else if (s[2] == "200") o++; else x++ }
        END { printf "%d %d %d\n", d, o, x }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "nan"; else printf "%.2f\n", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "nan" && a + 0 <= b + 0) }'; }
metstr() { if le "$1" "$2"; then echo met; else echo "**not met**"; fi; }

REPORT="$W/report.md"
TARGETS="$W/targets.md"   # rows of the summary table
: > "$TARGETS"
target_row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@" >> "$TARGETS"; }
ERRORS="$W/errors.txt"
: > "$ERRORS"

run_checked() { # label cmd... : run once, output to /dev/null; record a failure
    local label=$1; shift
    local rc=0
    "$@" >/dev/null 2>"$W/last.err" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "$label: exit $rc: $(head -c 300 "$W/last.err" | tr '\n' ' ')" >> "$ERRORS"
        say "FAILED: $label (exit $rc)"
        return 1
    fi
}

# Helpers shared by the sections.
cat > "$W/loop.sh" <<'EOF'
#!/bin/sh
# loop.sh N cmd... : run cmd N times in sequence, stdout to /dev/null; stop at the first failure.
n=$1; shift
i=0
while [ "$i" -lt "$n" ]; do
    "$@" >/dev/null || exit 1
    i=$((i + 1))
done
EOF
chmod 755 "$W/loop.sh"
cat > "$W/then-sync.sh" <<'EOF'
#!/bin/sh
# then-sync.sh FILE cmd... : run cmd, then fsync FILE (coreutils sync with a file argument).
f=$1; shift
"$@" && sync "$f"
EOF
chmod 755 "$W/then-sync.sh"
ms() { awk -v s="$1" 'BEGIN { if (s == "nan") print "—"; else printf "%.0f ms", s * 1000 }'; }
hf_median() { # csv -> median seconds of its only command
    awk -F, 'NR == 2 { print $4 }' "$1"
}

# ---------------------------------------------------------------------------------------------
# 1. Proxy requests per invocation
# ---------------------------------------------------------------------------------------------
if want 1; then
say "1/5 proxy requests per invocation (first run + $REPEATS repeats)"
{
    echo "## 1. Proxy requests per invocation"
    echo
    echo "407 and 200 lines added to Squid's access.log by one invocation (GET of a 1 KiB file)."
    echo "\`first\` runs with an empty \`XDG_STATE_HOME\`; the repeats follow it with the same state dir."
    echo
    echo "| proxy | target | client | first run 407 / 200 | repeat runs 407 / 200 | target |"
    echo "|---|---|---|---|---|---|"
} >> "$REPORT"
for proxy in basic digest; do
    for t in http https; do
        declare -A REP=()
        for client in toll toll-nomem curl; do
            state="$W/state/count-$proxy-$t-$client"
            mkdir -p "$state"
            if [ "$client" = curl ]; then curl_cmd "$proxy"; else toll_cmd "$proxy"; fi
            envs=(env XDG_STATE_HOME="$state")
            if [ "$client" = toll-nomem ]; then envs+=(TOLL_REMEMBER=0); fi
            first="" reps=() rep407=0
            for i in $(seq 0 "$REPEATS"); do
                log=$(alog "$proxy")
                n=$(lines "$log")
                run_checked "count $proxy $t $client run $i" "${envs[@]}" "${CMD[@]}" "${BASE[$t]}/1k.bin" || true
                settle "$log"
                read -r d o x < <(count_since "$log" "$n")
                cell="$d / $o"
                if [ "$x" != 0 ]; then cell="$cell (+$x other)"; fi
                if [ "$i" = 0 ]; then first=$cell; else reps+=("$cell"); rep407=$((rep407 + d)); fi
            done
            rep=$(printf '%s, ' "${reps[@]}"); rep=${rep%, }
            REP[$client]=$rep
            case $client in
                toll) label="toll (remembered auth)"; tgt="0 × 407 on repeats"
                    if [ "$rep407" = 0 ]; then tgt="$tgt (met)"; else tgt="$tgt (**not met**)"; fi
                    TOLL_REP407=$rep407 ;;
                toll-nomem) label="toll, TOLL_REMEMBER=0"; tgt="like curl" ;;
                curl) label="curl --proxy-anyauth"; tgt="—" ;;
            esac
            echo "| $proxy | $t | $label | $first | $rep | $tgt |" >> "$REPORT"
        done
        met=met
        if [ "$TOLL_REP407" != 0 ]; then met="**not met**"; fi
        target_row "repeat runs, $proxy, $t target: 407 / 200 per run" "${REP[toll]}" "${REP[curl]}" "—" "0 × 407" "$met"
        unset REP
    done
done
# NTLM (issue 10): one 407 (the type 2) per run when the scheme is known: --proxy-ntlm, or
# remembered from an earlier run. curl --proxy-ntlm is the reference; NTLM is connection-bound,
# so every run pays that one 407.
for t in http https; do
    declare -A REP=()
    for client in toll-ntlm toll curl-ntlm; do
        state="$W/state/count-ntlm-$t-$client"
        mkdir -p "$state"
        case $client in
            curl-ntlm) CMD=("$CURL" -q -fsS -x "http://127.0.0.1:$NTLM_PORT" -U "$PUSER:$PPASS" --proxy-ntlm --cacert "$CA") ;;
            toll-ntlm) CMD=("$TOLL" -fsS -x "http://127.0.0.1:$NTLM_PORT" -U "$PUSER:$PPASS" --proxy-ntlm --cacert "$CA") ;;
            toll) toll_cmd ntlm ;;
        esac
        first="" reps=() rep407=0 first407=0
        for i in $(seq 0 "$REPEATS"); do
            log=$(alog ntlm)
            n=$(lines "$log")
            run_checked "count ntlm $t $client run $i" env XDG_STATE_HOME="$state" "${CMD[@]}" "${BASE[$t]}/1k.bin" || true
            settle "$log"
            read -r d o x < <(count_since "$log" "$n")
            cell="$d / $o"
            if [ "$x" != 0 ]; then cell="$cell (+$x other)"; fi
            if [ "$i" = 0 ]; then first=$cell first407=$d; else reps+=("$cell"); rep407=$((rep407 + d)); fi
        done
        rep=$(printf '%s, ' "${reps[@]}"); rep=${rep%, }
        case $client in
            toll-ntlm) label="toll --proxy-ntlm"; want=$((REPEATS + 1)); got=$((first407 + rep407))
                REP[toll-ntlm]="$first; $rep" ;;
            toll) label="toll --proxy-anyauth (remembered)"; want=$REPEATS; got=$rep407 REP[toll]=$rep ;;
            curl-ntlm) label="curl --proxy-ntlm"; REP[curl]="$first; $rep" ;;
        esac
        tgt="—"
        if [ "$client" != curl-ntlm ]; then
            tgt="1 × 407 per run"
            if [ "$got" = "$want" ]; then tgt="$tgt (met)"; else tgt="$tgt (**not met**)"; fi
            eval "NTLM_MET_${client//-/_}=$([ "$got" = "$want" ] && echo met || echo '**not met**')"
        fi
        echo "| ntlm | $t | $label | $first | $rep | $tgt |" >> "$REPORT"
    done
    target_row "NTLM, $t target, --proxy-ntlm: 407 / 200 (first; repeats)" "${REP[toll-ntlm]}" "${REP[curl]}" "—" "1 × 407 per run" "$NTLM_MET_toll_ntlm"
    target_row "NTLM, $t target, remembered repeat runs: 407 / 200" "${REP[toll]}" "${REP[curl]}" "—" "1 × 407 per run" "$NTLM_MET_toll"
    unset REP
done
echo >> "$REPORT"
fi # section 1

# ---------------------------------------------------------------------------------------------
# 2. 50 sequential small requests
# ---------------------------------------------------------------------------------------------
if want 2; then
say "2/5 $SMALL_N sequential 1 KiB requests (hyperfine, $SMALL_RUNS runs each)"
{
    echo "## 2. $SMALL_N sequential small requests"
    echo
    echo "Wall time of $SMALL_N sequential invocations, each fetching a 1 KiB file (hyperfine,"
    echo "1 warm-up + $SMALL_RUNS runs; medians). toll keeps its remembered auth between invocations"
    echo "(state primed by the warm-up); curl uses \`--proxy-anyauth\`. \`407/inv\` is the 407 lines"
    echo "Squid logged per invocation during the timed runs."
    echo
    echo "| proxy | target | toll median | curl median | toll/curl | toll 407/inv | curl 407/inv | target | |"
    echo "|---|---|---|---|---|---|---|---|---|"
} >> "$REPORT"
for proxy in basic digest; do
    for t in http https; do
        declare -A MED=() P407=()
        for tool in toll curl; do
            state="$W/state/small-$proxy-$t"
            mkdir -p "$state"
            if [ "$tool" = curl ]; then curl_cmd "$proxy"; else toll_cmd "$proxy"; fi
            url="${BASE[$t]}/1k.bin"
            MED[$tool]=nan P407[$tool]=nan
            run_checked "small $proxy $t $tool" env XDG_STATE_HOME="$state" "${CMD[@]}" "$url" || continue
            cmdline="XDG_STATE_HOME=$(printf '%q' "$state") $(shq "$W/loop.sh" "$SMALL_N" "${CMD[@]}" "$url")"
            log=$(alog "$proxy")
            settle "$log"
            n=$(lines "$log")
            if hyperfine --style none -S bash --warmup 1 --runs "$SMALL_RUNS" -n "$tool" \
                --export-csv "$W/hf.csv" "$cmdline" >"$W/hf.out" 2>&1; then
                MED[$tool]=$(hf_median "$W/hf.csv")
                settle "$log"
                read -r d o x < <(count_since "$log" "$n")
                P407[$tool]=$(awk -v d="$d" -v n=$(((SMALL_RUNS + 1) * SMALL_N)) 'BEGIN { printf "%.2f", d / n }')
            else
                echo "small $proxy $t $tool: hyperfine failed: $(tail -c 300 "$W/hf.out" | tr '\n' ' ')" >> "$ERRORS"
            fi
        done
        r=$(ratio "${MED[toll]}" "${MED[curl]}")
        echo "| $proxy | $t | $(ms "${MED[toll]}") | $(ms "${MED[curl]}") | $r | ${P407[toll]} | ${P407[curl]} | ≤ 1.00 | $(metstr "$r" 1.00) |" >> "$REPORT"
        target_row "$SMALL_N small requests, $proxy, $t" "$(ms "${MED[toll]}")" "$(ms "${MED[curl]}")" "$r" "≤ 1.00" "$(metstr "$r" 1.00)"
        unset MED P407
    done
done
echo >> "$REPORT"
fi # section 2

# ---------------------------------------------------------------------------------------------
# 3. Bulk transfers: wall time and peak RSS (/usr/bin/time), through the Basic proxy
# ---------------------------------------------------------------------------------------------
if want 3; then
say "3/5 bulk transfers through the Basic proxy ($BULK_RUNS runs each, toll and curl alternating)"
BULK_STATE="$W/state/bulk"
mkdir -p "$BULK_STATE"
# One timed run: prints "seconds max_rss_kib", or "fail". Wall time from bash's clock (µs; it
# includes starting /usr/bin/time, the same for both tools), peak RSS from /usr/bin/time.
timed() { # outfile cmd...
    local out=$1 t0 t1; shift
    t0=$EPOCHREALTIME
    if env XDG_STATE_HOME="$BULK_STATE" /usr/bin/time -f '%M' -o "$W/time.out" "$@" >"$out" 2>"$W/last.err"; then
        t1=$EPOCHREALTIME
        echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }') $(tail -n 1 "$W/time.out")"
    else
        echo "fail"
    fi
}
declare -A WALL=() RSS=()
bulk() { # key tool runs cmd... (the last word is the URL or data; output to /dev/null unless -o given)
    local key=$1 tool=$2 runs=$3; shift 3
    local i res
    for i in $(seq 1 "$runs"); do
        res=$(timed /dev/null "$@")
        if [ "$res" = fail ]; then
            echo "$key $tool run $i: failed: $(head -c 300 "$W/last.err" | tr '\n' ' ')" >> "$ERRORS"
            say "FAILED: $key $tool"
            continue
        fi
        echo "${res% *}" >> "$W/bulk-$key-$tool.wall"
        echo "${res#* }" >> "$W/bulk-$key-$tool.rss"
        rm -f "$W/dl/out.bin"
    done
}
bulk_summary() { # key tool
    local w="$W/bulk-$1-$2.wall" r="$W/bulk-$1-$2.rss"
    WALL[$1-$2]=$( [ -s "$w" ] && median < "$w" || echo nan)
    RSS[$1-$2]=$( [ -s "$r" ] && median < "$r" || echo nan)
}
# Correctness first (and a warm-up): the 200 MiB file arrives intact through both tools.
INTEGRITY=""
for t in http https; do
    for tool in toll curl; do
        if [ "$tool" = curl ]; then curl_cmd basic; else toll_cmd basic; fi
        rm -f "$W/dl/check.bin"
        if env XDG_STATE_HOME="$BULK_STATE" "${CMD[@]}" -o "$W/dl/check.bin" "${BASE[$t]}/200m.bin" 2>"$W/last.err" &&
            cmp -s "$W/dl/check.bin" "$W/www/200m.bin"; then
            INTEGRITY+="$tool $t: intact; "
        else
            INTEGRITY+="$tool $t: **BROKEN**; "
            echo "integrity $tool $t: $(head -c 300 "$W/last.err" | tr '\n' ' ')" >> "$ERRORS"
        fi
        rm -f "$W/dl/check.bin"
    done
done
for i in $(seq 1 "$BULK_RUNS"); do
    for tool in toll curl; do
        if [ "$tool" = curl ]; then curl_cmd basic; else toll_cmd basic; fi
        for t in http https; do
            bulk "dl200-$t" "$tool" 1 "${CMD[@]}" "${BASE[$t]}/200m.bin"
            bulk "dl1-$t" "$tool" 1 "${CMD[@]}" "${BASE[$t]}/1m.bin"
            bulk "up100-$t" "$tool" 1 "${CMD[@]}" --data-binary "@$UPLOAD_FILE" "${BASE[$t]}/upload"
        done
        bulk "dl200file-http" "$tool" 1 "${CMD[@]}" -o "$W/dl/out.bin" "$HTTP_URL/200m.bin"
        bulk "dl200file-https" "$tool" 1 "${CMD[@]}" -o "$W/dl/out.bin" "$HTTPS_URL/200m.bin"
        if [ "$tool" = curl ]; then curl_cmd digest; else toll_cmd digest; fi
        bulk "dl200digest-https" "$tool" 1 "${CMD[@]}" "$HTTPS_URL/200m.bin"
    done
    # toll fsyncs a finished -o file before renaming it into place; curl does not. The same
    # curl download followed by coreutils' `sync FILE` (fsync of that file) prices that apart.
    curl_cmd basic
    bulk "dl200file-http" curl-sync 1 "$W/then-sync.sh" "$W/dl/out.bin" "${CMD[@]}" -o "$W/dl/out.bin" "$HTTP_URL/200m.bin"
    bulk "dl200file-https" curl-sync 1 "$W/then-sync.sh" "$W/dl/out.bin" "${CMD[@]}" -o "$W/dl/out.bin" "$HTTPS_URL/200m.bin"
    curl_cmd basic
    for t in http https; do
        bulk "up100-$t" curl-T 1 "${CMD[@]}" -X POST -T "$UPLOAD_FILE" "${BASE[$t]}/upload"
    done
done
for k in dl200-http dl200-https dl1-http dl1-https up100-http up100-https dl200file-http dl200file-https dl200digest-https; do
    for tool in toll curl; do bulk_summary "$k" "$tool"; done
done
for t in http https; do bulk_summary "up100-$t" curl-T; done
for t in http https; do bulk_summary "dl200file-$t" curl-sync; done
# Did the origin get every upload whole?
UPLOADS_FULL=$(awk -v s=$UPLOAD_SIZE '$2 == "/upload" && $3 < 300 && $4 >= s { n++ } END { print n + 0 }' "$W/nginx/access.log")
UPLOADS_ALL=$(awk '$2 == "/upload" && $3 < 300 { n++ } END { print n + 0 }' "$W/nginx/access.log")

sec() { awk -v s="$1" 'BEGIN { if (s == "nan") print "—"; else if (s < 0.1) printf "%.1f ms", s * 1000; else printf "%.3f s", s }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "nan") print "—"; else printf "%.1f MiB", k / 1024 }'; }
rss_mib() { awk -v k="$1" 'BEGIN { if (k == "nan") print "nan"; else print k / 1024 }'; }
{
    echo "## 3. Bulk transfers (through the Basic proxy)"
    echo
    echo "Medians of $BULK_RUNS runs, toll and curl alternating; wall time from bash's \`\$EPOCHREALTIME\` around"
    echo "\`/usr/bin/time -f %M\` (peak RSS)."
    echo "Body to stdout redirected to /dev/null unless \`-o\` is shown. Uploads: \`--data-binary @file\`"
    echo "(curl reads that file into memory; \`curl -T file -X POST\` is curl's streaming upload)."
    echo
    echo "| transfer | toll wall | curl wall | toll/curl | toll peak RSS | curl peak RSS |"
    echo "|---|---|---|---|---|---|"
    for row in "dl200-http|200 MiB download, http" "dl200-https|200 MiB download, https" \
        "dl200digest-https|200 MiB download, https, Digest proxy" \
        "dl200file-http|200 MiB download, http, -o FILE" "dl200file-https|200 MiB download, https, -o FILE" \
        "dl1-http|1 MiB download, http" "dl1-https|1 MiB download, https" \
        "up100-http|100 MiB upload, http" "up100-https|100 MiB upload, https"; do
        k=${row%%|*} label=${row#*|}
        echo "| $label | $(sec "${WALL[$k-toll]}") | $(sec "${WALL[$k-curl]}") | $(ratio "${WALL[$k-toll]}" "${WALL[$k-curl]}") | $(mib "${RSS[$k-toll]}") | $(mib "${RSS[$k-curl]}") |"
    done
    for t in http https; do
        k=up100-$t
        echo "| 100 MiB upload, $t, vs \`curl -T\` | $(sec "${WALL[$k-toll]}") | $(sec "${WALL[$k-curl-T]}") | $(ratio "${WALL[$k-toll]}" "${WALL[$k-curl-T]}") | $(mib "${RSS[$k-toll]}") | $(mib "${RSS[$k-curl-T]}") |"
    done
    for t in http https; do
        k=dl200file-$t
        echo "| 200 MiB download, $t, -o FILE, vs \`curl -o FILE && sync FILE\` | $(sec "${WALL[$k-toll]}") | $(sec "${WALL[$k-curl-sync]}") | $(ratio "${WALL[$k-toll]}" "${WALL[$k-curl-sync]}") | $(mib "${RSS[$k-toll]}") | $(mib "${RSS[$k-curl-sync]}") |"
    done
    echo
    echo "toll fsyncs a finished \`-o\` file before renaming it into place (nothing half-written survives"
    echo "a crash); curl does not. The last two rows price that: curl followed by coreutils' \`sync FILE\`."
    echo "All bulk rows go through the Basic proxy except the Digest one."
    echo
    echo "Integrity (200 MiB with \`-o\`, compared with \`cmp\`): ${INTEGRITY%; }."
    echo "Origin received the whole 100 MiB body in $UPLOADS_FULL of $UPLOADS_ALL successful uploads."
    echo
} >> "$REPORT"
# Wall-time targets: issue 5 (≤ 1.05 over http), issue 10 (≤ 1.00 over https, also with -o).
for row in "dl200-http|200 MiB download, http|1.05" "dl200file-http|200 MiB download, http, -o FILE|1.05" \
    "dl200-https|200 MiB download, https, Basic|1.00" "dl200digest-https|200 MiB download, https, Digest|1.00" \
    "dl200file-https|200 MiB download, https, -o FILE (toll fsyncs)|1.00"; do
    k=${row%%|*} rest=${row#*|}; label=${rest%|*} lim=${rest##*|}
    r=$(ratio "${WALL[$k-toll]}" "${WALL[$k-curl]}")
    target_row "$label: wall" "$(sec "${WALL[$k-toll]}")" "$(sec "${WALL[$k-curl]}")" "$r" "≤ $lim" "$(metstr "$r" "$lim")"
done
for t in http https; do
    big=$(rss_mib "${RSS[dl200-$t-toll]}") small=$(rss_mib "${RSS[dl1-$t-toll]}")
    target_row "200 MiB download, $t: toll peak RSS" "$(mib "${RSS[dl200-$t-toll]}")" "$(mib "${RSS[dl200-$t-curl]}")" "—" "≤ 20 MiB" "$(metstr "$big" 20)"
    flat=$(ratio "$big" "$small")
    target_row "toll peak RSS 200 MiB / 1 MiB, $t" "$(mib "${RSS[dl200-$t-toll]}") / $(mib "${RSS[dl1-$t-toll]}")" "" "$flat" "≤ 1.05" "$(metstr "$flat" 1.05)"
done
for t in http https; do
    r=$(ratio "${WALL[up100-$t-toll]}" "${WALL[up100-$t-curl]}")
    target_row "100 MiB upload, $t: wall (no target set)" "$(sec "${WALL[up100-$t-toll]}")" "$(sec "${WALL[up100-$t-curl]}")" "$r" "—" "—"
    target_row "100 MiB upload, $t: toll peak RSS (streaming)" "$(mib "${RSS[up100-$t-toll]}")" "$(mib "${RSS[up100-$t-curl]}")" "—" "≤ 20 MiB" "$(metstr "$(rss_mib "${RSS[up100-$t-toll]}")" 20)"
done
fi # section 3

# ---------------------------------------------------------------------------------------------
# 4. Start-up
# ---------------------------------------------------------------------------------------------
if want 4; then
say "4/5 --version start-up ($START_RUNS runs each)"
declare -A SMED=()
for tool in toll curl; do
    bin=$TOLL; [ "$tool" = curl ] && bin=$CURL
    if hyperfine --style none -N --warmup 20 --runs "$START_RUNS" -n "$tool" --export-csv "$W/hf.csv" \
        "$(shq "$bin" --version)" >"$W/hf.out" 2>&1; then
        SMED[$tool]=$(hf_median "$W/hf.csv")
    else
        SMED[$tool]=nan
        echo "startup $tool: hyperfine failed: $(tail -c 300 "$W/hf.out" | tr '\n' ' ')" >> "$ERRORS"
    fi
done
msf() { awk -v s="$1" 'BEGIN { if (s == "nan") print "—"; else printf "%.2f ms", s * 1000 }'; }
r=$(ratio "${SMED[toll]}" "${SMED[curl]}")
{
    echo "## 4. Start-up"
    echo
    echo "\`--version\`, hyperfine -N (no shell), 20 warm-ups + $START_RUNS runs; medians."
    echo
    echo "| toll | curl | toll/curl | target | |"
    echo "|---|---|---|---|---|"
    echo "| $(msf "${SMED[toll]}") | $(msf "${SMED[curl]}") | $r | ≤ 1.20 | $(metstr "$r" 1.20) |"
    echo
} >> "$REPORT"
target_row "start-up (--version)" "$(msf "${SMED[toll]}")" "$(msf "${SMED[curl]}")" "$r" "≤ 1.20" "$(metstr "$r" 1.20)"
fi # section 4

# ---------------------------------------------------------------------------------------------
# 5. PAC: a transfer routed by a cached 100 KB PAC against the same transfer with -x (issue 12)
# ---------------------------------------------------------------------------------------------
if want 5; then
say "5/5 a cached 100 KB PAC against -x ($SMALL_N sequential requests, hyperfine, $SMALL_RUNS runs)"
# 1,000 rules that do not match (as bench/pac.sh), then the Basic proxy: the slowest answer.
python3 - "$W/www/100kb.pac" "$BASIC_PORT" <<'PY'
import sys
path, port = sys.argv[1], sys.argv[2]
with open(path, "w") as f:
    f.write("// generated: 1000 rules\nfunction FindProxyForURL(url, host) {\n")
    for i in range(1000):
        f.write('  if (shExpMatch(host, "*.dept-%d.example.com") || dnsDomainIs(host, ".old-%d.example.com")) '
                'return "PROXY p%d.corp:8080";\n' % (i, i, i))
    f.write('  return "PROXY 127.0.0.1:%s";\n}\n' % port)
PY
PAC_URL="$HTTP_URL/100kb.pac"
PAC_STATE="$W/state/pac"
mkdir -p "$PAC_STATE" "$W/cache-pac"
declare -A PMED=()
for how in x pac; do
    if [ "$how" = x ]; then
        CMD=("$TOLL" -fsS -x "http://127.0.0.1:$BASIC_PORT" -U "$PUSER:$PPASS" --cacert "$CA")
    else
        CMD=("$TOLL" -fsS --pac "$PAC_URL" -U "$PUSER:$PPASS" --cacert "$CA")
    fi
    url="$HTTP_URL/1k.bin"
    PMED[$how]=nan
    # The first run fetches the PAC into the cache (fresh for an hour: later runs do not ask).
    run_checked "pac $how" env XDG_STATE_HOME="$PAC_STATE" XDG_CACHE_HOME="$W/cache-pac" "${CMD[@]}" "$url" || continue
    cmdline="XDG_STATE_HOME=$(printf '%q' "$PAC_STATE") XDG_CACHE_HOME=$(printf '%q' "$W/cache-pac") $(shq "$W/loop.sh" "$SMALL_N" "${CMD[@]}" "$url")"
    if hyperfine --style none -S bash --warmup 1 --runs "$SMALL_RUNS" -n "$how" \
        --export-csv "$W/hf.csv" "$cmdline" >"$W/hf.out" 2>&1; then
        PMED[$how]=$(hf_median "$W/hf.csv")
    else
        echo "pac $how: hyperfine failed: $(tail -c 300 "$W/hf.out" | tr '\n' ' ')" >> "$ERRORS"
    fi
done
# The PAC fetch must not repeat: nginx logs one GET of the PAC (the priming run).
PAC_GETS=$(grep -c ' /100kb.pac ' "$W/nginx/access.log" || true)
per_inv() { awk -v s="$1" -v n="$SMALL_N" 'BEGIN { if (s == "nan") print "nan"; else printf "%.3f", s * 1000 / n }'; }
PX=$(per_inv "${PMED[x]}") PP=$(per_inv "${PMED[pac]}")
PDELTA=$(awk -v a="$PP" -v b="$PX" 'BEGIN { if (a == "nan" || b == "nan") print "nan"; else printf "%.2f", a - b }')
{
    echo "## 5. PAC: a cached 100 KB PAC against -x"
    echo
    echo "$SMALL_N sequential invocations fetching a 1 KiB file over http through the Basic proxy,"
    echo "chosen either with \`-x\` or by a 100 KB PAC (1,000 rules that do not match, then the proxy)"
    echo "served by nginx with \`Cache-Control: max-age=3600\` and cached by toll on the priming run"
    echo "(nginx logged $PAC_GETS GET(s) of the PAC in the whole section). hyperfine, 1 warm-up +"
    echo "$SMALL_RUNS runs; medians divided by $SMALL_N. Each PAC run reads the cached PAC, loads"
    echo "its compiled code (kept in the cache by the priming run) and evaluates it once."
    echo
    echo "| -x per request | --pac per request | difference | target | |"
    echo "|---|---|---|---|---|"
    echo "| $PX ms | $PP ms | $PDELTA ms | ≤ 3 ms | $(metstr "$PDELTA" 3) |"
    echo
} >> "$REPORT"
target_row "cached 100 KB PAC: extra time per transfer over -x" "$PDELTA ms" "—" "—" "≤ 3 ms" "$(metstr "$PDELTA" 3)"
fi # section 5

# ---------------------------------------------------------------------------------------------
# Assemble
# ---------------------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (work tree modified)" || true)
{
    echo "# toll benchmark results"
    echo
    echo "Written by \`bench/run.sh\` ($MODE mode) on $(date -u '+%Y-%m-%d %H:%M UTC'). toll and curl ran"
    echo "side by side in the same run, against real Squid proxies and an nginx origin on loopback."
    echo "Ratios are toll/curl medians; lower is better for toll."
    echo
    echo "## Machine"
    echo
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); \`nproc\` = $(nproc)"
    echo "- kernel: $(uname -srm)"
    echo "- load average at start: $LOAD_START; at end: $LOAD_END"
    echo "- memory (\`free -h\`):"
    echo
    echo '```'
    free -h
    echo '```'
    echo
    echo "## Versions"
    echo
    if [ "$BUILT_HERE" = 1 ]; then
        echo "- toll: $("$TOLL" --version 2>&1 | head -n1), built by the harness from commit $commit$dirty"
    else
        echo "- toll: $("$TOLL" --version 2>&1 | head -n1), binary $TOLL (given with --toll/--no-build; repo at commit $commit$dirty)"
    fi
    echo "- curl: $("$CURL" --version | head -n1)"
    echo "- squid: $(squid -v | head -n1)"
    echo "- nginx: $(nginx -v 2>&1 | head -n1)"
    echo "- hyperfine: $(hyperfine --version)"
    echo
    echo "## Summary: targets from issues 5, 10 and 12"
    echo
    echo "Issue 13's (\`toll serve\` beside px and cntlm) are in section 6, from \`bench/serve.sh --results\`."
    echo
    echo "| measure | toll | curl | toll/curl | target | |"
    echo "|---|---|---|---|---|---|"
    cat "$TARGETS"
    echo
    if [ -s "$ERRORS" ]; then
        echo "## Failures"
        echo
        sed 's/^/- /' "$ERRORS"
        echo
    fi
    cat "$REPORT"
    echo "## Setup"
    echo
    echo "- Squid: one instance per scheme (Basic via \`basic_ncsa_auth\`, Digest via \`digest_file_auth\`,"
    echo "  Squid defaults otherwise: \`nonce_max_count 50\`), \`cache deny all\`, CONNECT allowed to the"
    echo "  origin's TLS port only. Client flags: \`-fsS -x http://127.0.0.1:PORT -U user:pass --proxy-anyauth"
    echo "  --cacert ca.pem\` for both (curl also \`-q\`)."
    echo "- Origin: nginx, HTTP/1.1, static files (sendfile), TLS with a P-256 leaf from a throw-away CA;"
    echo "  \`POST /upload\` reads the whole body (request buffering) and answers 204."
    echo "- Each toll scenario gets its own \`XDG_STATE_HOME\`, so a first run really is the first."
    # bench/serve.sh --results puts its (separate, 11-minute) run here: kept as it was.
    if [ -f "$OUT" ] && grep -q '^<!-- serve:begin' "$OUT"; then
        echo
        sed -n '/^<!-- serve:begin/,/^<!-- serve:end/p' "$OUT"
    fi
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
say "wrote $OUT"
