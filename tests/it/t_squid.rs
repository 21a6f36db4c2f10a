//! The acceptance matrix against real Squid: no-auth control, Basic (incl. a password
//! with ':' and non-ASCII), Digest, Digest with stale nonces; each with the plain HTTP origin and
//! the TLS origin; 10 MiB down and up checked by sha256; wrong password; no credentials.

use crate::origin::Origin;
use crate::run::{scratch, toll, via_proxy, Toll};
use crate::squid::{self, count, show, Auth, LogLine, Squid, ALICE, BOB};
use crate::tls::pki;
use crate::{pattern_bytes, sha256_hex, TEN_MIB};
use std::time::Duration;

/// `toll -sS -x SQUID [-U user:pass] [--cacert CA] EXTRA… URL`
fn via(sq: &Squid, creds: Option<(&str, &str)>, origin: &Origin, path: &str, extra: &[&str]) -> Toll {
    via_proxy(&sq.url(), creds, origin, path, extra)
}

/// Lines Squid served (anything but a 407).
fn served(lines: &[LogLine]) -> usize {
    lines.iter().filter(|l| l.code != 407).count()
}

/// Tracks access.log for one origin across the runs of a test: after each run, waits until
/// Squid logged `served` more requests and checks that the run caused at most `max_407` 407s.
struct LogCheck<'a> {
    sq: &'a Squid,
    authority: String,
    served: usize,
    n407: usize,
}

impl<'a> LogCheck<'a> {
    fn new(sq: &'a Squid, origin: &Origin) -> Self {
        LogCheck { sq, authority: origin.authority(), served: 0, n407: 0 }
    }

    #[track_caller]
    fn after_run(&mut self, what: &str, served_now: usize, max_407: usize) {
        let want = self.served + served_now;
        let lines = self.sq.wait_log(&self.authority, |l| served(l) >= want);
        let got_407 = count(&lines, 407) - self.n407;
        assert_eq!(
            served(&lines),
            want,
            "{what}: Squid should have served {served_now} more request(s) for {}; access.log:\n{}",
            self.authority,
            show(&lines)
        );
        assert!(
            got_407 <= max_407,
            "{what}: {got_407} 407s in one run (at most {max_407} allowed); access.log:\n{}",
            show(&lines)
        );
        self.served = want;
        self.n407 += got_407;
    }
}

/// GET 10 MiB and POST 10 MiB (sha256 at the other end), then `/echo-headers`, through `auth`.
fn matrix(test: &str, auth: Auth, tls: bool) {
    crate::require_squid!(test);
    let sq = squid::shared(auth);
    let origin = Origin::start(tls);
    let creds = (auth != Auth::None).then_some(ALICE);
    let max_407 = usize::from(creds.is_some());
    let mut log = LogCheck::new(sq, &origin);

    // Download, binary-safe on stdout.
    let out = via(sq, creds, &origin, &format!("/bytes/{TEN_MIB}"), &[]).run();
    out.assert_ok().assert_stdout(&pattern_bytes(TEN_MIB));
    log.after_run("GET 10 MiB", 1, max_407);

    // Upload a file, streamed: the origin reports sha256 and length of what arrived.
    let dir = scratch();
    let file = dir.path().join("upload.bin");
    let data = pattern_bytes(TEN_MIB + 17);
    std::fs::write(&file, &data).unwrap();
    let at_file = format!("@{}", file.display());
    let out = via(sq, creds, &origin, "/upload", &["--data-binary", &at_file]).run();
    out.assert_ok();
    assert_eq!(
        out.stdout_str(),
        format!("{} {}\n", sha256_hex(&data), data.len()),
        "upload arrived damaged:\n{}",
        out.describe()
    );
    let uploads = origin.requests_to("/upload");
    assert_eq!(uploads.len(), 1, "the origin must see exactly one upload");
    assert_eq!(uploads[0].method, "POST");
    log.after_run("POST 10 MiB", 1, max_407);

    // The origin never sees Proxy-Authorization.
    let out = via(sq, creds, &origin, "/echo-headers", &[]).run();
    out.assert_ok();
    let echoed = out.stdout_str().to_ascii_lowercase();
    assert!(echoed.starts_with("get "), "unexpected echo:\n{}", out.describe());
    assert!(
        !echoed.contains("proxy-authorization"),
        "Proxy-Authorization reached the origin:\n{}",
        out.describe()
    );
    log.after_run("GET /echo-headers", 1, max_407);
    for r in origin.requests() {
        assert!(
            r.header("proxy-authorization").is_none(),
            "origin got Proxy-Authorization on {} {}",
            r.method,
            r.target
        );
    }

    if creds.is_some() {
        // The second user: a password with ':' (only the first ':' of -U splits), a space and
        // non-ASCII characters.
        let out = via(sq, Some(BOB), &origin, "/bytes/1000", &[]).run();
        out.assert_ok().assert_stdout(&pattern_bytes(1000));
        log.after_run("GET as bob", 1, 1);
    }
}

