//! `toll serve` in front of the connection-bound schemes, with real Squid: NTLM
//! (`ntlm_fake_auth`) and Negotiate (the test KDC). curl gets through both; wget, which speaks
//! Basic only, gets through all four schemes. An authenticated upstream connection carries one
//! client connection's requests while it is used and is then pooled for the next client, so a
//! client pays the handshake once (counted as 407s in Squid's access.log). Spare connections
//! with the NTLM handshake started ahead make a new tunnel cost one request (scripted NTLM
//! proxy that verifies NTLMv2).

use crate::fakeproxy::{FakeProxy, ProxyRequest};
use crate::kdc::{self, ChosenSquid, Offer};
use crate::ntlm_proxy::NtlmProxy;
use crate::origin::Origin;
use crate::squid::{self, count, show, Auth, LogLine, ALICE};
use crate::t_serve::{run, Serve, CURL, WGET};
use crate::tls::pki;
use std::time::{Duration, Instant};

const NTLM_PASSWORD: &str = "Ntlm-pässword:1";

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
    assert_eq!(
        count(&lines, 407),
        handshake_407s,
        "{scheme}: one handshake for 3 requests:\n{}",
        show(&lines)
    );
    // Three more clients, one after the other: the authenticated connection is pooled and
    // carries their requests too, without a new handshake.
    for _ in 0..3 {
        assert_eq!(curl_many(serve, &[http.url("/text")]), b"hello from the origin\n", "{test}");
    }
    let lines = sq.wait_log(&http.authority(), |l| served(l) >= 6);
    assert_eq!(served(&lines), 6, "{test}: {}", show(&lines));
    assert_eq!(
        count(&lines, 407),
        handshake_407s,
        "{scheme}: pooled for the next clients:\n{}",
        show(&lines)
    );
    assert!(lines.iter().filter(|l| l.code != 407).all(|l| l.user != "-"), "{}", show(&lines));
    // Tunnels, one client after the other: after the first, on spare connections.
    for n in 1..=3 {
        assert_eq!(curl_many(serve, &[https.url("/text")]), b"hello from the origin\n", "{test}");
        let lines = sq.wait_log(&https.authority(), |l| served(l) >= n);
        assert_eq!(served(&lines), n, "{test}: {}\n{}", show(&lines), serve.log());
    }
    // wget, which cannot do this scheme itself.
    assert_eq!(wget(serve, &http.url("/bytes/5000")), crate::pattern_bytes(5000), "{test}");
    assert_eq!(wget(serve, &https.url("/bytes/5000")), crate::pattern_bytes(5000), "{test}");
    eprintln!("{scheme} through toll serve, access.log:\n{}", show(&sq.log_for(&http.authority())));
    // toll serve's own log names the scheme for every request, the handshake's and those that
    // rode on an authenticated connection alike.
    let via = format!("via {} {scheme} 200 ", sq.url());
    let tunnels = format!("CONNECT {} {via}", https.authority());
    let log = serve.log_with_n(&tunnels, 4);
    let lines = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(lines(&format!("GET {} {via}22B ", http.url("/text"))), 6, "{log}");
    assert_eq!(lines(&format!("GET {} {via}5000B ", http.url("/bytes/5000"))), 1, "{log}");
    assert_eq!(lines(&tunnels), 4, "{log}");
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

/// Which NTLM message a request carries: 1, 3, or 0 (none).
fn ntlm_leg(r: &ProxyRequest) -> u8 {
    match r.proxy_authorization() {
        Some(v) if v.starts_with("NTLM TlRMTVNTUAAB") => 1,
        Some(v) if v.starts_with("NTLM TlRMTVNTUAAD") => 3,
        _ => 0,
    }
}

/// Connections whose only request so far is an NTLM type 1: spares with the handshake started.
fn primed(reqs: &[ProxyRequest]) -> Vec<usize> {
    let mut conns: Vec<usize> = reqs.iter().map(|r| r.conn).collect();
    conns.dedup();
    conns.sort_unstable();
    conns.dedup();
    conns
        .into_iter()
        .filter(|&c| {
            let on: Vec<&ProxyRequest> = reqs.iter().filter(|r| r.conn == c).collect();
            on.len() == 1 && ntlm_leg(on[0]) == 1
        })
        .collect()
}

