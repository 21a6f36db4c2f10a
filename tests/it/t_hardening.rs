//! Regressions of the relay hardening issue: proxy credentials answering an origin's 407, a
//! credential sent twice after a close, endless `stale=true`, an https proxy's TLS handshake
//! outside `--connect-timeout`, a user `Proxy-Authorization` header, garbage after CONNECT 200,
//! a relay held open by another local user; and a server's endless 1xx heads.

use crate::fakeproxy::{self, reply_407, Action, DigestProxy, DigestVerdict, FakeProxy, ProxyRequest};
use crate::origin::Origin;
use crate::run::via_proxy;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const USER: &str = "alice";
const PASS: &str = "h4rden-pw";

fn credentialed(p: &FakeProxy) -> usize {
    p.requests().iter().filter(|r| r.proxy_authorization().is_some()).count()
}

// --- 3: an origin's 407 through an open proxy -------------------------------------------------

/// An open proxy that forwards every header (Proxy-Authorization too) to an origin answering
/// 407 with a Basic challenge: the 407 is passed on unanswered, the origin never sees the proxy
/// credentials.
#[test]
fn origin_407_through_open_leaky_proxy_is_not_answered() {
    let proxy = FakeProxy::start(|_: &ProxyRequest| Action::AllowLeaky);
    let origin = Origin::http();
    let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/status/407", &["-v"]).run();
    let seen = origin.requests_to("/status/407");
    assert!(
        seen.iter().all(|r| r.header("proxy-authorization").is_none()),
        "the proxy credentials reached the origin: {seen:?}\n{}\nproxy saw:\n{}",
        out.describe(),
        proxy.summary()
    );
    out.assert_ok().assert_stdout(b"status 407 from the origin\n");
    assert_eq!(seen.len(), 1, "asked once: {seen:?}");
    assert!(out.stderr.contains("the origin's, not the proxy's"), "-v says why:\n{}", out.describe());
    assert_eq!(credentialed(&proxy), 0, "{}", proxy.summary());
    assert_eq!(proxy.probes().len(), 1, "the proxy was asked once:\n{}", proxy.summary());
}

/// The same origin behind an authenticating proxy: the proxy's own 407 is still answered.
#[test]
fn proxy_407_on_http_is_still_answered_after_the_probe() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let origin = Origin::http();
    let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &[]).run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert_eq!(credentialed(&proxy), 1, "{}", proxy.summary());
    assert_eq!(proxy.probes().len(), 1, "one probe per run:\n{}", proxy.summary());
}

/// A proxy whose CONNECT policy comes before authentication (Squid's `deny CONNECT !SSL_ports`
/// style; here every CONNECT is refused with 403): the probe is inconclusive, so the proxy's own
/// 407 to a forwarded request is still answered.
#[test]
fn proxy_that_refuses_connect_still_gets_its_407_answered() {
    let basic = fakeproxy::basic(USER, PASS);
    let proxy = FakeProxy::start(move |req: &ProxyRequest| {
        if req.is_connect() {
            return fakeproxy::Reply::new(403).into_action();
        }
        basic(req)
    });
    let origin = Origin::http();
    let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &[]).run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert_eq!(credentialed(&proxy), 1, "{}", proxy.summary());
}

/// An open proxy that passes every header on and refuses CONNECT by policy (so its probe is
/// inconclusive), in front of an origin that phishes with a 407: that 407 is answered (the
/// documented price of such proxies), but what it led to proves nothing about the proxy, so the
/// credential is not sent unasked afterwards: not to the next origin of the run, not by the
/// next run (nothing is remembered).
#[test]
fn an_origins_407_answered_through_an_inconclusive_probe_is_not_remembered() {
    let proxy = FakeProxy::start(|req: &ProxyRequest| {
        if req.is_connect() {
            return fakeproxy::Reply::new(403).into_action();
        }
        Action::AllowLeaky
    });
    let (phisher, innocent) = (Origin::http(), Origin::http());
    let state = tempfile::tempdir().unwrap();
    let run = |urls: &[String]| {
        let mut args =
            vec!["-sS".to_string(), "-x".into(), proxy.url(), "-U".into(), format!("{USER}:{PASS}")];
        for u in urls {
            args.extend(["-o".into(), "/dev/null".into(), u.clone()]);
        }
        crate::run::toll(args).env("XDG_STATE_HOME", state.path().to_str().unwrap()).run()
    };
    let out = run(&[phisher.url("/fake407"), innocent.url("/echo-headers"), innocent.url("/text")]);
    out.assert_ok();
    let carried =
        |o: &Origin| o.requests().iter().filter(|r| r.header("proxy-authorization").is_some()).count();
    assert_eq!(carried(&phisher), 1, "the phishing 407 is answered once");
    assert_eq!(carried(&innocent), 0, "sent unasked to the next origin of the run:\n{}", proxy.summary());
    let remembered = std::fs::read_to_string(state.path().join("toll/remembered.json")).unwrap_or_default();
    assert!(!remembered.contains(&proxy.url()[7..]), "remembered: {remembered}");
    run(&[innocent.url("/echo-headers")]).assert_ok();
    assert_eq!(carried(&innocent), 0, "sent unasked by the next run:\n{}", proxy.summary());
}

