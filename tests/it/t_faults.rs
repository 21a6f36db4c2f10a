//! Fault injection against the relay: the upstream proxy breaks at each leg of each scheme
//! (Basic, Digest, NTLM) — reset before the status line or right after reading
//! `Proxy-Authorization`, cut mid-headers, cut mid-body —, half-closes a tunnel, answers byte by
//! byte, never answers, sends 10⁴ challenges or a 100 MB header field. Every case must end with
//! a clear error and its documented exit code (or succeed where the fault left a way through),
//! within `-m`, with no credential sent twice, bounded memory, and no panic.
//! (Idle local connections held to the relay: `t_hardening::relay_sheds_idle_strangers`.)

use crate::fakeproxy::{reply_407, Action, DigestProxy, FakeProxy, ProxyRequest};
use crate::ntlm_proxy::NtlmProxy;
use crate::origin::Origin;
use crate::run::{via_proxy, Out};
use std::time::{Duration, Instant};

const USER: &str = "alice";
const PASS: &str = "h4rden-pw";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Basic,
    Digest,
    Ntlm,
}

/// Which request of the exchange the fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leg {
    /// The first request, without credentials.
    First,
    /// NTLM's type 1 (no password in it).
    Type1,
    /// The request carrying the password (Basic, Digest, NTLM type 3).
    Credentialed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Reset before a byte of the answer (for the credentialed leg: right after reading it).
    Reset,
    /// Close in the middle of the header fields.
    MidHeaders,
    /// A complete 407 head, then the body cut short.
    MidBody,
}

fn leg_of(scheme: Scheme, req: &ProxyRequest) -> Leg {
    match req.proxy_authorization() {
        None => Leg::First,
        Some(a) if scheme == Scheme::Ntlm && a.starts_with("NTLM TlRMTVNTUAAB") => Leg::Type1,
        Some(_) => Leg::Credentialed,
    }
}

/// The challenge a 407 on `leg` carries for `scheme`.
fn challenge(scheme: Scheme, digest: &DigestProxy) -> String {
    match scheme {
        Scheme::Basic => "Basic realm=\"fake\"".into(),
        Scheme::Digest => digest.challenge(false),
        Scheme::Ntlm => "NTLM".into(),
    }
}

fn fault_action(fault: Fault, challenge: &str) -> Action {
    match fault {
        Fault::Reset => Action::Close,
        Fault::MidHeaders => Action::Raw {
            bytes: b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Type: text/ht".to_vec(),
            close: true,
        },
        Fault::MidBody => Action::Raw {
            bytes: format!(
                "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: {challenge}\r\n\
                 Content-Length: 1000\r\nContent-Type: text/html\r\n\r\n<html>only part of"
            )
            .into_bytes(),
            close: true,
        },
    }
}

/// The exit code a fault must produce; 0 where the fault left a way through (a cut 407 body on
/// the first leg: its challenge was complete, the next leg goes on a fresh connection).
fn expected(leg: Leg, fault: Fault) -> i32 {
    match (leg, fault) {
        (Leg::First, Fault::MidBody) => 0,
        // A 407 (even cut) to the password: the credential was refused.
        (Leg::Credentialed, Fault::MidBody) => 41,
        _ => 43,
    }
}

fn run_fault(scheme: Scheme, leg: Leg, fault: Fault, tls: bool) {
    let digest = DigestProxy::new(USER, PASS, false);
    let ntlm = NtlmProxy::new("CORP", USER, "alice@corp.example", PASS);
    let (d, n) = (digest.clone(), ntlm.clone());
    let proxy = FakeProxy::start(move |req: &ProxyRequest| {
        if !req.is_auth_probe() && leg_of(scheme, req) == leg {
            return fault_action(fault, &challenge(scheme, &d));
        }
        match scheme {
            Scheme::Basic => crate::fakeproxy::basic(USER, PASS)(req),
            Scheme::Digest => d.script()(req),
            Scheme::Ntlm => n.handle(req),
        }
    });
    let origin = Origin::start(tls);
    let user = if scheme == Scheme::Ntlm { "CORP\\alice" } else { USER };
    let out = via_proxy(&proxy.url(), Some((user, PASS)), &origin, "/text", &["-m", "10"])
        .timeout(Duration::from_secs(20))
        .run();
    let what = format!("{scheme:?} {leg:?} {fault:?} tls={tls}");
    let code = expected(leg, fault);
    assert_eq!(
        out.code,
        Some(code),
        "{what}: expected exit {code}:\n{}\nproxy saw:\n{}",
        out.describe(),
        proxy.summary()
    );
    out.assert_no_panic().assert_faster_than(Duration::from_secs(10));
    if code == 0 {
        assert_eq!(out.stdout, b"hello from the origin\n", "{what}");
    } else {
        out.assert_error_message();
        assert!(out.stdout.is_empty(), "{what}: stdout must be empty:\n{}", out.describe());
    }
    let sent = proxy.requests().iter().filter(|r| leg_of(scheme, r) == Leg::Credentialed).count();
    assert!(sent <= 1, "{what}: the password went out {sent} times:\n{}", proxy.summary());
}

