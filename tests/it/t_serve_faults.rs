//! `toll serve` when things go wrong (issue 13's fault list): an upstream that resets the
//! connection gives the client a 502, a silent one a 504 within `--answer-timeout`; a client
//! that never finishes its request head (slowloris) does not hold up others; SIGTERM lets a
//! request in flight finish before the server exits, closes idle connections at once and logs
//! the tunnels it closes.

use crate::fakeproxy::{Action, FakeProxy};
use crate::origin::Origin;
use crate::t_serve::{run, Serve, CURL};
use crate::tls::pki;
use std::io::{BufReader, Write};
use std::time::{Duration, Instant};

fn code(serve: &Serve, url: &str, extra: &[&str]) -> (String, Duration) {
    let started = Instant::now();
    let (ca, proxy) = (pki().ca_arg(), serve.url());
    let mut args =
        vec!["-s", "-o", "/dev/null", "-w", "%{http_code} %{http_connect}", "--cacert", &ca, "-x", &proxy];
    args.extend_from_slice(extra);
    args.push(url);
    let out = run(CURL, &args);
    (String::from_utf8_lossy(&out.stdout).to_string(), started.elapsed())
}

#[test]
fn a_resetting_upstream_gives_502_and_a_silent_one_504_in_time() {
    if !crate::have("a_resetting_upstream_gives_502_and_a_silent_one_504_in_time", &[CURL], "curl") {
        return;
    }
    let (http, https) = (Origin::http(), Origin::https());
    let reset = FakeProxy::start(|_| Action::Close);
    let serve = Serve::start(&["-x", &reset.url()]);
    let (c, _) = code(&serve, &http.url("/text"), &[]);
    assert_eq!(c, "502 000", "{}", serve.log());
    let (c, _) = code(&serve, &https.url("/text"), &[]);
    assert_eq!(c, "000 502", "{}", serve.log());

    let silent = FakeProxy::start(|_| Action::Hang(Duration::from_secs(60)));
    let serve = Serve::start(&["-x", &silent.url(), "--answer-timeout", "2"]);
    for url in [http.url("/text"), https.url("/text")] {
        let (c, took) = code(&serve, &url, &["-m", "30"]);
        assert!(c == "504 000" || c == "000 504", "{url}: {c}\n{}", serve.log());
        assert!(took < Duration::from_secs(10), "{url}: {took:?}");
    }
    // A request with a body (a form, an API call) too: the limit runs once the body is in.
    let (c, took) = code(&serve, &http.url("/upload"), &["-m", "30", "-d", "name=value"]);
    assert_eq!(c, "504 000", "POST: {}", serve.log());
    assert!(took < Duration::from_secs(10), "POST: {took:?}");
    assert!(serve.log_with("POST http").contains("/upload via http://"), "{}", serve.log());
    // And an upload too large to buffer (streamed to the proxy): from its last byte.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("up.bin");
    std::fs::write(&file, crate::pattern_bytes(2 << 20)).unwrap();
    let data = format!("@{}", file.display());
    let (c, took) = code(&serve, &http.url("/upload"), &["-m", "30", "--data-binary", &data]);
    assert_eq!(c, "504 000", "a streamed POST: {}", serve.log());
    assert!(took < Duration::from_secs(10), "a streamed POST: {took:?}");
    // The limit does not cut off an upload that takes longer than it (3 s at 400 KiB/s).
    let open = FakeProxy::start(crate::fakeproxy::open());
    let serve = Serve::start(&["-x", &open.url(), "--answer-timeout", "2"]);
    std::fs::write(&file, crate::pattern_bytes(1200 * 1024)).unwrap();
    let (c, _) =
        code(&serve, &http.url("/upload"), &["-m", "30", "--limit-rate", "400K", "--data-binary", &data]);
    assert_eq!(c, "200 000", "a slow streamed POST: {}", serve.log());
}

