//! Issue 10: https through a proxy runs TLS on the relay's tunnel in process (`client::tunnel`),
//! not through the loopback relay. The guarantees of the relay hold on that path: proxy
//! credentials only in the CONNECT, an origin's 407 inside the tunnel returned unanswered, the
//! proxy's refusal reported as such, each redirect hop routed anew, `-w` right, timeouts,
//! uploads and HEAD as on the reqwest path.

use crate::fakeproxy::{self, Action, FakeProxy, ProxyRequest};
use crate::origin::Origin;
use crate::run::{toll, via_proxy};

const USER: &str = "alice";
const PASS: &str = "tunnel-pw:1";

/// The `-v` line that says the request took the direct path.
const DIRECT: &str = "runs on the tunnel itself, in process";

fn connects(proxy: &FakeProxy) -> Vec<ProxyRequest> {
    proxy.requests().into_iter().filter(ProxyRequest::is_connect).collect()
}

/// A successful `-i` run through a tunnel printed the proxy's answer to the CONNECT once, first,
/// as curl does; returns its standard output.
fn connect_answer_printed_once(out: &crate::run::Out) -> String {
    out.assert_ok();
    let text = out.stdout_str();
    assert!(
        text.starts_with("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{}",
        out.describe()
    );
    assert_eq!(text.matches("Connection established").count(), 1, "{}", out.describe());
    text.to_string()
}

/// A 407 from the origin inside the tunnel is the origin's answer: returned as is, never
/// answered with the proxy's credentials (which went into the CONNECT only).
#[test]
fn origin_407_inside_the_direct_tunnel_is_not_answered() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let origin = Origin::https();
    let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/status/407", &["-v"]).run();
    out.assert_ok().assert_stdout(b"status 407 from the origin\n");
    assert!(out.stderr.contains(DIRECT), "took the direct path:\n{}", out.describe());
    let seen = origin.requests_to("/status/407");
    assert_eq!(seen.len(), 1, "asked once: {seen:?}");
    assert!(seen[0].header("proxy-authorization").is_none(), "{seen:?}");
    let c = connects(&proxy);
    assert_eq!(c.len(), 2, "one CONNECT, one answer to the proxy's own 407:\n{}", proxy.summary());
    assert_eq!(c.iter().filter(|r| r.proxy_authorization().is_some()).count(), 1, "{}", proxy.summary());
    out.assert_not_leaked("proxy password", PASS);
}

/// The direct path sends what reqwest sent: Host, Accept, User-Agent, the user's headers and
/// origin credentials (`-u`), and the body with its length; HEAD gets no body.
#[test]
fn direct_tunnel_request_head_body_and_head_method() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let origin = Origin::https();
    let data = crate::pattern_bytes(300_000);
    let dir = crate::run::scratch();
    let file = dir.path().join("up.bin");
    std::fs::write(&file, &data).unwrap();
    let up = format!("@{}", file.display());
    let out = via_proxy(
        &proxy.url(),
        Some((USER, PASS)),
        &origin,
        "/upload",
        &["-v", "-H", "X-Trace: 7", "-u", "bob:origin-pw", "--data-binary", &up],
    )
    .run();
    out.assert_ok();
    assert!(out.stderr.contains(DIRECT), "took the direct path:\n{}", out.describe());
    let expected = format!("{} {}\n", crate::sha256_hex(&data), data.len());
    assert_eq!(out.stdout_str(), expected, "{}", out.describe());
    let r = &origin.requests_to("/upload")[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("host"), Some(origin.authority().as_str()));
    assert_eq!(r.header("accept"), Some("*/*"));
    assert!(r.header("user-agent").is_some_and(|u| u.starts_with("toll/")), "{r:?}");
    assert_eq!(r.header("x-trace"), Some("7"));
    assert!(r.header("authorization").is_some_and(|a| a.starts_with("Basic ")), "{r:?}");
    assert_eq!(r.header("content-length"), Some(data.len().to_string().as_str()));
    assert!(r.header("proxy-authorization").is_none());

    let out = via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/bytes/5000", &["-I"]).run();
    out.assert_ok();
    assert!(out.stdout_str().contains("200"), "{}", out.describe());
    assert_eq!(origin.requests_to("/bytes/5000")[0].method, "HEAD");
}

