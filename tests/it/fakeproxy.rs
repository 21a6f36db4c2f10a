//! Scripted in-process proxies (raw TCP, one thread per connection) for the behaviours Squid
//! will not produce on demand. A script decides, per request, what the proxy does; every request
//! is recorded with its connection number and `Proxy-Authorization` so tests can count exactly
//! what toll sent.
//!
//! [`Action::Allow`] makes the proxy do its job: a CONNECT gets `200` and a byte tunnel to the
//! target; an absolute-form request is forwarded to the origin (as a real proxy does, without
//! `Proxy-Authorization`) and the response relayed with a `Content-Length`.

use crate::http::{self, Head};
use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct ProxyRequest {
    /// Connection number, from 1, in accept order.
    pub conn: usize,
    /// Request number on its connection, from 1.
    pub seq_on_conn: usize,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl ProxyRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn proxy_authorization(&self) -> Option<&str> {
        self.header("proxy-authorization")
    }

    pub fn is_connect(&self) -> bool {
        self.method.eq_ignore_ascii_case("CONNECT")
    }

    /// toll's check whether the proxy itself demands authentication, made before it answers a
    /// 407 to a forwarded (http://) request: `CONNECT host:443` without credentials. (No test
    /// origin listens on port 443.)
    pub fn is_auth_probe(&self) -> bool {
        self.is_connect() && self.target.ends_with(":443") && self.proxy_authorization().is_none()
    }

    /// Decoded Basic credentials, if the request carries Basic `Proxy-Authorization`.
    pub fn basic_credentials(&self) -> Option<(String, String)> {
        basic_credentials(self.proxy_authorization()?)
    }

    /// The Digest parameters of `Proxy-Authorization`, if it is Digest.
    pub fn digest_params(&self) -> Option<HashMap<String, String>> {
        let (scheme, params) = parse_auth(self.proxy_authorization()?);
        scheme.eq_ignore_ascii_case("digest").then_some(params)
    }
}

pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, token) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Parses `Scheme k=v, k="v, w", …` into (scheme, lower-cased keys → unquoted values).
pub fn parse_auth(header: &str) -> (String, HashMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        if chars.peek().is_none() {
            break;
        }
    }
    (scheme.to_string(), params)
}

/// What the proxy does with one request.
pub enum Action {
    /// Do the proxy's job (tunnel or forward).
    Allow,
    /// Forward like a careless open proxy: every header, `Proxy-Authorization` included, goes
    /// on to the origin.
    AllowLeaky,
    Reply(Reply),
    /// Write these bytes; then close if `close`.
    Raw {
        bytes: Vec<u8>,
        close: bool,
    },
    /// Close the connection without a word.
    Close,
    /// Write `bytes` in pieces of `chunk` bytes, `delay` apart (a slowloris proxy); then close.
    Trickle {
        bytes: Vec<u8>,
        chunk: usize,
        delay: std::time::Duration,
    },
    /// Say nothing for `0` (the connection stays open), then close.
    Hang(std::time::Duration),
    /// A 407 status line and then one header field `len` bytes long, streamed (never whole in
    /// memory here), until the client stops reading.
    HugeHeader(usize),
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunked: bool,
    pub close: bool,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Vec::new(), chunked: false, close: false }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: &[u8]) -> Reply {
        self.body = body.to_vec();
        self
    }

    pub fn chunked(mut self) -> Reply {
        self.chunked = true;
        self
    }

    pub fn close(mut self) -> Reply {
        self.close = true;
        self
    }

    pub fn into_action(self) -> Action {
        Action::Reply(self)
    }
}

/// A Squid-like 407: one `Proxy-Authenticate` per challenge, keep-alive, a ~3 KB HTML body.
pub fn reply_407(challenges: &[&str]) -> Reply {
    let mut r = Reply::new(407)
        .header("Content-Type", "text/html;charset=utf-8")
        .header("X-Squid-Error", "ERR_CACHE_ACCESS_DENIED 0")
        .body(html_body().as_bytes());
    for c in challenges {
        r = r.header("Proxy-Authenticate", c);
    }
    r
}

fn html_body() -> String {
    let mut s =
        String::from("<!DOCTYPE html><html><head><title>ERROR: Cache Access Denied</title></head><body>\n");
    while s.len() < 3000 {
        s.push_str("<p>Sorry, you are not currently allowed to request this URL.</p>\n");
    }
    s.push_str("</body></html>\n");
    s
}

pub type Script = Arc<dyn Fn(&ProxyRequest) -> Action + Send + Sync>;

