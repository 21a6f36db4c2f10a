//! The fixtures checked on their own, without toll: origins over raw TCP, and (with curl)
//! Squid's 407s, the TLS origin behind the test CA, and the scripted proxies' Basic/Digest
//! verification against curl's implementation. These keep a toll bug from hiding behind a
//! fixture bug.

use crate::fakeproxy::{self, DigestProxy, FakeProxy};
use crate::origin::Origin;
use crate::squid::{self, count, show, Auth, ALICE, BOB};
use crate::tls::pki;
use crate::{pattern_bytes, sha256_hex};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

const CURL: &str = "/usr/bin/curl";

fn curl_available(test: &str) -> bool {
    if Path::new(CURL).exists() {
        return true;
    }
    crate::skip(&format!("SKIPPED {test}: needs curl (apt-get install curl)"));
    false
}

/// curl ARGS → (http_code as printed by -w, body)
fn curl(args: &[&str]) -> (String, Vec<u8>) {
    let dir = crate::run::scratch();
    let body = dir.path().join("body");
    let out = Command::new(CURL)
        .args(["-s", "-o"])
        .arg(&body)
        .args(["-w", "%{http_code} %{http_connect}"])
        .args(args)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("run curl");
    // For a CONNECT that failed, http_code is 000 and http_connect has the proxy's status.
    let w = String::from_utf8_lossy(&out.stdout).into_owned();
    let (code, connect) = w.split_once(' ').unwrap_or((&w, ""));
    let code = if code == "000" && connect != "000" { connect } else { code };
    (code.to_string(), std::fs::read(&body).unwrap_or_default())
}