/// A proxy that cannot be reached gives a 502 whose `Proxy-Status` names the step (RFC 9209):
/// `dns_error` for a name that did not resolve, `connection_refused` for a refusal,
/// `tls_certificate_error` for an https:// proxy whose certificate is not trusted, and
/// `tls_protocol_error` for one that does not speak TLS.
#[test]
fn an_unreachable_proxy_gives_502_with_the_step_that_failed() {
    if !crate::have("an_unreachable_proxy_gives_502_with_the_step_that_failed", &[CURL], "curl") {
        return;
    }
    let http = Origin::http();
    let unresolvable = format!("http://{}:3128", crate::UNRESOLVABLE);
    let refusing = format!("http://127.0.0.1:{}", crate::free_port());
    let tls = crate::fakeproxy::TlsFakeProxy::start(crate::fakeproxy::open());
    // A plain proxy answers a ClientHello with an HTTP error, as Squid does.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let not_tls = format!("https://{}", plain.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in plain.incoming().map_while(Result::ok) {
            let _ = std::io::Read::read(&mut conn, &mut [0u8; 4096]);
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    });
    for (proxy, error) in [
        (unresolvable, "dns_error"),
        (refusing, "connection_refused"),
        (tls.url(), "tls_certificate_error"),
        (not_tls, "tls_protocol_error"),
    ] {
        let serve = Serve::start(&["-x", &proxy]);
        let out = run(CURL, &["-s", "-i", "-x", &serve.url(), &http.url("/text")]);
        let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 502"), "{proxy}: {head}");
        assert!(head.contains(&format!("proxy-status: toll; error={error}")), "{proxy}: {head}");
    }
    // An https:// proxy that takes the connection and never answers the ClientHello: the
    // connection to it is bounded by --connect-timeout (30 s by default), TLS included, and the
    // client gets 504 then, not after --answer-timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("https://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().map_while(Result::ok).take(8).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let serve = Serve::start(&["-x", &silent_url, "--connect-timeout", "1", "--answer-timeout", "20"]);
    let started = std::time::Instant::now();
    let out = run(CURL, &["-s", "-i", "-x", &serve.url(), &http.url("/text")]);
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 504"), "{head}");
    assert!(head.contains("proxy-status: toll; error=connection_timeout"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(http.requests_to("/text").is_empty());
}

/// A peer on a loopback port that reads each request head and then nothing more: an upload to
/// it stops once the sockets' buffers are full.
fn deaf_after_the_head() -> u16 {
    crate::http::after_each_head(|conn, _| {
        std::thread::sleep(Duration::from_secs(40));
        drop(conn);
    })
}

/// An upload the next hop stops taking (a proxy, or an origin reached directly, that reads
/// nothing after the head) gets 504 once it has taken nothing for `--answer-timeout`, instead
/// of holding the client until it gives up.
#[test]
fn an_upload_the_next_hop_stops_taking_gets_504_in_time() {
    if !crate::have("an_upload_the_next_hop_stops_taking_gets_504_in_time", &[CURL], "curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    std::fs::write(&file, crate::pattern_bytes(48 << 20)).unwrap();
    let data = format!("@{}", file.display());
    let deaf = deaf_after_the_head();
    let proxy = format!("http://127.0.0.1:{deaf}");
    for (how, args, url) in [
        ("through a proxy", vec!["-x", proxy.as_str()], "http://127.0.0.1:9/upload".to_string()),
        ("direct", vec![], format!("http://127.0.0.1:{deaf}/upload")),
    ] {
        let mut args = args;
        args.extend(["--answer-timeout", "2"]);
        let serve = Serve::start(&args);
        let (c, took) = code(&serve, &url, &["-m", "40", "--data-binary", &data]);
        assert!(c.starts_with("504"), "{how}: {c}\n{}", serve.log());
        assert!(took < Duration::from_secs(20), "{how}: {took:?}");
        assert!(serve.log_with("POST http").contains(" 504 "), "{how}: {}", serve.log());
    }
}

type Seen = std::sync::Arc<std::sync::Mutex<Vec<(usize, String)>>>;

/// An origin that closes each kept-alive connection when a second request arrives on it (what an
/// origin's idle timeout does to a request that goes out just as it fires), after reading that
/// request. Records `(connection, request line)` for each request it read.
fn closes_kept_alive_connections() -> (u16, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut conn) = conn else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                for i in 0.. {
                    let Ok(Some(head)) = crate::http::read_head(&mut reader) else { return };
                    let Ok(_) = crate::http::read_request_body(&mut reader, &head) else { return };
                    let (method, target) = head.parts();
                    record.lock().unwrap().push((n, format!("{method} {target}")));
                    if i > 0 {
                        return;
                    }
                    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
                }
            });
        }
    });
    (port, seen)
}

