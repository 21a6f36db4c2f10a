//! Scripted proxies: what real proxies do now and then and Squid will not do on demand.

use crate::fakeproxy::{self, reply_407, Action, DigestProxy, FakeProxy, ProxyRequest, Reply};
use crate::origin::Origin;
use crate::pattern_bytes;
use crate::run::{toll, via_proxy, Out, Toll};
use std::time::Duration;

const USER: &str = "alice";
const PASS: &str = "s3cret";

fn through(proxy: &FakeProxy, creds: Option<(&str, &str)>, origin: &Origin, path: &str) -> Toll {
    via_proxy(&proxy.url(), creds, origin, path, &[])
}

fn with_auth(reqs: &[ProxyRequest]) -> Vec<&ProxyRequest> {
    reqs.iter().filter(|r| r.proxy_authorization().is_some()).collect()
}

#[track_caller]
fn expect_success(out: &Out, proxy: &FakeProxy, body: &[u8]) {
    assert!(
        out.code == Some(0) && out.stdout == body,
        "expected success with the origin's body:\n{}\nproxy saw:\n{}",
        out.describe(),
        proxy.summary()
    );
}

#[track_caller]
fn expect_code(out: &Out, proxy: &FakeProxy, code: i32) {
    assert!(
        out.code == Some(code),
        "expected exit {code}:\n{}\nproxy saw:\n{}",
        out.describe(),
        proxy.summary()
    );
    out.assert_error_message();
    assert!(out.stdout.is_empty(), "stdout must be empty:\n{}", out.describe());
}

// --- 407 without Proxy-Authenticate ----------------------------------------------------------

fn no_challenge(tls: bool) {
    let proxy = FakeProxy::start(|_req: &ProxyRequest| {
        Reply::new(407).header("Content-Type", "text/html").body(b"<html>go away</html>\n").into_action()
    });
    let origin = Origin::start(tls);
    let out = through(&proxy, Some((USER, PASS)), &origin, "/text").run();
    expect_code(&out, &proxy, 44);
    out.assert_faster_than(Duration::from_secs(10));
    assert!(
        with_auth(&proxy.requests()).is_empty(),
        "no challenge → nothing to answer; no credentials may be sent:\n{}",
        proxy.summary()
    );
    assert!(proxy.requests().len() <= 2, "no loop:\n{}", proxy.summary());
}

#[test]
fn fake_407_without_challenge_http() {
    no_challenge(false);
}

#[test]
fn fake_407_without_challenge_https() {
    no_challenge(true);
}

// --- Connection: close on the 407 -------------------------------------------------------------

fn close_on_407(tls: bool) {
    let proxy = FakeProxy::start(|req: &ProxyRequest| match req.basic_credentials() {
        Some((u, p)) if u == USER && p == PASS => Action::Allow,
        _ => reply_407(&["Basic realm=\"fake\""]).close().into_action(),
    });
    let origin = Origin::start(tls);
    let out = through(&proxy, Some((USER, PASS)), &origin, "/bytes/5000").run();
    expect_success(&out, &proxy, &pattern_bytes(5000));
    let reqs = proxy.requests();
    assert_eq!(with_auth(&reqs).len(), 1, "credentials once:\n{}", proxy.summary());
    assert!(
        proxy.connections() >= 2,
        "the 407 closed the connection: a new one was needed:\n{}",
        proxy.summary()
    );
    assert!(reqs.len() <= 2, "at most one 407 per run:\n{}", proxy.summary());
}

#[test]
fn fake_connection_close_on_407_http() {
    close_on_407(false);
}

#[test]
fn fake_connection_close_on_407_https() {
    close_on_407(true);
}

// --- 407 bodies: chunked and Content-Length, connection reused --------------------------------

fn body_407(tls: bool, chunked: bool) {
    let proxy = FakeProxy::start(move |req: &ProxyRequest| match req.basic_credentials() {
        Some((u, p)) if u == USER && p == PASS => Action::Allow,
        _ => {
            let r = reply_407(&["Basic realm=\"fake\""]);
            if chunked { r.chunked() } else { r }.into_action()
        }
    });
    let origin = Origin::start(tls);
    let out = through(&proxy, Some((USER, PASS)), &origin, "/bytes/5000").run();
    expect_success(&out, &proxy, &pattern_bytes(5000));
    let reqs = proxy.requests();
    assert_eq!(reqs.len(), 2, "one 407, one success:\n{}", proxy.summary());
    assert!(
        reqs[0].proxy_authorization().is_none() && reqs[1].proxy_authorization().is_some(),
        "{}",
        proxy.summary()
    );
    assert_eq!(
        (reqs[1].conn, reqs[1].seq_on_conn),
        (reqs[0].conn, 2),
        "the 407's body must be drained and its keep-alive connection reused:\n{}",
        proxy.summary()
    );
}