// --- 8: no credential resent after the proxy closed on it ---------------------------------------

/// A Basic 407 (keep-alive), then the connection closed as soon as credentials arrive on it:
/// the credential went out once, on a reused connection, and the proxy may have read it.
fn close_after_credentials(tls: bool) {
    let proxy = FakeProxy::start(|req: &ProxyRequest| {
        if req.proxy_authorization().is_some() {
            Action::Close
        } else {
            reply_407(&["Basic realm=\"fake\""]).into_action()
        }
    });
    let origin = Origin::start(tls);
    let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &[]).run();
    assert_eq!(credentialed(&proxy), 1, "the credential was sent twice:\n{}", proxy.summary());
    out.assert_code(43).assert_error_message().assert_faster_than(Duration::from_secs(10));
    assert!(out.stderr.contains("not sent again"), "{}", out.describe());
}

#[test]
fn credential_not_resent_after_close_http() {
    close_after_credentials(false);
}

#[test]
fn credential_not_resent_after_close_https() {
    close_after_credentials(true);
}

// --- stale=true forever -----------------------------------------------------------------------

fn stale_forever(tls: bool) {
    let digest = DigestProxy::new(USER, PASS, false);
    let d = digest.clone();
    let proxy = FakeProxy::start(move |req: &ProxyRequest| match d.verify(req) {
        DigestVerdict::Valid { .. } => reply_407(&[&d.challenge(true)]).into_action(),
        _ => reply_407(&[&d.challenge(false)]).into_action(),
    });
    let origin = Origin::start(tls);
    let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &[]).run();
    out.assert_code(43).assert_error_message().assert_faster_than(Duration::from_secs(10));
    assert!(out.stderr.contains("stale"), "{}", out.describe());
    let digests = proxy.requests().iter().filter(|r| r.digest_params().is_some()).count();
    assert_eq!(digests, 2, "one answer and one stale retry:\n{}", proxy.summary());
}

#[test]
fn digest_stale_forever_http() {
    stale_forever(false);
}

#[test]
fn digest_stale_forever_https() {
    stale_forever(true);
}

// --- https proxy: TLS handshake within --connect-timeout ----------------------------------------

/// Accepts TCP and never says a word (no ServerHello).
fn mute_listener() -> (TcpListener, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = l.try_clone().unwrap();
    let t = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l2.incoming().take(8) {
            match c {
                Ok(c) => held.push(c),
                Err(_) => return,
            }
        }
    });
    (l, t)
}

#[test]
fn https_proxy_tls_handshake_obeys_connect_timeout() {
    let (l, _t) = mute_listener();
    let proxy = format!("https://127.0.0.1:{}", l.local_addr().unwrap().port());
    for origin in [Origin::http(), Origin::https()] {
        let out = via_proxy(&proxy, Some((USER, PASS)), &origin, "/text", &["--connect-timeout", "1"])
            .timeout(Duration::from_secs(20))
            .run();
        out.assert_code(28).assert_error_message().assert_faster_than(Duration::from_secs(6));
    }
}

// --- 16: a user Proxy-Authorization header ------------------------------------------------------

/// With `-H` (it would reach the origin inside a tunnel) and with `--proxy-header` (the relay
/// would drop it, and the proxy see other credentials than the user meant): refused alike.
#[test]
fn user_proxy_authorization_header_is_a_usage_error() {
    let proxy = FakeProxy::start(fakeproxy::open());
    for option in ["-H", "--proxy-header"] {
        for origin in [Origin::http(), Origin::https()] {
            let out = via_proxy(
                &proxy.url(),
                None,
                &origin,
                "/echo-headers",
                &[option, "proxy-authorization: Basic Zm9vOmJhcg==", &origin.url("/text")],
            )
            .run();
            out.assert_code(2).assert_error_message();
            assert_eq!(
                out.stderr.matches("error:").count(),
                1,
                "said once for two URLs:\n{}",
                out.describe()
            );
            assert!(
                out.stderr.contains(&format!("{option} proxy-authorization")) && out.stderr.contains("-U"),
                "names the option, the header and -U:\n{}",
                out.describe()
            );
            assert!(!out.stderr.contains("Zm9vOmJhcg"), "the value is not shown:\n{}", out.describe());
            assert!(origin.requests().is_empty(), "nothing was sent");
        }
    }
    assert!(proxy.requests().is_empty(), "nothing reached the proxy");
}

