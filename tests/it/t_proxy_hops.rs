//! How toll reaches the proxy, and in which HTTP version.
//!
//! `--preproxy`: toll reaches a real Squid (Basic) through a real SOCKS5 proxy (Debian's
//! `microsocks`, with a user name and password), behind a tap that keeps what each connection
//! sent it — for http and https targets, as curl 7.88 does with the same command line; the SOCKS
//! proxy's password is its own (never `-U`'s), and a wrong one is sent once; without any proxy
//! the SOCKS proxy is the proxy (as in curl); `toll serve --preproxy` carries curl's requests the
//! same way.
//!
//! `--proxy1.0`: CONNECT goes to Squid as HTTP/1.0 (read by a tap in front of it), as curl's
//! does, with Basic, Digest and NTLM, whose handshake keeps the connection; http requests stay
//! HTTP/1.1.

use crate::kdc::{self, ChosenSquid, Offer};
use crate::origin::Origin;
use crate::squid::{self, Auth, ALICE};
use crate::t_serve::{run, Serve, CURL};
use crate::t_serve_socks::{Microsocks, Tap, MICROSOCKS, PASSWORD, USER};
use crate::tls::pki;
use crate::{free_port, have};

fn available(test: &str) -> bool {
    squid::available(test) && have(test, &[MICROSOCKS, CURL], "microsocks curl")
}

/// http and https through SOCKS5 then Squid, toll and curl with the same arguments (a SOCKS
/// proxy without authentication: curl 7.88 sends a SOCKS proxy's user name and password to the
/// HTTP proxy too, as its Basic credentials — checked by hand with Squid's access log): the same
/// status and body, and `%{remote_port}` is the SOCKS proxy's (the peer of the connection both
/// made). Then with a password for the SOCKS proxy, toll alone; the SOCKS proxy resolves the
/// proxy's name (`socks5h`), or toll does (`socks5`: a `localhost` that may resolve to ::1 first,
/// which Squid does not listen on, so the next address is asked for).
#[test]
fn toll_reaches_squid_through_a_socks5_preproxy_as_curl_does() {
    let test = "toll_reaches_squid_through_a_socks5_preproxy_as_curl_does";
    if !available(test) {
        return;
    }
    let sq = squid::shared(Auth::Basic);
    let (http, https) = (Origin::http(), Origin::https());
    let ca = pki().ca_arg();
    let proxy = format!("http://{}:{}@127.0.0.1:{}", ALICE.0, ALICE.1, sq.port);
    let open = Microsocks::start_with(&[]);
    let tap = Tap::start(open.port);
    let pre = format!("socks5h://127.0.0.1:{}", tap.port);
    let want = format!("200 {}", tap.port);
    for url in [http.url("/text"), https.url("/text")] {
        let args = [
            "-sS",
            "--cacert",
            &ca,
            "--preproxy",
            &pre,
            "-x",
            &proxy,
            "-w",
            "\n%{http_code} %{remote_port}",
            &url,
        ];
        let out = crate::run::toll(args).run();
        out.assert_ok();
        let curl = run(CURL, &args);
        assert_eq!(out.stdout_str(), String::from_utf8_lossy(&curl.stdout), "{url}: {}", out.describe());
        assert!(out.stdout_str().ends_with(&want), "{url}: {}", out.describe());
    }
    // Both programs' CONNECTs and Basic answers crossed the SOCKS proxy.
    let connect = format!("CONNECT 127.0.0.1:{}", https.port);
    assert_eq!(tap.carrying(connect.as_bytes()), 2);
    assert!(tap.carrying(b"Basic YWxpY2U6") >= 4);
    assert_eq!(http.requests_to("/text").len() + https.requests_to("/text").len(), 4);

    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let mut named = Vec::new();
    for scheme in ["socks5h", "socks5"] {
        let pre = format!("{scheme}://{USER}:{PASSWORD}@127.0.0.1:{}", tap.port);
        let by_name = format!("http://{}:{}@localhost:{}", ALICE.0, ALICE.1, sq.port);
        for url in [http.url("/json"), https.url("/json")] {
            let out =
                crate::run::toll(["-sS", "--cacert", &ca, "--preproxy", &pre, "-x", &by_name, &url]).run();
            out.assert_ok();
            assert!(out.stdout_str().contains('{'), "{}", out.describe());
        }
        named.push(tap.carrying(b"localhost"));
    }
    assert!(named[0] >= 2 && named[1] == named[0], "socks5h gives the name, socks5 an address: {named:?}");
    assert_eq!(http.requests_to("/json").len() + https.requests_to("/json").len(), 4);
}