/// A redirect from the https origin to another host is routed anew: here `--noproxy` sends the
/// second host direct, so the proxy sees one CONNECT, to the first host only; `-w` reports the
/// tunnel and the final URL.
#[test]
fn redirect_from_direct_tunnel_is_routed_anew() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let first = Origin::https();
    let second = Origin::https();
    let target = second.url("/text");
    let path = format!("/redirect?to={target}");
    let url = format!("https://localhost:{}{path}", first.port);
    let out = crate::run::toll([
        "-sS",
        "-L",
        "-x",
        &proxy.url(),
        "-U",
        &format!("{USER}:{PASS}"),
        "--noproxy",
        "127.0.0.1",
        "-v",
        "--cacert",
        &crate::tls::pki().ca_arg(),
        "-w",
        "\n%{http_connect} %{num_redirects} %{url_effective}\n",
        &url,
    ])
    .run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), format!("hello from the origin\n\n000 1 {target}\n"), "{}", out.describe());
    let c = connects(&proxy);
    assert!(
        c.iter().all(|r| r.target == format!("localhost:{}", first.port)),
        "the second hop went direct:\n{}",
        proxy.summary()
    );
    assert_eq!(second.requests_to("/text").len(), 1);
    assert_eq!(out.stderr.matches(DIRECT).count(), 1, "only the first hop is tunnelled:\n{}", out.describe());
}

/// `-w %{http_connect}` is the proxy's 200 to the CONNECT, and the remote end is the proxy: by
/// its address when it is named by a host name, as curl reports it (https through the tunnel,
/// http forwarded in process, and either through the loopback relay with `-i`); `local_ip` and
/// `local_port` are this end of the connection to the proxy.
#[test]
fn write_out_through_the_direct_tunnel() {
    let proxy = FakeProxy::start(fakeproxy::open());
    let origin = Origin::https();
    let port = proxy.url().rsplit(':').next().unwrap().trim_end_matches('/').to_string();
    let out = via_proxy(
        &proxy.url(),
        None,
        &origin,
        "/text",
        &["-o", "/dev/null", "-w", "%{http_code} %{http_connect} %{remote_port} %{url_effective}"],
    )
    .run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), format!("200 200 {port} {}", origin.url("/text")), "{}", out.describe());

    let named = format!("http://localhost:{port}");
    let plain = Origin::start(false);
    for (origin, extra) in [(&origin, None), (&plain, None), (&origin, Some("-i")), (&plain, Some("-i"))] {
        let mut args = vec!["-o", "/dev/null", "-w", "%{remote_ip} %{remote_port} %{local_ip} %{local_port}"];
        args.extend(extra);
        let out = via_proxy(&named, None, origin, "/text", &args).run();
        out.assert_ok();
        let text = out.stdout_str();
        let (remote, local) = text.split_at(text.find(" 127.0.0.1 ").unwrap_or(0));
        assert_eq!(remote, format!("127.0.0.1 {port}"), "{}", out.describe());
        let local_port: u16 = local.trim_start_matches(" 127.0.0.1 ").parse().unwrap_or(0);
        assert!(
            local_port > 0 && local_port.to_string() != port,
            "this end of the connection to the proxy: {}",
            out.describe()
        );
    }
}

/// The proxy's refusal of the CONNECT is the proxy's (exit 56 family: denied), not an origin's
/// 403, and `-m` ends a tunnelled transfer that hangs (exit 28).
#[test]
fn direct_tunnel_refusal_and_max_time() {
    let proxy = FakeProxy::start(|r: &ProxyRequest| {
        if r.is_connect() {
            fakeproxy::Reply::new(403).into_action()
        } else {
            Action::Allow
        }
    });
    let origin = Origin::https();
    let out = via_proxy(&proxy.url(), None, &origin, "/text", &[]).run();
    out.assert_code(42);
    assert!(out.stderr.contains("denied access"), "{}", out.describe());

    let proxy = FakeProxy::start(fakeproxy::open());
    let started = std::time::Instant::now();
    let out = via_proxy(&proxy.url(), None, &origin, "/hang", &["-m", "1"]).run();
    out.assert_code(28);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{}", out.describe());
}