/// A request that goes out on a kept-alive origin connection the origin closes at that moment
/// is sent again on a new connection when it can be (idempotent, no body: RFC 9112 §9.3.1, as
/// curl, browsers and Squid do), so the client sees no 502 for the origin's idle timeout. A
/// request with a body is never sent twice: it gets the 502.
#[test]
fn a_request_on_a_kept_alive_origin_connection_closed_under_it_is_sent_again_once() {
    if !crate::have(
        "a_request_on_a_kept_alive_origin_connection_closed_under_it_is_sent_again_once",
        &[CURL],
        "curl",
    ) {
        return;
    }
    let (port, seen) = closes_kept_alive_connections();
    let serve = Serve::start(&[]);
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    // Separate clients a moment apart: the second finds the first's origin connection idle in
    // toll serve's pool.
    let pause = || std::thread::sleep(Duration::from_millis(300));
    // Each after a GET that leaves an origin connection in the pool.
    for (path, extra, want) in [
        ("/b", &[][..], "200 000"),
        ("/c", &["-I"][..], "200 000"),
        ("/d", &["-X", "DELETE"][..], "200 000"),
        ("/e", &["-d", "form=1"][..], "502 000"),
    ] {
        for (path, extra, want) in
            [(format!("{path}-before"), &[][..], "200 000"), (path.to_string(), extra, want)]
        {
            pause();
            let (c, _) = code(&serve, &url(&path), extra);
            assert_eq!(c, want, "{path}: {:?}\n{}", seen.lock().unwrap(), serve.log());
        }
    }
    let seen: Vec<(usize, String)> = seen.lock().unwrap().clone();
    let lines: Vec<&str> = seen.iter().map(|(_, l)| l.as_str()).collect();
    // Each request sent again was read twice, the second time on a new connection; the POST once.
    #[rustfmt::skip]
    assert_eq!(
        lines,
        [
            "GET /b-before", "GET /b", "GET /b",
            "GET /c-before", "HEAD /c", "HEAD /c",
            "GET /d-before", "DELETE /d", "DELETE /d",
            "GET /e-before", "POST /e",
        ],
        "{seen:?}"
    );
    for pair in [1, 4, 7] {
        assert_eq!(seen[pair - 1].0, seen[pair].0, "not on the kept-alive connection: {seen:?}");
        assert_ne!(seen[pair].0, seen[pair + 1].0, "sent again on the same connection: {seen:?}");
    }
    let log = serve.log_with("POST http");
    assert!(log.contains("/e via DIRECT - 502"), "{log}");
}

/// An origin that never says `100 Continue`: `/refuse` answers 401 as soon as the head is in,
/// `/take` reads the body (`Content-Length`) first and answers with its length. Records the body
/// bytes that reached it on each connection.
fn no_continue() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let Ok(Some(head)) = crate::http::read_head(&mut reader) else { return };
                let (_, target) = head.parts();
                let length = head.content_length().unwrap_or(0);
                let mut body = Vec::new();
                if target.ends_with("/take") {
                    let _ = (&mut reader).take(length as u64).read_to_end(&mut body);
                    let _ = write!(conn, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{:<7}\n", body.len());
                } else {
                    let _ = conn.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\n\r\nnope\n");
                    // What arrives anyway within a second.
                    conn.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                    let _ = reader.read_to_end(&mut body);
                }
                record.lock().unwrap().push(body.len());
            });
        }
    });
    (port, got)
}