fn wait_primed(proxy: &FakeProxy, n: usize) -> Vec<usize> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let p = primed(&proxy.requests());
        if p.len() >= n || Instant::now() > deadline {
            return p;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// After a first tunnel, toll serve keeps spare connections with the NTLM handshake started
/// (type 1 sent, type 2 kept), so each later tunnel costs one request on the client's path: the
/// CONNECT with the type 3, on a connection whose type 1 went before the client asked. The
/// fixture verifies NTLMv2 and that the type 3 comes on the connection that got the type 2.
#[test]
fn new_tunnels_use_spare_connections_with_the_ntlm_handshake_done_ahead() {
    if !crate::have("new_tunnels_use_spare_connections_with_the_ntlm_handshake_done_ahead", &[CURL], "curl") {
        return;
    }
    let ntlm = NtlmProxy::new("CORP", "alice", "alice@corp.example", NTLM_PASSWORD);
    let proxy = ntlm.start();
    let https = Origin::https();
    let creds = format!("CORP\\alice:{NTLM_PASSWORD}");
    let serve = Serve::start(&["-x", &proxy.url(), "-U", &creds, "--spare-tunnels", "2"]);
    let hello = b"hello from the origin\n".to_vec();
    assert_eq!(curl_many(&serve, &[https.url("/text")]), hello);
    for round in 0..3 {
        let spares = wait_primed(&proxy, 2);
        assert_eq!(spares.len(), 2, "round {round}: two spares primed:\n{}", proxy.summary());
        let before = proxy.requests().len();
        assert_eq!(curl_many(&serve, &[https.url("/text")]), hello);
        let reqs = proxy.requests();
        let on_path: Vec<&ProxyRequest> = reqs[before..].iter().filter(|r| ntlm_leg(r) != 1).collect();
        assert_eq!(on_path.len(), 1, "round {round}: one request for the tunnel:\n{}", proxy.summary());
        assert_eq!(ntlm_leg(on_path[0]), 3, "{}", proxy.summary());
        assert!(spares.contains(&on_path[0].conn), "round {round}: on a spare:\n{}", proxy.summary());
    }
    let events = ntlm.events();
    assert_eq!(events.iter().filter(|e| e.leg == "type3" && e.ok).count(), 4, "{}", ntlm.summary());
    assert!(events.iter().all(|e| e.ok || e.leg == "none"), "{}", ntlm.summary());
    assert!(!serve.log().contains(NTLM_PASSWORD), "{}", serve.log());
}

/// Spares are opened in parallel, each by its own task: with a proxy that never answers a
/// type 1 once the first tunnel worked, all `--spare-tunnels 3` handshakes are started at once
/// (a single filler opening one after the other would wait on the first for ever, and a busy
/// server's tunnels would find no spare).
#[test]
fn spare_connections_are_opened_in_parallel() {
    if !crate::have("spare_connections_are_opened_in_parallel", &[CURL], "curl") {
        return;
    }
    let ntlm = NtlmProxy::new("CORP", "alice", "alice@corp.example", NTLM_PASSWORD);
    let worked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (me, seen) = (ntlm.clone(), worked.clone());
    let proxy = FakeProxy::start(move |req| {
        if ntlm_leg(req) == 1 && seen.load(std::sync::atomic::Ordering::SeqCst) {
            return crate::fakeproxy::Action::Hang(Duration::from_secs(3));
        }
        let action = me.handle(req);
        if ntlm_leg(req) == 3 {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        action
    });
    let https = Origin::https();
    let creds = format!("CORP\\alice:{NTLM_PASSWORD}");
    let serve = Serve::start(&["-x", &proxy.url(), "-U", &creds, "--spare-tunnels", "3"]);
    assert_eq!(curl_many(&serve, &[https.url("/text")]), b"hello from the origin\n".to_vec());
    let spares = wait_primed(&proxy, 3);
    assert_eq!(spares.len(), 3, "three handshakes started at once:\n{}", ntlm.summary());
}

/// A tunnel that takes a spare starts its replacement at once, not when its own 200 arrives:
/// with the proxy slow to answer the second tunnel's type 3, the next spare's type 1 has
/// arrived by the time that answer goes out (before, spares ran out under a steady stream of
/// CONNECTs and every tunnel that found none paid the whole handshake).
#[test]
fn a_spare_taken_is_replaced_before_its_tunnel_is_answered() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    if !crate::have("a_spare_taken_is_replaced_before_its_tunnel_is_answered", &[CURL], "curl") {
        return;
    }
    let ntlm = NtlmProxy::new("CORP", "alice", "alice@corp.example", NTLM_PASSWORD);
    let (type1s, type3s, meanwhile) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let (me, t1, t3, m) = (ntlm.clone(), type1s.clone(), type3s.clone(), meanwhile.clone());
    let proxy = FakeProxy::start(move |req| {
        match ntlm_leg(req) {
            1 => {
                t1.fetch_add(1, SeqCst);
            }
            // The second tunnel's type 3. The replacement's type 1 (the third: the first tunnel's
            // own, then the spare it left) may come before it or during the wait; either way it
            // must be here before the tunnel is answered.
            3 if t3.fetch_add(1, SeqCst) == 1 => {
                std::thread::sleep(Duration::from_millis(1500));
                m.store(t1.load(SeqCst) >= 3, SeqCst);
            }
            _ => {}
        }
        me.handle(req)
    });
    let https = Origin::https();
    let creds = format!("CORP\\alice:{NTLM_PASSWORD}");
    let serve = Serve::start(&["-x", &proxy.url(), "-U", &creds, "--spare-tunnels", "1"]);
    let hello = b"hello from the origin\n".to_vec();
    assert_eq!(curl_many(&serve, &[https.url("/text")]), hello);
    assert_eq!(wait_primed(&proxy, 1).len(), 1, "a spare after the first tunnel:\n{}", proxy.summary());
    assert_eq!(curl_many(&serve, &[https.url("/text")]), hello);
    assert_eq!(type3s.load(SeqCst), 2, "{}", proxy.summary());
    assert!(meanwhile.load(SeqCst), "no spare started while the tunnel waited:\n{}", proxy.summary());
}

/// Once NTLM worked, later tunnels leave the remembered state alone (it was written with the
/// first; before, every tunnel locked and read the state file on a runtime thread): a file
/// removed after the first tunnel stays removed through the next ones.
#[test]
fn ntlm_tunnels_after_the_first_leave_the_state_file_alone() {
    if !crate::have("ntlm_tunnels_after_the_first_leave_the_state_file_alone", &[CURL], "curl") {
        return;
    }
    let ntlm = NtlmProxy::new("CORP", "alice", "alice@corp.example", NTLM_PASSWORD);
    let proxy = ntlm.start();
    let https = Origin::https();
    let state = tempfile::tempdir().unwrap();
    let env = vec![("XDG_STATE_HOME".to_string(), state.path().display().to_string())];
    let creds = format!("CORP\\alice:{NTLM_PASSWORD}");
    let serve = Serve::start_env(&["-x", &proxy.url(), "-U", &creds, "--spare-tunnels", "0"], &env);
    let hello = b"hello from the origin\n".to_vec();
    assert_eq!(curl_many(&serve, &[https.url("/text")]), hello);
    let file = state.path().join("toll/remembered.json");
    assert!(file.exists(), "the first tunnel remembers NTLM:\n{}", serve.log());
    std::fs::remove_file(&file).unwrap();
    for _ in 0..2 {
        assert_eq!(curl_many(&serve, &[https.url("/text")]), hello);
    }
    assert_eq!(ntlm.events().iter().filter(|e| e.leg == "type3" && e.ok).count(), 3, "{}", ntlm.summary());
    assert!(!file.exists(), "a later tunnel wrote the state again");
}

/// A rejected password: no spares are made, and it went out once.
#[test]
fn no_spare_connections_after_a_rejected_password() {
    if !crate::have("no_spare_connections_after_a_rejected_password", &[CURL], "curl") {
        return;
    }
    let ntlm = NtlmProxy::new("CORP", "alice", "alice@corp.example", NTLM_PASSWORD);
    let proxy = ntlm.start();
    let https = Origin::https();
    let serve = Serve::start(&["-x", &proxy.url(), "-U", "CORP\\alice:wrong", "--spare-tunnels", "2"]);
    for _ in 0..2 {
        let out = run(CURL, &["-s", "--cacert", &pki().ca_arg(), "-x", &serve.url(), &https.url("/text")]);
        assert!(!out.status.success());
    }
    std::thread::sleep(Duration::from_millis(500));
    // The access log says why each was refused (review H: bare "502" lines).
    let log = serve.log_with_n(" 502 ", 2);
    assert!(log.contains("rejected"), "{log}");
    let reqs = proxy.requests();
    assert_eq!(reqs.iter().filter(|r| ntlm_leg(r) == 3).count(), 1, "{}", proxy.summary());
    assert_eq!(
        reqs.iter().filter(|r| ntlm_leg(r) == 1).count(),
        1,
        "no handshake ahead:\n{}",
        proxy.summary()
    );
}

/// Digest through `toll serve` with several clients at once, against Squid's defaults
/// (`check_nonce_count on`, `nonce_max_count 50`). Squid retires a nonce whose counts arrive out
/// of order, so one nonce shared by concurrent requests drew a `stale=true` 407 for about every
/// other request and now and then a 502 ("stale=true again"); with a Digest session per request
/// in flight, 407s are bounded by the number of clients (each new session costs one) and no
/// request fails.
#[test]
fn concurrent_digest_clients_through_serve_cost_one_407_per_session_and_never_a_502() {
    let test = "concurrent_digest_clients_through_serve_cost_one_407_per_session_and_never_a_502";
    crate::require_squid!(test);
    if !crate::have(test, &[CURL], "curl") {
        return;
    }
    const CLIENTS: usize = 6;
    const REQUESTS: usize = 25;
    let http = Origin::http();
    let sq = squid::shared(Auth::Digest);
    let creds = format!("{}:{}", ALICE.0, ALICE.1);
    let serve = Serve::start(&["-x", &sq.url(), "-U", &creds]);
    let hello = b"hello from the origin\n";
    // Warm-up: the first 407 and the credential accepted.
    assert_eq!(curl_many(&serve, &[http.url("/text")]), hello);
    let urls: Vec<String> = (0..REQUESTS).map(|_| http.url("/text")).collect();
    let (ca, proxy) = (pki().ca_arg(), serve.url());
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                s.spawn(|| {
                    let mut args = vec!["-fsS", "--cacert", &ca, "-x", &proxy];
                    args.extend(urls.iter().map(String::as_str));
                    run(CURL, &args)
                })
            })
            .collect();
        for c in clients {
            let out = c.join().unwrap();
            assert!(out.status.success(), "curl: {}\n{}", String::from_utf8_lossy(&out.stderr), serve.log());
            assert_eq!(out.stdout, hello.repeat(REQUESTS));
        }
    });
    let total = 1 + CLIENTS * REQUESTS;
    let lines = sq.wait_log(&http.authority(), |l| served(l) >= total);
    assert_eq!(served(&lines), total, "{}", show(&lines));
    assert!(lines.iter().filter(|l| l.code != 407).all(|l| l.user == ALICE.0), "{}", show(&lines));
    // One 407 for the warm-up and at most one per further session (a client that found every
    // session busy); Squid's 50 uses per nonce are not reached by 25 requests per client.
    assert!(
        count(&lines, 407) <= 1 + CLIENTS,
        "{} 407s for {total} requests from {CLIENTS} clients:\n{}",
        count(&lines, 407),
        show(&lines)
    );
}

