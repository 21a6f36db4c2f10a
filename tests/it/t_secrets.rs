//! Secrets: `-v` shows the proxy conversation with every credential replaced by `<redacted>`;
//! `Proxy-Authorization` never reaches an origin (tunnel, plain HTTP, redirects, no-proxy).

use crate::fakeproxy::{self, DigestProxy, FakeProxy};
use crate::origin::Origin;
use crate::run::{toll, Out};
use crate::squid::{self, Auth, ALICE, BOB};
use crate::tls::pki;
use crate::{base64, pattern_bytes};

/// No secret of `user:pass` in any output, and every `Proxy-Authorization` line shown is
/// redacted (this also covers toll's own relay secret, which the test cannot know).
#[track_caller]
fn assert_redacted(out: &Out, user: &str, pass: &str, digest_responses: &[String]) {
    out.assert_not_leaked("the password", pass);
    out.assert_not_leaked("base64(user:pass)", &base64(format!("{user}:{pass}").as_bytes()));
    // Also no unpadded/partial form of the token.
    let token = base64(format!("{user}:{pass}").as_bytes());
    out.assert_not_leaked("base64(user:pass) without padding", token.trim_end_matches('='));
    for r in digest_responses {
        out.assert_not_leaked("the Digest response=", r);
    }
    let all = format!("{}\n{}", out.stderr, out.stdout_str());
    for line in all.lines() {
        let lower = line.to_ascii_lowercase();
        if let Some(i) = lower.find("proxy-authorization") {
            let rest = &line[i + "proxy-authorization".len()..];
            assert!(
                rest.contains("<redacted>") || rest.trim().trim_start_matches(':').trim().is_empty(),
                "an unredacted Proxy-Authorization line: {line:?}\n{}",
                out.describe()
            );
            let long_token = rest
                .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
                .any(|w| w.len() >= 16);
            assert!(
                !long_token,
                "a token-like value on a Proxy-Authorization line: {line:?}\n{}",
                out.describe()
            );
        }
    }
}

fn verbose_args(proxy: &str, user: &str, pass: &str, origin: &Origin, path: &str) -> Vec<String> {
    let mut args =
        vec!["-v".to_string(), "-x".into(), proxy.to_string(), "-U".into(), format!("{user}:{pass}")];
    if origin.tls {
        args.extend(["--cacert".to_string(), pki().ca_arg()]);
    }
    args.push(origin.url(path));
    args
}

#[test]
fn verbose_redacts_basic() {
    let (user, pass) = BOB;
    let proxy = FakeProxy::start(fakeproxy::basic(user, pass));
    for tls in [false, true] {
        let origin = if tls { Origin::https() } else { Origin::http() };
        let out = toll(verbose_args(&proxy.url(), user, pass, &origin, "/echo-headers")).run();
        out.assert_ok();
        assert!(
            out.stderr.contains("407"),
            "-v must show the proxy conversation (the 407):\n{}",
            out.describe()
        );
        assert_redacted(&out, user, pass, &[]);
    }
    assert!(proxy.requests().iter().any(|r| r.basic_credentials().is_some()), "{}", proxy.summary());
}

#[test]
fn verbose_redacts_digest() {
    let digest = DigestProxy::new(ALICE.0, ALICE.1, true);
    let proxy = FakeProxy::start(digest.script());
    for tls in [false, true] {
        let origin = if tls { Origin::https() } else { Origin::http() };
        let out = toll(verbose_args(&proxy.url(), ALICE.0, ALICE.1, &origin, "/bytes/100")).run();
        out.assert_ok();
        let responses: Vec<String> = proxy
            .requests()
            .iter()
            .filter_map(|r| r.digest_params())
            .filter_map(|p| p.get("response").cloned())
            .collect();
        assert!(!responses.is_empty(), "{}", proxy.summary());
        assert!(out.stderr.contains("407"), "{}", out.describe());
        assert_redacted(&out, ALICE.0, ALICE.1, &responses);
    }
}

/// The failure path too: a wrong password under `-v`.
#[test]
fn verbose_redacts_on_rejection() {
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let origin = Origin::https();
    let out = toll(verbose_args(&proxy.url(), "alice", "WrongPass123", &origin, "/text")).run();
    out.assert_code(41);
    assert_redacted(&out, "alice", "WrongPass123", &[]);
}

#[test]
fn verbose_redacts_with_squid() {
    crate::require_squid!("verbose_redacts_with_squid");
    for (auth, (user, pass)) in [(Auth::Basic, BOB), (Auth::Digest, ALICE)] {
        let sq = squid::shared(auth);
        for tls in [false, true] {
            let origin = if tls { Origin::https() } else { Origin::http() };
            let out = toll(verbose_args(&sq.url(), user, pass, &origin, "/bytes/10")).run();
            out.assert_ok().assert_stdout(&pattern_bytes(10));
            assert_redacted(&out, user, pass, &[]);
        }
    }
}

/// The run succeeded and its stdout is an `/echo-headers` answer without Proxy-Authorization.
#[track_caller]
fn assert_clean_echo(out: &Out) {
    out.assert_ok();
    let echoed = out.stdout_str();
    assert!(
        echoed.starts_with("GET /echo-headers"),
        "expected the origin's /echo-headers answer on stdout:\n{}",
        out.describe()
    );
    assert!(
        !echoed.to_ascii_lowercase().contains("proxy-authorization"),
        "Proxy-Authorization reached the origin:\n{}",
        out.describe()
    );
}