#[test]
fn squid_noauth_http() {
    matrix("squid_noauth_http", Auth::None, false);
}

#[test]
fn squid_noauth_https() {
    matrix("squid_noauth_https", Auth::None, true);
}

#[test]
fn squid_basic_http() {
    matrix("squid_basic_http", Auth::Basic, false);
}

#[test]
fn squid_basic_https() {
    matrix("squid_basic_https", Auth::Basic, true);
}

#[test]
fn squid_digest_http() {
    matrix("squid_digest_http", Auth::Digest, false);
}

#[test]
fn squid_digest_https() {
    matrix("squid_digest_https", Auth::Digest, true);
}

#[test]
fn squid_digest_stale_http() {
    matrix("squid_digest_stale_http", Auth::DigestStale, false);
}

#[test]
fn squid_digest_stale_https() {
    matrix("squid_digest_stale_https", Auth::DigestStale, true);
}

/// Several requests on one connection/nonce in one run (`-L` through a chain of 8 redirects):
/// nc passes `nonce_max_count 3`, Squid answers `stale=true`, toll must carry on.
#[test]
fn squid_digest_stale_many_requests_http() {
    crate::require_squid!("squid_digest_stale_many_requests_http");
    let sq = squid::shared(Auth::DigestStale);
    let origin = Origin::http();
    let out = via(sq, Some(ALICE), &origin, "/chain/8", &["-L"]).run();
    out.assert_ok().assert_stdout(b"chain done\n");
    let lines = sq.wait_log(&origin.authority(), |l| served(l) >= 9);
    assert_eq!(served(&lines), 9, "access.log:\n{}", show(&lines));
    let n407 = count(&lines, 407);
    eprintln!("squid_digest_stale_many_requests_http: 9 requests, {n407} 407s");
    assert!(
        n407 <= 1 + 9 / 2,
        "{n407} 407s for 9 requests with nonce_max_count 3 (Digest not reused?):\n{}",
        show(&lines)
    );
}

/// Several CONNECTs in one run (`-L` across five TLS origins): the nonce goes stale on the way.
#[test]
fn squid_digest_stale_many_connects_https() {
    crate::require_squid!("squid_digest_stale_many_connects_https");
    let sq = squid::shared(Auth::DigestStale);
    let origins: Vec<Origin> = (0..5).map(|_| Origin::https()).collect();
    let mut url = origins[4].url("/text");
    for o in origins[..4].iter().rev() {
        url = o.url(&format!("/redirect?to={}", crate::pct(&url)));
    }
    let out = toll([
        "-sS",
        "-L",
        "-x",
        &sq.url(),
        "-U",
        &format!("{}:{}", ALICE.0, ALICE.1),
        "--cacert",
        &pki().ca_arg(),
        &url,
    ])
    .run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    let mut n407 = 0;
    let mut all = Vec::new();
    for o in &origins {
        let lines = sq.wait_log(&o.authority(), |l| served(l) >= 1);
        assert_eq!(served(&lines), 1, "one tunnel per origin:\n{}", show(&lines));
        n407 += count(&lines, 407);
        all.extend(lines);
    }
    eprintln!("squid_digest_stale_many_connects_https: 5 CONNECTs, {n407} 407s");
    assert!(n407 <= 3, "{n407} 407s for 5 CONNECTs (nonce_max_count 3):\n{}", show(&all));
}