#[test]
fn fake_chunked_407_body_http() {
    body_407(false, true);
}

#[test]
fn fake_chunked_407_body_https() {
    body_407(true, true);
}

#[test]
fn fake_keepalive_407_body_http() {
    body_407(false, false);
}

#[test]
fn fake_keepalive_407_body_https() {
    body_407(true, false);
}

// --- Digest: stale nonce, wrong password, nc across requests ---------------------------------

fn stale_nonce(tls: bool) {
    let digest = DigestProxy::new(USER, PASS, true);
    let proxy = FakeProxy::start(digest.script());
    let origin = Origin::start(tls);
    let out = through(&proxy, Some((USER, PASS)), &origin, "/bytes/3000").run();
    expect_success(&out, &proxy, &pattern_bytes(3000));
    let reqs = proxy.requests();
    assert_eq!(
        reqs.len(),
        3,
        "challenge, stale=true, success (stale is not a rejection; retry once):\n{}",
        proxy.summary()
    );
    let nonces: Vec<String> = reqs
        .iter()
        .filter_map(|r| r.digest_params())
        .map(|p| p.get("nonce").cloned().unwrap_or_default())
        .collect();
    assert_eq!(nonces.len(), 2, "{}", proxy.summary());
    assert_ne!(nonces[0], nonces[1], "the retry must use the new nonce:\n{}", proxy.summary());
}

#[test]
fn fake_digest_stale_nonce_http() {
    stale_nonce(false);
}

#[test]
fn fake_digest_stale_nonce_https() {
    stale_nonce(true);
}

fn wrong_password_once(tls: bool, digest: bool) {
    let proxy = if digest {
        FakeProxy::start(DigestProxy::new(USER, PASS, false).script())
    } else {
        FakeProxy::start(fakeproxy::basic(USER, PASS))
    };
    let origin = Origin::start(tls);
    let out = through(&proxy, Some((USER, "wrong")), &origin, "/text").run();
    expect_code(&out, &proxy, 41);
    out.assert_faster_than(Duration::from_secs(10));
    let reqs = proxy.requests();
    assert_eq!(
        with_auth(&reqs).len(),
        1,
        "the wrong password must be sent exactly once:\n{}",
        proxy.summary()
    );
    assert!(reqs.len() <= 2, "{}", proxy.summary());
    assert!(origin.requests().is_empty());
}

#[test]
fn fake_basic_wrong_password_once_http() {
    wrong_password_once(false, false);
}

#[test]
fn fake_basic_wrong_password_once_https() {
    wrong_password_once(true, false);
}

#[test]
fn fake_digest_wrong_password_once_http() {
    wrong_password_once(false, true);
}

#[test]
fn fake_digest_wrong_password_once_https() {
    wrong_password_once(true, true);
}

/// `--next` (and a `-K` file's `next`) runs operations one after another, each with relays of
/// its own: a password the proxy rejected in the first is not sent by the later ones, whether
/// they name it again (`-U`, the proxy URL) or take it from the environment.
#[test]
fn a_wrong_password_is_sent_once_across_next_operations() {
    for digest in [false, true] {
        let proxy = if digest {
            FakeProxy::start(DigestProxy::new(USER, PASS, false).script())
        } else {
            FakeProxy::start(fakeproxy::basic(USER, PASS))
        };
        let origin = Origin::start(false);
        let with_url = format!("http://{USER}:wrong@{}", proxy.url().trim_start_matches("http://"));
        let out = through(&proxy, Some((USER, "wrong")), &origin, "/a")
            .args(["--next", "-sS", "-x", &with_url, &origin.url("/b")])
            .args(["--next", "-sS", "-x", &proxy.url(), &origin.url("/c")])
            .env("TOLL_PROXY_USER", USER)
            .env("TOLL_PROXY_PASSWORD", "wrong")
            .run();
        expect_code(&out, &proxy, 41);
        assert_eq!(
            out.stderr.matches("toll: error:").count(),
            3,
            "each operation says why:\n{}",
            out.describe()
        );
        assert_eq!(with_auth(&proxy.requests()).len(), 1, "digest {digest}:\n{}", proxy.summary());
        assert!(origin.requests().is_empty());

        let dir = crate::run::scratch();
        let config = dir.path().join("ops");
        let ops = format!("url = \"{}\"\nnext\nurl = \"{}\"\n", origin.url("/d"), origin.url("/e"));
        std::fs::write(&config, ops).unwrap();
        let before = with_auth(&proxy.requests()).len();
        let out = toll(["-sS", "-x", &proxy.url(), "-U", &format!("{USER}:other"), "-K"])
            .arg(&config)
            .args(["--next", "-sS", "-x", &proxy.url(), "-U", &format!("{USER}:other"), &origin.url("/f")])
            .run();
        assert_eq!(out.code, Some(41), "{}", out.describe());
        assert_eq!(with_auth(&proxy.requests()).len(), before + 1, "{}", proxy.summary());
    }
}