/// An https origin that speaks HTTP/2 when the client offers it (ALPN), HTTP/1.1 otherwise, and
/// answers every request with `<version> <path>`, and `/host` with the request's authority
/// and `Host` too (`HTTP/2.0 /host authority=A host=H`, `-` for none). Returns its port.
fn h2_origin() -> u16 {
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    crate::tls::serve_tls(&[b"h2", b"http/1.1"], |tls| async move {
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let svc = service_fn(|req: http::Request<hyper::body::Incoming>| async move {
            let mut text = format!("{:?} {}", req.version(), req.uri().path());
            if req.uri().path() == "/host" {
                let authority = req.uri().authority().map_or("-", |a| a.as_str());
                let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("-");
                text.push_str(&format!(" authority={authority} host={host}"));
            }
            text.push('\n');
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from(text),
            )))
        });
        let io = TokioIo::new(tls);
        if h2 {
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(io, svc)
                .await;
        } else {
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
        }
    })
}

/// ALPN on the direct path: HTTP/2 when the origin offers it, HTTP/1.1 only with `--http1.1`.
#[test]
fn direct_tunnel_speaks_h2_by_alpn_and_http1_when_asked() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let port = h2_origin();
    let url = format!("https://127.0.0.1:{port}/v?x=1");
    let (purl, ca) = (proxy.url(), crate::tls::pki().ca_arg());
    let run = |extra: &[&str]| {
        let mut args = vec!["-sS", "-x", &purl, "-U", "alice:tunnel-pw:1"];
        args.extend(["--cacert", &ca, "-w", "%{http_version}"]);
        args.extend(extra);
        args.push(&url);
        crate::run::toll(args).run()
    };
    let out = run(&["-v"]);
    out.assert_ok();
    assert_eq!(out.stdout_str(), "HTTP/2.0 /v\n2", "{}", out.describe());
    assert!(out.stderr.contains("(HTTP/2) runs on the tunnel itself"), "{}", out.describe());
    let out = run(&["--http1.1"]);
    out.assert_ok();
    assert_eq!(out.stdout_str(), "HTTP/1.1 /v\n1.1", "{}", out.describe());
    // OPTIONS' asterisk form, as curl's man page shows it: `:path: *` over HTTP/2 (it was `/*`).
    for version in ["--http2", "--http1.1"] {
        let out = run(&["--request-target", "*", "-X", "OPTIONS", version]);
        out.assert_ok();
        assert!(out.stdout_str().contains(" *\n"), "{}", out.describe());
    }
}

/// HTTP/2 has no `Host`: one given with -H is the request's `:authority`, as curl sends it
/// (hyper sent it beside the URL's, and servers refuse the two when they differ: nginx answers
/// 400), directly and through a proxy's tunnel. Where the request stays on reqwest's path
/// (`--tlsv1.2` here), which takes the authority from the URL, it goes as HTTP/1.1.
#[test]
fn a_host_given_with_h_is_the_http2_authority() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let port = h2_origin();
    let url = format!("https://127.0.0.1:{port}/host");
    let (purl, ca) = (proxy.url(), crate::tls::pki().ca_arg());
    let run = |extra: &[&str]| {
        let mut args = vec!["-sS", "--cacert", &ca, "-w", "%{http_version}", "-H", "Host: vhost.test:8443"];
        args.extend(extra);
        args.push(&url);
        let out = toll(args).run();
        out.assert_ok();
        out
    };
    let h2 = "HTTP/2.0 /host authority=vhost.test:8443 host=-\n2";
    assert_eq!(run(&[]).stdout_str(), h2);
    assert_eq!(run(&["-x", &purl, "-U", "alice:tunnel-pw:1"]).stdout_str(), h2);
    let out = run(&["--tlsv1.2"]);
    assert_eq!(
        out.stdout_str(),
        "HTTP/1.1 /host authority=- host=vhost.test:8443\n1.1",
        "{}",
        out.describe()
    );
    // No user name in an authority (RFC 9113 §8.3.1): the request is not sent (exit 2).
    let out = toll(["-sS", "--cacert", &ca, "-H", "Host: joe@vhost.test", &url]).run();
    out.assert_code(2);
    assert!(out.stderr.contains("cannot be HTTP/2's :authority"), "{}", out.describe());
}