/// Wrong password: exit 41, and Squid saw it exactly once.
fn wrong_password(test: &str, auth: Auth, tls: bool) {
    crate::require_squid!(test);
    let sq = squid::shared(auth);
    let origin = Origin::start(tls);
    let out = via(sq, Some(("alice", "not-the-password")), &origin, "/text", &[]).run();
    out.assert_code(41).assert_error_message();
    assert!(out.stdout.is_empty(), "stdout must be empty:\n{}", out.describe());
    out.assert_faster_than(Duration::from_secs(10));
    // Squid logs the user name on the 407 that answers a wrong password. Wait for it, then a
    // little longer in case a second send is still on its way to the log.
    sq.wait_log(&origin.authority(), |l| l.iter().any(|x| x.code == 407 && x.user == "alice"));
    std::thread::sleep(Duration::from_millis(300));
    let lines = sq.log_for(&origin.authority());
    let wrong_sends = lines.iter().filter(|l| l.code == 407 && l.user == "alice").count();
    assert_eq!(wrong_sends, 1, "the wrong password must be sent exactly once; access.log:\n{}", show(&lines));
    assert_eq!(served(&lines), 0, "access.log:\n{}", show(&lines));
    assert!(count(&lines, 407) <= 2, "access.log:\n{}", show(&lines));
    assert!(origin.requests().is_empty(), "nothing may reach the origin");
}

#[test]
fn squid_basic_wrong_password_http() {
    wrong_password("squid_basic_wrong_password_http", Auth::Basic, false);
}

#[test]
fn squid_basic_wrong_password_https() {
    wrong_password("squid_basic_wrong_password_https", Auth::Basic, true);
}

#[test]
fn squid_digest_wrong_password_http() {
    wrong_password("squid_digest_wrong_password_http", Auth::Digest, false);
}

#[test]
fn squid_digest_wrong_password_https() {
    wrong_password("squid_digest_wrong_password_https", Auth::Digest, true);
}

/// No credentials anywhere, non-interactive: exit 40 at once with a message.
fn no_credentials(test: &str, auth: Auth, tls: bool) {
    crate::require_squid!(test);
    let sq = squid::shared(auth);
    let origin = Origin::start(tls);
    let out = via(sq, None, &origin, "/text", &[]).run();
    out.assert_code(40).assert_error_message().assert_faster_than(Duration::from_secs(5));
    assert!(out.stdout.is_empty(), "stdout must be empty:\n{}", out.describe());
    assert!(out.stderr.lines().count() >= 2, "expected an error line and a hint line:\n{}", out.describe());
    assert!(origin.requests().is_empty(), "nothing may reach the origin");
}

#[test]
fn squid_basic_no_credentials_http() {
    no_credentials("squid_basic_no_credentials_http", Auth::Basic, false);
}

#[test]
fn squid_basic_no_credentials_https() {
    no_credentials("squid_basic_no_credentials_https", Auth::Basic, true);
}

#[test]
fn squid_digest_no_credentials_https() {
    no_credentials("squid_digest_no_credentials_https", Auth::Digest, true);
}

/// `-U user` without a password, no terminal, no other source: exit 40, no hang.
#[test]
fn squid_user_without_password_is_not_prompted() {
    crate::require_squid!("squid_user_without_password_is_not_prompted");
    let sq = squid::shared(Auth::Basic);
    let origin = Origin::https();
    let out = via(sq, None, &origin, "/text", &["-U", "alice"]).run();
    out.assert_code(40).assert_error_message().assert_faster_than(Duration::from_secs(5));
}

/// Credentials from the proxy URL's userinfo, percent-decoded.
#[test]
fn squid_basic_credentials_in_proxy_url() {
    crate::require_squid!("squid_basic_credentials_in_proxy_url");
    let sq = squid::shared(Auth::Basic);
    for tls in [false, true] {
        let origin = Origin::start(tls);
        let proxy = format!("http://{}:{}@127.0.0.1:{}", crate::pct(BOB.0), crate::pct(BOB.1), sq.port);
        let mut args = vec!["-sS".to_string(), "-x".into(), proxy];
        if tls {
            args.extend(["--cacert".to_string(), pki().ca_arg()]);
        }
        args.push(origin.url("/bytes/4096"));
        let out = toll(args).run();
        out.assert_ok().assert_stdout(&pattern_bytes(4096));
        out.assert_not_leaked("the password", BOB.1);
    }
}