/// The SOCKS proxy's credentials are its own: `-U` is the HTTP proxy's and never reaches it
/// (no password for it: exit 40, and the tap saw no `-U` password); a wrong one in its URL is
/// sent once and the run stops with 41, naming the SOCKS proxy.
#[test]
fn a_preproxy_password_is_its_own_and_a_wrong_one_is_sent_once() {
    let test = "a_preproxy_password_is_its_own_and_a_wrong_one_is_sent_once";
    if !available(test) {
        return;
    }
    let sq = squid::shared(Auth::Basic);
    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let origin = Origin::http();
    let squid_url = format!("http://127.0.0.1:{}", sq.port);
    let user = format!("{}:{}", ALICE.0, ALICE.1);
    let bare = format!("socks5h://127.0.0.1:{}", tap.port);
    let out = crate::run::toll([
        "-sS",
        "--no-prompt",
        "-U",
        &user,
        "--preproxy",
        &bare,
        "-x",
        &squid_url,
        &origin.url("/text"),
    ])
    .run();
    out.assert_code(40);
    assert!(out.stderr.contains("SOCKS proxy"), "{}", out.describe());
    assert_eq!(tap.carrying(ALICE.1.as_bytes()), 0, "-U's password went to the SOCKS proxy");
    assert!(tap.connections() >= 1);

    let wrong = format!("socks5h://{USER}:not-the-password@127.0.0.1:{}", tap.port);
    let out = crate::run::toll([
        "-sS",
        "--no-prompt",
        "-U",
        &user,
        "--preproxy",
        &wrong,
        "-x",
        &squid_url,
        &origin.url("/text"),
    ])
    .run();
    out.assert_code(41);
    assert!(out.stderr.contains("rejected"), "{}", out.describe());
    assert!(!out.stderr.contains("not-the-password"), "{}", out.describe());
    assert_eq!(tap.carrying(b"not-the-password"), 1, "sent once");
    assert!(origin.requests_to("/text").is_empty());
}

/// Without a proxy from anywhere, `--preproxy`'s SOCKS proxy is the proxy (curl does the same);
/// `--noproxy '*'` goes direct, past it too; a non-SOCKS `--preproxy`, or one with a SOCKS `-x`,
/// is a usage error; a SOCKS proxy that cannot reach the HTTP proxy is exit 5.
#[test]
fn preproxy_alone_is_the_proxy_and_bad_combinations_are_refused() {
    let test = "preproxy_alone_is_the_proxy_and_bad_combinations_are_refused";
    if !available(test) {
        return;
    }
    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let origin = Origin::http();
    let pre = format!("socks5h://{USER}:{PASSWORD}@127.0.0.1:{}", tap.port);
    let out = crate::run::toll(["-sS", "--preproxy", &pre, &origin.url("/text")]).run();
    out.assert_ok();
    assert_eq!(tap.connections(), 1);
    let out = crate::run::toll(["-sS", "--preproxy", &pre, "--noproxy", "*", &origin.url("/text")]).run();
    out.assert_ok();
    assert_eq!(tap.connections(), 1, "--noproxy '*' went through the SOCKS proxy");
    assert_eq!(origin.requests_to("/text").len(), 2);

    let http_pre = format!("http://127.0.0.1:{}", tap.port);
    crate::run::toll(["-sS", "--preproxy", &http_pre, &origin.url("/text")]).run().assert_code(2);
    crate::run::toll(["-sS", "--preproxy", &pre, "-x", &pre, &origin.url("/text")]).run().assert_code(2);
    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = crate::run::toll(["-sS", "--preproxy", &pre, "-x", &dead, &origin.url("/text")]).run();
    out.assert_code(5);
    assert!(out.stderr.contains("could not connect"), "{}", out.describe());
}