/// A credential the proxy accepted and then refuses: a destination the user may not reach (Squid
/// says so with a 407 identical to a wrong password) or a password changed meanwhile (a long
/// `toll serve`). Refused for one destination, it is not sent there again and goes on trial
/// elsewhere: accepted there, it is trusted again (the restricted destination alone fails);
/// refused there too, it is rejected for good — not sent once per request.
#[test]
fn a_credential_refused_after_it_worked_is_tried_once_more_elsewhere_then_dropped() {
    let (a, b) = (Origin::start(false), Origin::start(false));
    let a_port = format!(":{}/", a.url("/").split(':').nth(2).unwrap().trim_end_matches('/'));
    let with_creds = |p: &FakeProxy| with_auth(&p.requests()).len();

    // Destination a is off limits for alice; b is fine.
    let a_host = a_port.clone();
    let restricted = FakeProxy::start(move |req| match req.basic_credentials() {
        Some((u, p)) if u == USER && p == PASS && !req.target.contains(&a_host) => Action::Allow,
        _ => reply_407(&["Basic realm=\"fake\""]).into_action(),
    });
    let urls = [b.url("/text?1"), a.url("/text?1"), a.url("/text?2"), b.url("/text?2"), b.url("/text?3")];
    let out = through(&restricted, Some((USER, PASS)), &b, "/text?0").args(&urls).run();
    let hellos = String::from_utf8_lossy(&out.stdout).matches("hello from the origin").count();
    assert_eq!(hellos, 4, "every b transfer worked:\n{}", out.describe());
    assert!(out.stderr.contains("accepted earlier"), "{}", out.describe());
    let to_a = restricted.requests().into_iter().filter(|r| r.target.contains(&a_port)).collect::<Vec<_>>();
    assert_eq!(with_auth(&to_a).len(), 1, "a's second request goes without it:\n{}", restricted.summary());
    assert!(a.requests().is_empty());

    // The password changed after the first request: one refusal for a, one trial for b, then
    // nothing more whatever is asked.
    let changed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = changed.clone();
    let proxy = FakeProxy::start(move |req| match req.basic_credentials() {
        Some((u, p)) if u == USER && p == PASS && !flag.swap(true, std::sync::atomic::Ordering::SeqCst) => {
            Action::Allow
        }
        _ => reply_407(&["Basic realm=\"fake\""]).into_action(),
    });
    let urls = [a.url("/text?1"), b.url("/text?1"), a.url("/text?2"), b.url("/text?2"), b.url("/text?3")];
    let out = through(&proxy, Some((USER, PASS)), &b, "/text?0").args(&urls).run();
    assert_eq!(out.code, Some(41), "{}", out.describe());
    assert!(changed.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        with_creds(&proxy),
        3,
        "worked once, refused for a, refused on trial for b:\n{}",
        proxy.summary()
    );
}

/// Many requests in one run (`-L`, 6 redirects) through a Digest proxy that never goes stale:
/// exactly one 407, every later request answered with the next nc on the same nonce (or fresh
/// valid credentials), all verified by the proxy.
#[test]
fn fake_digest_one_407_for_many_requests() {
    let digest = DigestProxy::new(USER, PASS, false);
    let proxy = FakeProxy::start(digest.script());
    let origin = Origin::http();
    let out =
        toll(["-sS", "-L", "-x", &proxy.url(), "-U", &format!("{USER}:{PASS}"), &origin.url("/chain/6")])
            .run();
    expect_success(&out, &proxy, b"chain done\n");
    let reqs = proxy.requests();
    let anonymous = reqs.iter().filter(|r| r.proxy_authorization().is_none()).count();
    assert_eq!(reqs.len() - anonymous, 7, "{}", proxy.summary());
    assert!(reqs.len() <= 8, "with correct credentials at most one 407 per run:\n{}", proxy.summary());
}