/// Credentials from TOLL_PROXY_USER + TOLL_PROXY_PASSWORD.
#[test]
fn squid_credentials_from_env() {
    crate::require_squid!("squid_credentials_from_env");
    for auth in [Auth::Basic, Auth::Digest] {
        let sq = squid::shared(auth);
        let origin = Origin::https();
        let out = via(sq, None, &origin, "/bytes/2048", &[])
            .env("TOLL_PROXY_USER", BOB.0)
            .env("TOLL_PROXY_PASSWORD", BOB.1)
            .run();
        out.assert_ok().assert_stdout(&pattern_bytes(2048));
    }
}

/// The proxy offers only a scheme the user excluded: exit 44, no credentials sent.
#[test]
fn squid_no_usable_scheme() {
    crate::require_squid!("squid_no_usable_scheme");
    for (auth, flag) in [(Auth::Basic, "--proxy-digest"), (Auth::Digest, "--proxy-basic")] {
        let sq = squid::shared(auth);
        let origin = Origin::https();
        let out = via(sq, Some(ALICE), &origin, "/text", &[flag]).run();
        out.assert_code(44).assert_error_message();
        let lines = sq.wait_log(&origin.authority(), |l| !l.is_empty());
        assert!(
            lines.iter().all(|l| l.user == "-"),
            "no credentials may be sent for an excluded scheme:\n{}",
            show(&lines)
        );
    }
}

/// A 407 from the origin inside an established tunnel is the origin's answer, not the proxy's:
/// toll must not answer it with proxy credentials.
#[test]
fn squid_407_inside_tunnel_is_an_ordinary_response() {
    crate::require_squid!("squid_407_inside_tunnel_is_an_ordinary_response");
    let sq = squid::shared(Auth::Basic);
    let origin = Origin::https();
    let out = via(sq, Some(ALICE), &origin, "/status/407", &[]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), "status 407 from the origin\n");
    let hits = origin.requests_to("/status/407");
    assert_eq!(hits.len(), 1, "the origin must be asked once: {hits:?}");
    assert!(hits[0].header("proxy-authorization").is_none());
    let lines = sq.wait_log(&origin.authority(), |l| served(l) >= 1);
    assert_eq!(served(&lines), 1, "one tunnel:\n{}", show(&lines));
    // With --fail it is an HTTP error (22), not a proxy-auth failure.
    let out = via(sq, Some(ALICE), &origin, "/status/407", &["-f"]).run();
    out.assert_code(22);
}

/// Several toll runs against the same instance in parallel all succeed (shared fixture sanity
/// and no cross-talk in toll).
#[test]
fn squid_parallel_runs() {
    crate::require_squid!("squid_parallel_runs");
    let sq = squid::shared(Auth::Digest);
    let origin = Origin::https();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let args = vec![
                "-sS".to_string(),
                "-x".into(),
                sq.url(),
                "-U".into(),
                format!("{}:{}", ALICE.0, ALICE.1),
                "--cacert".into(),
                pki().ca_arg(),
                origin.url(&format!("/bytes/{}", 100_000 + i)),
            ];
            std::thread::spawn(move || (i, toll(args).run()))
        })
        .collect();
    for h in handles {
        let (i, out) = h.join().unwrap();
        out.assert_ok().assert_stdout(&pattern_bytes(100_000 + i));
    }
}

