//! `toll doctor` (issue 6) against real Squid on loopback, plus in-process proxies for what
//! Squid will not do on demand (an unreachable port, TLS interception, Negotiate and NTLM
//! challenges).
//!
//! Each case checks the exit code, snapshots the human output (ports, timings and temp paths
//! normalised; `TOLL_BLESS=1 cargo test doctor` rewrites `tests/it/snapshots/doctor_*.txt`),
//! parses `--json` with serde_json, and greps every output (human, `--json`, `--report`, stderr)
//! for the test passwords.
//!
//! The Squid instance here has its own acls (../shared/notes/squid.md, "403 vs 407"):
//! `restricted.example` is denied to authenticated users by a line whose last acl is the auth
//! acl (→ a 407 byte-for-byte like a wrong password), `forbidden.example` by a plain line (→ 403).
//! Neither name needs to resolve: Squid decides before it looks them up.

use crate::fakeproxy::{reply_407, FakeProxy};
use crate::http;
use crate::origin::Origin;
use crate::run::{toll, Out, Toll};
use crate::squid::{self, LogLine, Squid, SquidConfig, ALICE, REALM};
use crate::tls::pki;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const WRONG: &str = "not-the-password";

// ---------------------------------------------------------------------------------------------
// A Squid with Basic auth and the two denying acls.

fn doctor_squid() -> &'static Squid {
    static SQ: OnceLock<Squid> = OnceLock::new();
    SQ.get_or_init(|| {
        SquidConfig::new()
            .basic()
            .acl_lines(
                "acl restricted dstdomain restricted.example\n\
                 acl forbidden dstdomain forbidden.example\n\
                 http_access deny !authenticated\n\
                 # The auth acl last: Squid answers 407, as for a wrong password.\n\
                 http_access deny restricted authenticated\n\
                 http_access deny forbidden\n",
            )
            .start()
    })
}

// ---------------------------------------------------------------------------------------------
// Running the doctor, snapshots, JSON, secrets.

/// The three renderings of one diagnosis (each a run of its own).
struct Runs {
    human: Out,
    json: Out,
    report: Out,
}

fn doctor(args: &[String], env: &[(&str, &str)]) -> Toll {
    let mut t = toll(["doctor"]);
    for a in args {
        t = t.arg(a);
    }
    for (k, v) in env {
        t = t.env(k, v);
    }
    t
}

fn runs(args: &[String], env: &[(&str, &str)]) -> Runs {
    let json_args: Vec<String> = args.iter().cloned().chain(["--json".to_string()]).collect();
    let report_args: Vec<String> = args.iter().cloned().chain(["--report".to_string()]).collect();
    Runs {
        human: doctor(args, env).run(),
        json: doctor(&json_args, env).run(),
        report: doctor(&report_args, env).run(),
    }
}

impl Runs {
    /// Same exit code everywhere, no panic, no password anywhere, the JSON well-formed and
    /// matching; returns the parsed JSON.
    #[track_caller]
    fn check(&self, code: i32, secrets: &[&str]) -> serde_json::Value {
        for out in [&self.human, &self.json, &self.report] {
            out.assert_code(code).assert_no_panic();
            for s in secrets {
                out.assert_not_leaked("a test password", s);
            }
            out.assert_not_leaked("the relay's key marker", "u0:");
        }
        let v: serde_json::Value = serde_json::from_slice(&self.json.stdout)
            .unwrap_or_else(|e| panic!("--json is not JSON ({e}):\n{}", self.json.describe()));
        let steps = v["steps"].as_array().expect("steps");
        assert_eq!(steps.len(), 7, "{v:#}");
        for (i, s) in steps.iter().enumerate() {
            assert_eq!(s["step"].as_u64(), Some(i as u64 + 1));
            assert!(
                ["ok", "warning", "problem", "skipped"].contains(&s["status"].as_str().unwrap_or("")),
                "{s}"
            );
            assert!(!s["evidence"].as_str().unwrap_or("").is_empty(), "step {} has no evidence: {s}", i + 1);
        }
        assert_eq!(v["summary"]["exit_code"].as_i64(), Some(code as i64), "{v:#}");
        assert_eq!(v["summary"]["fetched"].as_bool(), Some(code == 0), "{v:#}");
        let report = self.report.stdout_str();
        for part in [
            "toll doctor report",
            "Exchanges with the proxy",
            "Environment (passwords removed)",
            "7. summary",
        ] {
            assert!(report.contains(part), "--report lacks {part:?}:\n{report}");
        }
        v
    }