pub struct FakeProxy {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<ProxyRequest>>>,
    conns: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeProxy {
    pub fn start(script: impl Fn(&ProxyRequest) -> Action + Send + Sync + 'static) -> FakeProxy {
        Self::start_on("127.0.0.1:0", script).expect("bind fake proxy")
    }

    pub fn start_on(
        bind: &str,
        script: impl Fn(&ProxyRequest) -> Action + Send + Sync + 'static,
    ) -> io::Result<FakeProxy> {
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let conns = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Script = Arc::new(script);
        let (l2, c2, s2) = (log.clone(), conns.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let id = c2.fetch_add(1, Ordering::SeqCst) + 1;
                let (log, script) = (l2.clone(), script.clone());
                std::thread::spawn(move || {
                    let _ = handle(conn, id, &script, &log);
                });
            }
        });
        Ok(FakeProxy { addr, log, conns, stop })
    }

    /// `http://127.0.0.1:PORT` (or `http://[::1]:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests toll sent for the transfer itself; its auth probes are in [`Self::probes`]
    /// (so counts like "one 407 per run" keep meaning the request's own legs).
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.log.lock().unwrap().iter().filter(|r| !r.is_auth_probe()).cloned().collect()
    }

    /// toll's auth probes (see [`ProxyRequest::is_auth_probe`]).
    pub fn probes(&self) -> Vec<ProxyRequest> {
        self.log.lock().unwrap().iter().filter(|r| r.is_auth_probe()).cloned().collect()
    }

    /// Number of TCP connections accepted so far, not counting those that carried only an
    /// auth probe of toll's (see [`Self::probes`]).
    pub fn connections(&self) -> usize {
        let log = self.log.lock().unwrap();
        let probe_only = log
            .iter()
            .filter(|r| r.is_auth_probe())
            .map(|r| r.conn)
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .filter(|c| log.iter().all(|r| r.conn != *c || r.is_auth_probe()))
            .count();
        self.conns.load(Ordering::SeqCst) - probe_only
    }

    /// One line per request, for assertion messages.
    pub fn summary(&self) -> String {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "  conn {} #{}: {} {}  Proxy-Authorization: {}{}\n",
                    r.conn,
                    r.seq_on_conn,
                    r.method,
                    r.target,
                    r.proxy_authorization().unwrap_or("-"),
                    if r.is_auth_probe() { "  (auth probe)" } else { "" }
                )
            })
            .collect()
    }
}

