//! In-process origins (plain HTTP and HTTPS with the test CA), one thread per connection,
//! keep-alive. Every request is recorded (method, target, headers) for assertions.
//!
//! Routes:
//! - `/bytes/N`: N bytes of [`crate::pattern_bytes`].
//! - `/dns-query` (POST): DNS over HTTPS answers from `crate::doh`'s table.
//! - `/upload`: `"<sha256 hex> <length>\n"` of the request body (any method).
//! - `/echo-headers`: the request's head, one `name: value` line per field.
//! - `/status/N`: status N (a 407 here carries `Proxy-Authenticate: Basic realm="origin"`).
//! - `/fake407`: a 407 with `Proxy-Authenticate: Basic realm="origin"` unless the request carries
//!   `Proxy-Authorization` (then `got a proxy credential\n`): an origin phishing for one.
//! - `/redirect?to=URL`: 302 to URL. `/chain/N`: 302 to `/chain/N-1`; `/chain/0` says done.
//! - `/slow-chain/N`: as `/chain/N`, each answer 600 ms late.
//! - `/truncated`: announces `Content-Length: 1000`, sends 500 bytes, closes.
//! - `/many-headers/N`: `many\n` with N more header fields (`X-Field-0: v`, …).
//! - `/http10-hop`: an `HTTP/1.0` answer with hop-by-hop fields (`Connection: close, X-Hop-Only`,
//!   `X-Hop-Only`, `Keep-Alive`, `Proxy-Authentication-Info`) and `X-End-To-End`, then closes.
//! - `/hang`: reads the request, answers nothing for 30 s.
//! - `/trailers`: `hello\n`, chunked, with `Trailer: X-Checksum` and that trailer field after it.
//! - `/close-next`: `kept alive\n`, and the next request on the same connection is read and
//!   answered by closing the connection (an idle timeout that fires as a request goes out).
//! - `/no-answer`: reads the request and closes the connection without a word.
//! - `/weird/NAME`: a head curl reads leniently or refuses ([`WEIRD`]), body `ok`, then closes.
//! - `/text`: `hello from the origin\n`.
//! - `/gzip`: [`GZIP_TEXT`] × 20, gzip-encoded if the request accepts gzip.
//! - `/coded/CODINGS[/cut|/tail]`: [`GZIP_TEXT`] × 20 with each of the comma-separated CODINGS
//!   applied in order (`gzip`, `deflate`, `rawdeflate` — sent as `deflate` —, `br`, `zstd`;
//!   any other name is only named) and named in `Content-Encoding`, whatever the request
//!   accepts; `cut` sends the first half of the coded body, `tail` appends `GARBAGE`.
//! - `/pac/NAME` and `/wpad.dat` (NAME `wpad`): [`pac_text`]`(NAME)` with `ETag: "NAME"` and a
//!   fixed `Last-Modified`; `304 Not Modified` when `If-None-Match` is `"NAME"`.
//! - `/pac-script/NAME`: the PAC [`PACS`] names NAME (`application/x-ns-proxy-autoconfig`).
//!
//! For the curl differential suite (answers that do not depend on which client asked):
//! - `/raw/…`: `METHOD TARGET`, the request target as received (not normalised).
//! - `/req?h=NAME,NAME` (and `/req/…`): `METHOD path?query`, then `name: value` (or `name: -`) for each named
//!   request header, then the body.
//! - `/redirect?to=URL&code=N`: redirect with status N (default 302).
//! - `/json`: a JSON document. `/empty`: 204. `/mixed-case`: headers in mixed case and order.
//! - `/basic-auth/USER/PASS`: 401 with a Basic challenge unless that user and password are sent.
//! - `/digest-auth/USER/PASS`: the same with Digest (MD5, qop=auth, a fixed nonce); the answer's
//!   `uri` must be the request-target received. `/digest-auth-int/USER/PASS`: qop=auth-int only
//!   (the body's MD5 is hashed in).
//! - `/cookie/set?NAME=VALUE`: `Set-Cookie`; `/cookies`: the request's `Cookie` header.
//!   `/cookie/raw[/…]?v=A|B`: a `Set-Cookie` for each of A and B as given (decoded).
//!   `/cookie/big?n=N`: `big=` with N bytes of value, and `ok=1`.
//! - `/disposition/NAME`: `Content-Disposition: attachment; filename="NAME"`.
//! - `/retry-after/N`: 503 with `Retry-After: N`.
//! - the transfer options' routes (`/form`, `/range/N`, `/dated`, `/disposition-raw`): see
//!   `origin_transfer.rs`.
//! - `/flaky/KEY`: 503 (`Retry-After: 1`) on the 1st, 3rd, … request for KEY, 200 `recovered` on
//!   the others (a client that retries once sees 503 then 200).