/// A PAC's proxies are behind `--preproxy` too: fail-over cannot see whether one answers (its
/// own connection would not cross the SOCKS hop), so the first is taken and reached through the
/// SOCKS proxy — never the `DIRECT` after it, which would go around the proxies (it did: each
/// proxy looked dead to a connection of fail-over's own).
#[test]
fn a_pacs_proxies_behind_a_preproxy_are_not_skipped_for_direct() {
    let test = "a_pacs_proxies_behind_a_preproxy_are_not_skipped_for_direct";
    if !available(test) {
        return;
    }
    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let origin = Origin::http();
    let dir = crate::run::scratch();
    let pac = dir.path().join("p.pac");
    let behind = free_port();
    let text = format!("function FindProxyForURL(u, h) {{ return \"PROXY 127.0.0.1:{behind}; DIRECT\"; }}");
    std::fs::write(&pac, text).unwrap();
    let pre = format!("socks5h://{USER}:{PASSWORD}@127.0.0.1:{}", tap.port);
    let out =
        crate::run::toll(["-sS", "--preproxy", &pre, "--pac", pac.to_str().unwrap(), &origin.url("/text")])
            .run();
    out.assert_code(5);
    assert!(origin.requests_to("/text").is_empty(), "went around the proxies: {}", out.describe());
    assert_eq!(tap.connections(), 1, "the PAC's proxy was asked for through the SOCKS proxy");
}

/// `toll serve --preproxy`: curl's http and https requests reach the origin through toll serve,
/// then microsocks, then Squid.
#[test]
fn toll_serve_reaches_squid_through_a_preproxy() {
    let test = "toll_serve_reaches_squid_through_a_preproxy";
    if !available(test) {
        return;
    }
    let sq = squid::shared(Auth::Basic);
    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let (http, https) = (Origin::http(), Origin::https());
    let proxy = format!("http://127.0.0.1:{}", sq.port);
    let pre = format!("socks5h://{USER}:{PASSWORD}@127.0.0.1:{}", tap.port);
    let user = format!("{}:{}", ALICE.0, ALICE.1);
    let serve = Serve::start(&["-x", &proxy, "-U", &user, "--preproxy", &pre]);
    let out = run(CURL, &["-sS", "-x", &serve.url(), &http.url("/text")]);
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        serve.log()
    );
    let out = run(CURL, &["-sS", "--cacert", &pki().ca_arg(), "-x", &serve.url(), &https.url("/text")]);
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        serve.log()
    );
    assert_eq!(tap.carrying(format!("CONNECT 127.0.0.1:{}", https.port).as_bytes()), 1);
    assert_eq!(tap.carrying(ALICE.1.as_bytes()), 0, "-U's password went to the SOCKS proxy in the clear");
    assert!(tap.carrying(b"Basic YWxpY2U6") >= 2);
}

/// `--proxy1.0 HOST:PORT`: toll's CONNECT is HTTP/1.0 with Basic, Digest (two legs on one
/// connection: the 407 does not close it) and NTLM (three legs on one connection: the handshake
/// needs it), and the tunnel carries the https transfer; an http request through the same
/// proxy stays HTTP/1.1. curl 7.88 sends the same CONNECT line, and gets the same body.
#[test]
fn proxy10_sends_connect_as_http10_and_keeps_the_connection_for_the_handshake() {
    let test = "proxy10_sends_connect_as_http10_and_keeps_the_connection_for_the_handshake";
    if !kdc::have_squid_ntlm(test) || !have(test, &[CURL], "curl") {
        return;
    }
    let (http, https) = (Origin::http(), Origin::https());
    let ca = pki().ca_arg();
    let user = format!("{}:{}", ALICE.0, ALICE.1);
    let connect = format!("CONNECT 127.0.0.1:{} HTTP/1.0", https.port);
    for (offer, flag) in
        [(Offer::Basic, "--proxy-basic"), (Offer::Digest, "--proxy-digest"), (Offer::Ntlm, "--proxy-ntlm")]
    {
        let sq = ChosenSquid::start(&[offer]);
        let tap = Tap::start(sq.port);
        let at = format!("127.0.0.1:{}", tap.port);
        let args = ["-sS", "--cacert", &ca, "--proxy1.0", &at, "-U", &user, flag, &https.url("/text")];
        let out = crate::run::toll(args).run();
        out.assert_ok();
        assert_eq!(tap.connections(), 1, "{flag}: the handshake kept its connection");
        assert!(tap.carrying(connect.as_bytes()) == 1, "{flag}: {}", out.describe());
        let curl = run(CURL, &args);
        assert_eq!(out.stdout_str(), String::from_utf8_lossy(&curl.stdout), "{flag}");
        assert_eq!(tap.carrying(connect.as_bytes()), 2, "{flag}: curl's CONNECT is HTTP/1.0 too");

        let out = crate::run::toll(["-sS", "--proxy1.0", &at, "-U", &user, flag, &http.url("/text")]).run();
        out.assert_ok();
        let get = format!("GET {} HTTP/1.1", http.url("/text"));
        assert_eq!(tap.carrying(get.as_bytes()), 1, "{flag}");
    }
    // The last of -x and --proxy1.0 wins; --proxy1.0 takes an HTTP proxy only.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let sq = squid::shared(Auth::Basic);
    let tap = Tap::start(sq.port);
    let at = format!("127.0.0.1:{}", tap.port);
    let out = crate::run::toll([
        "-sS",
        "--cacert",
        &ca,
        "-x",
        &dead,
        "--proxy1.0",
        &at,
        "-U",
        &user,
        &https.url("/text"),
    ])
    .run();
    out.assert_ok();
    let out = crate::run::toll([
        "-sS",
        "--cacert",
        &ca,
        "--proxy1.0",
        &at,
        "-x",
        &dead,
        "-U",
        &user,
        &https.url("/text"),
    ])
    .run();
    out.assert_code(5);
    assert_eq!(tap.carrying(connect.as_bytes()), 1);
    let out = crate::run::toll(["-sS", "--proxy1.0", &format!("socks5://{at}"), &https.url("/text")]).run();
    out.assert_code(2);
}