/// Offered Digest and Basic (`--proxy-anyauth`, the default): the password must not go out in
/// Basic when Digest is on offer.
#[test]
fn fake_anyauth_prefers_digest_over_basic() {
    let digest = DigestProxy::new(USER, PASS, false);
    let d2 = digest.clone();
    let proxy = FakeProxy::start(move |req: &ProxyRequest| {
        if req.digest_params().is_some() {
            return (d2.script())(req);
        }
        reply_407(&[&d2.challenge(false), "Basic realm=\"fake\""]).into_action()
    });
    for (tls, flag) in [(false, None), (true, None), (true, Some("--proxy-anyauth"))] {
        let origin = Origin::start(tls);
        let mut t = through(&proxy, Some((USER, PASS)), &origin, "/text");
        if let Some(f) = flag {
            t = t.arg(f);
        }
        let out = t.run();
        expect_success(&out, &proxy, b"hello from the origin\n");
    }
    assert!(
        proxy.requests().iter().all(|r| r.basic_credentials().is_none()),
        "Basic was used although Digest was offered:\n{}",
        proxy.summary()
    );
}

// --- broken handshakes ---------------------------------------------------------------------

fn broken(
    tls: bool,
    what: &str,
    script: impl Fn(&ProxyRequest) -> Action + Send + Sync + 'static,
    code: i32,
) {
    let proxy = FakeProxy::start(script);
    let origin = Origin::start(tls);
    let out = through(&proxy, Some((USER, PASS)), &origin, "/text").run();
    assert!(
        out.code == Some(code),
        "{what}: expected exit {code}:\n{}\nproxy saw:\n{}",
        out.describe(),
        proxy.summary()
    );
    out.assert_error_message().assert_faster_than(Duration::from_secs(15));
    assert!(out.stdout.is_empty(), "{what}: stdout must be empty");
}

#[test]
fn fake_proxy_closes_without_answer_https() {
    broken(true, "close at once", |_: &ProxyRequest| Action::Close, 43);
}

#[test]
fn fake_proxy_closes_without_answer_http() {
    broken(false, "close at once", |_: &ProxyRequest| Action::Close, 43);
}

#[test]
fn fake_proxy_closes_mid_status_line_https() {
    broken(
        true,
        "partial status line",
        |_: &ProxyRequest| Action::Raw { bytes: b"HTTP/1.1 40".to_vec(), close: true },
        43,
    );
}

/// A Basic challenge, and the connection closed when credentials arrive.
fn close_on_credentials(req: &ProxyRequest) -> Action {
    if req.proxy_authorization().is_some() {
        Action::Close
    } else {
        reply_407(&["Basic realm=\"fake\""]).into_action()
    }
}

#[test]
fn fake_proxy_closes_when_credentials_arrive_https() {
    broken(true, "close on the credentials", close_on_credentials, 43);
}

#[test]
fn fake_proxy_closes_when_credentials_arrive_http() {
    broken(false, "close on the credentials", close_on_credentials, 43);
}

#[test]
fn fake_proxy_speaks_garbage_https() {
    broken(
        true,
        "not HTTP",
        |_: &ProxyRequest| Action::Raw { bytes: b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec(), close: true },
        43,
    );
}

#[test]
fn fake_proxy_connect_403_is_42() {
    broken(true, "403 on CONNECT", |_: &ProxyRequest| Reply::new(403).body(b"forbidden\n").into_action(), 42);
}

#[test]
fn fake_proxy_connect_502_is_43() {
    broken(
        true,
        "502 on CONNECT",
        |_: &ProxyRequest| Reply::new(502).body(b"bad gateway\n").into_action(),
        43,
    );
}

// --- garbage challenges ----------------------------------------------------------------------