use crate::http::{self, Head};

/// `/weird/NAME`'s answers: heads that hyper refuses by default and curl takes (a space before
/// the colon, a folded line, a bad field name, a control character), and ones curl refuses too
/// (HTTP/0.9, an unknown version, a bad status, a negative length), a body that says it is
/// gzip and is not, a head with bare LF line ends, and a length beside a chunked coding (the
/// coding frames the body: RFC 9112 §6.3).
pub const WEIRD: [(&str, &[u8]); 15] = [
    ("space", b"HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 2\r\n\r\nok"),
    ("fold", b"HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 2\r\n\r\nok"),
    ("bad-name", b"HTTP/1.1 200 OK\r\nX@A: b\r\nContent-Length: 2\r\n\r\nok"),
    ("control", b"HTTP/1.1 200 OK\r\nX-A: b\x01c\r\nContent-Length: 2\r\n\r\nok"),
    ("http09", b"ok\r\n"),
    ("version", b"HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("status", b"HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nok"),
    ("length", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"),
    ("bad-gzip", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd"),
    // Informational heads before the answer, which curl prints with -i and counts.
    ("continue", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    (
        "early-hints",
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ),
    // A reason phrase of the server's own, and a field name in lower case: printed as sent.
    ("reason", b"HTTP/1.1 200 Fine By Me\r\nx-lower: 1\r\nContent-Length: 2\r\n\r\nok"),
    // Bare LF line ends, and a body that holds CRLF CRLF: the head ends at its first blank line.
    ("bare-lf", b"HTTP/1.1 200 OK\nX-A: b\nContent-Length: 9\n\nok\r\n\r\nend"),
    (
        "length-and-chunked",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ),
    (
        "two-types",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/a\r\nContent-Type: text/b\r\nContent-Length: 2\r\n\r\nok",
    ),
];

/// The answer to `/trailers`: a chunked body with a trailer field, announced by `Trailer`.
pub const TRAILERS: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\
      Trailer: X-Checksum\r\n\r\n6\r\nhello\n\r\n0\r\nX-Checksum: 6 bytes\r\n\r\n";
use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body_len: usize,
    /// The body, kept for `/dns-query` only (the DoH queries, `crate::doh::asked`).
    pub body: Vec<u8>,
    /// Which of the origin's connections carried it (numbered from 1 as they are accepted).
    pub connection: usize,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

struct State {
    requests: Mutex<Vec<Recorded>>,
    stop: AtomicBool,
    /// Connections accepted (a client's reuse of its connections shows here).
    connections: AtomicUsize,
}

pub struct Origin {
    pub port: u16,
    pub tls: bool,
    state: Arc<State>,
}

/// When each loopback port was last taken by a test origin (seconds since the epoch). A long
/// test run hands the same ephemeral port to several origins one after the other, and the
/// shared Squids' access.logs still hold the earlier ones' lines: `squid::Squid::log_for` keeps
/// only the lines logged since the port's current origin started.
static CLAIMED: Mutex<Option<std::collections::HashMap<u16, f64>>> = Mutex::new(None);

/// Records that a test origin now listens on `port`.
pub fn claimed(port: u16) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    CLAIMED.lock().unwrap().get_or_insert_with(Default::default).insert(port, now);
}

/// When the origin on `port` started, if a test origin holds it.
pub fn claimed_at(port: u16) -> Option<f64> {
    CLAIMED.lock().unwrap().as_ref().and_then(|m| m.get(&port).copied())
}

impl Origin {
    pub fn http() -> Origin {
        Self::start(false)
    }

    pub fn https() -> Origin {
        Self::start(true)
    }

    /// HTTPS (behind the test CA) if `tls`, else plain HTTP.
    pub fn start(tls: bool) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind origin");
        let port = listener.local_addr().unwrap().port();
        claimed(port);
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        let st = state.clone();
        let server_config = tls.then(|| crate::tls::pki().server_config.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let number = st.connections.fetch_add(1, Ordering::SeqCst) + 1;
                let st = st.clone();
                let cfg = server_config.clone();
                std::thread::spawn(move || {
                    let _ = conn.set_nodelay(true);
                    match cfg {
                        Some(cfg) => {
                            let Ok(sc) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            let mut tls = rustls::StreamOwned::new(sc, conn);
                            if serve(&mut tls, &st, number) {
                                tls.conn.send_close_notify();
                                let _ = tls.flush();
                            }
                            let _ = tls.sock.shutdown(Shutdown::Both);
                        }
                        None => {
                            let mut c = conn;
                            serve(&mut c, &st, number);
                            let _ = c.shutdown(Shutdown::Both);
                        }
                    }
                });
            }
        });
        Origin { port, tls, state }
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// `127.0.0.1:PORT`: the CONNECT target and the key for Squid's access.log.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `scheme://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}{}", self.scheme(), self.port, path)
    }

    /// Connections the origin has accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| http::path_and_query(&r.target).0.starts_with(prefix))
            .collect()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serves one connection; returns true if it ended in an orderly way (so a TLS close_notify
/// may be sent), false if the connection must be dropped abruptly.
fn serve<S: Read + Write>(stream: &mut S, st: &State, connection: usize) -> bool {
    let mut conn = BufReader::new(stream);
    let mut close_next = false;
    loop {
        let head = match http::read_head(&mut conn) {
            Ok(Some(h)) => h,
            Ok(None) => return true,
            Err(_) => return false,
        };
        if head.has_token("expect", "100-continue") {
            if conn.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                return false;
            }
            let _ = conn.get_mut().flush();
        }
        let body = match http::read_request_body(&mut conn, &head) {
            Ok(b) => b,
            Err(_) => return false,
        };
        let (method, target) = head.parts();
        st.requests.lock().unwrap().push(Recorded {
            method: method.clone(),
            target: target.clone(),
            headers: head.headers.clone(),
            body_len: body.len(),
            body: if http::path_and_query(&target).0 == "/dns-query" { body.clone() } else { Vec::new() },
            connection,
        });
        if close_next {
            return false;
        }
        close_next = http::path_and_query(&target).0 == "/close-next";
        match respond(conn.get_mut(), &head, &method, &target, &body) {
            Ok(true) if !head.has_token("connection", "close") => continue,
            Ok(true) => return true,
            Ok(false) | Err(_) => return false,
        }
    }
}

/// Writes the response; Ok(false) = the connection must be closed abruptly now.
fn respond<W: Write>(
    w: &mut W,
    head: &Head,
    method: &str,
    target: &str,
    body: &[u8],
) -> std::io::Result<bool> {
    let (path, query) = http::path_and_query(target);
    let is_head = method.eq_ignore_ascii_case("HEAD");
    let send = |w: &mut W, status: u16, mut headers: Vec<(String, String)>, payload: &[u8]| {
        headers.push(("Server".into(), "toll-test-origin".into()));
        if is_head {
            headers.push(("Content-Length".into(), payload.len().to_string()));
            http::write_message(
                w,
                &format!("HTTP/1.1 {status} {}", http::reason(status)),
                &headers,
                b"",
                false,
            )
        } else {
            http::write_message(
                w,
                &format!("HTTP/1.1 {status} {}", http::reason(status)),
                &headers,
                payload,
                true,
            )
        }
    };
    let text = || vec![("Content-Type".to_string(), "text/plain; charset=utf-8".to_string())];
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let Some((status, h, payload)) = crate::origin_transfer::route(&segs, head, method, &query, body) {
        send(w, status, h, &payload)?;
        return Ok(true);
    }
    match segs.as_slice() {
        // `/raw/…`: the request target exactly as received (`--path-as-is`, `--request-target`).
        ["raw", ..] => {
            send(w, 200, text(), format!("{method} {target}\n").as_bytes())?;
        }
        ["dns-query"] if method == "POST" => {
            let (status, answer) = crate::doh::answer(body);
            send(w, status, vec![("Content-Type".into(), "application/dns-message".into())], &answer)?;
        }
        ["bytes", n] => {
            let n: usize = n.parse().unwrap_or(0);
            let data = crate::pattern_bytes(n);
            send(w, 200, vec![("Content-Type".into(), "application/octet-stream".into())], &data)?;
        }
        ["alt-svc"] => {
            // `Alt-Svc` as given (`h`, once per header); the body is the `Host` received.
            let h: Vec<(String, String)> = query
                .split('&')
                .filter_map(|kv| kv.strip_prefix("h="))
                .map(|v| {
                    (
                        "Alt-Svc".to_string(),
                        percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned(),
                    )
                })
                .collect();
            // With `to`, a 302 there.
            let mut h = h;
            let status = match http::query_param(&query, "to") {
                Some(to) => {
                    h.push(("Location".into(), to));
                    302
                }
                None => 200,
            };
            send(w, status, h, format!("{}\n", head.header("host").unwrap_or("-")).as_bytes())?;
        }
        ["upload"] => {
            let s = format!("{} {}\n", crate::sha256_hex(body), body.len());
            send(w, 200, text(), s.as_bytes())?;
        }
        ["echo-headers"] => {
            let mut s = format!("{method} {target}\n");
            for (n, v) in &head.headers {
                s.push_str(&format!("{n}: {v}\n"));
            }
            if !body.is_empty() {
                s.push_str(&format!("\n{}", String::from_utf8_lossy(body)));
            }
            send(w, 200, text(), s.as_bytes())?;
        }
        ["fake407"] => {
            match head.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("proxy-authorization")) {
                true => send(w, 200, text(), b"got a proxy credential\n")?,
                false => {
                    let mut h = text();
                    h.push(("Proxy-Authenticate".into(), "Basic realm=\"origin\"".into()));
                    send(w, 407, h, b"status 407 from the origin\n")?;
                }
            }
        }
        ["status", n] => {
            let status: u16 = n.parse().unwrap_or(500);
            let mut h = text();
            if status == 407 {
                h.push(("Proxy-Authenticate".into(), "Basic realm=\"origin\"".into()));
            }
            if status == 401 {
                h.push(("WWW-Authenticate".into(), "Basic realm=\"origin\"".into()));
            }
            let s = format!("status {status} from the origin\n");
            send(w, status, h, s.as_bytes())?;
        }
        ["redirect"] => {
            let to = http::query_param(&query, "to").unwrap_or_else(|| "/text".into());
            let code = http::query_param(&query, "code").and_then(|c| c.parse().ok()).unwrap_or(302);
            let s = format!("redirecting to {to}\n");
            let mut h = text();
            h.push(("Location".into(), to));
            send(w, code, h, s.as_bytes())?;
        }
        ["chain", n] => {
            let n: u32 = n.parse().unwrap_or(0);
            if n == 0 {
                send(w, 200, text(), b"chain done\n")?;
            } else {
                let mut h = text();
                h.push(("Location".into(), format!("/chain/{}", n - 1)));
                send(w, 302, h, format!("chain {n}\n").as_bytes())?;
            }
        }
        ["slow-chain", n] => {
            // Each hop answers after 600 ms: a chain that outlasts `-m` though no request does.
            std::thread::sleep(std::time::Duration::from_millis(600));
            let n: u32 = n.parse().unwrap_or(0);
            let mut h = text();
            if n > 0 {
                h.push(("Location".into(), format!("/slow-chain/{}", n - 1)));
            }
            send(w, if n == 0 { 200 } else { 302 }, h, format!("slow chain {n}\n").as_bytes())?;
        }
        ["truncated"] => {
            let mut out = Vec::new();
            out.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n",
            );
            out.extend_from_slice(&crate::pattern_bytes(1000)[..500]);
            w.write_all(&out)?;
            w.flush()?;
            std::thread::sleep(Duration::from_millis(100));
            return Ok(false);
        }
        ["many-headers", n] => {
            let n: usize = n.parse().unwrap_or(0);
            let mut h = text();
            h.extend((0..n).map(|i| (format!("X-Field-{i}"), "v".to_string())));
            send(w, 200, h, b"many\n")?;
        }
        ["http10-hop"] => {
            // An HTTP/1.0 answer with hop-by-hop fields (one named by `Connection`), then closed:
            // what a proxy must not pass on to its client (RFC 9110 §7.6.1).
            let body = b"hop-by-hop\n";
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close, X-Hop-Only\r\nX-Hop-Only: for the next hop\r\nKeep-Alive: timeout=5\r\n\
                 Proxy-Authentication-Info: nextnonce=\"abc\"\r\nX-End-To-End: kept\r\n\r\n",
                body.len()
            );
            w.write_all(head.as_bytes())?;
            w.write_all(body)?;
            w.flush()?;
            return Ok(false);
        }
        ["close-next"] => send(w, 200, text(), b"kept alive\n")?,
        ["no-answer"] => return Ok(false),
        ["weird", name] => {
            let answer =
                WEIRD.iter().find(|(n, _)| n == name).map_or(&b"HTTP/1.1 404 No\r\n\r\n"[..], |(_, a)| a);
            w.write_all(answer)?;
            w.flush()?;
            return Ok(false);
        }
        ["trailers"] => {
            w.write_all(TRAILERS)?;
            w.flush()?;
        }
        ["hang"] => {
            std::thread::sleep(Duration::from_secs(30));
            return Ok(false);
        }
        ["gzip"] => {
            // gzip only when asked for (a stored deflate block: no compressor needed).
            let plain = GZIP_TEXT.repeat(20);
            if head.header("accept-encoding").is_some_and(|v| v.contains("gzip")) {
                let mut h = text();
                h.push(("Content-Encoding".into(), "gzip".into()));
                send(w, 200, h, &gzip_stored(plain.as_bytes()))?;
            } else {
                send(w, 200, text(), plain.as_bytes())?;
            }
        }
        ["coded", codings] | ["coded", codings, _] => {
            let (body, named) = coded(GZIP_TEXT.repeat(20).as_bytes(), codings, segs.get(2).copied());
            let mut h = text();
            h.push(("Content-Encoding".into(), named));
            send(w, 200, h, &body)?;
        }
        ["pac", _] | ["wpad.dat"] => {
            let name = segs.get(1).copied().unwrap_or("wpad");
            let etag = format!("\"{name}\"");
            let mut h = vec![
                ("Content-Type".to_string(), "application/x-ns-proxy-autoconfig".to_string()),
                ("ETag".to_string(), etag.clone()),
                ("Last-Modified".to_string(), "Tue, 01 Dec 2026 00:00:00 GMT".to_string()),
            ];
            if head.header("if-none-match") == Some(etag.as_str()) {
                h.retain(|(n, _)| n != "Content-Type");
                send(w, 304, h, b"")?;
            } else {
                send(w, 200, h, pac_text(name).as_bytes())?;
            }
        }
        ["pac-script", name] => match PACS.iter().find(|(n, _)| n == name) {
            Some((_, pac)) => {
                let h = vec![("Content-Type".to_string(), "application/x-ns-proxy-autoconfig".to_string())];
                send(w, 200, h, pac.as_bytes())?;
            }
            None => send(w, 404, text(), b"no such PAC\n")?,
        },
        ["req", ..] => {
            let (p, q) = http::path_and_query(target);
            let mut s = if q.is_empty() { format!("{method} {p}\n") } else { format!("{method} {p}?{q}\n") };
            for name in
                http::query_param(&query, "h").unwrap_or_default().split(',').filter(|n| !n.is_empty())
            {
                s.push_str(&format!("{}: {}\n", name.to_ascii_lowercase(), head.header(name).unwrap_or("-")));
            }
            let mut out = s.into_bytes();
            out.extend_from_slice(body);
            send(w, 200, text(), &out)?;
        }
        ["json"] => {
            let h = vec![("Content-Type".to_string(), "application/json".to_string())];
            send(w, 200, h, b"{\"name\":\"toll\",\"ok\":true}\n")?;
        }
        ["empty"] => {
            send(w, 204, Vec::new(), b"")?;
        }
        ["mixed-case"] => {
            let h = vec![
                ("X-Zebra".to_string(), "last-first".to_string()),
                ("content-type".to_string(), "text/plain".to_string()),
                ("X-ALPHA".to_string(), "upper".to_string()),
                ("x-Mixed-Case".to_string(), "Value With Spaces".to_string()),
            ];
            send(w, 200, h, b"mixed\n")?;
        }
        ["basic-auth", user, pass] => {
            use base64::Engine;
            let want = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            if head.header("authorization") == Some(format!("Basic {want}").as_str()) {
                send(w, 200, text(), format!("authenticated as {user}\n").as_bytes())?;
            } else {
                let mut h = text();
                h.push(("WWW-Authenticate".into(), "Basic realm=\"origin\"".into()));
                send(w, 401, h, b"authentication required\n")?;
            }
        }
        [kind @ ("digest-auth" | "digest-auth-int"), user, pass] => {
            let qop = if *kind == "digest-auth" { "auth" } else { "auth-int" };
            // The user name percent-encoded in the path: a non-ASCII one is checked as its UTF-8.
            let user = &percent_encoding::percent_decode_str(user).decode_utf8_lossy().into_owned();
            if digest_ok(head.header("authorization"), (method, target, body), qop, user, pass) {
                // `?to=PATH`: authenticated, sent on there (an area with another scheme).
                match http::query_param(&query, "to") {
                    Some(to) => {
                        let mut h = text();
                        h.push(("Location".into(), to));
                        send(w, 302, h, b"redirecting\n")?;
                    }
                    None => send(w, 200, text(), format!("digest authenticated as {user}\n").as_bytes())?,
                }
            } else {
                let mut h = text();
                h.push((
                    "WWW-Authenticate".into(),
                    format!("Digest realm=\"origin\", nonce=\"0rigin-n0nce\", qop=\"{qop}\", algorithm=MD5"),
                ));
                send(w, 401, h, b"digest authentication required\n")?;
            }
        }
        ["cookie", "big"] => {
            let n: usize = http::query_param(&query, "n").and_then(|n| n.parse().ok()).unwrap_or(4095);
            let mut h = text();
            h.push(("Set-Cookie".into(), format!("big={}", "v".repeat(n.min(100_000)))));
            h.push(("Set-Cookie".into(), "ok=1".into()));
            send(w, 200, h, b"cookies set\n")?;
        }
        ["cookie", "raw", ..] => {
            let mut h = text();
            let values = http::query_param(&query, "v").unwrap_or_default();
            h.extend(values.split('|').map(|v| ("Set-Cookie".to_string(), v.to_string())));
            send(w, 200, h, b"cookies set\n")?;
        }
        ["cookie", "set"] => {
            let mut h = text();
            for kv in query.split('&').filter(|kv| !kv.is_empty()) {
                h.push(("Set-Cookie".into(), format!("{kv}; Path=/")));
            }
            send(w, 200, h, b"cookies set\n")?;
        }
        ["cookies"] => {
            let s = format!("cookie: {}\n", head.header("cookie").unwrap_or("-"));
            send(w, 200, text(), s.as_bytes())?;
        }
        ["disposition", name] => {
            let mut h = text();
            h.push(("Content-Disposition".into(), format!("attachment; filename=\"{name}\"")));
            send(w, 200, h, b"attachment body\n")?;
        }
        ["flaky", key] => {
            static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
            let n = {
                let mut seen = SEEN.lock().unwrap();
                // Per origin (the Host names its port): tests share this process.
                let key = format!("{}/{key}", head.header("host").unwrap_or(""));
                seen.push(key.clone());
                seen.iter().filter(|k| **k == key).count()
            };
            if n % 2 == 1 {
                let mut h = text();
                h.push(("Retry-After".into(), "1".into()));
                send(w, 503, h, b"busy\n")?;
            } else {
                send(w, 200, text(), b"recovered\n")?;
            }
        }
        ["retry-after", n] => {
            let mut h = text();
            h.push(("Retry-After".into(), n.to_string()));
            send(w, 503, h, b"try again later\n")?;
        }
        ["text"] | [""] => {
            send(w, 200, text(), b"hello from the origin\n")?;
        }
        _ => {
            send(w, 404, text(), b"no such route\n")?;
        }
    }
    Ok(true)
}