/// Squid names the next nonce (`Proxy-Authentication-Info: nextnonce`) on the response that
/// uses a nonce's last count: moving to it costs no `stale=true` 407. With `nonce_max_count 3`
/// twelve requests use six nonces and draw only the first 407.
#[test]
fn digest_nextnonce_through_serve_avoids_the_stale_407s() {
    let test = "digest_nextnonce_through_serve_avoids_the_stale_407s";
    crate::require_squid!(test);
    if !crate::have(test, &[CURL], "curl") {
        return;
    }
    let http = Origin::http();
    let sq = squid::shared(Auth::DigestStale);
    let creds = format!("{}:{}", ALICE.0, ALICE.1);
    let serve = Serve::start(&["-x", &sq.url(), "-U", &creds]);
    let urls: Vec<String> = (0..12).map(|_| http.url("/text")).collect();
    assert_eq!(curl_many(&serve, &urls), b"hello from the origin\n".repeat(12));
    let lines = sq.wait_log(&http.authority(), |l| served(l) >= 12);
    assert_eq!(served(&lines), 12, "{}", show(&lines));
    assert_eq!(count(&lines, 407), 1, "only the first request was asked:\n{}", show(&lines));
}

/// A running toll serve whose Negotiate failed (no ticket yet) tries it again a while later:
/// `kinit` mends it without a restart (it kept Negotiate out for the server's life).
#[test]
fn serve_uses_a_ticket_that_came_after_negotiate_failed() {
    let test = "serve_uses_a_ticket_that_came_after_negotiate_failed";
    if !kdc::have_kerberos(test) || !crate::have(test, &[CURL], "curl") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    ticket.kdestroy();
    let sq = ChosenSquid::start(&[Offer::Negotiate]);
    let serve = Serve::start_env(&["-x", &sq.url()], &ticket.env());
    let http = Origin::http();
    let out =
        run(CURL, &["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", &serve.url(), &http.url("/text")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "502", "{}", serve.log());
    let failed = std::time::Instant::now();
    ticket.kinit();
    // Tried again 30 s after it failed.
    std::thread::sleep(std::time::Duration::from_secs(31).saturating_sub(failed.elapsed()));
    assert_eq!(curl_many(&serve, &[http.url("/text")]), b"hello from the origin\n", "{}", serve.log());
}