    fn stdout(&self) -> String {
        self.human.stdout_str()
    }
}

fn status_of(v: &serde_json::Value, step: usize) -> String {
    v["steps"][step - 1]["status"].as_str().unwrap_or("").to_string()
}

/// `12.3 ms` → `<t> ms`, then the given replacements (ports, paths).
fn normalise(text: &str, subs: &[(String, String)]) -> String {
    let pieces: Vec<&str> = text.split(" ms").collect();
    let mut out = String::new();
    for (i, p) in pieces.iter().enumerate() {
        if i + 1 == pieces.len() {
            out.push_str(p);
            break;
        }
        let trimmed = p.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        if trimmed.len() < p.len() && p[trimmed.len()..].contains('.') {
            out.push_str(trimmed);
            out.push_str("<t>");
        } else {
            out.push_str(p);
        }
        out.push_str(" ms");
    }
    for (from, to) in subs {
        out = out.replace(from.as_str(), to);
    }
    out
}

/// Compares with `tests/it/snapshots/doctor_<name>.txt`; `TOLL_BLESS=1` writes it.
#[track_caller]
fn snapshot(name: &str, text: &str) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots").join(format!("doctor_{name}.txt"));
    if std::env::var("TOLL_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {} (run with TOLL_BLESS=1 to write it):\n{text}", path.display())
    });
    if expected != text {
        let diff: String = expected
            .lines()
            .zip(text.lines().chain(std::iter::repeat("")))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("- {a}\n+ {b}\n"))
            .collect();
        panic!(
            "toll doctor's output for {name} changed (TOLL_BLESS=1 cargo test doctor to accept it):\n{diff}\n--- got:\n{text}"
        );
    }
}

