//! Integration tests for the `toll` binary: one test binary (`it`), split by topic.
//!
//! Fixtures (no test in them):
//! - `run`: runs the built `toll` isolated (own HOME/XDG dirs, no proxy env, no TTY, timeout).
//! - `http`: a minimal HTTP/1.1 reader/writer shared by the fixtures.
//! - `tls`: the test CA and the origin's server certificate (rcgen).
//! - `origin`: in-process HTTP and HTTPS origins (`/bytes/N`, `/upload`, `/echo-headers`, …).
//! - `doh`: the HTTPS origin's `/dns-query` (DNS over HTTPS) answering from a table of `.test` names.
//! - `fakeproxy`: scripted in-process proxies for what Squid will not do on demand.
//! - `squid`: real Squid 5.7 instances (one per auth configuration, started lazily, shared),
//!   from one launcher (`SquidConfig`) that `kdc` and `t_doctor` use for theirs too.
//! - `cleanup`: kills what the fixtures started when the test process exits.
//!
//! No test asks DNS for a name other than `localhost` (the machine's resolver is not on
//! loopback): a name that must fail to resolve is [`UNRESOLVABLE`], and names a PAC or WPAD
//! resolves go through test-only resolver tables. CI holds the tests to it (`.ci/no-dns`).
//!
//! Tests:
//! - `t_cli`: options, exit codes and output handling, with in-process origins and proxies.
//! - `t_curl_opts`: the curl options of issue 11 where comparing with curl is not enough
//!   (what reaches the origin, the `-u` prompt).
//! - `t_differential`: every line of `differential/corpus.txt` run with curl 7.88 and toll,
//!   direct and through Squid (Basic, Digest); stdout, files and exit status compared.
//! - `t_squid`: the acceptance matrix against real Squid (skipped without squid unless
//!   `TOLL_REQUIRE_SYSTEM_DEPS=1`).
//! - `t_misbehaving`: scripted proxies (407 without challenge, `Connection: close`, chunked 407,
//!   stale nonces, broken handshakes, 407 inside the tunnel, garbage challenges, …).
//! - `t_hardening`: regressions of the relay hardening issue (open proxies and origin 407s,
//!   no credential resent, stale loops, timeouts, a relay flooded by another local user).
//! - `t_http2`: HTTP/2 servers that reset a stream, end the connection or break the rules
//!   (written with the `h2` crate), and curl's exit codes for them, curl beside toll.
//! - `t_faults`: fault injection against the relay (resets at every leg of every scheme, broken
//!   tunnels, slow, mute and hostile proxies).
//! - `t_secrets`: `-v` redaction and `Proxy-Authorization` never reaching the origin.
//! - `t_hardening_files`: `-O` names, output modes and hard links, bodies from pipes, state
//!   and settings files that are links, devices or huge.
//! - `t_route`: `toll::route` with a real `gsettings` (keyfile backend), a KDE `kioslaverc`,
//!   PACs from the test origin (ETag/304, cached copy when the server is gone) and WPAD with a
//!   test-only resolver table.
//! - `t_doctor`: `toll doctor` against real Squid (and in-process proxies); snapshots in
//!   `snapshots/doctor_*.txt` (`TOLL_BLESS=1` rewrites them).
//! - `t_pac`: `toll pac` with PAC files and PACs served by the origin (http and https).
//! - `t_doh`: `--doh-url` side by side with curl 7.88, against the HTTPS origin's `/dns-query`
//!   (the `doh` fixture's table of made-up `.test` names; the queries it got are asserted).
//! - `t_tls_opts`: `--crlfile`, `--ciphers`, `--tls13-ciphers`, `--curves` and their `--proxy-`
//!   twins against servers that report the suite, group and version agreed on.

mod cleanup;
mod doh;
mod fakeproxy;
mod http;
mod kdc;
mod ntlm_proxy;
mod origin;
mod origin_transfer;
mod pty;
mod run;
mod squid;
mod tls;