/// Sockets of process `pid` (its descriptors, from /proc): `(state, local port, remote port)`
/// of each TCP socket it holds.
fn tcp_sockets(pid: libc::pid_t) -> Vec<(String, u16, u16)> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let s = l.to_string_lossy().into_owned();
                    s.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    let port = |a: &str| u16::from_str_radix(a.split(':').nth(1).unwrap_or("0"), 16).unwrap_or(0);
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (local, remote, state, inode) = (f.get(1)?, f.get(2)?, f.get(3)?, f.get(9)?);
            inodes.iter().any(|i| i == inode).then(|| (state.to_string(), port(local), port(remote)))
        })
        .collect()
}

/// While the proxy holds toll's request, toll has no connection to its own loopback relay: the
/// request went through the relay in process (https: the CONNECT; http: the forwarded GET).
#[test]
fn no_loopback_connection_to_the_relay() {
    use std::time::{Duration, Instant};
    for tls in [true, false] {
        let proxy = FakeProxy::start(|_: &ProxyRequest| {
            std::thread::sleep(Duration::from_secs(2));
            Action::Allow
        });
        let origin = Origin::start(tls);
        let run = via_proxy(&proxy.url(), None, &origin, "/text", &[]).spawn();
        let until = Instant::now() + Duration::from_secs(10);
        while proxy.requests().is_empty() {
            assert!(Instant::now() < until, "toll's request never reached the proxy");
            std::thread::sleep(Duration::from_millis(10));
        }
        let sockets = tcp_sockets(run.pid);
        let relay: Vec<u16> = sockets.iter().filter(|s| s.0 == "0A").map(|s| s.1).collect();
        let to_relay = sockets.iter().filter(|s| s.0 == "01" && relay.contains(&s.2)).count();
        let out = run.wait();
        out.assert_ok().assert_stdout(b"hello from the origin\n");
        assert!(!relay.is_empty(), "the relay listens: {sockets:?}");
        assert_eq!(to_relay, 0, "tls {tls}: toll is connected to its own relay: {sockets:?}");
    }
}

/// A tunnel whose response was read to the end carries the next request to the same origin, as
/// curl keeps its connections: three URLs and a redirect on one command line cost one
/// authenticated CONNECT and one TLS handshake. With `-i` (the reqwest path) the requests go on
/// one tunnel too (but for a race in hyper-util's pool, below), and the proxy's answer to the
/// CONNECT is printed before the first head and for no reused tunnel, as curl does. A transfer
/// that does not read its body (`--max-filesize`) leaves its tunnel, and the next URL opens a
/// new one.
#[test]
fn a_tunnel_read_to_the_end_carries_the_next_request() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let origin = Origin::https();
    let urls = [origin.url("/json"), origin.url("/redirect?to=/bytes/3")];
    let out =
        via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &["-v", "-L", &urls[0], &urls[1]])
            .run();
    out.assert_ok();
    assert_eq!(out.stderr.matches(DIRECT).count(), 1, "one TLS handshake:\n{}", out.describe());
    let c = connects(&proxy);
    assert_eq!(c.iter().filter(|r| r.proxy_authorization().is_some()).count(), 1, "{}", proxy.summary());
    for path in ["/json", "/redirect", "/bytes/3"] {
        assert_eq!(origin.requests_to(path).len(), 1, "{path}");
    }

    let asked = origin.requests().len();
    let out =
        via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &["-i", "-L", &urls[0], &urls[1]])
            .run();
    out.assert_ok();
    // Counted at the origin. hyper-util's pool, asked for the next request a moment before the
    // last answer's connection is back in it, starts a new connection beside waiting and uses
    // whichever is ready first (hyperium/hyper#4134): rarely (1 run in 2,500 with both cores
    // busy), a second tunnel. A tunnel that were never used again would make four.
    let carried: Vec<usize> = origin.requests()[asked..].iter().map(|r| r.connection).collect();
    let mut tunnels = carried.clone();
    tunnels.sort_unstable();
    tunnels.dedup();
    assert!(carried.len() == 4 && tunnels.len() <= 2, "{carried:?}\n{}", proxy.summary());
    // The proxy's answer before the first head, and again only for a tunnel that was new.
    let text = out.stdout_str();
    assert!(
        text.starts_with("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{}",
        out.describe()
    );
    assert_eq!(text.matches("Connection established").count(), tunnels.len(), "{}", out.describe());

    let asked = origin.requests().len();
    let out = via_proxy(
        &proxy.url(),
        Some((USER, PASS)),
        &origin,
        "/text",
        &["-o", "/dev/null", "--max-filesize", "1000", &origin.url("/bytes/100000")],
    )
    .run();
    out.assert_code(0);
    // At the origin: a spare tunnel of the run above may reach the proxy only now.
    let carried: Vec<(String, usize)> =
        origin.requests()[asked..].iter().map(|r| (r.target.clone(), r.connection)).collect();
    assert!(
        carried.len() == 2 && carried[0].1 != carried[1].1,
        "the unread body's tunnel was used again: {carried:?}\n{}",
        proxy.summary()
    );
}