fn subs(pairs: &[(String, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs.iter().map(|(a, b)| (a.clone(), b.to_string())).collect();
    v.push((pki().ca_arg(), "<CA>".into()));
    v
}

fn s(x: &str) -> String {
    x.to_string()
}

// ---------------------------------------------------------------------------------------------
// The cases.

#[test]
fn doctor_no_proxy_set() {
    let origin = Origin::http();
    let r = runs(&[origin.url("/text")], &[]);
    let v = r.check(0, &[]);
    assert_eq!(status_of(&v, 1), "warning");
    assert_eq!(status_of(&v, 5), "ok");
    let out = r.stdout();
    assert!(out.contains("no proxy is set for http:// URLs"), "{out}");
    snapshot("no_proxy", &normalise(&out, &subs(&[(origin.authority(), "127.0.0.1:<ORIGIN>")])));
}

#[test]
fn doctor_unreachable_proxy_port() {
    let port = crate::free_port();
    let origin = Origin::http();
    let r = runs(&[s("-x"), format!("http://127.0.0.1:{port}"), origin.url("/text")], &[]);
    let v = r.check(5, &[]);
    assert_eq!(status_of(&v, 2), "problem");
    let out = r.stdout();
    assert!(out.contains("connection refused"), "{out}");
    snapshot(
        "unreachable_port",
        &normalise(
            &out,
            &subs(&[
                (format!("127.0.0.1:{port}"), "127.0.0.1:<PORT>"),
                (format!("port {port}"), "port <PORT>"),
                (origin.authority(), "127.0.0.1:<ORIGIN>"),
            ]),
        ),
    );
}

#[test]
fn doctor_proxy_url_without_port() {
    // http://127.0.0.1 means port 1080, where nothing listens: the missing port is the fix.
    let origin = Origin::http();
    let r = runs(&[origin.url("/text")], &[("http_proxy", "http://127.0.0.1")]);
    let v = r.check(5, &[]);
    assert_eq!(status_of(&v, 1), "warning");
    assert!(v["summary"]["also"].as_str().unwrap_or("").contains("add the proxy's port"), "{v:#}");
    snapshot("no_port", &normalise(&r.stdout(), &subs(&[(origin.authority(), "127.0.0.1:<ORIGIN>")])));
}

/// The Squid's port, the URL's origin (if any) and the --verify-url origin (if any).
fn squid_subs(sq: &Squid, origin: Option<&Origin>, verify: Option<&Origin>) -> Vec<(String, String)> {
    let mut v = vec![(format!("127.0.0.1:{}", sq.port), "127.0.0.1:<SQUID>")];
    if let Some(o) = origin {
        v.push((o.authority(), "127.0.0.1:<ORIGIN>"));
    }
    if let Some(o) = verify {
        v.push((o.authority(), "127.0.0.1:<VERIFY>"));
    }
    subs(&v)
}

fn with_squid(test: &str) -> Option<&'static Squid> {
    squid::available(test).then(doctor_squid)
}

#[test]
fn doctor_basic_without_credentials() {
    let Some(sq) = with_squid("doctor_basic_without_credentials") else { return };
    let origin = Origin::http();
    let r = runs(&[s("-x"), sq.url(), origin.url("/text")], &[]);
    let v = r.check(40, &[]);
    assert_eq!(status_of(&v, 3), "ok");
    assert_eq!(status_of(&v, 4), "problem");
    let out = r.stdout();
    assert!(out.contains(&format!("fix: toll auth login 127.0.0.1:{}", sq.port)), "{out}");
    assert!(out.contains(&format!(r#"Basic (realm "{REALM}")"#)), "{out}");
    snapshot("basic_no_credentials", &normalise(&out, &squid_subs(sq, Some(&origin), None)));
    // No credential was ever sent.
    let lines = sq.wait_log(&origin.authority(), |l| l.len() >= 3);
    assert!(lines.iter().all(|l| l.user == "-" && l.code == 407), "{}", squid::show(&lines));
}

#[test]
fn doctor_wrong_password_is_sent_exactly_once() {
    let Some(sq) = with_squid("doctor_wrong_password_is_sent_exactly_once") else { return };
    let origin = Origin::https();
    let verify = Origin::http();
    let args = vec![
        s("-x"),
        sq.url(),
        s("-U"),
        format!("{}:{WRONG}", ALICE.0),
        s("--cacert"),
        pki().ca_arg(),
        s("--verify-url"),
        verify.url("/text"),
        origin.url("/text"),
    ];
    let human = doctor(&args, &[]).run();
    human.assert_code(41).assert_not_leaked("the wrong password", WRONG);
    let sent = |lines: &[LogLine]| lines.iter().filter(|l| l.user == ALICE.0).count();
    sq.wait_log(&verify.authority(), |l| sent(l) >= 1);
    std::thread::sleep(Duration::from_millis(300));
    let lines = sq.wait_log(&verify.authority(), |_| true);
    assert_eq!(sent(&lines), 1, "one run sends the wrong password once:\n{}", squid::show(&lines));
    assert!(lines.iter().all(|l| l.code == 407), "{}", squid::show(&lines));
    assert!(sq.wait_log(&origin.authority(), |_| true).iter().all(|l| l.user == "-"), "URL never gets it");
    assert!(verify.requests().is_empty() && origin.requests().is_empty(), "nothing reaches an origin");

    let out = human.stdout_str();
    assert!(out.contains("the proxy rejected alice's password from -U/--proxy-user (Basic)"), "{out}");
    assert!(out.contains("sent once, not retried"), "{out}");
    snapshot("wrong_password", &normalise(&out, &squid_subs(sq, Some(&origin), Some(&verify))));

    let r = Runs {
        human,
        json: doctor(&[args.clone(), vec![s("--json")]].concat(), &[]).run(),
        report: doctor(&[args, vec![s("--report")]].concat(), &[]).run(),
    };
    let v = r.check(41, &[WRONG]);
    assert_eq!(status_of(&v, 4), "problem");
    let lines = sq.wait_log(&verify.authority(), |l| sent(l) >= 3);
    assert_eq!(sent(&lines), 3, "three runs, one attempt each:\n{}", squid::show(&lines));
    let report = r.report.stdout_str();
    assert!(report.contains("Proxy-Authorization: Basic <removed>"), "{report}");
    assert!(report.contains(&format!(r#"Proxy-Authenticate: Basic realm="{REALM}""#)), "{report}");
}

#[test]
fn doctor_right_password_https() {
    let Some(sq) = with_squid("doctor_right_password_https") else { return };
    let origin = Origin::https();
    let verify = Origin::http();
    let args = vec![
        s("-x"),
        sq.url(),
        s("--cacert"),
        pki().ca_arg(),
        s("--verify-url"),
        verify.url("/text"),
        origin.url("/text"),
    ];
    let env = [("TOLL_PROXY_USER", ALICE.0), ("TOLL_PROXY_PASSWORD", ALICE.1)];
    let r = runs(&args, &env);
    let v = r.check(0, &[ALICE.1]);
    for step in 1..=6 {
        assert_eq!(status_of(&v, step), "ok", "step {step}: {v:#}");
    }
    let out = r.stdout();
    assert!(
        out.contains("the proxy accepted alice's password from TOLL_PROXY_USER/TOLL_PROXY_PASSWORD (Basic)"),
        "{out}"
    );
    assert!(out.contains("toll integration-test CA"), "{out}");
    snapshot("right_password", &normalise(&out, &squid_subs(sq, Some(&origin), Some(&verify))));
}

#[test]
fn doctor_destination_restricted_with_407() {
    let Some(sq) = with_squid("doctor_destination_restricted_with_407") else { return };
    let verify = Origin::http();
    let args = vec![
        s("-x"),
        sq.url(),
        s("-U"),
        format!("{}:{}", ALICE.0, ALICE.1),
        s("--verify-url"),
        verify.url("/text"),
        s("https://restricted.example/"),
    ];
    let r = runs(&args, &[]);
    let v = r.check(42, &[ALICE.1]);
    assert_eq!(status_of(&v, 4), "ok", "the password is fine: {v:#}");
    assert_eq!(status_of(&v, 5), "problem");
    let out = r.stdout();
    assert!(out.contains("an access restriction for this destination, not a password problem"), "{out}");
    assert!(
        out.contains("fix: ask your proxy administrator to allow restricted.example for user alice"),
        "{out}"
    );
    assert!(!out.contains("rejected"), "{out}");
    // Squid really answered 407 to the authenticated CONNECT.
    let lines = sq.wait_log("restricted.example:443", |l| l.iter().any(|x| x.user == ALICE.0));
    assert!(lines.iter().any(|l| l.code == 407 && l.user == ALICE.0), "{}", squid::show(&lines));
    snapshot("restricted_407", &normalise(&out, &squid_subs(sq, None, Some(&verify))));
}

#[test]
fn doctor_destination_denied_with_403() {
    let Some(sq) = with_squid("doctor_destination_denied_with_403") else { return };
    let verify = Origin::http();
    let args = vec![
        s("-x"),
        sq.url(),
        s("-U"),
        format!("{}:{}", ALICE.0, ALICE.1),
        s("--verify-url"),
        verify.url("/text"),
        s("http://forbidden.example/"),
    ];
    let r = runs(&args, &[]);
    let v = r.check(42, &[ALICE.1]);
    assert_eq!(status_of(&v, 4), "ok");
    let out = r.stdout();
    assert!(
        out.contains("403 Forbidden; the proxy's policy denies forbidden.example for user alice"),
        "{out}"
    );
    snapshot("denied_403", &normalise(&out, &squid_subs(sq, None, Some(&verify))));
}

#[test]
fn doctor_conflicting_variables_and_a_password_in_one() {
    let Some(sq) = with_squid("doctor_conflicting_variables_and_a_password_in_one") else { return };
    let origin = Origin::http();
    let elsewhere = format!("http://127.0.0.1:{}", crate::free_port());
    let with_password = format!("http://{}:{}@127.0.0.1:{}", ALICE.0, ALICE.1, sq.port);
    let env = [("http_proxy", with_password.as_str()), ("HTTP_PROXY", elsewhere.as_str())];
    let r = runs(&[s("--verify-url"), origin.url("/text"), origin.url("/text")], &env);
    let v = r.check(0, &[ALICE.1]);
    assert_eq!(status_of(&v, 1), "warning");
    let out = r.stdout();
    assert!(out.contains("http_proxy and HTTP_PROXY differ"), "{out}");
    assert!(out.contains("unset HTTP_PROXY or make it match http_proxy"), "{out}");
    assert!(out.contains("http_proxy contains a password"), "{out}");
    let report = r.report.stdout_str();
    assert!(
        report.contains(&format!("http_proxy: http://{}:***@127.0.0.1:{}", ALICE.0, sq.port)),
        "{report}"
    );
    snapshot(
        "conflicting_variables",
        &normalise(
            &out,
            &subs(&[
                (format!("127.0.0.1:{}", sq.port), "127.0.0.1:<SQUID>"),
                (elsewhere.clone(), "http://127.0.0.1:<ELSEWHERE>"),
                (origin.authority(), "127.0.0.1:<ORIGIN>"),
            ]),
        ),
    );
}

#[test]
fn doctor_no_proxy_sends_url_direct() {
    let origin = Origin::http();
    let env = [("http_proxy", "http://127.0.0.1:9"), ("no_proxy", "127.0.0.1")];
    let r = runs(&[origin.url("/text")], &env);
    let v = r.check(0, &[]);
    assert_eq!(status_of(&v, 1), "warning");
    let out = r.stdout();
    assert!(out.contains("no_proxy sends 127.0.0.1"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// TLS interception: a CONNECT proxy that answers 200 and then does TLS itself, with a
// certificate for the target from a CA of its own.

struct Interceptor {
    port: u16,
}

fn interceptor() -> Interceptor {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "Corp TLS Inspection CA");
    ca.distinguished_name.push(DnType::OrganizationName, "Example Corp");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&key, &issuer).unwrap();
    let chain =
        vec![CertificateDer::from(leaf_cert.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())];
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = intercept(conn, config);
            });
        }
    });
    Interceptor { port }
}

fn intercept(mut conn: TcpStream, config: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let Some(head) = http::read_head(&mut reader)? else { return Ok(()) };
    if head.parts().0 != "CONNECT" {
        conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(());
    }
    conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let server = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(server, conn);
    let mut buf = [0u8; 4096];
    // A client that rejects the certificate ends here; one that accepts gets a page.
    if tls.read(&mut buf)? > 0 {
        tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nintercepted\n")?;
        tls.conn.send_close_notify();
        tls.flush()?;
    }
    Ok(())
}

#[test]
fn doctor_tls_interception() {
    let proxy = interceptor();
    let origin = Origin::https();
    let r = runs(
        &[
            s("-x"),
            format!("http://127.0.0.1:{}", proxy.port),
            s("--cacert"),
            pki().ca_arg(),
            origin.url("/text"),
        ],
        &[],
    );
    let v = r.check(60, &[]);
    assert_eq!(status_of(&v, 3), "ok");
    assert_eq!(status_of(&v, 6), "problem");
    let out = r.stdout();
    assert!(out.contains("Corp TLS Inspection CA (Example Corp)"), "{out}");
    assert!(out.contains("the proxy intercepts TLS"), "{out}");
    assert!(out.contains("--cacert FILE"), "{out}");
    assert!(origin.requests().is_empty(), "the origin is never reached");
    snapshot(
        "tls_interception",
        &normalise(
            &out,
            &subs(&[
                (format!("127.0.0.1:{}", proxy.port), "127.0.0.1:<PROXY>"),
                (origin.authority(), "127.0.0.1:<ORIGIN>"),
                (format!(":{}/", origin.port), ":<ORIGIN>/"),
            ]),
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Schemes toll cannot answer here.

#[test]
fn doctor_negotiate_without_a_ticket() {
    let proxy = FakeProxy::start(|_| reply_407(&["Negotiate"]).into_action());
    let origin = Origin::http();
    let cache = crate::run::scratch();
    let ccache = format!("FILE:{}", cache.path().join("no-such-ccache").display());
    let r = runs(
        &[s("-x"), proxy.url(), s("-U"), s("alice"), origin.url("/text")],
        &[("KRB5CCNAME", ccache.as_str())],
    );
    let v = r.check(44, &[]);
    assert_eq!(status_of(&v, 3), "problem");
    let out = r.stdout();
    assert!(out.contains("Negotiate offered, but"), "{out}");
    assert!(out.contains("fix: kinit alice") || out.contains("install MIT Kerberos"), "{out}");
    assert!(proxy.requests().iter().all(|q| q.proxy_authorization().is_none()), "{}", proxy.summary());
}

#[test]
fn doctor_ntlm_without_a_user_name() {
    let proxy = FakeProxy::start(|_| reply_407(&["NTLM"]).into_action());
    let origin = Origin::http();
    let r = runs(&[s("-x"), proxy.url(), origin.url("/text")], &[]);
    let v = r.check(40, &[]);
    let out = r.stdout();
    assert!(out.contains("NTLM offered, no user name configured"), "{out}");
    assert_eq!(status_of(&v, 4), "problem");
    assert!(proxy.requests().iter().all(|q| q.proxy_authorization().is_none()), "{}", proxy.summary());
}

/// No stored credential and a terminal: the doctor offers to type them, and sends them once.
#[test]
fn doctor_offers_the_prompt_on_a_terminal() {
    use crate::pty::{self, Pty};
    let proxy = FakeProxy::start(crate::fakeproxy::basic("alice", "r1ght-pw"));
    let origin = Origin::http();
    let home = crate::run::scratch();
    let url = origin.url("/text");
    let args = vec![s("doctor"), s("-x"), proxy.url(), s("--verify-url"), url.clone(), url];
    let mut t = Pty::spawn(pty::command(args, home.path(), &[]), None);
    t.expect("no stored credentials for proxy");
    t.expect("Type a user name and password to test them once? Nothing is saved. [Y/n] ");
    t.send("\r");
    t.expect("User: ");
    t.send("alice\r");
    t.expect("Password for alice: ");
    t.send("r1ght-pw\r");
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the proxy accepted alice's password from the terminal prompt (Basic)"),
        "{stdout}"
    );
    assert!(!stdout.contains("r1ght-pw") && !out.screen.contains("r1ght-pw"), "{}", out.describe());
    assert!(out.terminal_restored(), "{}", out.describe());
    let sent: Vec<String> =
        proxy.requests().iter().filter_map(|r| r.basic_credentials()).map(|(_, p)| p).collect();
    assert_eq!(sent, ["r1ght-pw"], "{}", proxy.summary());
}

/// A password stored with `toll auth login`: step 4 names the store that answered and how long
/// it took, and the one attempt uses it.
#[test]
fn doctor_reports_the_keyring_store_and_its_time() {
    use toll::keyring::{Keyring, StoreKind};
    let test = "doctor_reports_the_keyring_store_and_its_time";
    let Some((store, name)) =
        [(StoreKind::SecretService, "secret-service"), (StoreKind::Keyutils, "keyutils")]
            .into_iter()
            .find(|(k, _)| Keyring::default().get(*k, "toll-it-probe://availability", "probe").is_ok())
    else {
        crate::skip(&format!("SKIPPED {test}: needs a Secret Service or a kernel session keyring (run under .ci/with-secret-service)"));
        return;
    };
    let proxy = FakeProxy::start(crate::fakeproxy::basic("alice", "kept-in-the-keyring"));
    let origin = Origin::http();
    let home = crate::run::scratch();
    let mut env: Vec<(String, String)> = vec![
        ("XDG_STATE_HOME".into(), home.path().join("state").display().to_string()),
        ("XDG_CONFIG_HOME".into(), home.path().join("config").display().to_string()),
        ("TOLL_KEYRING".into(), name.into()),
    ];
    if let Ok(bus) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        env.push(("DBUS_SESSION_BUS_ADDRESS".into(), bus));
    }
    let with_env = |t: Toll| env.iter().fold(t, |t, (k, v)| t.env(k, v));
    let proxy_url = proxy.url();
    let login = ["auth", "login", proxy_url.as_str(), "--user", "alice", "--password-stdin", "--no-verify"];
    with_env(toll(login)).stdin(b"kept-in-the-keyring\n").run().assert_ok();
    let url = origin.url("/text");
    let out =
        with_env(toll(["doctor", "-x", proxy.url().as_str(), "--verify-url", url.as_str(), url.as_str()]))
            .run();
    with_env(toll(["auth", "logout", proxy.url().as_str()])).run();
    out.assert_ok().assert_not_leaked("the stored password", "kept-in-the-keyring");
    let stdout = out.stdout_str();
    assert!(stdout.contains(&format!("the OS keyring: alice in {store}: found (")), "{stdout}");
    assert!(stdout.contains("the proxy accepted alice's password from the OS keyring (Basic)"), "{stdout}");
}

/// The credentials were sent for --verify-url but no answer came: the verdict is unknown, and
/// they are not sent a second time for URL.
#[test]
fn doctor_does_not_resend_credentials_that_got_no_answer() {
    let proxy = FakeProxy::start(crate::fakeproxy::basic("alice", "r1ght-pw"));
    let origin = Origin::http();
    let r = runs(
        &[
            s("-x"),
            proxy.url(),
            s("-U"),
            s("alice:r1ght-pw"),
            s("-m"),
            s("1.5"),
            s("--verify-url"),
            origin.url("/hang"),
            origin.url("/text"),
        ],
        &[],
    );
    let v = r.check(28, &["r1ght-pw"]);
    assert_eq!(status_of(&v, 4), "problem");
    assert!(
        r.stdout().contains("whether the proxy accepts it is unknown, and it is not sent again"),
        "{}",
        r.stdout()
    );
    let sent = proxy.requests().iter().filter(|q| q.proxy_authorization().is_some()).count();
    assert_eq!(sent, 3, "one credential per run (three runs):\n{}", proxy.summary());
    assert!(origin.requests_to("/text").is_empty(), "URL is not tried after an unanswered attempt");
}

/// An https:// proxy whose certificate toll does not trust: step 2 says who issued it and the
/// fix; with --proxy-cacert the handshake is fine.
#[test]
fn doctor_https_proxy_certificate() {
    let proxy = crate::fakeproxy::TlsFakeProxy::start(crate::fakeproxy::open());
    let origin = Origin::http();
    let r = runs(&[s("-x"), proxy.url(), origin.url("/text")], &[]);
    let v = r.check(5, &[]);
    assert_eq!(status_of(&v, 2), "problem");
    let out = r.stdout();
    assert!(out.contains("issued by toll integration-test CA"), "{out}");
    assert!(out.contains("is issued by a CA that is not in the trust store"), "{out}");
    assert!(out.contains("--proxy-cacert FILE"), "{out}");
    let ok = runs(&[s("-x"), proxy.url(), s("--proxy-cacert"), pki().ca_arg(), origin.url("/text")], &[]);
    let v = ok.check(0, &[]);
    assert_eq!(status_of(&v, 2), "ok", "{v:#}");
    assert!(ok.stdout().contains("handshake in"), "{}", ok.stdout());
}