/// `Expect: 100-continue` through toll serve, to an origin reached directly and through a proxy
/// (Squid, which passes the expectation on): the client's body waits for the origin's `100
/// Continue` (the test origin sends it) or, from an origin that never sends one, a second; an
/// origin that refuses the upload at once gets none of it, and the client sends none (it never
/// hears 100). A body small enough to buffer too: toll serve once read it (and so told the
/// client to go on) before the request had left, through a proxy.
#[test]
fn an_upload_waits_for_the_origins_100_continue() {
    crate::require_squid!("an_upload_waits_for_the_origins_100_continue");
    if !crate::have("an_upload_waits_for_the_origins_100_continue", &[CURL], "curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sq = crate::squid::shared(crate::squid::Auth::Basic);
    let creds = format!("{}:{}", crate::squid::ALICE.0, crate::squid::ALICE.1);
    let origin = Origin::http();
    for (how, serve) in
        [("direct", Serve::start(&[])), ("through Squid", Serve::start(&["-x", &sq.url(), "-U", &creds]))]
    {
        for size in [3 << 20, 64 << 10] {
            let file = dir.path().join("up.bin");
            std::fs::write(&file, crate::pattern_bytes(size)).unwrap();
            let (port, got) = no_continue();
            let put = |url: &str| {
                let (proxy, file) = (serve.url(), file.display().to_string());
                let args = [
                    "-s",
                    "-w",
                    "\n%{http_code} %{size_upload}",
                    "-H",
                    "Expect: 100-continue",
                    "-T",
                    &file,
                    "-x",
                    &proxy,
                    url,
                ];
                String::from_utf8_lossy(&run(CURL, &args).stdout).to_string()
            };
            let refused = put(&format!("http://127.0.0.1:{port}/refuse"));
            assert!(refused.ends_with("\n401 0"), "{how}, {size} B: {refused}\n{}", serve.log());
            let taken = put(&origin.url("/upload"));
            assert!(
                taken.ends_with(&format!(" {size}\n\n200 {size}")),
                "{how}, {size} B: {taken}\n{}",
                serve.log()
            );
            let started = Instant::now();
            let ignored = put(&format!("http://127.0.0.1:{port}/take"));
            assert!(
                ignored.ends_with(&format!("{size:<7}\n\n200 {size}")),
                "{how}, {size} B: {ignored}\n{}",
                serve.log()
            );
            assert!(started.elapsed() < Duration::from_secs(10), "{how}, {size} B: {:?}", started.elapsed());
            let got = got.lock().unwrap().clone();
            assert_eq!(
                got,
                [0, size],
                "{how}, {size} B: body bytes that reached the origin that never says 100"
            );
        }
    }
}

#[test]
fn a_slowloris_client_does_not_hold_up_others() {
    if !crate::have("a_slowloris_client_does_not_hold_up_others", &[CURL], "curl") {
        return;
    }
    let origin = Origin::http();
    let open = FakeProxy::start(crate::fakeproxy::open());
    let serve = Serve::start(&["-x", &open.url()]);
    // Ten connections that start a request head and never finish it.
    let mut slow: Vec<std::net::TcpStream> = (0..10)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
            s.write_all(b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
            s
        })
        .collect();
    let (c, took) = code(&serve, &origin.url("/text"), &["-m", "10"]);
    assert_eq!(c, "200 000", "{}", serve.log());
    assert!(took < Duration::from_secs(3), "{took:?}");
    for s in &mut slow {
        let _ = s.write_all(b"a");
    }
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    if !crate::have("sigterm_lets_a_request_in_flight_finish", &[CURL], "curl") {
        return;
    }
    let origin = Origin::http();
    // The proxy's answer takes about a second to arrive.
    let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n\r\n".to_vec();
    answer.extend_from_slice(&[b'x'; 40]);
    let slow = FakeProxy::start(move |_| Action::Trickle {
        bytes: answer.clone(),
        chunk: 10,
        delay: Duration::from_millis(100),
    });
    let mut serve = Serve::start(&["-x", &slow.url()]);
    let (proxy, url) = (serve.url(), origin.url("/text"));
    let client = std::thread::spawn(move || run(CURL, &["-sS", "-m", "20", "-x", &proxy, &url]));
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(serve.child.id() as libc::pid_t, libc::SIGTERM) };
    let out = client.join().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), serve.log());
    assert_eq!(out.stdout, vec![b'x'; 40]);
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// A request still waiting for its answer when SIGTERM's drain (10 s) ends is answered 503
/// with `Proxy-Status` and gets its log line, rather than a connection cut without a word.
#[test]
fn a_request_unanswered_when_the_drain_ends_gets_a_503_and_a_log_line() {
    if !crate::have("a_request_unanswered_when_the_drain_ends_gets_a_503_and_a_log_line", &[CURL], "curl") {
        return;
    }
    let origin = Origin::http();
    let mut serve = Serve::start(&[]);
    let (proxy, url) = (serve.url(), origin.url("/hang"));
    let client = std::thread::spawn(move || {
        run(CURL, &["-sS", "-m", "25", "-D", "-", "-o", "/dev/null", "-x", &proxy, &url])
    });
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(serve.child.id() as libc::pid_t, libc::SIGTERM) };
    let out = client.join().unwrap();
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 503"), "{head}\n{}", serve.log());
    assert!(head.to_ascii_lowercase().contains("proxy-status: toll; error=connection_terminated"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(14), "{:?}", started.elapsed());
    assert!(serve.child.wait().unwrap().success());
    let log = serve.log_with("before the answer came");
    assert!(log.lines().any(|l| l.contains("GET ") && l.contains("/hang") && l.contains(" 503 ")), "{log}");
}