// --- garbage after CONNECT 200 ------------------------------------------------------------------

#[test]
fn garbage_after_connect_200_is_a_proxy_failure() {
    let proxy = FakeProxy::start(|_: &ProxyRequest| Action::Raw {
        bytes: b"HTTP/1.1 200 Connection established\r\n\r\nthis is not TLS at all\r\n".to_vec(),
        close: true,
    });
    let origin = Origin::https();
    let out = via_proxy(&proxy.url(), None, &origin, "/text", &[]).run();
    out.assert_error_message().assert_faster_than(Duration::from_secs(10));
    assert!(
        out.code != Some(7),
        "exit 7 means 'could not connect to the origin (direct)':\n{}",
        out.describe()
    );
    out.assert_code(43);
}

// --- 7: a relay held open by another local user -----------------------------------------------

/// The loopback port the relay of toll process `pid` listens on: its listening sockets
/// (/proc/PID/fd → socket inodes, matched in /proc/PID/net/tcp, state 0A).
fn relay_port(pid: libc::pid_t) -> Option<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let s = l.to_string_lossy().into_owned();
            s.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned)
        })
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
        if *state != "0A" || !inodes.iter().any(|i| i == inode) {
            return None;
        }
        u16::from_str_radix(local.split(':').nth(1)?, 16).ok()
    })
}