#[test]
fn fake_garbage_challenges() {
    // (challenge header values, acceptable exit codes)
    let cases: Vec<(Vec<&str>, &[i32])> = vec![
        (vec!["Frobnicate realm=\"x\""], &[44]),
        (vec![""], &[44]),
        (vec!["\u{1}\u{2}=== ,,, \"\""], &[43, 44]),
        (vec!["Digest realm=\"x\""], &[43, 44]),
        (vec!["Digest nonce=\"abc\", algorithm=ROT13, qop=\"auth\", realm=\"x\""], &[44]),
        (vec!["Digest realm=\"unterminated, nonce=\"abc"], &[41, 43, 44]),
        (vec!["Basic realm=\"x\"", "Basic realm=\"y\""], &[41]),
        (vec![",,,", "Basic"], &[41, 43, 44]),
    ];
    for (challenges, codes) in cases {
        let ch: Vec<String> = challenges.iter().map(|s| s.to_string()).collect();
        let proxy = FakeProxy::start(move |_: &ProxyRequest| {
            let refs: Vec<&str> = ch.iter().map(|s| s.as_str()).collect();
            reply_407(&refs).into_action()
        });
        for tls in [false, true] {
            let origin = Origin::start(tls);
            let out = through(&proxy, Some((USER, PASS)), &origin, "/text").run();
            assert!(
                out.code.is_some_and(|c| codes.contains(&c)),
                "challenges {challenges:?}: expected exit in {codes:?}:\n{}\nproxy saw:\n{}",
                out.describe(),
                proxy.summary()
            );
            out.assert_error_message().assert_faster_than(Duration::from_secs(10));
        }
        let reqs = proxy.requests();
        assert!(
            with_auth(&reqs).len() <= 2,
            "challenges {challenges:?}: at most one credentialed try per run:\n{}",
            proxy.summary()
        );
        assert!(reqs.len() <= 4, "challenges {challenges:?}: no loop:\n{}", proxy.summary());
    }
}

// --- 407 from inside the tunnel ----------------------------------------------------------------

#[test]
fn fake_407_inside_tunnel_is_the_origins() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let origin = Origin::https();
    let out = through(&proxy, Some((USER, PASS)), &origin, "/status/407").run();
    expect_success(&out, &proxy, b"status 407 from the origin\n");
    let hits = origin.requests_to("/status/407");
    assert_eq!(hits.len(), 1, "asked once: {hits:?}");
    assert!(
        hits[0].header("proxy-authorization").is_none(),
        "proxy credentials sent to the origin: {hits:?}"
    );
    let connects = proxy.requests().iter().filter(|r| r.is_connect()).count();
    assert!(connects <= 2, "no new CONNECT for the origin's 407:\n{}", proxy.summary());
    // -i shows the origin's status; --fail makes it 22, not a proxy failure.
    let out = through(&proxy, Some((USER, PASS)), &origin, "/status/407").arg("-f").run();
    out.assert_code(22);
}

// --- IPv6 -----------------------------------------------------------------------------------

#[test]
fn fake_ipv6_proxy() {
    let Ok(proxy) = FakeProxy::start_on("[::1]:0", fakeproxy::basic(USER, PASS)) else {
        crate::loud("SKIPPED fake_ipv6_proxy: ::1 is not available on this machine");
        return;
    };
    assert!(proxy.url().starts_with("http://[::1]:"));
    for tls in [false, true] {
        let origin = Origin::start(tls);
        let out = through(&proxy, Some((USER, PASS)), &origin, "/bytes/777").run();
        expect_success(&out, &proxy, &pattern_bytes(777));
    }
    assert!(proxy.requests().iter().any(|r| r.is_connect()));
}

/// Text from the proxy (challenge realm, headers, error bodies) is sanitised before it reaches
/// the terminal: no control sequence from a hostile proxy ends up on stderr, even with `-v`.
/// (Header values carry C1 controls, which HTTP parsers accept as obs-text; bodies carry ESC.)
#[test]
fn fake_terminal_escapes_are_sanitised() {
    let proxy = FakeProxy::start(|req: &ProxyRequest| {
        if req.proxy_authorization().is_some() {
            return Reply::new(403)
                .header("X-Evil", "a\u{9b}2Jb")
                .header("Content-Type", "text/plain")
                .body(b"\x1b]0;pwned\x07 denied \x1b[31mred\n")
                .into_action();
        }
        reply_407(&["Basic realm=\"ev\u{9b}31mil\u{9d}0;x\""])
            .header("X-Squid-Error", "ERR_\u{9b}2J")
            .into_action()
    });
    for tls in [false, true] {
        let origin = Origin::start(tls);
        let out = through(&proxy, Some((USER, PASS)), &origin, "/text").arg("-v").run();
        out.assert_no_panic();
        let bad = ['\u{1b}', '\u{7}', '\u{9b}', '\u{9d}'];
        assert!(
            !out.stderr.contains(bad),
            "raw control characters from the proxy reached stderr:\n{}",
            out.describe().replace(bad, "<CTL>")
        );
    }
}