/// SIGTERM does not wait for connections with nothing in flight: a kept-alive client connection
/// between requests and one that never sent a request close at once (the drain would otherwise
/// take its whole 10 s), and a tunnel still open is closed with its log line.
#[test]
fn sigterm_closes_idle_connections_at_once_and_logs_the_open_tunnels() {
    use std::io::Read;
    let origin = Origin::http();
    let mut serve = Serve::start(&[]);
    let connect = || {
        let s = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s
    };
    let read_until = |s: &mut std::net::TcpStream, end: &str| {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).ends_with(end) {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "{}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
    };
    let (url, target) = (origin.url("/text"), origin.authority());
    let mut kept = connect();
    write!(kept, "GET {url} HTTP/1.1\r\nHost: {target}\r\n\r\n").unwrap();
    read_until(&mut kept, "hello from the origin\n");
    let mut tunnel = connect();
    write!(
        tunnel,
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\nGET /text HTTP/1.1\r\nHost: {target}\r\n\r\n"
    )
    .unwrap();
    read_until(&mut tunnel, "hello from the origin\n");
    let mut silent = connect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(serve.child.id() as libc::pid_t, libc::SIGTERM) };
    let status = serve.child.wait().unwrap();
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?} with only idle connections open");
    for (name, s) in [("kept-alive", &mut kept), ("tunnel", &mut tunnel), ("silent", &mut silent)] {
        let mut rest = Vec::new();
        let closed = s.read_to_end(&mut rest).is_ok();
        assert!(closed, "the {name} connection was not closed");
    }
    let log = serve.log_with("closed: toll serve stopped");
    let line =
        log.lines().find(|l| l.contains(&format!("CONNECT {target}"))).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("via DIRECT - 200 ") && line.ends_with("(closed: toll serve stopped)"), "{line}");
}