fn raw_get(origin: &Origin, path: &str) -> (u16, Vec<u8>) {
    let s = TcpStream::connect(("127.0.0.1", origin.port)).unwrap();
    let mut w = s.try_clone().unwrap();
    write!(w, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let head = crate::http::read_head(&mut r).unwrap().unwrap();
    let body = crate::http::read_response_body(&mut r, &head, "GET").unwrap();
    (head.status(), body)
}

#[test]
fn infra_origin_routes() {
    let o = Origin::http();
    assert_eq!(raw_get(&o, "/bytes/12345"), (200, pattern_bytes(12345)));
    assert_eq!(raw_get(&o, "/status/418").0, 418);
    assert_eq!(raw_get(&o, "/chain/0"), (200, b"chain done\n".to_vec()));
    assert_eq!(raw_get(&o, "/redirect?to=%2Fx").0, 302);
    let (st, body) = raw_get(&o, "/echo-headers");
    assert_eq!(st, 200);
    assert!(String::from_utf8_lossy(&body).contains("Host: x"));
    // sha256 of a known input, and the pattern is stable.
    assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(pattern_bytes(16), pattern_bytes(16));
    assert_ne!(pattern_bytes(16)[..8], pattern_bytes(17)[..8]);
}

#[test]
fn infra_origins_with_curl() {
    if !curl_available("infra_origins_with_curl") {
        return;
    }
    let ca = pki().ca_arg();
    for o in [Origin::http(), Origin::https()] {
        let (code, body) = curl(&["--cacert", &ca, &o.url("/bytes/100000")]);
        assert_eq!((code.as_str(), body), ("200", pattern_bytes(100_000)));
        let data = pattern_bytes(50_000);
        let dir = crate::run::scratch();
        let f = dir.path().join("up");
        std::fs::write(&f, &data).unwrap();
        let (code, body) =
            curl(&["--cacert", &ca, "--data-binary", &format!("@{}", f.display()), &o.url("/upload")]);
        assert_eq!(code, "200");
        assert_eq!(String::from_utf8_lossy(&body), format!("{} 50000\n", sha256_hex(&data)));
        // gzip route, decoded by curl.
        let (code, body) = curl(&["--cacert", &ca, "--compressed", &o.url("/gzip")]);
        assert_eq!((code.as_str(), body), ("200", crate::origin::GZIP_TEXT.repeat(20).into_bytes()));
        // Chunked upload.
        let (_, body) = curl(&[
            "--cacert",
            &ca,
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &format!("@{}", f.display()),
            &o.url("/upload"),
        ]);
        assert_eq!(String::from_utf8_lossy(&body), format!("{} 50000\n", sha256_hex(&data)));
    }
}

#[test]
fn infra_fake_proxies_with_curl() {
    if !curl_available("infra_fake_proxies_with_curl") {
        return;
    }
    let ca = pki().ca_arg();
    let (user, pass) = BOB;
    let creds = format!("{user}:{pass}");
    let basic = FakeProxy::start(fakeproxy::basic(user, pass));
    let tls_basic = fakeproxy::TlsFakeProxy::start(fakeproxy::basic(user, pass));
    let digest = DigestProxy::new(user, pass, false);
    let dproxy = FakeProxy::start(digest.script());
    for o in [Origin::http(), Origin::https()] {
        let url = o.url("/bytes/1000");
        let (code, _) = curl(&["--cacert", &ca, "-x", &basic.url(), &url]);
        assert_eq!(code, "407");
        let (code, body) = curl(&["--cacert", &ca, "-x", &basic.url(), "-U", &creds, &url]);
        assert_eq!((code.as_str(), body), ("200", pattern_bytes(1000)));
        let (code, body) =
            curl(&["--cacert", &ca, "--proxy-cacert", &ca, "-x", &tls_basic.url(), "-U", &creds, &url]);
        assert_eq!((code.as_str(), body), ("200", pattern_bytes(1000)), "{}", tls_basic.inner.summary());
        let (code, body) =
            curl(&["--cacert", &ca, "-x", &dproxy.url(), "--proxy-digest", "-U", &creds, &url]);
        assert_eq!((code.as_str(), body), ("200", pattern_bytes(1000)), "{}", dproxy.summary());
        let (code, _) = curl(&[
            "--cacert",
            &ca,
            "-x",
            &dproxy.url(),
            "--proxy-digest",
            "-U",
            &format!("{user}:wrong"),
            &url,
        ]);
        assert_eq!(code, "407", "{}", dproxy.summary());
    }
}

#[test]
fn infra_squid_with_curl() {
    crate::require_squid!("infra_squid_with_curl");
    if !curl_available("infra_squid_with_curl") {
        return;
    }
    let ca = pki().ca_arg();
    for auth in [Auth::None, Auth::Basic, Auth::Digest, Auth::DigestStale] {
        // A private Squid: on the shared one, other tests' requests as alice went on meanwhile,
        // and once (CI, 2026-12-05) the Digest Squid let "alice:nope" through with a 200.
        let own = squid::Squid::start(auth);
        let sq = &own;
        for o in [Origin::http(), Origin::https()] {
            let url = o.url("/bytes/2000");
            let (code, body) = curl(&["--cacert", &ca, "-x", &sq.url(), &url]);
            if auth == Auth::None {
                assert_eq!((code.as_str(), body), ("200", pattern_bytes(2000)));
                continue;
            }
            assert_eq!(code, "407", "{auth:?} without credentials");
            let flag = if auth == Auth::Basic { "--proxy-basic" } else { "--proxy-digest" };
            for (u, p) in [ALICE, BOB] {
                let creds = format!("{u}:{p}");
                let (code, body) = curl(&["--cacert", &ca, "-x", &sq.url(), flag, "-U", &creds, &url]);
                assert_eq!(
                    (code.as_str(), body),
                    ("200", pattern_bytes(2000)),
                    "{auth:?} as {u}\n{}",
                    sq.diagnostics()
                );
            }
            let (code, _) = curl(&["--cacert", &ca, "-x", &sq.url(), flag, "-U", "alice:nope", &url]);
            assert_eq!(code, "407", "{auth:?} wrong password");
            // Squid writes its log lines a moment after the answers: wait for the last one too
            // (the wrong password's 407), not only for the two 200s before it.
            let rejected = |l: &[squid::LogLine]| l.iter().any(|l| l.code == 407 && l.user == "alice");
            let lines = sq.wait_log(&o.authority(), |l| count(l, 200) >= 2 && rejected(l));
            assert_eq!(count(&lines, 200), 2, "{}", show(&lines));
            assert!(
                rejected(&lines),
                "the wrong password's 407 is logged with the user name:\n{}",
                show(&lines)
            );
        }
    }
}