/// `-p` with http:// URLs, as curl: a CONNECT to the origin's host and port (the proxy's
/// credentials in it only), then the request in origin form on the tunnel itself, which the
/// next URL to that origin reuses; `-i` prints the proxy's answer to the CONNECT first;
/// `--compressed` bodies are decoded on it as on any other path.
#[test]
fn proxytunnel_sends_http_urls_through_a_connect_tunnel() {
    let proxy = FakeProxy::start(fakeproxy::basic(USER, PASS));
    let origin = Origin::http();
    let second = origin.url("/json");
    let out =
        via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/text", &["-p", "-i", "-v", &second]).run();
    let text = connect_answer_printed_once(&out);
    assert!(
        text.contains("hello from the origin") && text.contains("\"name\":\"toll\""),
        "{}",
        out.describe()
    );
    let c = connects(&proxy);
    let authority = origin.authority();
    assert!(c.iter().all(|r| r.target == authority), "{}", proxy.summary());
    assert_eq!(
        c.iter().filter(|r| r.proxy_authorization().is_some()).count(),
        1,
        "one tunnel:\n{}",
        proxy.summary()
    );
    assert!(proxy.requests().iter().all(ProxyRequest::is_connect), "no proxy request:\n{}", proxy.summary());
    for path in ["/text", "/json"] {
        let seen = origin.requests_to(path);
        assert_eq!(seen.len(), 1, "{path}");
        assert_eq!(seen[0].target, path, "origin form");
        assert!(seen[0].header("proxy-authorization").is_none(), "{seen:?}");
    }
    out.assert_not_leaked("proxy password", PASS);

    // --compressed on the tunnel too: toll decodes what the origin sent through it.
    let out =
        via_proxy(&proxy.url(), Some((USER, PASS)), &origin, "/coded/gzip,br", &["-p", "--compressed"]).run();
    out.assert_ok().assert_stdout(crate::origin::GZIP_TEXT.repeat(20).as_bytes());
    let seen = origin.requests_to("/coded/gzip,br");
    assert_eq!(seen[0].header("accept-encoding"), Some("deflate, gzip, br, zstd"), "{seen:?}");
    assert!(proxy.requests().iter().all(ProxyRequest::is_connect), "no proxy request:\n{}", proxy.summary());
}