/// The access log is written by a thread of its own: with stderr on a pipe that nobody reads
/// (the pipe holds about 500 lines), requests go on being served, and the lines still queued
/// when SIGTERM comes are written before the server exits, none lost.
#[test]
fn a_log_nobody_reads_holds_up_no_request_and_loses_no_line() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    if !crate::have("a_log_nobody_reads_holds_up_no_request_and_loses_no_line", &[CURL], "curl") {
        return;
    }
    const N: usize = 2000;
    let origin = Origin::http();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(crate::run::TOLL);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    crate::run::isolate(&mut cmd, home.path());
    cmd.env("TOLL_TERMINAL", "none");
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let child = crate::t_serve::Kill(&mut child);
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let port = first.split("listening on 127.0.0.1:").nth(1).and_then(|r| r.split(';').next());
    let proxy = format!("http://127.0.0.1:{}", port.unwrap_or_else(|| panic!("{first}")));
    // From here on, nobody reads the log until the server is told to stop. One curl, N
    // requests on one connection (its URL globbing).
    let started = Instant::now();
    let glob = format!("{}/[1-{N}]", origin.url("/bytes"));
    // curl's --max-time is per transfer: the whole run gets its limit here.
    let mut curl = Command::new(CURL)
        .args(["-sS", "-o", "/dev/null", "-x", &proxy, &glob])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = loop {
        if let Some(status) = curl.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = curl.kill();
            let _ = curl.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    assert!(done.is_some_and(|s| s.success()), "{N} requests: {done:?} after {took:?}");
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGTERM) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let served: Vec<&str> = rest.lines().filter(|l| l.contains(" GET http://")).collect();
    assert_eq!(served.len(), N, "{N} requests in {took:?}, the log's last lines:\n{}", tail(&rest));
    for (i, line) in served.iter().enumerate() {
        assert!(line.contains(&format!("/bytes/{} via DIRECT - 200 ", i + 1)), "in order: {line}");
    }
    assert!(!rest.contains("dropped"), "{}", tail(&rest));
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

/// A peer on a loopback port that answers every request head (as an origin, or as a proxy: it
/// ignores the request's form) with a head announcing 100 bytes, then 5 of them, and closes.
fn cut_short() -> u16 {
    crate::http::after_each_head(|mut conn, _| {
        // One write: the relay reads the head, the 5 bytes and the end at once.
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    })
}

/// An answer whose body breaks off reaches the client as far as it came (the head and the bytes
/// before the break, then the connection closes), as a proxy passes it on: curl reports the
/// partial transfer (exit 18), and a client can resume it. toll serve once wrote nothing at
/// all for such an answer through a proxy when the break came in the same read as the head
/// (hyper drops what it has not flushed yet when a response body fails): curl's "empty reply"
/// (exit 52), in about one request in three through Squid. Directly and through a proxy, 20
/// times each.
#[test]
fn an_answer_that_breaks_off_reaches_the_client_as_far_as_it_came() {
    if !crate::have("an_answer_that_breaks_off_reaches_the_client_as_far_as_it_came", &[CURL], "curl") {
        return;
    }
    let short = cut_short();
    let proxy = format!("http://127.0.0.1:{short}");
    for (how, serve, url) in [
        ("direct", Serve::start(&[]), format!("http://127.0.0.1:{short}/short")),
        ("through a proxy", Serve::start(&["-x", &proxy]), "http://127.0.0.1:9/short".to_string()),
    ] {
        for round in 0..20 {
            let out = run(
                CURL,
                &["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-x", &serve.url(), &url],
            );
            let got = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                (out.status.code(), got.as_ref()),
                (Some(18), "200 5"),
                "{how}, round {round}: {}",
                serve.log()
            );
        }
    }
}

/// Out of file descriptors, the network cannot be read (getifaddrs needs a socket): that is no
/// news of the network. It was taken for a change, which dropped every kept connection and,
/// with a PAC it could not read either, sent URLs DIRECT.
#[test]
fn running_out_of_descriptors_is_not_a_network_change() {
    let serve = Serve::start(&["-x", "http://127.0.0.1:9"]);
    let pid = serve.child.id().to_string();
    let limited = std::process::Command::new("prlimit").args(["--pid", &pid, "--nofile=48:48"]).status();
    if !limited.is_ok_and(|s| s.success()) {
        panic!("prlimit could not lower toll serve's descriptor limit");
    }
    // Hold every descriptor it has left (each accepted connection takes one).
    let held: Vec<std::net::TcpStream> =
        (0..60).filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", serve.port)).ok()).collect();
    // Two polls of the network (every 2 s) while it has none to spare.
    std::thread::sleep(Duration::from_millis(4500));
    drop(held);
    std::thread::sleep(Duration::from_millis(2500));
    let log = serve.log();
    assert!(
        log.contains("Too many open files") || log.contains("pausing"),
        "the limit was not reached:\n{log}"
    );
    assert!(!log.contains("the network changed"), "{log}");
}
