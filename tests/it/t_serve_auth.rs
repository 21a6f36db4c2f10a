//! `toll serve` in front of the connection-bound schemes, with real Squid: NTLM
//! (`ntlm_fake_auth`) and Negotiate (the test KDC). curl gets through both; wget, which speaks
//! Basic only, gets through all four schemes. An authenticated upstream connection carries one
//! client connection's requests while it is used and is then pooled for the next client, so a
//! client pays the handshake once (counted as 407s in Squid's access.log).

use crate::kdc::{self, ChosenSquid, Offer};
use crate::origin::Origin;
use crate::squid::{self, count, show, Auth, LogLine, ALICE};
use crate::t_serve::{run, Serve, CURL, WGET};
use crate::tls::pki;

fn served(lines: &[LogLine]) -> usize {
    lines.iter().filter(|l| l.code != 407).count()
}

/// curl with several URLs in one run: one client connection, keep-alive.
fn curl_many(serve: &Serve, urls: &[String]) -> Vec<u8> {
    let (ca, proxy) = (pki().ca_arg(), serve.url());
    let mut args = vec!["-sS", "--cacert", &ca, "-x", &proxy];
    args.extend(urls.iter().map(String::as_str));
    let out = run(CURL, &args);
    assert!(out.status.success(), "curl: {}\n{}", String::from_utf8_lossy(&out.stderr), serve.log());
    out.stdout
}

fn wget(serve: &Serve, url: &str) -> Vec<u8> {
    let ca_opt = format!("--ca-certificate={}", pki().ca_arg());
    let http = format!("http_proxy={}", serve.url());
    let https = format!("https_proxy={}", serve.url());
    let out = run(WGET, &["-q", "-O", "-", &ca_opt, "-e", "use_proxy=on", "-e", &http, "-e", &https, url]);
    assert!(out.status.success(), "wget {url}: {}\n{}", String::from_utf8_lossy(&out.stderr), serve.log());
    out.stdout
}

/// The schemes toll answers for clients: curl (http keep-alive, then https) and wget through
/// one server in front of `sq`; 407s counted per client connection.
fn connection_bound(test: &str, sq: &squid::Squid, serve: &Serve, scheme: &str, handshake_407s: usize) {
    let (http, https) = (Origin::http(), Origin::https());
    let hello = b"hello from the origin\n".repeat(3);
    // One client connection, three requests: one handshake.
    let urls: Vec<String> = (0..3).map(|_| http.url("/text")).collect();
    assert_eq!(curl_many(serve, &urls), hello, "{test}");
    let lines = sq.wait_log(&http.authority(), |l| served(l) >= 3);
    assert_eq!(served(&lines), 3, "{test}: {}{}", show(&lines), sq.diagnostics());
    assert_eq!(count(&lines, 407), handshake_407s, "{scheme}: one handshake for 3 requests:\n{}", show(&lines));
    // Three more clients, one after the other: the authenticated connection is pooled and
    // carries their requests too, without a new handshake.
    for _ in 0..3 {
        assert_eq!(curl_many(serve, &[http.url("/text")]), b"hello from the origin\n", "{test}");
    }
    let lines = sq.wait_log(&http.authority(), |l| served(l) >= 6);
    assert_eq!(served(&lines), 6, "{test}: {}", show(&lines));
    assert_eq!(count(&lines, 407), handshake_407s, "{scheme}: pooled for the next clients:\n{}", show(&lines));
    assert!(lines.iter().filter(|l| l.code != 407).all(|l| l.user != "-"), "{}", show(&lines));
    // A tunnel.
    assert_eq!(curl_many(serve, &[https.url("/text")]), b"hello from the origin\n", "{test}");
    let lines = sq.wait_log(&https.authority(), |l| served(l) >= 1);
    assert_eq!(served(&lines), 1, "{test}: {}", show(&lines));
    // wget, which cannot do this scheme itself.
    assert_eq!(wget(serve, &http.url("/bytes/5000")), crate::pattern_bytes(5000), "{test}");
    assert_eq!(wget(serve, &https.url("/bytes/5000")), crate::pattern_bytes(5000), "{test}");
    eprintln!("{scheme} through toll serve, access.log:\n{}", show(&sq.log_for(&http.authority())));
}

#[test]
fn curl_and_wget_through_serve_to_an_ntlm_squid() {
    let test = "curl_and_wget_through_serve_to_an_ntlm_squid";
    if !kdc::have_squid_ntlm(test) || !crate::have(test, &[CURL, WGET], "curl wget") {
        return;
    }
    let sq = ChosenSquid::start(&[Offer::Ntlm]);
    let creds = format!("{}:{}", ALICE.0, ALICE.1);
    let serve = Serve::start(&["-x", &sq.url(), "-U", &creds]);
    // NTLM: the bare challenge, then the type 2.
    connection_bound(test, &sq, &serve, "NTLM", 2);
    assert!(!serve.log().contains(ALICE.1), "{}", serve.log());
}

#[test]
fn curl_and_wget_through_serve_to_a_negotiate_squid() {
    let test = "curl_and_wget_through_serve_to_a_negotiate_squid";
    if !kdc::have_kerberos(test) || !crate::have(test, &[CURL, WGET], "curl wget") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let sq = ChosenSquid::start(&[Offer::Negotiate]);
    let serve = Serve::start_env(&["-x", &sq.url()], &ticket.env());
    // Negotiate with a ticket: the bare challenge only.
    connection_bound(test, &sq, &serve, "Negotiate", 1);
    assert!(!serve.log().contains("YII"), "no token in the log: {}", serve.log());
}

/// wget speaks Basic only; through toll serve it gets Digest too (NTLM and Negotiate above).
#[test]
fn wget_through_serve_to_basic_and_digest_squid() {
    let test = "wget_through_serve_to_basic_and_digest_squid";
    crate::require_squid!(test);
    if !crate::have(test, &[WGET], "wget") {
        return;
    }
    let (http, https) = (Origin::http(), Origin::https());
    for auth in [Auth::Basic, Auth::Digest] {
        let sq = squid::shared(auth);
        let creds = format!("{}:{}", ALICE.0, ALICE.1);
        let serve = Serve::start(&["-x", &sq.url(), "-U", &creds]);
        assert_eq!(wget(&serve, &http.url("/bytes/3000")), crate::pattern_bytes(3000), "{auth:?}");
        assert_eq!(wget(&serve, &https.url("/bytes/3000")), crate::pattern_bytes(3000), "{auth:?}");
    }
}