mod t_alt_svc;
mod t_cli;
mod t_conn_opts;
mod t_curl_opts;
mod t_differential;
mod t_doctor;
mod t_doh;
mod t_driven;
mod t_faults;
mod t_file_opts;
mod t_hardening;
mod t_hardening_files;
mod t_hardening_text;
mod t_http2;
mod t_infra;
mod t_keyring;
mod t_misbehaving;
mod t_negotiate;
mod t_ntlm;
mod t_pac;
mod t_pac_route;
mod t_prompt;
mod t_proxy_hops;
mod t_remembered;
mod t_route;
mod t_secrets;
mod t_serve;
mod t_serve_auth;
mod t_serve_clients;
mod t_serve_faults;
mod t_serve_gateway;
mod t_serve_routing;
mod t_serve_socks;
mod t_speed;
mod t_squid;
mod t_tls_opts;
mod t_transfer_opts;
mod t_tunnel;

use sha2::{Digest, Sha256};

/// `n` deterministic pseudo-random bytes: what the origin's `/bytes/N` serves.
pub fn pattern_bytes(n: usize) -> Vec<u8> {
    // splitmix64, seeded with the length so different sizes differ from the first byte on.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ (n as u64);
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(n);
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Md5;
    hex(&Md5::digest(data))
}

pub fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// 10 MiB: the size of the big transfers in the acceptance matrix.
pub const TEN_MIB: usize = 10 * 1024 * 1024;

/// Percent-encodes everything but unreserved characters (for `?to=` URLs and URL userinfo).
pub fn pct(s: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    utf8_percent_encode(s, SET).to_string()
}

/// A host name that does not resolve, and is never asked of a DNS server: its first label is
/// longer than DNS allows (63 bytes), so the resolver library fails it before sending a query.
/// (The machine's DNS server is not on loopback: no test may reach it.)
pub const UNRESOLVABLE: &str =
    "no-such-host-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.invalid";

/// A loopback port nothing listens on (just now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A loopback listener whose backlog is full (listen(2) with 0, filled by connections that are
/// never accepted): a further connection to it never completes, as to a host that drops SYNs.
pub fn full_backlog() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    use std::os::fd::FromRawFd;
    // SAFETY: a new socket, bound and listening; its descriptor is handed to TcpListener.
    let listener = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket");
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes([127, 0, 0, 1]) },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len), 0, "bind");
        assert_eq!(libc::listen(fd, 0), 0, "listen");
        std::net::TcpListener::from_raw_fd(fd)
    };
    let addr = listener.local_addr().unwrap();
    let queued = (0..4)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300)).ok()
        })
        .collect();
    (listener, queued)
}

/// Writes straight to the process's stderr: the test harness captures `eprintln!` of passing
/// tests, and a skip must be seen.
pub fn loud(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n*** {msg} ***\n");
}

/// Whether every file in `needed` exists; if not, [`skip`]s (`packages` names what to install).
pub fn have(test: &str, needed: &[&str], packages: &str) -> bool {
    let missing: Vec<&str> = needed.iter().copied().filter(|p| !std::path::Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    skip(&format!(
        "SKIPPED {test}: needs the Debian packages {packages} (apt-get install --no-install-recommends {packages}); missing: {}",
        missing.join(", ")
    ));
    false
}

/// A test that cannot run here: prints `msg` (loudly), or panics with it when
/// `TOLL_REQUIRE_SYSTEM_DEPS=1` (as in CI).
pub fn skip(msg: &str) {
    if std::env::var("TOLL_REQUIRE_SYSTEM_DEPS").as_deref() == Ok("1") {
        panic!("{msg} (and TOLL_REQUIRE_SYSTEM_DEPS=1 is set)");
    }
    loud(msg);
}

/// True if `haystack` contains `needle` (byte-wise).
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