/// The PAC the origin serves at `/pac/NAME`: every URL through `NAME.example:3128`, else DIRECT.
pub fn pac_text(name: &str) -> String {
    format!("function FindProxyForURL(url, host) {{ return \"PROXY {name}.example:3128; DIRECT\"; }}\n")
}

/// The PACs `/pac/NAME` serves. `corp`: plain hosts and `.corp` DIRECT, `localhost` resolved
/// and matched with `isInNet`, the rest through two proxies; `broken`: a syntax error on line 2.
pub const PACS: &[(&str, &str)] = &[
    (
        "corp",
        "// served by the test origin\nfunction FindProxyForURL(url, host) {\n  alert(\"asked for \" + url);\n  if (isPlainHostName(host) || dnsDomainIs(host, \".corp\")) return \"DIRECT\";\n  if (host == \"localhost\" && isInNet(dnsResolve(host), \"127.0.0.0\", \"255.0.0.0\")) return \"DIRECT\";\n  return \"PROXY proxy-a.corp:8080; PROXY proxy-b.corp:8080; DIRECT\";\n}\n",
    ),
    ("broken", "function FindProxyForURL(url, host) {\n  return \"DIRECT\" +;\n}\n"),
];

/// Whether `header` answers the challenge for `(method, target, body)` with `qop`.
fn digest_ok(header: Option<&str>, request: (&str, &str, &[u8]), qop: &str, user: &str, pass: &str) -> bool {
    let (method, target, body) = request;
    let Some(params) = header.and_then(|h| h.strip_prefix("Digest ")) else { return false };
    let mut p = std::collections::HashMap::new();
    for part in params.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            p.insert(k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string());
        }
    }
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    if get("username") != user || get("nonce") != "0rigin-n0nce" || get("uri") != target || get("qop") != qop
    {
        return false;
    }
    let ha1 = crate::md5_hex(format!("{user}:origin:{pass}").as_bytes());
    let a2 = match qop {
        "auth-int" => format!("{method}:{}:{}", get("uri"), crate::md5_hex(body)),
        _ => format!("{method}:{}", get("uri")),
    };
    let ha2 = crate::md5_hex(a2.as_bytes());
    let want = crate::md5_hex(
        format!("{ha1}:{}:{}:{}:{}:{ha2}", get("nonce"), get("nc"), get("cnonce"), get("qop")).as_bytes(),
    );
    get("response") == want
}