fn all_faults(scheme: Scheme) {
    let legs: &[Leg] = if scheme == Scheme::Ntlm {
        &[Leg::First, Leg::Type1, Leg::Credentialed]
    } else {
        &[Leg::First, Leg::Credentialed]
    };
    for &leg in legs {
        for fault in [Fault::Reset, Fault::MidHeaders, Fault::MidBody] {
            if leg == Leg::Type1 && fault == Fault::MidBody {
                // A cut type-2 407: the handshake cannot move to another connection.
                continue;
            }
            for tls in [false, true] {
                run_fault(scheme, leg, fault, tls);
            }
        }
    }
}

#[test]
fn faults_basic() {
    all_faults(Scheme::Basic);
}

#[test]
fn faults_digest() {
    all_faults(Scheme::Digest);
}

#[test]
fn faults_ntlm() {
    all_faults(Scheme::Ntlm);
}

/// NTLM's type-2 407 with its body cut: the handshake is bound to the connection that died.
#[test]
fn fault_ntlm_type2_cut_mid_body() {
    for tls in [false, true] {
        let ntlm = NtlmProxy::new("CORP", USER, "alice@corp.example", PASS);
        let n = ntlm.clone();
        let proxy = FakeProxy::start(move |req: &ProxyRequest| match n.handle(req) {
            Action::Reply(r) if leg_of(Scheme::Ntlm, req) == Leg::Type1 => {
                let ch = r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("proxy-authenticate"));
                let ch = ch.map(|(_, v)| v.clone()).unwrap_or_default();
                fault_action(Fault::MidBody, &ch)
            }
            other => other,
        });
        let origin = Origin::start(tls);
        let out = via_proxy(&proxy.url(), Some(("CORP\\alice", PASS)), &origin, "/text", &["-m", "10"]).run();
        out.assert_code(43).assert_error_message().assert_faster_than(Duration::from_secs(10));
        let type3 = proxy.requests().iter().filter(|r| leg_of(Scheme::Ntlm, r) == Leg::Credentialed).count();
        assert!(type3 <= 1, "{}", proxy.summary());
    }
}

// --- tunnels and slow or hostile proxies ----------------------------------------------------------

/// CONNECT 200, then the proxy half-closes (FIN) the tunnel before a byte of TLS.
#[test]
fn fault_tunnel_half_closed() {
    let proxy = FakeProxy::start(|_: &ProxyRequest| Action::Raw {
        bytes: b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec(),
        close: true,
    });
    let origin = Origin::https();
    let out = via_proxy(&proxy.url(), None, &origin, "/text", &["-m", "10"]).run();
    out.assert_code(43).assert_error_message().assert_faster_than(Duration::from_secs(8));
}

/// The proxy's 407 one byte every 20 ms (about 4 s for the whole head): `-m 2` ends the run.
#[test]
fn fault_slowloris_proxy() {
    let head = format!(
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"slow\"\r\n\
         X-Padding: {}\r\nContent-Length: 0\r\n\r\n",
        "p".repeat(100)
    );
    for tls in [false, true] {
        let bytes = head.clone().into_bytes();
        let proxy = FakeProxy::start(move |_: &ProxyRequest| Action::Trickle {
            bytes: bytes.clone(),
            chunk: 1,
            delay: Duration::from_millis(20),
        });
        let origin = Origin::start(tls);
        let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &["-m", "2"]).run();
        out.assert_code(28).assert_error_message().assert_faster_than(Duration::from_secs(5));
        assert!(proxy.requests().iter().all(|r| r.proxy_authorization().is_none()), "{}", proxy.summary());
    }
}