impl Drop for FakeProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn handle(stream: TcpStream, conn: usize, script: &Script, log: &Mutex<Vec<ProxyRequest>>) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut seq = 0;
    loop {
        let Some(head) = http::read_head(&mut reader)? else {
            return Ok(());
        };
        seq += 1;
        let (method, target) = head.parts();
        let connect = method.eq_ignore_ascii_case("CONNECT");
        let body = if connect { Vec::new() } else { http::read_request_body(&mut reader, &head)? };
        let req = ProxyRequest {
            conn,
            seq_on_conn: seq,
            method: method.clone(),
            target: target.clone(),
            headers: head.headers.clone(),
        };
        log.lock().unwrap().push(req.clone());
        match script(&req) {
            Action::Allow | Action::AllowLeaky if connect => return tunnel(reader, writer, &target),
            a @ (Action::Allow | Action::AllowLeaky) => {
                let leaky = matches!(a, Action::AllowLeaky);
                if let Err(e) = forward(&mut writer, &head, &body, &method, &target, leaky) {
                    let msg = format!("fake proxy: forwarding failed: {e}\n");
                    let _ = http::write_message(
                        &mut writer,
                        "HTTP/1.1 502 Bad Gateway",
                        &[("Connection".into(), "close".into())],
                        msg.as_bytes(),
                        true,
                    );
                    return Ok(());
                }
                if head.has_token("proxy-connection", "close") || head.has_token("connection", "close") {
                    return Ok(());
                }
            }
            Action::Reply(r) => {
                let mut headers = r.headers.clone();
                headers.push(("Connection".into(), if r.close { "close" } else { "keep-alive" }.into()));
                let start = format!("HTTP/1.1 {} {}", r.status, http::reason(r.status));
                if r.chunked {
                    headers.push(("Transfer-Encoding".into(), "chunked".into()));
                    http::write_message(&mut writer, &start, &headers, &http::chunked(&r.body, 700), false)?;
                } else {
                    http::write_message(&mut writer, &start, &headers, &r.body, true)?;
                }
                if r.close {
                    let _ = writer.shutdown(Shutdown::Write);
                    drain_briefly(&mut reader);
                    return Ok(());
                }
            }
            Action::Raw { bytes, close } => {
                writer.write_all(&bytes)?;
                writer.flush()?;
                if close {
                    let _ = writer.shutdown(Shutdown::Write);
                    drain_briefly(&mut reader);
                    return Ok(());
                }
            }
            Action::Close => {
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            Action::Trickle { bytes, chunk, delay } => {
                for piece in bytes.chunks(chunk.max(1)) {
                    writer.write_all(piece)?;
                    writer.flush()?;
                    std::thread::sleep(delay);
                }
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            Action::Hang(d) => {
                std::thread::sleep(d);
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            Action::HugeHeader(len) => {
                writer.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nX-Huge: ")?;
                let block = vec![b'a'; 64 * 1024];
                let mut left = len;
                while left > 0 {
                    let n = left.min(block.len());
                    writer.write_all(&block[..n])?;
                    left -= n;
                }
                writer.write_all(b"\r\n\r\n")?;
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
    }
}

/// After a half-close, read what the client still sends (briefly) so the close is a FIN, not a
/// RST that could eat the response we just wrote.
fn drain_briefly(reader: &mut BufReader<TcpStream>) {
    let _ = reader.get_ref().set_read_timeout(Some(std::time::Duration::from_millis(500)));
    let mut buf = [0u8; 4096];
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

fn tunnel(reader: BufReader<TcpStream>, mut client: TcpStream, target: &str) -> io::Result<()> {
    let upstream =
        target.to_socket_addrs().ok().and_then(|mut a| a.next()).and_then(|a| TcpStream::connect(a).ok());
    let Some(mut upstream) = upstream else {
        http::write_message(
            &mut client,
            "HTTP/1.1 502 Bad Gateway",
            &[("Connection".into(), "close".into())],
            b"fake proxy: cannot reach the CONNECT target\n",
            true,
        )?;
        return Ok(());
    };
    let _ = upstream.set_nodelay(true);
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    client.flush()?;
    let pending = reader.buffer().to_vec();
    if !pending.is_empty() {
        upstream.write_all(&pending)?;
    }
    let mut from_client = reader.into_inner();
    let mut to_upstream = upstream.try_clone()?;
    let t = std::thread::spawn(move || {
        let _ = io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = t.join();
    Ok(())
}

const HOP_BY_HOP: &[&str] = &[
    "proxy-authorization",
    "proxy-connection",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "upgrade",
    // The body has been read whole before it is forwarded: the origin's `100 Continue` would
    // be taken for its answer.
    "expect",
];

fn forward(
    client: &mut TcpStream,
    head: &Head,
    body: &[u8],
    method: &str,
    target: &str,
    leaky: bool,
) -> io::Result<()> {
    let rest = target
        .strip_prefix("http://")
        .ok_or_else(|| io::Error::other(format!("not an absolute http URL: {target}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority.to_socket_addrs()?.next().ok_or_else(|| io::Error::other("no address"))?;
    let up = TcpStream::connect(addr)?;
    let mut up_reader = BufReader::new(up.try_clone()?);
    let mut up_writer = up;
    let mut headers: Vec<(String, String)> = head
        .headers
        .iter()
        .filter(|(n, _)| {
            !HOP_BY_HOP.iter().any(|h| n.eq_ignore_ascii_case(h))
                || (leaky && n.eq_ignore_ascii_case("proxy-authorization"))
        })
        .cloned()
        .collect();
    headers.push(("Connection".into(), "close".into()));
    headers.push(("Via".into(), "1.1 toll-fake-proxy".into()));
    let with_length = !body.is_empty() || head.content_length().is_some() || head.is_chunked();
    http::write_message(&mut up_writer, &format!("{method} {path} HTTP/1.1"), &headers, body, with_length)?;
    let resp = http::read_head(&mut up_reader)?
        .ok_or_else(|| io::Error::other("origin closed without a response"))?;
    let resp_body = http::read_response_body(&mut up_reader, &resp, method)?;
    let is_head = method.eq_ignore_ascii_case("HEAD");
    let mut out_headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .filter(|(n, _)| {
            !HOP_BY_HOP.iter().any(|h| n.eq_ignore_ascii_case(h))
                || (is_head && n.eq_ignore_ascii_case("content-length"))
        })
        .cloned()
        .collect();
    out_headers.push(("Connection".into(), "keep-alive".into()));
    http::write_message(client, &resp.start, &out_headers, &resp_body, !is_head)
}

// ---------------------------------------------------------------------------------------------
// Ready-made scripts.

/// No authentication: every request is allowed.
pub fn open() -> impl Fn(&ProxyRequest) -> Action + Send + Sync + 'static {
    |_| Action::Allow
}

/// Basic: allows `user:pass`, otherwise a Squid-like 407 `Basic realm="fake"`.
pub fn basic(user: &str, pass: &str) -> impl Fn(&ProxyRequest) -> Action + Send + Sync + 'static {
    let (user, pass) = (user.to_string(), pass.to_string());
    move |req| match req.basic_credentials() {
        Some((u, p)) if u == user && p == pass => Action::Allow,
        _ => reply_407(&["Basic realm=\"fake\""]).into_action(),
    }
}

/// A Digest (MD5, qop=auth) proxy that really verifies the response.
pub struct DigestProxy {
    pub realm: String,
    user: String,
    pass: String,
    /// Answer the first valid response with `stale=true` and a new nonce (once).
    stale_once: bool,
    stale_served: AtomicBool,
    counter: AtomicUsize,
    /// nonce → highest nc seen.
    nonces: Mutex<HashMap<String, u64>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DigestVerdict {
    Missing,
    Valid { nonce: String, nc: u64 },
    Invalid(String),
}

impl DigestProxy {
    pub fn new(user: &str, pass: &str, stale_once: bool) -> Arc<DigestProxy> {
        Arc::new(DigestProxy {
            realm: "fake-digest".into(),
            user: user.into(),
            pass: pass.into(),
            stale_once,
            stale_served: AtomicBool::new(false),
            counter: AtomicUsize::new(0),
            nonces: Mutex::new(HashMap::new()),
        })
    }

    pub fn new_nonce(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let nonce = crate::md5_hex(format!("{t}-{n}-{:p}", self).as_bytes());
        self.nonces.lock().unwrap().insert(nonce.clone(), 0);
        nonce
    }

    pub fn challenge(&self, stale: bool) -> String {
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", qop=\"auth\", algorithm=MD5, stale={}",
            self.realm,
            self.new_nonce(),
            if stale { "true" } else { "false" }
        )
    }

    pub fn verify(&self, req: &ProxyRequest) -> DigestVerdict {
        let Some(p) = req.digest_params() else {
            return match req.proxy_authorization() {
                None => DigestVerdict::Missing,
                Some(h) => DigestVerdict::Invalid(format!("not Digest: {h}")),
            };
        };
        let get = |k: &str| p.get(k).cloned().unwrap_or_default();
        let (nonce, uri, nc_s, cnonce, qop) =
            (get("nonce"), get("uri"), get("nc"), get("cnonce"), get("qop"));
        if get("username") != self.user {
            return DigestVerdict::Invalid(format!("username {:?}", get("username")));
        }
        if get("realm") != self.realm {
            return DigestVerdict::Invalid(format!("realm {:?}", get("realm")));
        }
        if let Some(a) = p.get("algorithm") {
            if !a.eq_ignore_ascii_case("md5") {
                return DigestVerdict::Invalid(format!("algorithm {a}"));
            }
        }
        let uri_ok = if req.is_connect() {
            uri == req.target
        } else {
            let (path, query) = http::path_and_query(&req.target);
            let origin_form = if query.is_empty() { path } else { format!("{path}?{query}") };
            uri == req.target || uri == origin_form
        };
        if !uri_ok {
            return DigestVerdict::Invalid(format!("uri {uri:?} for target {:?}", req.target));
        }
        let ha1 = crate::md5_hex(format!("{}:{}:{}", self.user, self.realm, self.pass).as_bytes());
        let ha2 = crate::md5_hex(format!("{}:{}", req.method, uri).as_bytes());
        let expected = if qop.is_empty() {
            crate::md5_hex(format!("{ha1}:{nonce}:{ha2}").as_bytes())
        } else if qop == "auth" {
            crate::md5_hex(format!("{ha1}:{nonce}:{nc_s}:{cnonce}:{qop}:{ha2}").as_bytes())
        } else {
            return DigestVerdict::Invalid(format!("qop {qop}"));
        };
        if !get("response").eq_ignore_ascii_case(&expected) {
            return DigestVerdict::Invalid("wrong response (password)".into());
        }
        let nc = u64::from_str_radix(&nc_s, 16).unwrap_or(0);
        let mut nonces = self.nonces.lock().unwrap();
        match nonces.get_mut(&nonce) {
            None => DigestVerdict::Invalid(format!("unknown nonce {nonce}")),
            Some(last) if !qop.is_empty() && nc <= *last => {
                DigestVerdict::Invalid(format!("nc {nc} not above {last} (replay)"))
            }
            Some(last) => {
                *last = nc;
                DigestVerdict::Valid { nonce, nc }
            }
        }
    }

    /// The proxy's script.
    pub fn script(self: &Arc<Self>) -> impl Fn(&ProxyRequest) -> Action + Send + Sync + 'static {
        let me = self.clone();
        move |req| match me.verify(req) {
            DigestVerdict::Valid { .. } => {
                if me.stale_once && !me.stale_served.swap(true, Ordering::SeqCst) {
                    reply_407(&[&me.challenge(true)]).into_action()
                } else {
                    Action::Allow
                }
            }
            DigestVerdict::Missing | DigestVerdict::Invalid(_) => {
                reply_407(&[&me.challenge(false)]).into_action()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// An https:// proxy: a TLS terminator (test CA) in front of a scripted proxy.

/// A scripted proxy reached over TLS (`-x https://127.0.0.1:PORT`), certificate from the test
/// CA. Requests are recorded by the inner plain proxy.
pub struct TlsFakeProxy {
    pub inner: FakeProxy,
    pub addr: SocketAddr,
}

impl TlsFakeProxy {
    pub fn start(script: impl Fn(&ProxyRequest) -> Action + Send + Sync + 'static) -> TlsFakeProxy {
        Self::start_with(crate::tls::pki().server_config.clone(), script)
    }

    /// With TLS settings of its own (narrower suites, say).
    pub fn start_with(
        config: std::sync::Arc<rustls::ServerConfig>,
        script: impl Fn(&ProxyRequest) -> Action + Send + Sync + 'static,
    ) -> TlsFakeProxy {
        let inner = FakeProxy::start(script);
        let backend = inner.addr;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind TLS front");
        let addr = listener.local_addr().unwrap();
        let stop = inner.stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = terminate_tls(conn, backend, config);
                });
            }
        });
        TlsFakeProxy { inner, addr }
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for TlsFakeProxy {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Terminates TLS on `client` and passes the plaintext to and from `backend`, both ways, until
/// either side closes. One rustls connection shared by the two directions under a mutex; no
/// lock is held across a blocking read.
fn terminate_tls(
    client: TcpStream,
    backend: SocketAddr,
    config: std::sync::Arc<rustls::ServerConfig>,
) -> io::Result<()> {
    let _ = client.set_nodelay(true);
    let mut conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut sock = client.try_clone()?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)?;
    }
    let mut back = TcpStream::connect(backend)?;
    let _ = back.set_nodelay(true);
    // Plaintext that arrived with the end of the handshake.
    let mut early = Vec::new();
    let _ = conn.reader().read_to_end(&mut early);
    back.write_all(&early)?;

    let conn = Arc::new(Mutex::new(conn));
    let (c1, mut sock_in, mut sock_out1, mut back_w) =
        (conn.clone(), client.try_clone()?, client.try_clone()?, back.try_clone()?);
    let up = std::thread::spawn(move || -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = sock_in.read(&mut buf)?;
            if n == 0 {
                let _ = back_w.shutdown(Shutdown::Write);
                return Ok(());
            }
            let mut plain = Vec::new();
            {
                let mut c = c1.lock().unwrap();
                let mut slice = &buf[..n];
                while !slice.is_empty() {
                    c.read_tls(&mut slice)?;
                    c.process_new_packets().map_err(io::Error::other)?;
                    let mut chunk = [0u8; 16 * 1024];
                    loop {
                        match c.reader().read(&mut chunk) {
                            Ok(0) => break,
                            Ok(k) => plain.extend_from_slice(&chunk[..k]),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        }
                    }
                }
                while c.wants_write() {
                    c.write_tls(&mut sock_out1)?;
                }
            }
            back_w.write_all(&plain)?;
        }
    });
    let mut sock_out = client;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = back.read(&mut buf).unwrap_or(0);
        let mut c = conn.lock().unwrap();
        if n == 0 {
            c.send_close_notify();
        } else {
            c.writer().write_all(&buf[..n])?;
        }
        while c.wants_write() {
            c.write_tls(&mut sock_out)?;
        }
        if n == 0 {
            let _ = sock_out.shutdown(Shutdown::Write);
            break;
        }
    }
    let _ = up.join();
    Ok(())
}
