//! `toll serve` and `toll run` with real clients that nobody here wrote (curl, wget) through
//! real Squid (Basic, Digest) and scripted proxies: admission (another uid refused), loops and
//! non-proxy requests refused, lockout server-wide (a rejected password sent once for all
//! clients), and `toll run`'s environment and exit status.

use crate::fakeproxy::{self, FakeProxy};
use crate::origin::Origin;
use crate::run::{isolate, TOLL};
use crate::squid::{self, Auth, ALICE};
use crate::tls::pki;
use crate::{free_port, have, pattern_bytes};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) const CURL: &str = "/usr/bin/curl";
pub(crate) const WGET: &str = "/usr/bin/wget";

/// A `toll serve` a test started itself, killed (and waited for) when the test ends.
pub(crate) struct Kill<'a>(pub(crate) &'a mut Child);

impl Drop for Kill<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `toll serve --listen 127.0.0.1:0 ARGS…`, killed on drop.
pub(crate) struct Serve {
    pub(crate) child: Child,
    pub(crate) port: u16,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    home: tempfile::TempDir,
}

impl Serve {
    pub(crate) fn start(args: &[&str]) -> Serve {
        Serve::start_env(args, &[])
    }

    /// With `env` set after the isolation (a shared state dir, a keyring). `--listen` in `args`
    /// replaces the default `127.0.0.1:0` (`url` says 127.0.0.1 whatever the address).
    pub(crate) fn start_env(args: &[&str], env: &[(String, String)]) -> Serve {
        let home = tempfile::Builder::new().prefix("toll-it-serve-").tempdir().unwrap();
        let mut cmd = Command::new(TOLL);
        cmd.arg("serve");
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.args(args);
        isolate(&mut cmd, home.path());
        // No start-up check through the proxy, even when `cargo test` runs on a terminal.
        cmd.env("TOLL_TERMINAL", "none");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start toll serve");
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    // `ADDR;` or `ADDR and ADDR;` (localhost): the first.
                    let addr: std::net::SocketAddr = rest.split([';', ' ']).next().unwrap().parse().unwrap();
                    let _ = tx.send(addr.port());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(20)).expect("toll serve did not start listening");
        Serve { child, port, log, home }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// This server's state dir (`$XDG_STATE_HOME/toll`).
    pub(crate) fn state_dir(&self) -> std::path::PathBuf {
        self.home.path().join(".local/state/toll")
    }