fn wait_relay_port(pid: libc::pid_t) -> u16 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(p) = relay_port(pid) {
            return p;
        }
        assert!(Instant::now() < until, "toll {pid} never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Until toll's own request reached the proxy (so its connection to the relay is open).
fn wait_for_request(proxy: &FakeProxy) {
    let until = Instant::now() + Duration::from_secs(10);
    while proxy.requests().is_empty() {
        assert!(Instant::now() < until, "toll's request never reached the proxy");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn open_fds(pid: libc::pid_t) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Whether the peer has closed `s` (EOF or reset) within `wait`.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let _ = s.set_read_timeout(Some(wait));
    let mut b = [0u8; 512];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// A proxy that takes `secs` to allow each request: keeps toll (and its relay) running.
fn slow_proxy(secs: u64) -> FakeProxy {
    FakeProxy::start(move |_: &ProxyRequest| {
        std::thread::sleep(Duration::from_secs(secs));
        Action::Allow
    })
}

/// 600 idle connections from "another local user": beyond the cap they are closed at once, the
/// rest within a few seconds for not showing the key; descriptors stay bounded; a wrong key is
/// answered 403 and closed; toll's own transfer is unharmed.
#[test]
fn relay_sheds_idle_strangers() {
    let proxy = slow_proxy(9);
    let origin = Origin::http();
    let run = via_proxy(&proxy.url(), None, &origin, "/text", &[]).timeout(Duration::from_secs(30)).spawn();
    let pid = run.pid;
    let port = wait_relay_port(pid);
    wait_for_request(&proxy);
    let mut held: Vec<TcpStream> =
        (0..600).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let fds = open_fds(pid);
    let shed = held.iter_mut().map(|s| closed_within(s, Duration::from_millis(20))).filter(|c| *c).count();
    let open = held.len() - shed;
    assert!(open <= 256, "{open} of {} connections stay open: the cap is 256", held.len());
    assert!(fds < 256 + 64, "toll holds {fds} descriptors");
    // A wrong key: 403, then the connection is closed.
    let mut bad = TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let _ = bad.write_all(
        b"GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic dTA6bm9wZQ==\r\n\r\n",
    );
    let mut answer = Vec::new();
    let _ = bad.set_read_timeout(Some(Duration::from_secs(3)));
    let closed = bad.read_to_end(&mut answer).is_ok();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert!(closed, "the connection stayed open after a wrong key: {text}");
    // Everything else is closed within the key deadline (5 s) plus a margin.
    let started = Instant::now();
    for s in held.iter_mut() {
        let left = Duration::from_secs(8).saturating_sub(started.elapsed());
        assert!(
            closed_within(s, left.max(Duration::from_millis(1))),
            "an idle stranger is still open after 8 s"
        );
    }
    let out = run.wait();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
}

/// toll out of descriptors (RLIMIT_NOFILE 48) and a flood of connections: the accept loop backs
/// off instead of spinning, and nothing panics. Spinning is seen as a thread that is always
/// running or runnable (state `R`), which holds however busy the machine is; a backing-off
/// relay sleeps (`S`) nearly all the time.
#[test]
fn relay_backs_off_when_out_of_descriptors() {
    let proxy = slow_proxy(4);
    let origin = Origin::http();
    let run = via_proxy(&proxy.url(), None, &origin, "/text", &[])
        .nofile_limit(48)
        .timeout(Duration::from_secs(30))
        .spawn();
    let pid = run.pid;
    let port = wait_relay_port(pid);
    wait_for_request(&proxy);
    let _held: Vec<TcpStream> =
        (0..120).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let samples = 100;
    let mut busy = 0;
    for _ in 0..samples {
        if any_thread_running(pid) {
            busy += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out_fds = open_fds(pid);
    assert!(
        busy < samples / 3,
        "({out_fds} fds) a toll thread was running in {busy} of {samples} samples: the accept loop spins"
    );
    run.wait().assert_no_panic();
}

/// Whether any thread of `pid` is running or runnable right now.
fn any_thread_running(pid: libc::pid_t) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok()).any(|stat| {
        stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()).is_some_and(|st| st == "R")
    })
}

// --- the secrets audit of the run fixture -------------------------------------------------------

/// The audit finds each kind of secret in output and in files, and not in look-alikes.
#[test]
fn secrets_audit_finds_each_kind() {
    use crate::run::audit;
    let dir = crate::run::scratch();
    let dirs = vec![dir.path().to_path_buf()];
    let key = "0123456789abcdef".repeat(3);
    for leak in [
        "user s3cret".to_string(),
        format!("http://u0:{key}@127.0.0.1:1"),
        "Proxy-Authorization: NTLM TlRMTVNTUAADAAAA".into(),
        "Negotiate YIIGdgYGKwYBBQUCoIIGajCCBmagMDAu".into(),
        "given-secret-42".into(),
    ] {
        let given = vec!["given-secret-42".to_string()];
        assert!(audit(leak.as_bytes(), b"", &dirs, &given).is_err(), "stdout: {leak}");
        assert!(audit(b"", leak.as_bytes(), &dirs, &given).is_err(), "stderr: {leak}");
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/state.json"), &leak).unwrap();
        assert!(audit(b"", b"", &dirs, &given).is_err(), "file: {leak}");
        std::fs::remove_file(dir.path().join("sub/state.json")).unwrap();
    }
    let sha256 = crate::sha256_hex(b"x");
    let clean = format!("{sha256} 1\nProxy-Authorization: Basic <redacted>\nwrong password\nYII\n");
    assert_eq!(audit(clean.as_bytes(), clean.as_bytes(), &dirs, &[]), Ok(()));
}

/// Every run of the fixture is audited: a run whose output carries a registered password fails
/// the test that made it.
#[test]
fn every_fixture_run_is_audited() {
    let origin = Origin::http();
    let result = std::panic::catch_unwind(|| {
        crate::run::toll(["-sS", "--data-binary", "s3cret", &origin.url("/upload")]).run();
        crate::run::toll(["-sS", "--data-binary", "s3cret", &origin.url("/echo-headers")]).run()
    });
    let msg = match result {
        Ok(out) => panic!("the audit let a password on stdout through:\n{}", out.describe()),
        Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(msg.contains("SECRET LEAK") && msg.contains("s3cret"), "{msg}");
}

// --- a server's endless 1xx heads -------------------------------------------------------------

/// A server that sends `100 Continue` after `100 Continue` (40,000 of them, a megabyte, in one
/// write) before its answer: `-w` and `-i` read the heads off the wire, and what they keep of
/// the 1xx ones stays bounded whatever the size of the reads that bring them. Reading a read
/// of thousands once copied the rest of it per head and kept the copies: memory by the square
/// of the read's size (half a gigabyte for 16,000 heads, gigabytes for more).
#[test]
fn endless_informational_heads_cost_bounded_memory() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((mut c, _)) = listener.accept() else { return };
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(&b"HTTP/1.1 100 Continue\r\n\r\n".repeat(40_000));
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend");
            let _ = c.read(&mut buf);
        }
    });
    let url = format!("http://127.0.0.1:{port}/");
    for shown in ["-w", "-i"] {
        let args: &[&str] =
            if shown == "-w" { &["-s", "-w", " %{http_code}", &url] } else { &["-s", "-i", &url] };
        let out = crate::run::toll(args).address_space_limit(1 << 30).run();
        out.assert_ok();
        let text = out.stdout_str();
        match shown {
            "-w" => assert_eq!(text, "end 200", "{}", out.describe()),
            _ => assert!(
                text.starts_with("HTTP/1.1 100 Continue\r\n\r\n") && text.ends_with("\r\n\r\nend"),
                "{}",
                out.describe()
            ),
        }
    }
}