/// Squid refuses the CONNECT with 403 (its ACL, before authentication): exit 42.
#[test]
fn squid_connect_denied_is_42() {
    crate::require_squid!("squid_connect_denied_is_42");
    for (auth, creds) in [(Auth::None, None), (Auth::Basic, Some(ALICE)), (Auth::Basic, None)] {
        let sq = squid::shared(auth);
        let mut args = vec!["-sS".to_string(), "-x".into(), sq.url()];
        if let Some((u, p)) = creds {
            args.extend(["-U".to_string(), format!("{u}:{p}")]);
        }
        args.push("https://127.0.0.1:9/".into());
        let out = toll(args).run();
        out.assert_code(42).assert_error_message();
        let lines = sq.wait_log("127.0.0.1:9", |l| !l.is_empty());
        assert!(lines.iter().all(|l| l.code == 403), "{}", show(&lines));
    }
}

/// A body from stdin (`--data-binary @-`) cannot be read twice: toll must still deliver it
/// whole when the proxy first answers 407.
#[test]
fn squid_upload_from_stdin() {
    crate::require_squid!("squid_upload_from_stdin");
    let data = pattern_bytes(1024 * 1024 + 3);
    let want = format!("{} {}\n", sha256_hex(&data), data.len());
    for auth in [Auth::Basic, Auth::Digest] {
        for tls in [false, true] {
            let sq = squid::shared(auth);
            let origin = Origin::start(tls);
            let out = via(sq, Some(ALICE), &origin, "/upload", &["--data-binary", "@-"]).stdin(&data).run();
            out.assert_ok();
            assert_eq!(out.stdout_str(), want, "{auth:?} tls={tls}: upload damaged:\n{}", out.describe());
        }
    }
}

/// Squid as a web site's reverse proxy asking for Digest or Basic with 401s: `-u` with
/// `--digest`, `--anyauth` and `--basic` against a Digest implementation nobody here wrote,
/// a wrong password sent once (the 401 is the answer), and curl beside it where installed.
#[test]
fn the_servers_digest_and_basic_from_a_real_web_server() {
    if !squid::available("the_servers_digest_and_basic_from_a_real_web_server") {
        return;
    }
    let origin = crate::origin::Origin::start(false);
    let web = crate::kdc::ChosenSquid::start_web(
        &[crate::kdc::Offer::Digest, crate::kdc::Offer::Basic],
        origin.port,
    );
    let url = format!("{}/text", web.url());
    let good = format!("{}:{}", ALICE.0, ALICE.1);
    // --basic sends Basic first; --digest and --anyauth answer the one 401 (with Digest: only
    // the first passes with --digest alone).
    // Lines the log holds once every run so far is written (curl's runs too: the same legs).
    let mut logged = 0;
    for (scheme, challenges) in [("--digest", 1), ("--anyauth", 1), ("--basic", 0)] {
        let before = web.settled_log(logged).len();
        logged = before + challenges + 1;
        let out = crate::run::toll(["-s", scheme, "-u", &good, "-w", "%{http_code}", &url]).run();
        out.assert_ok().assert_stdout(b"hello from the origin\n200");
        let log = &web.settled_log(logged)[before..];
        assert_eq!(count(log, 401), challenges, "{scheme}: {}", show(log));
        let theirs = std::process::Command::new("/usr/bin/curl")
            .args(["-s", scheme, "-u", &good, "-w", "%{http_code}", &url])
            .env_remove("http_proxy")
            .output();
        match theirs {
            Ok(o) => {
                assert_eq!(String::from_utf8_lossy(&o.stdout), "hello from the origin\n200", "curl {scheme}")
            }
            Err(e) => crate::skip(&format!("SKIPPED the curl half of a t_squid test: {e}")),
        }
        logged += challenges + 1;
    }
    let served: Vec<String> =
        web.access_log().into_iter().filter(|l| l.code == 200).map(|l| l.user).collect();
    assert!(served.iter().all(|u| u == ALICE.0) && !served.is_empty(), "{}", show(&web.access_log()));
    // A wrong password: one answer, then the 401 stands.
    let before = web.settled_log(logged).len();
    let bad = format!("{}:wrong", ALICE.0);
    let out =
        crate::run::toll(["-s", "--digest", "-u", &bad, "-o", "/dev/null", "-w", "%{http_code}", &url]).run();
    out.assert_ok().assert_stdout(b"401");
    let after = &web.settled_log(before + 2)[before..];
    assert_eq!(after.len(), 2, "the challenge and one answer: {}", show(after));
}