    /// The key clients off loopback must show (made at start-up in this server's state dir).
    pub(crate) fn key(&self) -> String {
        let path = self.home.path().join(".local/state/toll/serve.key");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_string()
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The log once it has a line containing `needle` (a tunnel's line is written when the
    /// tunnel closes, a moment after the client is done), or as it is after 10 s.
    pub(crate) fn log_with(&self, needle: &str) -> String {
        self.log_with_n(needle, 1)
    }

    /// The log once `n` of its lines contain `needle`, or as it is after 10 s.
    pub(crate) fn log_with_n(&self, needle: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.lines().filter(|l| l.contains(needle)).count() >= n || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The bytes field of the first access-log line containing `needle` (waiting for it).
    pub(crate) fn logged_bytes(&self, needle: &str) -> u64 {
        let log = self.log_with(needle);
        let line =
            log.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in\n{log}"));
        let field = line[line.find(needle).unwrap() + needle.len()..].split_whitespace().next().unwrap_or("");
        field
            .strip_suffix('B')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no bytes after {needle:?}: {line}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn run(program: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for k in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(k);
    }
    cmd.stdin(Stdio::null());
    cmd.output().unwrap_or_else(|e| panic!("run {program}: {e}"))
}

fn clients_available(test: &str) -> bool {
    have(test, &[CURL, WGET], "curl wget")
}

#[test]
fn curl_and_wget_reach_http_and_https_origins_through_serve_and_squid() {
    crate::require_squid!("curl_and_wget_reach_http_and_https_origins_through_serve_and_squid");
    if !clients_available("curl_and_wget_reach_http_and_https_origins_through_serve_and_squid") {
        return;
    }
    let (http, https) = (Origin::http(), Origin::https());
    let ca = pki().ca_arg();
    for auth in [Auth::Basic, Auth::Digest] {
        let sq = squid::shared(auth);
        let creds = format!("{}:{}", ALICE.0, ALICE.1);
        let serve = Serve::start(&["-x", &sq.url(), "-U", &creds]);
        let want = pattern_bytes(100_000);
        for _ in 0..3 {
            let out = run(CURL, &["-sS", "-x", &serve.url(), &http.url("/bytes/100000")]);
            assert!(
                out.status.success(),
                "{auth:?} curl http: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                serve.log()
            );
            assert_eq!(out.stdout, want, "{auth:?} curl http body");
            let out = run(CURL, &["-sS", "--cacert", &ca, "-x", &serve.url(), &https.url("/bytes/100000")]);
            assert!(
                out.status.success(),
                "{auth:?} curl https: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                serve.log()
            );
            assert_eq!(out.stdout, want, "{auth:?} curl https body");
        }
        let proxy_http = format!("http_proxy={}", serve.url());
        let proxy_https = format!("https_proxy={}", serve.url());
        let ca_opt = format!("--ca-certificate={ca}");
        let out = run(
            WGET,
            &["-q", "-O", "-", "-e", "use_proxy=on", "-e", &proxy_http, &http.url("/bytes/100000")],
        );
        assert!(out.status.success(), "{auth:?} wget http: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, want);
        let out = run(
            WGET,
            &[
                "-q",
                "-O",
                "-",
                &ca_opt,
                "-e",
                "use_proxy=on",
                "-e",
                &proxy_https,
                &https.url("/bytes/100000"),
            ],
        );
        assert!(out.status.success(), "{auth:?} wget https: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, want);
        // One access-log line per request — the scheme that carried it upstream, the bytes
        // the client got — and no password in it.
        let scheme = format!("{auth:?}");
        let tunnel = format!("CONNECT 127.0.0.1:{} via {} {scheme} 200 ", https.port, sq.url());
        assert!(serve.logged_bytes(&tunnel) > 100_000, "{}", serve.log());
        let get = format!("GET {} via {} {scheme} 200 ", http.url("/bytes/100000"), sq.url());
        assert_eq!(serve.logged_bytes(&get), 100_000, "{}", serve.log());
        let log = serve.log_with_n(&tunnel, 4);
        let lines = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
        assert_eq!(lines(&get), 4, "three curl requests and one wget, a line each:\n{log}");
        assert_eq!(lines(&tunnel), 4, "{log}");
        assert!(!log.contains(ALICE.1), "{log}");
    }
}

#[test]
fn a_rejected_password_is_sent_once_for_all_clients() {
    six_clients_with_a_wrong_password("a_rejected_password_is_sent_once_for_all_clients", false);
}

/// The same through tunnels, whose CONNECTs toll serve reads itself.
#[test]
fn a_rejected_password_is_sent_once_for_all_tunnels() {
    six_clients_with_a_wrong_password("a_rejected_password_is_sent_once_for_all_tunnels", true);
}

/// Six clients at once (http requests, or `curl -p` tunnels) through a server whose stored
/// password is wrong: one wrong password on the wire, a 502 with `Proxy-Status` to each.
fn six_clients_with_a_wrong_password(test: &str, tunnel: bool) {
    if !clients_available(test) {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let serve = Serve::start(&["-x", &proxy.url(), "-U", "alice:wrong"]);
    let url = origin.url("/text");
    let started = Instant::now();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (s, u) = (serve.url(), url.clone());
            std::thread::spawn(move || {
                let mut args = vec!["-s", "-x", &s, "-D", "-", "-o", "/dev/null", &u];
                if tunnel {
                    args.push("-p");
                }
                run(CURL, &args)
            })
        })
        .collect();
    for c in clients {
        let out = c.join().unwrap();
        let head = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(head.starts_with("HTTP/1.1 502"), "never a 407 to the client: {head}");
        let ps = head.lines().find(|l| l.to_ascii_lowercase().starts_with("proxy-status: toll; error="));
        assert!(ps.is_some_and(|l| l.trim_end().contains("; received-status=407; details=\"")), "{head}");
        if tunnel {
            assert_eq!(out.status.code(), Some(56), "curl: the CONNECT failed");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    let wrong = proxy
        .requests()
        .iter()
        .filter(|r| r.basic_credentials() == Some(("alice".into(), "wrong".into())))
        .count();
    assert_eq!(wrong, 1, "the wrong password went out {wrong} times:\n{}", proxy.summary());
    assert!(!serve.log().contains("wrong"), "{}", serve.log());
    if tunnel {
        assert!(proxy.requests().iter().all(|r| r.method == "CONNECT"), "{}", proxy.summary());
    }
    assert_eq!(origin.requests_to("/text").len(), 0);
}

#[test]
fn loops_and_non_proxy_requests_are_refused_with_an_explanation() {
    if !clients_available("loops_and_non_proxy_requests_are_refused_with_an_explanation") {
        return;
    }
    let proxy = FakeProxy::start(fakeproxy::open());
    let serve = Serve::start(&["-x", &proxy.url()]);
    let out = run(CURL, &["-s", "-w", "\n%{http_code}", &format!("{}/", serve.url())]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n400") && text.contains("an HTTP proxy"), "{text}");
    let out = run(CURL, &["-s", "-w", "\n%{http_code}", "-x", &serve.url(), &format!("{}/x", serve.url())]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n400") && text.contains("loop"), "{text}");
    // The listener spelt as a resolver reads IPv4 (curl would write 127.0.0.1 itself).
    let port = serve.url().rsplit(':').next().unwrap().to_string();
    for host in ["127.1", "0x7f000001", "2130706433", "0", "localhost."] {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        write!(c, "CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n").unwrap();
        let mut got = vec![0u8; 4096];
        let n = c.read(&mut got).unwrap();
        let text = String::from_utf8_lossy(&got[..n]);
        assert!(text.starts_with("HTTP/1.1 400") && text.contains("loop"), "{host}: {text}");
    }
    // A head hyper cannot read (two lengths) is answered 400 by hyper, and logged by toll.
    {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let head = "POST http://127.0.0.1:9/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhelloX";
        c.write_all(head.as_bytes()).unwrap();
        let mut got = vec![0u8; 4096];
        let n = c.read(&mut got).unwrap();
        assert!(got[..n].starts_with(b"HTTP/1.1 400"), "{}", String::from_utf8_lossy(&got[..n]));
        let log = serve.log_with("cannot read");
        assert!(
            log.contains("a request toll serve cannot read (invalid content-length parsed): answered 400"),
            "{log}"
        );
    }
    // A body in a transfer coding toll serve cannot undo would go on still encoded, unsaid.
    let out = run(
        CURL,
        &[
            "-s",
            "-w",
            "\n%{http_code}",
            "-H",
            "Transfer-Encoding: gzip, chunked",
            "--data-binary",
            "x",
            "-x",
            &serve.url(),
            "http://127.0.0.1:9/upload",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n501") && text.contains("'gzip' is not supported"), "{text}");
    assert_eq!(proxy.requests().len(), 0, "nothing reached the upstream proxy");
}

/// An origin, an open proxy, and a toll serve for each way to the origin: direct (NO_PROXY)
/// and through the proxy.
fn both_routes() -> (Origin, FakeProxy, [(&'static str, Serve); 2]) {
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let routes = [("direct", Serve::start(&[])), ("through a proxy", Serve::start(&["-x", &proxy.url()]))];
    (origin, proxy, routes)
}

/// `Max-Forwards` on TRACE and OPTIONS (RFC 9110 §7.6.2): toll serve counts it down on the
/// way, and at 0 answers itself (OPTIONS: what it forwards; TRACE: the request as it arrived,
/// without the credentials for the origin or the cookies), reaching neither the upstream proxy
/// nor the origin. Direct (NO_PROXY) and through a proxy.
#[test]
fn max_forwards_is_counted_down_and_zero_is_answered_by_toll_serve() {
    if !clients_available("max_forwards_is_counted_down_and_zero_is_answered_by_toll_serve") {
        return;
    }
    let (origin, proxy, routes) = both_routes();
    for (how, serve) in routes {
        let via_serve = |method: &str, hops: &str| {
            let out = run(
                CURL,
                &[
                    "-sS",
                    "-i",
                    "-x",
                    &serve.url(),
                    "-X",
                    method,
                    "-H",
                    &format!("Max-Forwards: {hops}"),
                    "-H",
                    "Authorization: Basic b3JpZ2luOnMzY3JldA==",
                    "-H",
                    "Cookie: session=s3cret",
                    &origin.url("/echo-headers"),
                ],
            );
            assert!(out.status.success(), "{how}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
        };
        let before = (origin.requests_to("/echo-headers").len(), proxy.requests().len());
        let options = via_serve("OPTIONS", "0");
        assert!(options.starts_with("HTTP/1.1 200"), "{how}: {options}");
        assert!(options.to_ascii_lowercase().contains("\nallow: get, head, post"), "{how}: {options}");
        let trace = via_serve("TRACE", "0");
        assert!(trace.contains("\nContent-Type: message/http"), "{how}: {trace}");
        let echoed = trace.split_once("\n\n").map(|(_, b)| b).unwrap_or_default();
        assert!(
            echoed.starts_with(&format!("TRACE {} HTTP/1.1\n", origin.url("/echo-headers"))),
            "{how}: {trace}"
        );
        assert!(echoed.contains("\nmax-forwards: 0\n"), "{how}: {trace}");
        assert!(!echoed.contains("b3JpZ2lu") && !echoed.contains("s3cret"), "{how}: {trace}");
        assert_eq!(
            (origin.requests_to("/echo-headers").len(), proxy.requests().len()),
            before,
            "{how}: at 0 nothing goes on"
        );
        // One hop left: toll serve forwards it with none.
        let passed = via_serve("TRACE", "1");
        assert!(passed.contains("\nTRACE /echo-headers\n"), "{how}: the origin answered\n{passed}");
        assert!(passed.to_ascii_lowercase().contains("\nmax-forwards: 0\n"), "{how}: {passed}");
        let log = serve.log_with_n("/echo-headers", 3);
        assert_eq!(log.matches("answered here as the final recipient").count(), 2, "{how}: {log}");
    }
}

/// toll serve is its client's hop: an origin's HTTP/1.0 answer reaches the client as HTTP/1.1
/// without the origin's hop-by-hop fields (`Connection: close` and the field it names,
/// `Keep-Alive`, `Proxy-Authentication-Info`), so the client's connection stays open for its
/// next request; the client's own hop-by-hop fields do not reach the origin. Direct (NO_PROXY)
/// and through a proxy.
#[test]
fn hop_by_hop_fields_stay_on_their_hop_and_the_client_keeps_its_connection() {
    if !clients_available("hop_by_hop_fields_stay_on_their_hop_and_the_client_keeps_its_connection") {
        return;
    }
    let (origin, _proxy, routes) = both_routes();
    for (how, serve) in routes {
        let out = run(
            CURL,
            &[
                "-sSv",
                "-x",
                &serve.url(),
                "-H",
                "Connection: keep-alive, X-Private",
                "-H",
                "X-Private: for toll serve only",
                &origin.url("/http10-hop"),
                &origin.url("/echo-headers"),
            ],
        );
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{how}: {stderr}");
        let head: Vec<&str> = stderr.lines().filter_map(|l| l.strip_prefix("< ")).collect();
        assert_eq!(head.first().map(|l| l.trim()), Some("HTTP/1.1 200 OK"), "{how}: {stderr}");
        let first: Vec<String> =
            head.iter().take_while(|l| !l.trim().is_empty()).map(|l| l.to_ascii_lowercase()).collect();
        // (The scripted proxy drops `Connection` but passes on the field it named as its own.)
        let named = if how == "direct" { &["x-hop-only:"][..] } else { &[] };
        for hop in ["connection:", "keep-alive:", "proxy-authentication-info:"].iter().chain(named) {
            assert!(!first.iter().any(|l| l.starts_with(hop)), "{how}: {hop} reached the client\n{stderr}");
        }
        assert!(first.iter().any(|l| l.starts_with("x-end-to-end: kept")), "{how}: {stderr}");
        assert!(stdout.starts_with("hop-by-hop\n"), "{how}: {stdout}");
        assert!(stderr.contains("Re-using existing connection"), "{how}: curl had to reconnect\n{stderr}");
        let echoed = stdout.to_ascii_lowercase();
        for hop in ["x-private", "proxy-connection", "keep-alive, x-private"] {
            assert!(!echoed.contains(hop), "{how}: {hop} reached the origin\n{stdout}");
        }
        let log = serve.log_with_n("/echo-headers", 1);
        let clients: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(" GET http://"))
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        assert_eq!(clients.len(), 2, "{how}: {log}");
        assert_eq!(clients[0], clients[1], "{how}: one client connection for both\n{log}");
    }
}

/// Field names keep their case through toll serve as through Squid: the origin's answer reaches
/// the client as written (`X-MiXeD-Case`), and the request reaches the origin as the client
/// wrote it (`User-Agent`, `x-lower-name`, `X-CaMeL`), for peers that read names
/// case-sensitively; what toll adds is in Title-Case (`Via`). Direct and through a proxy.
/// (Directly, toll serve once sent and passed on every name in lower case; later it wrote the
/// client's names in Title-Case.)
#[test]
fn field_names_keep_their_case_both_ways() {
    use std::io::Write;
    if !clients_available("field_names_keep_their_case_both_ways") {
        return;
    }
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = heads.clone();
    let port = crate::http::after_each_head(move |mut conn, head| {
        seen.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nX-MiXeD-Case: 1\r\ncontent-TYPE: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    let proxy = FakeProxy::start(fakeproxy::open());
    for (how, serve) in
        [("direct", Serve::start(&[])), ("through a proxy", Serve::start(&["-x", &proxy.url()]))]
    {
        let url = format!("http://127.0.0.1:{port}/case");
        let out = run(
            CURL,
            &[
                "-sS",
                "-D",
                "-",
                "-o",
                "/dev/null",
                "-H",
                "X-Custom-Name: v",
                "-H",
                "x-lower-name: v",
                "-H",
                "X-CaMeL: v",
                "-x",
                &serve.url(),
                &url,
            ],
        );
        let got = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{how}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(
            got.contains("\r\nX-MiXeD-Case: 1\r\n")
                && got.contains("\r\ncontent-TYPE: text/plain\r\n")
                && got.contains("\r\nVia: 1.1 toll-"),
            "{how}: {got}"
        );
        let head = heads.lock().unwrap().pop().unwrap_or_default();
        for name in [
            "\r\nHost: ",
            "\r\nUser-Agent: curl/",
            "\r\nAccept: ",
            "\r\nX-Custom-Name: v\r\n",
            "\r\nx-lower-name: v\r\n",
            "\r\nX-CaMeL: v\r\n",
            "\r\nVia: 1.1 toll-",
        ] {
            assert!(head.contains(name), "{how}: {name:?} not in\n{head}");
        }
    }
}

/// An origin that answers 101 Switching Protocols to a request that asked for no switch (toll
/// serve takes `Upgrade` off every request) gets the client a 502 that says so, as Squid
/// answers it, not a 101 with nothing behind it. Direct and through a proxy.
#[test]
fn a_switch_of_protocols_nobody_asked_for_is_a_502() {
    use std::io::Write;
    if !clients_available("a_switch_of_protocols_nobody_asked_for_is_a_502") {
        return;
    }
    let port = crate::http::after_each_head(|mut conn, _| {
        let _ = conn
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
        std::thread::sleep(Duration::from_secs(2));
    });
    let proxy = FakeProxy::start(fakeproxy::open());
    for (how, serve) in
        [("direct", Serve::start(&[])), ("through a proxy", Serve::start(&["-x", &proxy.url()]))]
    {
        let url = format!("http://127.0.0.1:{port}/switch");
        let out = run(
            CURL,
            &[
                "-s",
                "-m",
                "10",
                "-D",
                "-",
                "-H",
                "Connection: Upgrade",
                "-H",
                "Upgrade: echo",
                "-x",
                &serve.url(),
                &url,
            ],
        );
        let got = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        assert!(got.starts_with("http/1.1 502"), "{how}: {got}\n{}", serve.log());
        assert!(got.contains("proxy-status: toll; error=http_protocol_error"), "{how}: {got}");
        assert!(got.contains("switched protocols (101)"), "{how}: {got}");
        assert!(serve.log_with("/switch via").contains(" 502 "), "{how}: {}", serve.log());
    }
}

/// An origin that sends a `Content-Length` beside `Transfer-Encoding: chunked` has its body framed
/// by the coding (RFC 9112 §6.3), and toll serve passes it on without the length, which an
/// intermediary must remove: the client gets the body, not a connection closed before any
/// byte because the body was shorter than the length passed on.
#[test]
fn a_length_beside_a_chunked_coding_is_not_passed_on() {
    if !clients_available("a_length_beside_a_chunked_coding_is_not_passed_on") {
        return;
    }
    let origin = Origin::http();
    let serve = Serve::start(&[]);
    let out = run(CURL, &["-sS", "-D", "-", "-x", &serve.url(), &origin.url("/weird/length-and-chunked")]);
    let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.ends_with("\r\n\r\nok"), "{text}");
    assert!(!text.contains("content-length"), "{text}");
}

/// Trailer fields after a chunked body (a checksum, a status that is known only at the end)
/// reach a client that says it takes them (`TE: trailers`), with the `Trailer` field that names
/// them; a client that does not gets the body alone. Either way the response is logged whole.
#[test]
fn trailer_fields_reach_a_client_that_takes_them() {
    use std::io::{Read, Write};
    let origin = Origin::http();
    // (The scripted proxies forward bodies with a length of their own: this one answers itself.)
    let proxy = FakeProxy::start(|_| fakeproxy::Action::Raw {
        bytes: crate::origin::TRAILERS.to_vec(),
        close: false,
    });
    for (how, serve) in
        [("direct", Serve::start(&[])), ("through a proxy", Serve::start(&["-x", &proxy.url()]))]
    {
        for te in ["TE: trailers\r\n", ""] {
            let mut conn = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let (url, host) = (origin.url("/trailers"), origin.authority());
            let head = format!("GET {url} HTTP/1.1\r\nHost: {host}\r\n{te}Connection: close\r\n\r\n");
            conn.write_all(head.as_bytes()).unwrap();
            let mut got = Vec::new();
            conn.read_to_end(&mut got).unwrap();
            let got = String::from_utf8_lossy(&got).to_ascii_lowercase();
            let (head, body) = got.split_once("\r\n\r\n").unwrap_or((&got, ""));
            assert!(head.starts_with("http/1.1 200"), "{how} {te:?}: {got}");
            if te.is_empty() {
                assert_eq!(body, "6\r\nhello\n\r\n0\r\n\r\n", "{how}: {got}");
            } else {
                assert!(head.contains("\r\ntrailer: x-checksum"), "{how}: {got}");
                assert_eq!(body, "6\r\nhello\n\r\n0\r\nx-checksum: 6 bytes\r\n\r\n", "{how}: {got}");
            }
        }
        let log = serve.log_with_n("/trailers via", 2);
        let lines: Vec<&str> = log.lines().filter(|l| l.contains("/trailers via")).collect();
        assert_eq!(lines.len(), 2, "{how}: {log}");
        assert!(lines.iter().all(|l| l.contains(" 200 6B ") && !l.ends_with(')')), "{how}: {log}");
    }
}

/// A response head with more header fields than hyper's default limit of 100 (a site with many
/// cookies and policies; curl counts none) reaches the client whole: through toll serve, direct
/// and through a proxy, and in toll's own transfers (direct, http through a proxy, https through
/// a tunnel). A request head with that many reaches the origin through toll serve.
#[test]
fn hundreds_of_header_fields_get_through_both_ways() {
    if !clients_available("hundreds_of_header_fields_get_through_both_ways") {
        return;
    }
    let (http, https) = (Origin::http(), Origin::https());
    let proxy = FakeProxy::start(fakeproxy::open());
    let path = "/many-headers/300";
    let whole = |how: &str, text: &str| {
        let lower = text.to_ascii_lowercase();
        assert!(lower.contains("x-field-0: v") && lower.contains("x-field-299: v"), "{how}: {text}");
        assert!(text.ends_with("many\n"), "{how}: {text}");
    };
    for (how, args) in
        [("serve, direct", vec![]), ("serve, via a proxy", vec!["-x".to_string(), proxy.url()])]
    {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let serve = Serve::start(&args);
        let out = run(CURL, &["-sS", "-i", "-x", &serve.url(), &http.url(path)]);
        whole(how, &String::from_utf8_lossy(&out.stdout));
        let fields: Vec<String> =
            (0..150).flat_map(|i| ["-H".to_string(), format!("X-Ask-{i}: v")]).collect();
        let mut args: Vec<&str> = fields.iter().map(String::as_str).collect();
        let (url, proxy) = (http.url(&format!("/text?{}", how.len())), serve.url());
        args.extend(["-sS", "-x", &proxy, &url]);
        let out = run(CURL, &args);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from the origin\n", "{how}: {}", serve.log());
        let got = http.requests_to("/text").pop().unwrap();
        assert!(got.header("x-ask-0").is_some() && got.header("x-ask-149").is_some(), "{how}: {got:?}");
    }
    let out = crate::run::toll(["-sS", "-i", &http.url(path)]).run();
    whole("toll, direct", &out.stdout_str());
    for origin in [&http, &https] {
        let out = crate::run::via_proxy(&proxy.url(), None, origin, path, &["-i"]).run();
        whole(&format!("toll via a proxy, tls {}", origin.tls), &out.stdout_str());
    }
}

/// A connection that opens with CONNECT is read by toll serve itself, not by hyper: the bytes a
/// client sends right behind its CONNECT head reach the origin, a refused CONNECT gets a whole
/// answer (status, Proxy-Status, body) before the connection closes, and a CONNECT after an
/// http request on a kept-alive connection (hyper's) works too.
#[test]
fn connect_heads_read_by_serve_itself_keep_early_bytes_and_answer_refusals_whole() {
    use std::io::{Read, Write};
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let serve = Serve::start(&["-x", &proxy.url()]);
    let connect = || {
        let s = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    };
    let target = origin.authority();
    // CONNECT and the tunnelled request in one write; the client's hop-by-hop headers and a
    // length (a CONNECT has no content) stay here, its other headers (User-Agent too) go on.
    let mut c = connect();
    write!(
        c,
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Connection: keep-alive\r\nContent-Length: 0\r\nX-Client: 1\r\nUser-Agent: git/2.39\r\n\r\nGET /text HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    let all = String::from_utf8_lossy(&all);
    assert!(all.starts_with("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200"), "{all}");
    assert!(all.ends_with("hello from the origin\n"), "{all}");
    let seen = proxy.requests();
    assert_eq!((seen[0].method.as_str(), seen[0].header("x-client")), ("CONNECT", Some("1")), "{seen:?}");
    // Its User-Agent too: a proxy that allows tunnels by client sees the client, not toll.
    assert_eq!(seen[0].header("user-agent"), Some("git/2.39"), "{seen:?}");
    for hop in ["proxy-connection", "content-length", "proxy-authorization"] {
        assert_eq!(seen[0].header(hop), None, "{hop}: {seen:?}");
    }
    // A loop: a whole answer, then the connection closes.
    let mut c = connect();
    write!(c, "CONNECT 127.0.0.1:{0} HTTP/1.1\r\nHost: 127.0.0.1:{0}\r\n\r\n", serve.port).unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    let all = String::from_utf8_lossy(&all);
    assert!(all.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{all}");
    // Title-Case, as serve's other answers.
    assert!(all.contains("\r\nProxy-Status: toll; error=proxy_loop_detected;"), "{all}");
    let (head, body) = all.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())), "{all}");
    assert!(body.contains("it would loop"), "{all}");
    // An http request first, then CONNECT on the same connection.
    let mut c = connect();
    let url = origin.url("/text");
    write!(c, "GET {url} HTTP/1.1\r\nHost: {target}\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).ends_with("hello from the origin\n") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    write!(c, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nContent-Length: 0\r\n\r\n").unwrap();
    let n = c.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    write!(c, "GET /text HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n").unwrap();
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    assert!(
        String::from_utf8_lossy(&all).ends_with("hello from the origin\n"),
        "{}",
        String::from_utf8_lossy(&all)
    );
    let seen = proxy.requests();
    let last = seen.iter().rev().find(|r| r.method == "CONNECT").unwrap();
    assert_eq!(last.header("content-length"), None, "{seen:?}");
    // The tunnel's line is written when both sides are done: the origin closed its side, the
    // client closes now.
    drop(c);
    let log = serve.log_with(&format!("CONNECT {target} via {}", proxy.url()));
    assert!(log.contains(&format!("CONNECT {target} via {} - 200 ", proxy.url())), "{log}");
}

/// A client whose socket is a dual-stack IPv6 one (Java's always are: Maven, Gradle) connected
/// to 127.0.0.1 is still known as this user, and served without the key.
#[test]
fn a_dual_stack_client_of_this_user_is_served_without_the_key() {
    use std::io::{Read, Write};
    let origin = Origin::http();
    let serve = Serve::start(&[]);
    let Ok(mut c) = std::net::TcpStream::connect(format!("[::ffff:127.0.0.1]:{}", serve.port)) else {
        eprintln!("SKIPPED a_dual_stack_client_of_this_user_is_served_without_the_key: no IPv6 sockets");
        return;
    };
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let url = origin.url("/text");
    write!(c, "GET {url} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", origin.authority()).unwrap();
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    let all = String::from_utf8_lossy(&all);
    assert!(all.starts_with("HTTP/1.1 200 OK\r\n"), "{all}\n{}", serve.log());
    assert!(all.ends_with("hello from the origin\n"), "{all}");
}

#[test]
fn another_local_user_is_refused() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/setpriv").exists() {
        crate::skip("SKIPPED another_local_user_is_refused: needs root and setpriv (util-linux) to act as another uid");
        return;
    }
    if !clients_available("another_local_user_is_refused") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let serve = Serve::start(&["-x", &proxy.url()]);
    let as_nobody = |extra: &[&str]| {
        let mut args = vec![
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            CURL,
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ];
        args.extend_from_slice(extra);
        run("/usr/bin/setpriv", &args)
    };
    let url = origin.url("/text");
    let out = as_nobody(&["-x", &serve.url(), &url]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "403", "{}", serve.log());
    // A tunnel too (its CONNECT is read by toll serve itself, not by hyper).
    let out = as_nobody(&["-p", "-x", &serve.url(), &url, "-w", " %{http_connect}"]); // the last -w counts
    assert_eq!(String::from_utf8_lossy(&out.stdout), " 403", "{}", serve.log());
    // The same user is served.
    let out = run(CURL, &["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", &serve.url(), &url]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    assert!(serve.log().contains("another user"), "{}", serve.log());
    assert_eq!(origin.requests_to("/text").len(), 1, "only this user's request got through");
}

#[test]
fn toll_run_points_the_command_at_a_private_server_and_passes_its_status() {
    if !clients_available("toll_run_points_the_command_at_a_private_server_and_passes_its_status") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "s3cret"));
    let home = tempfile::tempdir().unwrap();
    let toll_run = |tail: &[&str]| {
        let mut cmd = Command::new(TOLL);
        cmd.args(["run", "-x", &proxy.url(), "-U", "alice:s3cret", "--"]).args(tail);
        isolate(&mut cmd, home.path());
        cmd.env("TOLL_TERMINAL", "none");
        cmd.stdin(Stdio::null());
        cmd.output().unwrap()
    };
    // `--noproxy ''`: curl's own override of the NO_PROXY that toll run sets for loopback, so
    // the loopback test origin goes through the server.
    let out = toll_run(&[CURL, "-sS", "--noproxy", "", &origin.url("/bytes/5000")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, pattern_bytes(5000));
    assert!(
        proxy.requests().iter().any(|r| r.basic_credentials() == Some(("alice".into(), "s3cret".into()))),
        "the request went through the upstream proxy with toll's credentials"
    );
    let out = toll_run(&["sh", "-c", "echo \"$https_proxy|$NO_PROXY\"; exit 7"]);
    assert_eq!(out.status.code(), Some(7), "the command's exit status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("http://toll:") && text.contains("@127.0.0.1:"), "{text}");
    assert!(text.trim_end().ends_with("localhost,127.0.0.1,::1"), "{text}");
    // A signal that ends the command ends toll too (a shell then stops a script's loop on
    // Ctrl-C); a command that is not there is 127, one that cannot be run 126 (the shell's
    // codes), each with a message naming it.
    use std::os::unix::process::ExitStatusExt;
    let out = toll_run(&["sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{out:?}");
    // The credential toll took from the environment is not the command's to read.
    let mut cmd = Command::new(TOLL);
    cmd.args([
        "run",
        "-x",
        &proxy.url(),
        "--",
        "sh",
        "-c",
        "echo \"[$TOLL_PROXY_USER|$TOLL_PROXY_PASSWORD]\"",
    ]);
    isolate(&mut cmd, home.path());
    cmd.env("TOLL_TERMINAL", "none").env("TOLL_PROXY_USER", "alice").env("TOLL_PROXY_PASSWORD", "s3cret");
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[|]\n", "{}", String::from_utf8_lossy(&out.stderr));
    // A signal ignored when toll started (nohup) is ignored by the command too.
    let mut cmd = Command::new(TOLL);
    cmd.args([
        "run",
        "-x",
        &proxy.url(),
        "-U",
        "alice:s3cret",
        "--",
        "sh",
        "-c",
        "kill -HUP $$; echo survived",
    ]);
    isolate(&mut cmd, home.path());
    cmd.env("TOLL_TERMINAL", "none").stdin(Stdio::null());
    // SAFETY: signal(2) between fork and exec, as nohup(1) does before it runs toll.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "survived\n", "{out:?}");
    // A script without `#!` is run by the shell, as execvp(3) and env(1) do.
    let script = home.path().join("no-shebang");
    std::fs::write(&script, "echo from-the-script; exit 3\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = toll_run(&[script.to_str().unwrap()]);
    assert_eq!((out.status.code(), &out.stdout[..]), (Some(3), &b"from-the-script\n"[..]), "{out:?}");
    let missing = home.path().join("no-such-command");
    let out = toll_run(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-command: command not found"), "{err}");
    let plain = home.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let out = toll_run(&[plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot run"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tunnel that carries nothing either way is closed after `--idle-timeout` (one to two of
/// them), and the log says why.
#[test]
fn an_idle_tunnel_is_closed_after_the_idle_timeout() {
    use std::io::{Read, Write};
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = silent.local_addr().unwrap();
    let held = std::thread::spawn(move || silent.accept().map(|(s, _)| s));
    // No proxy: the tunnel goes DIRECT to the silent origin.
    let serve = Serve::start(&["--idle-timeout", "1"]);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    write!(c, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").unwrap();
    let mut head = [0u8; 39];
    c.read_exact(&mut head).unwrap();
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    let _origin_side = held.join().unwrap().unwrap();
    let opened = Instant::now();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).expect("toll serve closes the idle tunnel (no read timeout)");
    let took = opened.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");
    let log = serve.log_with(&format!("CONNECT {target} via DIRECT - 200 0B"));
    assert!(log.contains("(closed: no data either way for 1 s (--idle-timeout))"), "{log}");
}

/// Signals someone sends to `toll run` (kill, a supervisor) reach the command, which decides
/// what they mean; toll waits for it and exits with its status.
#[test]
fn toll_run_passes_signals_sent_to_it_on_to_the_command() {
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "s3cret"));
    let home = tempfile::tempdir().unwrap();
    for (sig, name) in
        [(libc::SIGINT, "INT"), (libc::SIGTERM, "TERM"), (libc::SIGUSR1, "USR1"), (libc::SIGHUP, "HUP")]
    {
        let script =
            format!("trap 'echo got-{name}; exit 5' {name}; echo ready; while :; do sleep 0.05; done");
        let mut cmd = Command::new(TOLL);
        cmd.args(["run", "-x", &proxy.url(), "-U", "alice:s3cret", "--", "sh", "-c", &script]);
        isolate(&mut cmd, home.path());
        cmd.env("TOLL_TERMINAL", "none");
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        // SAFETY: kill(2) on the toll process this test started.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("SIG{name} sent to toll run did not reach the command within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        assert_eq!(rest, format!("got-{name}\n"), "SIG{name}");
        assert_eq!(status.code(), Some(5), "SIG{name}: toll run exits with the command's status");
    }
}

/// Ctrl-C on the terminal goes to the command (the kernel sends it to the whole foreground
/// process group) and does not end toll, which serves the command until it ends and exits with
/// its status. (That toll sends no second copy cannot be seen here: a copy sent at once merges
/// with the pending one.)
#[test]
fn toll_run_outlives_the_terminals_ctrl_c_and_passes_the_commands_status() {
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let home = tempfile::tempdir().unwrap();
    let script = "n=0; trap 'n=$((n+1))' INT; echo ready >/dev/tty; \
                  i=0; while [ $i -lt 30 ]; do sleep 0.05; i=$((i+1)); done; exit $n";
    let (purl, check) = (proxy.url(), origin.url("/text"));
    let args = ["run", "-x", &purl, "-U", "alice:right", "--verify-url", &check, "--", "sh", "-c", script];
    let mut t = crate::pty::Pty::spawn(crate::pty::command(args, home.path(), &[]), None);
    t.expect("ready");
    t.send("\x03");
    let out = t.wait();
    assert_eq!(out.code, Some(1), "one SIGINT, and toll waited for the command: {}", out.describe());
}

/// A running server picks up the password a later `toll auth login` stores (kernel keyring),
/// after sending the rejected one exactly once.
#[test]
fn a_new_login_is_picked_up_without_a_restart() {
    let test = "a_new_login_is_picked_up_without_a_restart";
    if !clients_available(test) || !kernel_keyring_available(test) {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let (_home, env) = keyutils_home();
    let login = |password: &str| keyutils_login(&proxy.url(), &env, password);
    let _cleanup = KeyutilsCleanup(proxy.url());
    login("wrong");
    let serve = Serve::start_env(&["-x", &proxy.url()], &env);
    let code = |serve: &Serve| {
        let out = run(
            CURL,
            &["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", &serve.url(), &origin.url("/text")],
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(code(&serve), "502", "{}", serve.log());
    assert_eq!(code(&serve), "502", "{}", serve.log());
    login("right");
    std::thread::sleep(toll::keyring::session::RELOOK_AFTER + Duration::from_millis(300));
    assert_eq!(code(&serve), "200", "{}\n{}", serve.log(), proxy.summary());
    let wrong = proxy
        .requests()
        .iter()
        .filter(|r| r.basic_credentials() == Some(("alice".into(), "wrong".into())))
        .count();
    assert_eq!(wrong, 1, "{}", proxy.summary());
}

/// The password changes while toll serve runs: the proxy now refuses the one toll was given
/// and had used. It is not sent on every request from then on: once more for another
/// destination than the one refused (a 407 for a credential that worked may be an access rule),
/// then never; clients get 502; the new password from `toll auth login` is picked up.
#[test]
fn a_password_changed_while_serving_is_not_sent_on_every_request() {
    let test = "a_password_changed_while_serving_is_not_sent_on_every_request";
    if !clients_available(test) || !kernel_keyring_available(test) {
        return;
    }
    let (a, b) = (Origin::http(), Origin::start(false));
    let changed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = changed.clone();
    let proxy = FakeProxy::start(move |req| {
        let now = if flag.load(std::sync::atomic::Ordering::SeqCst) { "new" } else { "old" };
        match req.basic_credentials() {
            Some((u, p)) if u == "alice" && p == now => fakeproxy::Action::Allow,
            _ => fakeproxy::reply_407(&["Basic realm=\"fake\""]).into_action(),
        }
    });
    let (_home, env) = keyutils_home();
    let _cleanup = KeyutilsCleanup(proxy.url());
    keyutils_login(&proxy.url(), &env, "old");
    let serve = Serve::start_env(&["-x", &proxy.url()], &env);
    let code = |url: &str| {
        let out = run(CURL, &["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", &serve.url(), url]);
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(code(&a.url("/text")), "200", "{}", serve.log());
    changed.store(true, std::sync::atomic::Ordering::SeqCst);
    let old = || {
        proxy
            .requests()
            .iter()
            .filter(|r| r.basic_credentials() == Some(("alice".into(), "old".into())))
            .count()
    };
    let before = old();
    for url in [a.url("/text"), a.url("/text?2"), b.url("/text"), a.url("/text?3"), b.url("/text?2")] {
        assert_eq!(code(&url), "502", "{url}: {}", serve.log());
    }
    assert_eq!(old() - before, 2, "refused for a, then once on trial for b:\n{}", proxy.summary());
    keyutils_login(&proxy.url(), &env, "new");
    std::thread::sleep(toll::keyring::session::RELOOK_AFTER + Duration::from_millis(300));
    assert_eq!(code(&b.url("/text")), "200", "{}\n{}", serve.log(), proxy.summary());
}

/// A right password the proxy refused for a while (an account locked, then unlocked; a flaky
/// auth helper): stored again with `toll auth login`, the user's word that it is right, it gets
/// one more trial in the running server (it stayed refused until a restart).
#[test]
fn a_password_stored_again_after_its_rejection_gets_one_more_trial() {
    let test = "a_password_stored_again_after_its_rejection_gets_one_more_trial";
    if !clients_available(test) || !kernel_keyring_available(test) {
        return;
    }
    let origin = Origin::http();
    let locked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = locked.clone();
    let proxy = FakeProxy::start(move |req| match req.basic_credentials() {
        Some((u, p)) if u == "alice" && p == "right" && !flag.load(std::sync::atomic::Ordering::SeqCst) => {
            fakeproxy::Action::Allow
        }
        _ => fakeproxy::reply_407(&["Basic realm=\"fake\""]).into_action(),
    });
    let (_home, env) = keyutils_home();
    let _cleanup = KeyutilsCleanup(proxy.url());
    keyutils_login(&proxy.url(), &env, "right");
    let serve = Serve::start_env(&["-x", &proxy.url()], &env);
    let code = || {
        let out = run(
            CURL,
            &["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", &serve.url(), &origin.url("/text")],
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let sent = || proxy.requests().iter().filter(|r| r.basic_credentials().is_some()).count();
    assert_eq!(code(), "502", "{}", serve.log());
    locked.store(false, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(toll::keyring::session::RELOOK_AFTER + Duration::from_millis(300));
    assert_eq!(code(), "502", "not without the user's word: {}", serve.log());
    assert_eq!(sent(), 1, "{}", proxy.summary());
    // Stored in a later second than the rejection: the index says so.
    std::thread::sleep(Duration::from_millis(1100));
    keyutils_login(&proxy.url(), &env, "right");
    std::thread::sleep(toll::keyring::session::RELOOK_AFTER + Duration::from_millis(300));
    assert_eq!(code(), "200", "{}\n{}", serve.log(), proxy.summary());
    assert_eq!(sent(), 2, "{}", proxy.summary());
}

/// A server started before any password was stored (clients get 502 and "toll auth login")
/// picks up the first `toll auth login` without a restart.
#[test]
fn a_first_login_is_picked_up_without_a_restart() {
    let test = "a_first_login_is_picked_up_without_a_restart";
    if !clients_available(test) || !kernel_keyring_available(test) {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let (_home, env) = keyutils_home();
    let _cleanup = KeyutilsCleanup(proxy.url());
    let serve = Serve::start_env(&["-x", &proxy.url(), "-U", "alice"], &env);
    let get = |serve: &Serve| {
        let out = run(CURL, &["-s", "-w", "\n%{http_code}", "-x", &serve.url(), &origin.url("/text")]);
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let first = get(&serve);
    assert!(first.ends_with("\n502") && first.contains("toll auth login"), "{first}\n{}", serve.log());
    keyutils_login(&proxy.url(), &env, "right");
    std::thread::sleep(toll::keyring::session::RELOOK_AFTER + Duration::from_millis(300));
    let second = get(&serve);
    assert!(second.ends_with("\n200"), "{second}\n{}\n{}", serve.log(), proxy.summary());
}

/// Stores `password` for alice at `proxy` in the kernel keyring, as `toll auth login` does.
fn keyutils_login(proxy: &str, env: &[(String, String)], password: &str) {
    use std::io::Write;
    let mut cmd = Command::new(TOLL);
    cmd.args(["auth", "login", proxy, "--user", "alice", "--password-stdin", "--no-verify"]);
    let scratch = tempfile::tempdir().unwrap();
    isolate(&mut cmd, scratch.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "login: {}", String::from_utf8_lossy(&out.stderr));
}

/// Removes alice's password for the proxy URL from the kernel keyring when dropped.
struct KeyutilsCleanup(String);

impl Drop for KeyutilsCleanup {
    fn drop(&mut self) {
        let _ =
            toll::keyring::Keyring::default().delete(toll::keyring::StoreKind::Keyutils, &self.0, "alice");
    }
}

/// toll serve is never its own upstream: a `*_proxy` variable that names it (a shell that ran
/// `eval "$(toll serve --print-env)"` starting it again) is left out of the routing, and a PAC
/// that names it gets each request a 502 that says so, instead of a loop 4,096 connections deep.
#[test]
fn toll_serve_is_never_its_own_upstream() {
    if !clients_available("toll_serve_is_never_its_own_upstream") {
        return;
    }
    let origin = Origin::http();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let own = format!("http://toll:Own-key-5@127.0.0.1:{port}");
    let env =
        [("http_proxy".to_string(), own.clone()), ("HTTPS_PROXY".to_string(), format!("localhost:{port}"))];
    let serve = Serve::start_env(&["--listen", &listen], &env);
    let out = run(CURL, &["-sS", "-x", &serve.url(), &origin.url("/text")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from the origin\n", "{}", serve.log());
    let log = serve.log_with("/text via");
    assert!(
        log.contains(&format!("http_proxy (http://toll:***@127.0.0.1:{port}) is this server itself")),
        "{log}"
    );
    assert!(log.contains("HTTPS_PROXY") && log.contains("/text via DIRECT - 200"), "{log}");
    assert!(!log.contains("Own-key-5"), "{log}");

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pac = dir.path().join("self.pac");
    std::fs::write(
        &pac,
        format!("function FindProxyForURL(url, host) {{ return 'PROXY 127.0.0.1:{port}'; }}\n"),
    )
    .unwrap();
    let serve =
        Serve::start(&["--listen", &format!("127.0.0.1:{port}"), "--pac", &pac.display().to_string()]);
    let out = run(CURL, &["-sS", "-w", "\n%{http_code}", "-x", &serve.url(), &origin.url("/text")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n502") && text.contains("is toll serve itself"), "{text}");
    let log = serve.log_with("/text via");
    assert_eq!(log.lines().filter(|l| l.contains(" GET http://")).count(), 1, "no loop:\n{log}");
    assert!(log.contains("(the upstream proxy is this server)"), "{log}");
    assert!(origin.requests_to("/text").len() == 1, "only the first request reached the origin");
}

/// Two toll serves, each the other's upstream proxy (as a host name that leads back here would
/// make one its own): the request that comes back carries the first server's `Via` entry and is
/// refused there, once, with a 400 that says why, instead of going round until the connection
/// limit. Two tolls in a chain that does not loop are two hops like any other: the origin sees
/// both in `Via`, and the answer passes back through both.
#[test]
fn a_request_that_comes_back_through_another_proxy_is_refused_once() {
    if !clients_available("a_request_that_comes_back_through_another_proxy_is_refused_once") {
        return;
    }
    let origin = Origin::http();
    let (a, b) = (free_port(), free_port());
    let at = |p: u16| format!("127.0.0.1:{p}");
    let first = Serve::start(&["--listen", &at(a), "-x", &format!("http://{}", at(b))]);
    let second = Serve::start(&["--listen", &at(b), "-x", &format!("http://{}", at(a))]);
    let out = run(CURL, &["-s", "-w", "\n%{http_code}", "-x", &first.url(), &origin.url("/text")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n400") && text.contains("came back to toll serve"), "{text}");
    let log = first.log_with("loop: Via names this server");
    assert_eq!(log.lines().filter(|l| l.contains(" GET http://")).count(), 2, "once round:\n{log}");
    let log = second.log_with(" GET http://");
    assert_eq!(log.lines().filter(|l| l.contains(" GET http://")).count(), 1, "{log}");
    // A tunnel goes round the same way and stops at the same place.
    let out = run(CURL, &["-s", "-p", "-x", &first.url(), &origin.url("/text")]);
    assert!(!out.status.success());
    let log = first.log_with_n("loop: Via names this server", 2);
    assert_eq!(log.lines().filter(|l| l.contains(" CONNECT 127.0.0.1:")).count(), 2, "once round:\n{log}");
    assert!(origin.requests_to("/text").is_empty(), "nothing reached the origin");
    drop((first, second));

    let last = Serve::start(&[]);
    let front = Serve::start(&["-x", &last.url()]);
    let out = run(CURL, &["-sS", "-D", "-", "-x", &front.url(), &origin.url("/text")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("hello from the origin\n"), "{text}\n{}", front.log());
    let got = origin.requests_to("/text");
    let via = got[0].header("via").unwrap_or_default().to_string();
    let hops: Vec<&str> = via.split(',').map(str::trim).collect();
    assert!(
        hops.len() == 2 && hops.iter().all(|h| h.starts_with("1.1 toll-")) && hops[0] != hops[1],
        "{via}"
    );
    let answered = text.lines().find(|l| l.to_ascii_lowercase().starts_with("via:")).unwrap_or_default();
    assert_eq!(answered.matches(" toll-").count(), 2, "both hops in the answer's Via:\n{text}");
}

/// Origins reached without a proxy (NO_PROXY, or no proxy at all) get toll serve's kept-alive
/// connections: two clients one after the other share one origin connection. The target names
/// the origin's host (not the client's `Host` field), a silent origin gets 504 within
/// `--answer-timeout`, and that limit runs from the last byte of an upload, not its first.
#[test]
fn direct_origins_get_kept_alive_connections_and_an_answer_timeout() {
    if !clients_available("direct_origins_get_kept_alive_connections_and_an_answer_timeout") {
        return;
    }
    let origin = Origin::http();
    let serve = Serve::start(&["--answer-timeout", "2"]);
    for path in ["/text", "/bytes/7"] {
        let out = run(CURL, &["-sS", "-H", "Host: elsewhere.invalid", "-x", &serve.url(), &origin.url(path)]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(origin.connections(), 1, "one origin connection for both clients\n{}", serve.log());
    for got in origin.requests() {
        assert_eq!(got.header("host"), Some(origin.authority().as_str()), "{got:?}");
    }

    // 600 KiB at 200 KiB/s: three seconds of upload, longer than the answer timeout.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("up.bin");
    std::fs::write(&file, pattern_bytes(600 * 1024)).unwrap();
    let data = format!("@{}", file.display());
    let out = run(
        CURL,
        &[
            "-sS",
            "-H",
            "Expect:",
            "--limit-rate",
            "200K",
            "--data-binary",
            &data,
            "-x",
            &serve.url(),
            &origin.url("/upload"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.trim_end().ends_with(&format!(" {}", 600 * 1024)), "{text}\n{}", serve.log());

    let started = Instant::now();
    let out = run(CURL, &["-sS", "-w", "\n%{http_code}", "-x", &serve.url(), &origin.url("/hang")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n504") && text.contains("did not answer within 2s"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let log = serve.log_with("/hang via");
    assert!(log.contains("/hang via DIRECT - 504"), "{log}");
}

/// Requests to a proxy go out on upstream connections lent to one request each and handed back
/// once the response has been read, at most 64 at once. Two clients that keep their connections
/// open share one upstream connection. 64 requests the origin does not answer hold every one; a
/// 65th waits rather than opening another, and goes out when the 64 give up (`--answer-timeout`).
#[test]
fn requests_share_upstream_connections_and_beyond_64_at_once_wait_their_turn() {
    use std::io::Write;
    use std::net::TcpStream;
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let serve = Serve::start(&["-x", &proxy.url(), "--answer-timeout", "4"]);
    let connect = || TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    let send = |c: &mut TcpStream, path: &str| {
        write!(c, "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.url(path), origin.authority()).unwrap();
    };
    let answer = |c: &mut BufReader<TcpStream>| {
        let head = crate::http::read_head(c).unwrap().expect("a response");
        let body = crate::http::read_response_body(c, &head, "GET").unwrap();
        (head.status(), body)
    };
    let mut clients = [BufReader::new(connect()), BufReader::new(connect())];
    for turn in [0, 1, 0, 1] {
        let c = &mut clients[turn];
        send(c.get_mut(), "/text");
        assert_eq!(answer(c), (200, b"hello from the origin\n".to_vec()), "{}", serve.log());
    }
    assert_eq!(proxy.connections(), 1, "both clients' requests on one connection\n{}", proxy.summary());
    drop(clients);

    let held: Vec<TcpStream> = (0..64)
        .map(|_| {
            let mut c = connect();
            send(&mut c, "/hang");
            c
        })
        .collect();
    let hanging = || proxy.requests().iter().filter(|r| r.target.ends_with("/hang")).count();
    let deadline = Instant::now() + Duration::from_secs(20);
    while hanging() < 64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(hanging(), 64, "{}", proxy.summary());
    let all_held = Instant::now();
    let waiting = std::thread::spawn({
        let mut c = BufReader::new(connect());
        send(c.get_mut(), "/text");
        move || {
            let got = answer(&mut c);
            (got, Instant::now())
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!waiting.is_finished(), "the 65th request waits for a connection\n{}", serve.log());
    assert_eq!(proxy.connections(), 64, "{}", proxy.summary());
    let ((status, body), done) = waiting.join().unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"hello from the origin\n"[..]), "{}", serve.log());
    assert!(
        done - all_held >= Duration::from_secs(2),
        "answered after the 64 gave up: {:?}",
        done - all_held
    );
    assert_eq!(proxy.connections(), 65, "{}", proxy.summary());
    let log = serve.log_with_n("/hang via ", 64);
    assert_eq!(log.lines().filter(|l| l.contains("/hang via ") && l.contains(" 504 ")).count(), 64, "{log}");
    drop(held);
}

/// `--log FILE` gets the access log (0600, never through a link), and SIGHUP opens it again by
/// its name: after logrotate moved the file, new lines go to a new one.
#[test]
fn the_log_file_is_opened_again_on_sighup_after_logrotate_moved_it() {
    use std::os::unix::fs::PermissionsExt;
    if !clients_available("the_log_file_is_opened_again_on_sighup_after_logrotate_moved_it") {
        return;
    }
    let origin = Origin::http();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (log, rotated) = (dir.path().join("access.log"), dir.path().join("access.log.1"));
    let wait_for = |path: &Path, needle: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.contains(needle) || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut cmd = Command::new(TOLL);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--log"]).arg(&log);
    isolate(&mut cmd, home.path());
    cmd.env("TOLL_TERMINAL", "none");
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let child = Kill(&mut child);
    let text = wait_for(&log, "listening on 127.0.0.1:");
    let port = text.split("listening on 127.0.0.1:").nth(1).and_then(|r| r.split(';').next()).unwrap();
    assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
    let proxy = format!("http://127.0.0.1:{port}");
    let get = |path: &str| {
        let out = run(CURL, &["-sS", "-o", "/dev/null", "-x", &proxy, &origin.url(path)]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    get("/text");
    assert!(wait_for(&log, "GET http").contains("/text via DIRECT - 200"));
    std::fs::rename(&log, &rotated).unwrap();
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGHUP) };
    let fresh = wait_for(&log, "SIGHUP: settings");
    assert!(fresh.contains("SIGHUP: the log file opened again"), "{fresh}");
    get("/bytes/7");
    let fresh = wait_for(&log, "/bytes/7");
    assert!(fresh.contains("/bytes/7 via DIRECT - 200 7B"), "{fresh}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("/text") && !old.contains("/bytes/7") && !old.contains("SIGHUP"), "{old}");
    assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
}

/// SIGHUP re-reads the settings file and its PAC: new requests take the new proxy, while a
/// tunnel opened before goes on working through the old one.
#[test]
fn sighup_reads_the_settings_and_pac_again_without_dropping_a_tunnel() {
    use std::io::{Read, Write};
    if !clients_available("sighup_reads_the_settings_and_pac_again_without_dropping_a_tunnel") {
        return;
    }
    let origin = Origin::http();
    let (a, b) = (FakeProxy::start(fakeproxy::open()), FakeProxy::start(fakeproxy::open()));
    let dir = tempfile::tempdir().unwrap();
    let pac = |name: &str, proxy: &FakeProxy| {
        let p = dir.path().join(name);
        let hostport = proxy.url().trim_start_matches("http://").trim_end_matches('/').to_string();
        std::fs::write(&p, format!("function FindProxyForURL(url, host) {{ return 'PROXY {hostport}'; }}\n"))
            .unwrap();
        p
    };
    let (pac_a, pac_b) = (pac("a.pac", &a), pac("b.pac", &b));
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("toll")).unwrap();
    let settings = config.join("toll/config");
    std::fs::write(&settings, format!("pac = {}\n", pac_a.display())).unwrap();
    let serve = Serve::start_env(&[], &[("XDG_CONFIG_HOME".to_string(), config.display().to_string())]);
    let get = |serve: &Serve| {
        let out = run(CURL, &["-sS", "-x", &serve.url(), &origin.url("/text")]);
        assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), serve.log());
    };
    get(&serve);
    assert_eq!(a.requests().len(), 1, "through the first PAC's proxy:\n{}", serve.log());
    // A tunnel in flight.
    let mut tunnel = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    tunnel.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let target = origin.authority();
    write!(tunnel, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").unwrap();
    let mut head = [0u8; 256];
    let n = tunnel.read(&mut head).unwrap();
    assert!(
        String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..n])
    );

    std::fs::write(&settings, format!("pac = {}\n", pac_b.display())).unwrap();
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(serve.child.id() as libc::pid_t, libc::SIGHUP) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !serve.log().contains("SIGHUP: settings") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(serve.log().contains("SIGHUP: settings, PAC and stored passwords read again"), "{}", serve.log());

    write!(tunnel, "GET /text HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = tunnel.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.ends_with("hello from the origin\n"),
        "the tunnel opened before SIGHUP still works: {answer}"
    );
    get(&serve);
    assert_eq!(b.requests().len(), 1, "new requests take the new PAC's proxy:\n{}", serve.log());
    assert_eq!(a.requests().len(), 2, "{}", a.summary());
}

/// A password stored after the server started (none was stored before, so nothing was ever
/// rejected) is used once the server gets SIGHUP.
#[test]
fn sighup_reads_the_credential_store_again() {
    let test = "sighup_reads_the_credential_store_again";
    if !clients_available(test) || !kernel_keyring_available(test) {
        return;
    }
    use toll::keyring::{Keyring, StoreKind};
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("carol", "stored-later"));
    let (_home, env) = keyutils_home();
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = Keyring::default().delete(StoreKind::Keyutils, &self.0, "carol");
        }
    }
    let _cleanup = Cleanup(proxy.url());
    let serve = Serve::start_env(&["-x", &proxy.url()], &env);
    let code = || {
        let out = run(
            CURL,
            &["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", &serve.url(), &origin.url("/text")],
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(code(), "502", "nothing stored yet: {}", serve.log());
    let mut cmd = Command::new(TOLL);
    cmd.args(["auth", "login", &proxy.url(), "--user", "carol", "--password-stdin", "--no-verify"]);
    let scratch = tempfile::tempdir().unwrap();
    isolate(&mut cmd, scratch.path());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"stored-later\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "login: {}", String::from_utf8_lossy(&out.stderr));
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(serve.child.id() as libc::pid_t, libc::SIGHUP) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !serve.log().contains("SIGHUP: settings") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(code(), "200", "{}\n{}", serve.log(), proxy.summary());
}

/// `toll doctor` says that a `toll serve` is running, where, and what it uses — and no longer
/// once it stopped (SIGTERM: its state file is removed).
#[test]
fn doctor_notices_a_running_serve() {
    if !clients_available("doctor_notices_a_running_serve") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let env = vec![("XDG_STATE_HOME".to_string(), state.display().to_string())];
    let mut serve = Serve::start_env(&["-x", &proxy.url()], &env);
    let doctor = || {
        let mut cmd = Command::new(TOLL);
        cmd.args(["doctor", "-x", &proxy.url(), &origin.url("/text")]);
        let scratch = tempfile::tempdir().unwrap();
        isolate(&mut cmd, scratch.path());
        cmd.env("XDG_STATE_HOME", &state).stdin(Stdio::null());
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let text = doctor();
    let want = format!(
        "a toll serve is running on 127.0.0.1:{} (pid {}) using -x {}",
        serve.port,
        serve.child.id(),
        proxy.url()
    );
    assert!(text.contains(&want), "{want}\n---\n{text}");
    let file = state.join(format!("toll/serve-{}.json", serve.port));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(serve.child.id() as libc::pid_t, libc::SIGTERM) };
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{}", serve.log());
    assert!(!file.exists(), "the state file is removed when the server stops");
    assert!(!doctor().contains("toll serve is running"));
}

/// `toll run` on a terminal asks for the password the proxy wants before the command starts
/// (the command has not run while the prompt is up), then the command's requests use it.
#[test]
fn toll_run_asks_for_the_password_before_the_command_starts() {
    if !clients_available("toll_run_asks_for_the_password_before_the_command_starts") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let home = tempfile::tempdir().unwrap();
    let started = home.path().join("command-started");
    let script =
        format!("touch '{}'; exec {CURL} -sS --noproxy '' {}", started.display(), origin.url("/bytes/5000"));
    let (purl, check) = (proxy.url(), origin.url("/text"));
    let args = ["run", "-x", &purl, "-U", "alice", "--verify-url", &check, "--", "sh", "-c", &script];
    let mut t = crate::pty::Pty::spawn(crate::pty::command(args, home.path(), &[]), None);
    t.expect("Password for alice: ");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!started.exists(), "the command started while toll's prompt was up");
    t.send("right\r");
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(started.exists());
    assert_eq!(out.stdout, pattern_bytes(5000), "{}", out.describe());
    let sent: Vec<_> = proxy.requests().iter().filter_map(|r| r.basic_credentials()).collect();
    assert!(sent.iter().all(|(u, p)| u == "alice" && p == "right"), "{}", proxy.summary());
    assert!(origin.requests_to("/text").len() == 1, "the check went through the proxy first");
    assert!(out.terminal_restored(), "{}", out.describe());
}

/// A command that stops itself under `toll run` at an interactive shell (`suspend`, ssh's `~^Z`,
/// here `kill -STOP $$`) stops toll too: the shell gets the terminal back and says the job
/// stopped, and `fg` continues both. toll waited on, and the terminal was nobody's.
#[test]
fn toll_run_stops_with_a_command_that_stops_itself() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("bash");
    cmd.args(["--norc", "--noprofile", "-i"]);
    isolate(&mut cmd, home.path());
    cmd.env("PS1", "ready> ").env("TOLL_TERMINAL", "auto");
    let mut t = crate::pty::Pty::spawn_on_terminal(cmd);
    t.expect("ready> ");
    t.send(&format!("{TOLL} run -- sh -c 'kill -STOP $$; echo resumed-now'\r"));
    t.expect("Stopped");
    t.expect("ready> ");
    t.send("fg\r");
    t.expect("resumed-now");
    t.expect("ready> ");
    t.send("exit\r");
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
}

/// A start-up check that shows no prompt and gets no answer (a proxy that takes the request and
/// says nothing: Squid resolving `--verify-url`) is given up after 15 s, said, and the command
/// starts; it waited ten minutes in silence.
#[test]
fn toll_run_gives_up_a_check_that_gets_no_answer() {
    let proxy = FakeProxy::start(|_| fakeproxy::Action::Hang(Duration::from_secs(120)));
    let home = tempfile::tempdir().unwrap();
    let purl = proxy.url();
    let args = [
        "run",
        "-x",
        &purl,
        "-U",
        "alice:pw",
        "--verify-url",
        "http://127.0.0.1:9/",
        "--",
        "echo",
        "started",
    ];
    let t = crate::pty::Pty::spawn(crate::pty::command(args, home.path(), &[]), None);
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout, b"started\n", "{}", out.describe());
    assert!(out.stderr.contains("got no answer within 15 s"), "{}", out.describe());
    assert!(out.elapsed < Duration::from_secs(40), "{:?}", out.elapsed);
}

/// `toll serve` started on a terminal in the foreground asks for the password the proxy wants
/// once, before it serves anyone: a client that comes meanwhile waits (nobody is logged over the
/// prompt) and is then served with it. Not started by hand (a shell's or a script's `&`), it
/// never reads the terminal, which would stop it (SIGTTIN) or wait for nobody: it serves at
/// once, without a password.
#[test]
fn toll_serve_on_a_terminal_asks_once_before_serving_and_never_in_the_background() {
    if !clients_available("toll_serve_on_a_terminal_asks_once_before_serving_and_never_in_the_background") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let (listen, url) = (format!("127.0.0.1:{port}"), format!("http://127.0.0.1:{port}"));
    let (purl, check) = (proxy.url(), origin.url("/text"));
    let args = ["serve", "--listen", &listen, "-x", &purl, "-U", "alice", "--verify-url", &check];
    let mut t = crate::pty::Pty::spawn_interactive(crate::pty::command(args, home.path(), &[]));
    t.expect("Password for alice: ");
    let early = {
        let (url, target) = (url.clone(), origin.url("/bytes/7"));
        std::thread::spawn(move || run(CURL, &["-sS", "-m", "20", "-x", &url, &target]))
    };
    std::thread::sleep(Duration::from_millis(500));
    assert!(origin.requests_to("/bytes").is_empty(), "a client was served while the prompt was up");
    t.send("right\r");
    let out = early.join().unwrap();
    assert_eq!(out.stdout, pattern_bytes(7), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(CURL, &["-sS", "-x", &url, &origin.url("/bytes/9")]);
    assert_eq!(out.stdout, pattern_bytes(9), "{}", String::from_utf8_lossy(&out.stderr));
    t.send("\x03");
    let done = t.wait();
    assert_eq!(done.screen.matches("Password for").count(), 1, "{}", done.describe());
    let sent: Vec<_> = proxy.requests().iter().filter_map(|r| r.basic_credentials()).collect();
    assert!(
        !sent.is_empty() && sent.iter().all(|(u, p)| u == "alice" && p == "right"),
        "{}",
        proxy.summary()
    );
    assert_eq!(origin.requests_to("/text").len(), 1, "the check went through the proxy first");
    let check_line = done.stderr.lines().position(|l| l.contains("GET http://127.0.0.1"));
    let listening = done.stderr.lines().position(|l| l.contains("listening on"));
    assert!(check_line < listening, "the check is logged before serving starts\n{}", done.stderr);

    // Without a proxy for --verify-url there is no password to ask for: no check, no prompt.
    let args = ["serve", "--listen", "127.0.0.1:0", "--verify-url", &check];
    let mut t = crate::pty::Pty::spawn_interactive(crate::pty::command(args, home.path(), &[]));
    std::thread::sleep(Duration::from_millis(1000));
    t.send("\x03");
    let done = t.wait();
    assert!(done.stderr.contains("listening on"), "{}", done.describe());
    assert_eq!(origin.requests_to("/text").len(), 1, "no check without a proxy\n{}", done.describe());

    // Not started by hand: never a prompt, served at once (without a password: 502, not a
    // stop). In the background of a job-control shell (the terminal on stdin, another process
    // group: reading it would stop toll with SIGTTIN), and by a script's `&` (no job control:
    // the terminal's process group, but bash gives it /dev/null on stdin).
    for (how, job_control) in [("a job-control shell's &", "set -m; "), ("a script's &", "")] {
        let port = free_port();
        let (dir, url) = (home.path().join(format!("bg{port}")), format!("http://127.0.0.1:{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "{job_control}'{}' serve --listen 127.0.0.1:{port} -x {purl} -U alice --verify-url {check} 2>'{}/log' & echo $! > '{}/pid'; wait",
            TOLL,
            dir.display(),
            dir.display()
        );
        let mut cmd = Command::new("bash");
        cmd.args(["-c", &script]);
        isolate(&mut cmd, home.path());
        let t = crate::pty::Pty::spawn_interactive(cmd);
        let deadline = Instant::now() + Duration::from_secs(20);
        let log = loop {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            if log.contains("listening on") || Instant::now() > deadline {
                break log;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let pid: libc::pid_t = std::fs::read_to_string(dir.join("pid")).unwrap().trim().parse().unwrap();
        let out = run(
            CURL,
            &[
                "-sS",
                "-m",
                "10",
                "-w",
                "%{http_code}",
                "-o",
                "/dev/null",
                "-x",
                &url,
                &origin.url("/bytes/5"),
            ],
        );
        // SAFETY: kill(2) on the server the script started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let done = t.wait();
        assert!(log.contains("listening on"), "{how}: {log}\n{}", done.describe());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "502", "{how}: {log}");
        assert!(!done.screen.contains("Password for"), "{how}: {}", done.describe());
    }
    assert_eq!(origin.requests_to("/text").len(), 1, "no check unless started by hand");
}

/// When the proxy rejects every password typed at that start-up prompt, `toll run` and `toll
/// serve` stop there with exit status 41 (the command never starts, nobody is served): a person
/// is there to try again, and a server that can only answer 502 helps nobody.
#[test]
fn passwords_rejected_at_the_start_up_prompt_stop_toll_run_and_serve_with_41() {
    if !clients_available("passwords_rejected_at_the_start_up_prompt_stop_toll_run_and_serve_with_41") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let home = tempfile::tempdir().unwrap();
    let started = home.path().join("command-started");
    let script = format!("touch '{}'", started.display());
    let (purl, check) = (proxy.url(), origin.url("/text"));
    let run_args = ["run", "-x", &purl, "-U", "alice", "--verify-url", &check, "--", "sh", "-c", &script];
    let serve_args = ["serve", "--listen", "127.0.0.1:0", "-x", &purl, "-U", "alice", "--verify-url", &check];
    for args in [&run_args[..], &serve_args[..]] {
        let mut t = crate::pty::Pty::spawn_interactive(crate::pty::command(args, home.path(), &[]));
        for attempt in 1..=3 {
            t.expect("Password for alice: ");
            t.send(&format!("wrong-{attempt}\r"));
        }
        let out = t.wait();
        assert_eq!(out.code, Some(41), "{}: {}", args[0], out.describe());
        assert!(out.stderr.contains("the check through the proxy"), "{}: {}", args[0], out.describe());
        assert!(!out.stderr.contains("listening on"), "{}: {}", args[0], out.describe());
        assert!(out.terminal_restored(), "{}", out.describe());
    }
    assert!(!started.exists(), "the command ran after the proxy rejected every password");
    assert_eq!(origin.requests_to("/text").len(), 0);
    let sent: Vec<_> = proxy.requests().iter().filter_map(|r| r.basic_credentials()).collect();
    assert_eq!(sent.len(), 6, "each password once: {}", proxy.summary());
}

/// The password given with `-U` to a long-running server is not left in its command line for
/// `ps` to show.
#[test]
fn serve_hides_the_password_on_its_command_line() {
    let proxy = FakeProxy::start(fakeproxy::open());
    let serve = Serve::start(&["-x", &proxy.url(), "-U", "alice:Hidden-pw-7"]);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", serve.child.id())).unwrap();
    let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(text.contains("alice:") && !text.contains("Hidden-pw-7"), "{text}");
}

/// Once the command runs, `toll run` never prompts: a proxy that asks only then (here the check
/// before the command went direct, by NO_PROXY) gets no answer, and the command a 502.
#[test]
fn toll_run_never_prompts_once_the_command_runs() {
    if !clients_available("toll_run_never_prompts_once_the_command_runs") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "right"));
    let home = tempfile::tempdir().unwrap();
    let script =
        format!("exec {CURL} -s -o /dev/null -w '%{{http_code}}' --noproxy '' {}", origin.url("/bytes/5000"));
    let purl = proxy.url();
    let check = format!("http://localhost:{}/text", origin.port);
    let args = [
        "run",
        "-x",
        &purl,
        "--noproxy",
        "localhost",
        "-U",
        "alice",
        "--verify-url",
        &check,
        "--",
        "sh",
        "-c",
        &script,
    ];
    let t = crate::pty::Pty::spawn(crate::pty::command(args, home.path(), &[]), None);
    let out = t.wait();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "502", "{}", out.describe());
    assert!(!out.screen.contains("Password"), "{}", out.describe());
    assert!(proxy.requests().iter().all(|r| r.basic_credentials().is_none()), "{}", proxy.summary());
}

/// `--listen localhost:PORT` listens on 127.0.0.1 and ::1, so that a client told "localhost"
/// reaches it whichever it tries first (Node.js: ::1); a program already on `[::1]:PORT` stops
/// it with 46 and a message naming that address (clients trying ::1 first would reach that one).
#[test]
fn listen_localhost_serves_both_loopbacks() {
    if !clients_available("listen_localhost_serves_both_loopbacks") {
        return;
    }
    let origin = Origin::http();
    let serve = Serve::start(&["--listen", "localhost:0"]);
    for proxy in [format!("http://127.0.0.1:{}", serve.port), format!("http://[::1]:{}", serve.port)] {
        let out = run(CURL, &["-sS", "-m", "10", "-x", &proxy, &origin.url("/text")]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "hello from the origin\n",
            "{proxy}: {}",
            serve.log()
        );
    }
    let log = serve.log();
    assert!(log.contains(&format!("listening on 127.0.0.1:{0} and [::1]:{0};", serve.port)), "{log}");
    assert!(log.contains(" [::1]:") && log.contains(" 127.0.0.1:"), "a client from each: {log}");

    let taken = std::net::TcpListener::bind("[::1]:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(TOLL);
    cmd.args(["serve", "--listen", &format!("localhost:{port}")]);
    isolate(&mut cmd, home.path());
    cmd.env("TOLL_TERMINAL", "none").stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(46), "{err}");
    assert!(err.contains(&format!("cannot listen on [::1]:{port}")), "{err}");
}

/// systemd socket activation: the listening sockets come as descriptors 3, 4, … with
/// `LISTEN_PID` and `LISTEN_FDS` set, and toll serve serves them instead of binding `--listen`
/// (here two: 127.0.0.1 and ::1, on ports of their own, as a unit with two `ListenStream=`).
#[test]
fn serve_takes_a_socket_from_systemd() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    if !clients_available("serve_takes_a_socket_from_systemd") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let sockets = [
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        std::net::TcpListener::bind("[::1]:0").unwrap(),
    ];
    let addrs: Vec<_> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("/bin/sh");
    // `exec` keeps the shell's pid, which is what LISTEN_PID must name.
    cmd.args(["-c", "LISTEN_PID=$$ LISTEN_FDS=2 exec \"$0\" serve --listen 127.0.0.1:1 -x \"$1\""])
        .arg(TOLL)
        .arg(proxy.url());
    isolate(&mut cmd, home.path());
    let fds = [sockets[0].as_raw_fd(), sockets[1].as_raw_fd()];
    // SAFETY: fcntl and dup2 between fork and exec: each socket first to a descriptor above 4
    // (so that moving one onto 3 cannot overwrite the other), then onto 3 and 4 (not
    // close-on-exec after dup2).
    unsafe {
        cmd.pre_exec(move || {
            let high = fds.map(|fd| libc::fcntl(fd, libc::F_DUPFD, 10));
            for (to, fd) in [(3, high[0]), (4, high[1])] {
                if fd < 0 || libc::dup2(fd, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(sockets);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains(&format!("listening on {} and {};", addrs[0], addrs[1])), "{line}");
    for addr in &addrs {
        let out = run(CURL, &["-s", "-m", "10", "-x", &format!("http://{addr}"), &origin.url("/text")]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from the origin\n", "{addr}");
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(proxy.requests().len(), 2, "{}", proxy.summary());
}

/// A kernel session keyring is there (keyutils; `.ci/with-secret-service` gives one); skips
/// loudly otherwise.
fn kernel_keyring_available(test: &str) -> bool {
    use toll::keyring::{Keyring, StoreKind};
    match Keyring::default().get(StoreKind::Keyutils, "toll-it-probe://availability", "probe") {
        Ok(_) => true,
        Err(e) => {
            crate::skip(&format!(
                "SKIPPED {test}: needs a kernel session keyring (keyutils; .ci/with-secret-service): {e}"
            ));
            false
        }
    }
}

/// A fresh home whose toll state and settings live in a temp dir and whose passwords go to the
/// kernel keyring: the directory (kept alive by the caller) and the environment for toll.
fn keyutils_home() -> (tempfile::TempDir, Vec<(String, String)>) {
    let home = tempfile::tempdir().unwrap();
    let env = vec![
        ("XDG_STATE_HOME".into(), home.path().join("state").display().to_string()),
        ("XDG_CONFIG_HOME".into(), home.path().join("config").display().to_string()),
        ("TOLL_KEYRING".into(), "keyutils".into()),
    ];
    (home, env)
}

/// A client's upload over 1 MiB goes to the proxy as the client sent it once the proxy has
/// accepted the credential: no `Expect: 100-continue` the client never asked for (it cost an
/// origin that never answers 100 a second per upload, and one that refuses Expect a 417 the
/// client could not avoid). Before that, the body waits behind one, so a 407 gets it back.
#[test]
fn a_clients_large_upload_goes_on_as_sent_once_the_credential_worked() {
    if !clients_available("a_clients_large_upload_goes_on_as_sent_once_the_credential_worked") {
        return;
    }
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::basic("alice", "up-pw"));
    let serve = Serve::start(&["-x", &proxy.url(), "-U", "alice:up-pw"]);
    let dir = crate::run::scratch();
    let file = dir.path().join("big.bin");
    std::fs::write(&file, crate::pattern_bytes(2 << 20)).unwrap();
    let data = format!("@{}", file.display());
    // A small one first (replayed after the proxy's 407: the fake proxy reads a body before it
    // answers), so that the credential is accepted.
    let out = run(CURL, &["-sS", "-d", "x=1", "-x", &serve.url(), &origin.url("/upload")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for _ in 0..3 {
        let out = run(
            CURL,
            &["-sS", "-H", "Expect:", "--data-binary", &data, "-x", &serve.url(), &origin.url("/upload")],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(said.ends_with(&format!(" {}\n", 2 << 20)), "{said}\n{}", proxy.summary());
    }
    let uploads: Vec<_> = proxy.requests().into_iter().filter(|r| r.target.ends_with("/upload")).collect();
    let large: Vec<_> = uploads.iter().skip_while(|r| r.proxy_authorization().is_none()).skip(1).collect();
    assert_eq!(large.len(), 3, "{}", proxy.summary());
    assert!(
        large.iter().all(|r| r.header("expect").is_none()),
        "an Expect nobody asked for:\n{}",
        proxy.summary()
    );
}

/// A client whose chunked body is malformed gets 400 (its own fault), not a 502 that blames the
/// origin, on the direct route (through a proxy it already did).
#[test]
fn a_malformed_request_body_is_the_clients_fault() {
    use std::io::{Read, Write};
    let origin = Origin::http();
    let serve = Serve::start(&[]);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (url, host) = (origin.url("/upload"), origin.authority());
    let req = format!(
        "POST {url} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let _ = conn.read_to_end(&mut got);
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 400"), "{got}");
    assert!(got.contains("could not be read from the client"), "{got}");
}

/// A request line with `user:password@` in its URL reaches the upstream proxy without them
/// (RFC 9110 §4.2.4), as the direct route's request line (a path) never had them.
#[test]
fn a_request_lines_userinfo_is_not_passed_to_the_proxy() {
    use std::io::{Read, Write};
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let serve = Serve::start(&["-x", &proxy.url()]);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let url = origin.url("/text").replace("http://", "http://u:s3cret@");
    let req = format!("GET {url} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", origin.authority());
    conn.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let _ = conn.read_to_end(&mut got);
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&got));
    let seen: Vec<String> = proxy.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(seen, vec![origin.url("/text")], "{}", proxy.summary());
}

/// Without a state directory it can write (a system unit without HOME, ProtectHome=read-only),
/// `toll serve` on loopback still serves this user's clients, told by their uid, with a key for
/// this run only (review H: exit 2, nothing served); `--print-env`, which tells the key, still
/// needs the kept one.
#[test]
fn serve_without_a_writable_state_dir_serves_with_a_key_for_the_run() {
    if !clients_available("serve_without_a_writable_state_dir_serves_with_a_key_for_the_run") {
        return;
    }
    let origin = Origin::http();
    let dir = crate::run::scratch();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let state = not_a_dir.to_str().unwrap().to_string();
    let serve = Serve::start_env(&[], &[("XDG_STATE_HOME".into(), state.clone())]);
    let out =
        run(CURL, &["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", &serve.url(), &origin.url("/text")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "{}", serve.log());
    assert!(serve.log().contains("the key is for this run only"), "{}", serve.log());
    let out = crate::run::toll(["serve", "--print-env", "--listen", "127.0.0.1:3128"])
        .env("XDG_STATE_HOME", &state)
        .run();
    out.assert_code(23);
}

/// A key file that is there but not to be used (others may read it) is still refused, exit 2,
/// writable state directory or not (review S: the per-run key fallback took it too).
#[test]
fn a_serve_key_others_can_read_is_refused() {
    let dir = crate::run::scratch();
    let state = dir.path().to_str().unwrap().to_string();
    crate::run::toll(["serve", "--print-env", "--listen", "127.0.0.1:3128"])
        .env("XDG_STATE_HOME", &state)
        .run()
        .assert_ok();
    let key = dir.path().join("toll/serve.key");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = crate::run::toll(["serve", "--listen", "127.0.0.1:0"]).env("XDG_STATE_HOME", &state).run();
    out.assert_code(2);
    assert!(out.stderr.contains("can be read by other users"), "{}", out.describe());
}