/// `toll doctor --preproxy`: step 2 reaches the proxy through the SOCKS proxy (not directly,
/// which the proxy's network may not allow), and the later steps go the same way; a SOCKS proxy
/// that cannot reach the proxy is exit 5, said in step 2.
#[test]
fn toll_doctor_checks_the_proxy_through_the_preproxy() {
    let test = "toll_doctor_checks_the_proxy_through_the_preproxy";
    if !available(test) {
        return;
    }
    let sq = squid::shared(Auth::Basic);
    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let origin = Origin::http();
    let pre = format!("socks5h://{USER}:{PASSWORD}@127.0.0.1:{}", tap.port);
    let proxy = format!("http://{}:{}@127.0.0.1:{}", ALICE.0, ALICE.1, sq.port);
    let args = [
        "doctor",
        "--preproxy",
        &pre,
        "-x",
        &proxy,
        "--verify-url",
        &origin.url("/json"),
        &origin.url("/text"),
    ];
    let out = crate::run::toll(args).run();
    out.assert_ok();
    let through = format!("through the SOCKS proxy socks5h://127.0.0.1:{} (--preproxy)", tap.port);
    assert!(out.stdout_str().contains(&through), "{}", out.describe());
    assert!(!out.stdout_str().contains(PASSWORD), "{}", out.describe());
    assert!(tap.connections() >= 2, "step 2 and the relay's steps went through the SOCKS proxy");
    assert_eq!(tap.carrying(ALICE.1.as_bytes()), 0, "the HTTP proxy's password went to the SOCKS proxy");
    assert!(!origin.requests_to("/text").is_empty());

    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = crate::run::toll(["doctor", "--preproxy", &pre, "-x", &dead, &origin.url("/text")]).run();
    out.assert_code(5);
    assert!(out.stdout_str().contains("could not connect to 127.0.0.1"), "{}", out.describe());
}

/// A password in `--preproxy`'s URL is masked in /proc/PID/cmdline while toll runs (as one in
/// `-x`), and the note about command-line passwords names it.
#[test]
fn a_preproxy_password_is_hidden_from_proc_cmdline() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        crate::skip("SKIPPED a_preproxy_password_is_hidden_from_proc_cmdline: Linux with glibc only");
        return;
    }
    use std::time::{Duration, Instant};
    const SECRET: &str = "socks-pw-5150";
    // A SOCKS proxy that takes the connection and never answers the greeting.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((held, _)) = listener.accept() {
            let _ = tx.send(());
            std::thread::sleep(Duration::from_secs(10));
            drop(held);
        }
    });
    let home = tempfile::tempdir().unwrap();
    let pre = format!("socks5h://bob:{SECRET}@127.0.0.1:{port}");
    let mut cmd = std::process::Command::new(crate::run::TOLL);
    cmd.args(["--preproxy", &pre, "-x", "http://127.0.0.1:9", "http://127.0.0.1:9/"]);
    crate::run::isolate(&mut cmd, home.path());
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    rx.recv_timeout(Duration::from_secs(20)).expect("toll never reached the SOCKS proxy");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap_or_default();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(!shown.contains(SECRET), "/proc/PID/cmdline shows the password: {shown}");
    assert!(shown.contains("bob:****"), "masked in place: {shown}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--preproxy") && !stderr.contains(SECRET), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// `-x socks5h://` for toll's own transfers (reqwest speaks SOCKS there): a wrong password is