pub const GZIP_TEXT: &str = "compressible text from the origin\n";

/// `/coded/…`'s body and `Content-Encoding` value.
fn coded(data: &[u8], codings: &str, mode: Option<&str>) -> (Vec<u8>, String) {
    use std::io::Write;
    let level = flate2::Compression::default();
    let mut body = data.to_vec();
    let mut named = Vec::new();
    for coding in codings.split(',') {
        body = match coding {
            "gzip" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
                e.write_all(&body).unwrap();
                e.finish().unwrap()
            }
            "deflate" => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
                e.write_all(&body).unwrap();
                e.finish().unwrap()
            }
            "rawdeflate" => {
                let mut e = flate2::write::DeflateEncoder::new(Vec::new(), level);
                e.write_all(&body).unwrap();
                e.finish().unwrap()
            }
            "br" => {
                let mut out = Vec::new();
                {
                    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                    w.write_all(&body).unwrap();
                }
                out
            }
            "zstd" => {
                let mut out = vec![0u8; body.len() + 1024];
                let n = zstd_safe::compress(&mut out[..], &body, 3).unwrap();
                out.truncate(n);
                out
            }
            _ => body,
        };
        named.push(if coding == "rawdeflate" { "deflate" } else { coding });
    }
    match mode {
        Some("cut") => body.truncate(body.len() / 2),
        Some("tail") => body.extend_from_slice(b"GARBAGE"),
        _ => {}
    }
    (body, named.join(", "))
}

/// A gzip member holding `data` in one stored (uncompressed) deflate block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    assert!(data.len() <= 0xFFFF);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let len = data.len() as u16;
    out.push(1); // BFINAL, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