/// A CONNECT the proxy refuses: `%{http_connect}` is its status, as curl reports it for the
/// failed transfer (toll's exit codes say more than curl's 56: 42 for a 403, 43 otherwise).
#[test]
fn write_out_names_a_refused_connect() {
    for (status, exit) in [(501, 43), (403, 42), (502, 43)] {
        let proxy = FakeProxy::start(move |r: &ProxyRequest| {
            if r.is_connect() {
                fakeproxy::Reply::new(status).body(b"no tunnel\n").into_action()
            } else {
                Action::Allow
            }
        });
        let origin = Origin::https();
        let args = ["-s", "-o", "/dev/null", "-w", "%{http_code} %{http_connect}"];
        let out = via_proxy(&proxy.url(), None, &origin, "/text", &args).run();
        out.assert_code(exit);
        assert_eq!(out.stdout_str(), format!("000 {status}"), "{}", out.describe());
        // As curl 7.88: the proxy that answered is the remote end, and the scheme is known.
        let ends = ["-s", "-o", "/dev/null", "-w", "%{scheme} %{remote_ip}:%{remote_port}"];
        let out = via_proxy(&proxy.url(), None, &origin, "/text", &ends).run();
        assert_eq!(
            out.stdout_str(),
            format!("HTTPS {}", proxy.url().trim_start_matches("http://")),
            "{}",
            out.describe()
        );
        let plain = Origin::start(false);
        let out = via_proxy(&proxy.url(), None, &plain, "/text", &[&args[..], &["-p"]].concat()).run();
        out.assert_code(exit);
        assert_eq!(out.stdout_str(), format!("000 {status}"), "-p: {}", out.describe());
    }
}

/// A tunnel the proxy opened and the TLS handshake then failed in (the origin's certificate
/// is not trusted: no `--cacert`): `-w` still says the CONNECT's 200, the proxy's address and the
/// scheme, as curl 7.88 does (exit 60 for both).
#[test]
fn write_out_names_the_tunnel_a_tls_failure_came_through() {
    let proxy = FakeProxy::start(fakeproxy::open());
    let origin = Origin::https();
    let url = format!("https://127.0.0.1:{}/text", origin.port);
    let format = "%{http_code} %{http_connect} %{scheme} %{remote_ip}:%{remote_port}";
    let out = toll(["-s", "-x", &proxy.url(), "-o", "/dev/null", "-w", format]).arg(&url).run();
    out.assert_code(60);
    assert_eq!(
        out.stdout_str(),
        format!("000 200 HTTPS {}", proxy.url().trim_start_matches("http://")),
        "{}",
        out.describe()
    );
}

/// Trailer fields reach `-i` and `-D` on the paths a body takes: directly (reqwest's), the
/// in-process tunnel (https) and `-p`'s tunnel. (A forwarded http:// request's are the proxy's
/// to pass on: this fake proxy answers with a length and drops them.)
#[test]
fn trailer_fields_follow_the_body_on_every_path() {
    let proxy = FakeProxy::start(fakeproxy::open());
    let (http, https) = (Origin::http(), Origin::https());
    let trailer = "X-Checksum: 6 bytes\r\n";
    let dir = crate::run::scratch();
    let heads = dir.path().join("h.txt");
    let heads_arg = heads.to_str().unwrap();
    for (origin, extra) in [(&http, None), (&https, None), (&http, Some("-p"))] {
        let forwarded = origin.scheme() == "http" && extra.is_none();
        for proxied in [false, true].into_iter().filter(|p| !(*p && forwarded)) {
            let mut args = vec!["-i", "-D", heads_arg];
            args.extend(extra);
            let out = match proxied {
                true => via_proxy(&proxy.url(), None, origin, "/trailers", &args).run(),
                false => {
                    let url = origin.url("/trailers");
                    let ca = crate::tls::pki().ca_arg();
                    let mut all = vec!["-sS", "--cacert", &ca];
                    all.extend(&args);
                    all.push(&url);
                    crate::run::toll(all).run()
                }
            };
            out.assert_ok();
            let what = format!("{} {extra:?} proxied={proxied}", origin.scheme());
            assert!(out.stdout_str().ends_with(&format!("hello\n{trailer}")), "{what}: {}", out.describe());
            let written = std::fs::read_to_string(&heads).unwrap();
            assert!(
                written.ends_with(&format!("Trailer: X-Checksum\r\n\r\n{trailer}")),
                "{what}: {written:?}"
            );
        }
    }
}