/// sent once for the whole run — not once per URL, `--next` operation or `--retry` attempt —
/// and the run says so with exit 41; `-U` is the credential of a SOCKS proxy whose URL has none,
/// as in curl.
#[test]
fn a_socks_proxys_wrong_password_is_sent_once_and_dash_u_is_its_credential() {
    let test = "a_socks_proxys_wrong_password_is_sent_once_and_dash_u_is_its_credential";
    if !have(test, &[MICROSOCKS], "microsocks") {
        return;
    }
    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let origin = Origin::http();
    let wrong = format!("socks5h://{USER}:wrong-socks-pw@127.0.0.1:{}", tap.port);
    let (a, b, c) = (origin.url("/text"), origin.url("/json"), origin.url("/bytes/3"));
    let out = crate::run::toll([
        "-sS",
        "--retry",
        "2",
        "--retry-all-errors",
        "--retry-delay",
        "1",
        "-x",
        &wrong,
        &a,
        &b,
        "--next",
        "-x",
        &wrong,
        &c,
    ])
    .run();
    out.assert_code(41);
    assert!(out.stderr.contains("SOCKS proxy"), "{}", out.describe());
    assert_eq!(tap.carrying(b"wrong-socks-pw"), 1, "sent more than once:\n{}", out.describe());
    assert!(origin.requests().is_empty());
    // -U for a SOCKS proxy without a credential in its URL.
    let bare = format!("socks5h://127.0.0.1:{}", tap.port);
    let out = crate::run::toll(["-sS", "-x", &bare, "-U", &format!("{USER}:{PASSWORD}"), &a]).run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    // None given to a proxy that wants one: 40; one given to a proxy that takes none: 43.
    crate::run::toll(["-sS", "-x", &bare, &a]).run().assert_code(40);
    let open = Microsocks::start_with(&[]);
    let with = format!("socks5h://{USER}:{PASSWORD}@127.0.0.1:{}", open.port);
    let out = crate::run::toll(["-sS", "-x", &with, &a]).run();
    out.assert_code(43);
    assert!(out.stderr.contains("accepts no user name and password"), "{}", out.describe());
}

/// A SOCKS proxy that cannot be reached is named and handled as an HTTP proxy is: a refusal is
/// retried with `--retry-connrefused` (review E: never retried), and a connection that never
/// completes within `--connect-timeout` is exit 28 (it was 5, as a refusal).
#[test]
fn an_unreachable_socks_proxy_is_named_retried_and_timed_out_as_curl() {
    let dead = free_port();
    let proxy = format!("socks5h://127.0.0.1:{dead}");
    let out = crate::run::toll([
        "-s",
        "--retry",
        "1",
        "--retry-delay",
        "1",
        "--retry-connrefused",
        "-x",
        &proxy,
        "-w",
        "%{num_retries}",
        "http://127.0.0.1:9/",
    ])
    .run();
    out.assert_code(5);
    assert_eq!(out.stdout_str(), "1", "{}", out.describe());
    let out = crate::run::toll(["-sS", "-x", &proxy, "http://127.0.0.1:9/"]).run();
    assert!(out.stderr.contains(&format!("cannot reach SOCKS proxy {proxy}")), "{}", out.describe());
    // A listener whose backlog is full: the connection is never accepted.
    let (listener, _queued) = crate::full_backlog();
    let port = listener.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let out = crate::run::toll([
        "-sS",
        "--connect-timeout",
        "1",
        "-x",
        &format!("socks5h://127.0.0.1:{port}"),
        "http://127.0.0.1:9/",
    ])
    .run();
    out.assert_code(28);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{}", out.describe());
}