#[track_caller]
fn assert_no_proxy_auth_at(origin: &Origin) {
    for r in origin.requests() {
        assert!(
            r.header("proxy-authorization").is_none(),
            "Proxy-Authorization reached origin {} on {} {}: {:?}",
            origin.authority(),
            r.method,
            r.target,
            r.headers
        );
    }
}

#[test]
fn proxy_authorization_never_reaches_origin() {
    let proxy = FakeProxy::start(fakeproxy::basic(ALICE.0, ALICE.1));
    let creds = format!("{}:{}", ALICE.0, ALICE.1);
    let ca = pki().ca_arg();
    let http = Origin::http();
    let https = Origin::https();
    let other_http = Origin::http();
    let other_https = Origin::https();

    // Through the proxy, http and https.
    for o in [&http, &https] {
        let out =
            toll(["-sS", "-x", &proxy.url(), "-U", &creds, "--cacert", &ca, &o.url("/echo-headers")]).run();
        assert_clean_echo(&out);
    }

    let mut failures = Vec::new();
    // -L from one origin to another (https→https, https→http, http→http, http→https), all via
    // the proxy.
    for (from, to) in
        [(&https, &other_https), (&https, &other_http), (&http, &other_http), (&http, &other_https)]
    {
        let url = from.url(&format!("/redirect?to={}", crate::pct(&to.url("/echo-headers"))));
        let out = toll(["-sS", "-L", "-x", &proxy.url(), "-U", &creds, "--cacert", &ca, &url]).run();
        if let Err(e) = std::panic::catch_unwind(|| assert_clean_echo(&out)) {
            failures.push(format!("{} → {}: {}", from.scheme(), to.scheme(), panic_text(&e)));
        }
    }
    assert!(failures.is_empty(), "redirects between origins:\n{}", failures.join("\n"));

    // -L from an origin reached via the proxy to one reached directly (--noproxy localhost).
    let direct = Origin::http();
    let target = format!("http://localhost:{}/echo-headers", direct.port);
    let url = https.url(&format!("/redirect?to={}", crate::pct(&target)));
    let out = toll([
        "-sS",
        "-L",
        "-x",
        &proxy.url(),
        "-U",
        &creds,
        "--noproxy",
        "localhost",
        "--cacert",
        &ca,
        &url,
    ])
    .run();
    assert_clean_echo(&out);
    assert_eq!(direct.requests().len(), 1, "{}", out.describe());
    assert!(
        proxy.requests().iter().all(|r| !r.target.contains(&direct.port.to_string())),
        "--noproxy localhost: the redirect target must be reached directly:\n{}",
        proxy.summary()
    );

    // Direct (--noproxy '*') with proxy credentials configured: nothing proxy-ish goes out.
    let out =
        toll(["-sS", "-x", &proxy.url(), "-U", &creds, "--noproxy", "*", &direct.url("/echo-headers")]).run();
    assert_clean_echo(&out);

    for o in [&http, &https, &other_http, &other_https, &direct] {
        assert_no_proxy_auth_at(o);
    }
}

#[test]
fn proxy_authorization_never_reaches_origin_squid() {
    crate::require_squid!("proxy_authorization_never_reaches_origin_squid");
    let sq = squid::shared(Auth::Basic);
    let creds = format!("{}:{}", ALICE.0, ALICE.1);
    let ca = pki().ca_arg();
    let a = Origin::https();
    let b = Origin::http();
    let c = Origin::https();
    let to_c = c.url("/echo-headers");
    let to_b = b.url(&format!("/redirect?to={}", crate::pct(&to_c)));
    let url = a.url(&format!("/redirect?to={}", crate::pct(&to_b)));
    let out = toll(["-sS", "-L", "-x", &sq.url(), "-U", &creds, "--cacert", &ca, &url]).run();
    assert_clean_echo(&out);
    for o in [&a, &b, &c] {
        assert_eq!(
            o.requests().len(),
            1,
            "one request at each origin of the chain ({}):\n{}",
            o.authority(),
            out.describe()
        );
        assert_no_proxy_auth_at(o);
    }
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

/// Like curl without --location-trusted: a user's `Authorization` (and `Cookie`) header goes to
/// the first origin only, not to another host a redirect points at.
#[test]
fn user_authorization_stays_with_the_first_origin() {
    let first = Origin::http();
    let other = Origin::http();
    let url = first.url(&format!("/redirect?to={}", crate::pct(&other.url("/echo-headers"))));
    let out =
        toll(["-sS", "-L", "-H", "Authorization: Bearer origin-secret", "-H", "Cookie: c=1", &url]).run();
    assert_clean_echo(&out);
    assert_eq!(first.requests()[0].header("authorization"), Some("Bearer origin-secret"));
    let hop = &other.requests()[0];
    assert!(
        hop.header("authorization").is_none() && hop.header("cookie").is_none(),
        "credentials followed the redirect to another host: {:?}",
        hop.headers
    );
    // Same origin: they stay.
    let url = first.url(&format!("/redirect?to={}", crate::pct("/echo-headers")));
    let out = toll(["-sS", "-L", "-H", "Authorization: Bearer origin-secret", &url]).run();
    assert_clean_echo(&out);
    assert_eq!(first.requests_to("/echo-headers")[0].header("authorization"), Some("Bearer origin-secret"));
}