/// A 407 whose body never ends (100 MB announced, or chunked, dripped): without `-m` the run
/// does not wait for it; the connection is given up and the credentials are sent on a new one.
#[test]
fn fault_a_407_body_that_drips_forever() {
    for framing in ["Content-Length: 100000000", "Transfer-Encoding: chunked"] {
        let head = format!(
            "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"r\"\r\n{framing}\r\n\r\n"
        );
        // The head in the first piece, then one piece of body every 500 ms for 30 s.
        let n = head.len();
        let piece = match framing.starts_with("Content") {
            true => "x".repeat(n),
            false => format!("{:x}\r\n{}\r\n", n - 6, "x".repeat(n - 6)),
        };
        assert_eq!(piece.len(), n);
        let bytes = format!("{head}{}", piece.repeat(60)).into_bytes();
        let proxy = FakeProxy::start(move |_: &ProxyRequest| Action::Trickle {
            bytes: bytes.clone(),
            chunk: n,
            delay: Duration::from_millis(500),
        });
        let out = via_proxy(&proxy.url(), Some((USER, PASS)), &Origin::https(), "/text", &[]).run();
        out.assert_code(41).assert_error_message().assert_faster_than(Duration::from_secs(10));
        let sent = proxy.requests().iter().filter(|r| r.proxy_authorization().is_some()).count();
        assert_eq!(sent, 1, "{framing}:\n{}", proxy.summary());
    }
}

/// The proxy reads the request and never answers: `-m 2` ends the run.
#[test]
fn fault_proxy_never_answers() {
    for tls in [false, true] {
        let proxy = FakeProxy::start(|_: &ProxyRequest| Action::Hang(Duration::from_secs(20)));
        let origin = Origin::start(tls);
        let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &["-m", "2"]).run();
        out.assert_code(28).assert_error_message().assert_faster_than(Duration::from_secs(5));
    }
}

/// A 407 with 10⁴ Proxy-Authenticate fields: refused as a malformed answer, nothing sent.
#[test]
fn fault_ten_thousand_challenges() {
    let challenges: Vec<String> = (0..10_000).map(|i| format!("Basic realm=\"r{i}\"")).collect();
    for tls in [false, true] {
        let ch = challenges.clone();
        let proxy = FakeProxy::start(move |_: &ProxyRequest| {
            let refs: Vec<&str> = ch.iter().map(String::as_str).collect();
            reply_407(&refs).into_action()
        });
        let origin = Origin::start(tls);
        let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &["-m", "10"]).run();
        out.assert_error_message().assert_faster_than(Duration::from_secs(10));
        assert!(matches!(out.code, Some(41) | Some(43)), "expected 41 or 43:\n{}", out.describe());
        assert!(
            !out.stderr.contains("closed the connection"),
            "the proxy did not close:\n{}",
            out.describe()
        );
        let sent = proxy.requests().iter().filter(|r| r.proxy_authorization().is_some()).count();
        assert!(sent <= 1, "{}", proxy.summary());
    }
}

/// The largest resident set of `pid` seen while it runs, in KiB.
fn watch_rss(pid: libc::pid_t) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { break };
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    })
}

/// A 407 whose one header field is 100 MB long: refused early (hyper's head limit), memory
/// stays far below the header's size.
#[test]
fn fault_hundred_megabyte_header() {
    for tls in [false, true] {
        let proxy = FakeProxy::start(|_: &ProxyRequest| Action::HugeHeader(100 * 1024 * 1024));
        let origin = Origin::start(tls);
        let run = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &["-m", "10"]).spawn();
        let peak = watch_rss(run.pid);
        let out: Out = run.wait();
        let peak_kib = peak.join().unwrap_or(0);
        out.assert_code(43).assert_error_message().assert_faster_than(Duration::from_secs(10));
        assert!(out.stderr.contains("too large"), "{}", out.describe());
        assert!(peak_kib > 0, "could not watch toll's memory");
        assert!(peak_kib < 64 * 1024, "toll's RSS reached {peak_kib} KiB for a 100 MB header");
        assert!(proxy.requests().iter().all(|r| r.proxy_authorization().is_none()), "{}", proxy.summary());
    }
}

/// Standard error gone (a closed pipe: `toll -v URL 2>&1 >/dev/null | head -c 10`): what toll
/// would say is dropped, and the exit status is the transfer's — not a panic's 101.
#[test]
fn a_closed_standard_error_does_not_turn_into_a_panic() {
    use std::os::fd::FromRawFd;
    let origin = Origin::http();
    for (args, code) in [(vec!["-v", "-o", "/dev/null"], 0), (vec!["-sS", "-o", "/dev/null", "-f"], 22)] {
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        unsafe { libc::close(fds[0]) };
        let stderr = unsafe { std::process::Stdio::from_raw_fd(fds[1]) };
        let home = crate::run::scratch();
        let mut cmd = std::process::Command::new(crate::run::TOLL);
        crate::run::isolate(&mut cmd, home.path());
        let path = if code == 0 { "/text" } else { "/status/404" };
        cmd.args(&args).arg(origin.url(path)).stdin(std::process::Stdio::null()).stderr(stderr);
        let status = cmd.status().expect("run toll");
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
}
