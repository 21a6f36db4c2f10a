//! SOCKS proxies, client side: toll serve's upstream SOCKS proxies (`-x socks5h://…`,
//! `ALL_PROXY=socks5://…`, a PAC's `SOCKS5 host:port`: a browser follows those, so toll serve
//! does too), and `--preproxy`, the SOCKS proxy the relay reaches an HTTP proxy through. A SOCKS
//! proxy only opens a TCP connection to the target; HTTP over it is the caller's (toll serve's
//! direct pool, or the relay's proxy connection). toll's own transfers through a SOCKS `-x` are
//! reqwest's.
//!
//! This file owns the client side of the SOCKS handshakes — SOCKS5 (RFC 1928) with user name and
//! password (RFC 1929), SOCKS4 and SOCKS4a — as pure encoders and parsers (fuzzed:
//! `fuzz/fuzz_targets/socks_reply.rs`) and one async driver ([`Hop::connect`]), and the
//! credentials of each SOCKS proxy: one broker per proxy for the process's life, so a password
//! the proxy rejected is never sent again by any later request (the lockout rule), until another
//! one is stored.
//!
//! Names: `socks5h`/`socks4a` let the proxy resolve the target's name (the proxy may see DNS
//! this machine cannot); `socks5`/`socks4` resolve it here (the caller's resolver: toll serve
//! never gives a client on another host this machine's loopback).

use crate::auth::Scheme;
use crate::config::ProxySpec;
use crate::creds::{CredentialBroker, CredentialRequest, Issued, SourceFactory};
use http::StatusCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The SOCKS dialect of a proxy URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SOCKS5; `remote`: the proxy resolves names (`socks5h`).
    V5 { remote: bool },
    /// SOCKS4; `remote`: SOCKS4a, the proxy resolves names.
    V4 { remote: bool },
}

impl Dialect {
    pub fn of(scheme: &str) -> Option<Dialect> {
        match scheme {
            "socks5h" => Some(Dialect::V5 { remote: true }),
            "socks5" => Some(Dialect::V5 { remote: false }),
            "socks4a" => Some(Dialect::V4 { remote: true }),
            "socks4" => Some(Dialect::V4 { remote: false }),
            _ => None,
        }
    }

    fn remote(self) -> bool {
        match self {
            Dialect::V5 { remote } | Dialect::V4 { remote } => remote,
        }
    }
}

/// Where the proxy is asked to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    Ip(IpAddr),
    Name(String),
}

/// A parser's verdict on the bytes read so far. Replies are read exactly to their end: what
/// follows a granted CONNECT is the tunnel's first bytes, which must not be swallowed.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// The message is this many bytes long in all (more than given): read up to there.
    Need(usize),
    /// The message, and how many bytes it took.
    Done(T, usize),
}

/// Bytes no SOCKS server may send.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

/// Authentication methods of RFC 1928 §3 that toll offers.
pub const NO_AUTH: u8 = 0x00;
pub const USER_PASSWORD: u8 = 0x02;
/// "No acceptable methods".
const NONE_ACCEPTABLE: u8 = 0xFF;

/// The SOCKS5 greeting: version 5, the methods toll can do. User name and password is always
/// offered; the credential is looked up only if the proxy chooses it (as a 407 asks for one).
pub fn greeting() -> [u8; 4] {
    [5, 2, NO_AUTH, USER_PASSWORD]
}

/// A message of `len` bytes whose first byte is one of `versions`, as a [`Parsed`] of its
/// second byte.
fn fixed(buf: &[u8], len: usize, versions: &[u8], not: &'static str) -> Result<Parsed<u8>, Malformed> {
    match buf {
        _ if buf.len() < len => Ok(Parsed::Need(len)),
        [v, ..] if !versions.contains(v) => Err(Malformed(not)),
        [_, second, ..] => Ok(Parsed::Done(*second, len)),
        _ => Err(Malformed(not)),
    }
}

/// The proxy's choice of method (RFC 1928 §3): `VER METHOD`.
pub fn method_choice(buf: &[u8]) -> Result<Parsed<u8>, Malformed> {
    fixed(buf, 2, &[5], "the answer to the greeting is not SOCKS5")
}

/// RFC 1929 §2: `VER=1 ULEN UNAME PLEN PASSWD`; each 1 to 255 bytes.
pub fn password_request(user: &str, password: &[u8]) -> Result<Vec<u8>, &'static str> {
    let fits = |n: usize| (1..=255).contains(&n);
    if !fits(user.len()) || !fits(password.len()) {
        return Err("SOCKS5 takes a user name and a password of 1 to 255 bytes each");
    }
    let mut v = Vec::with_capacity(3 + user.len() + password.len());
    v.extend_from_slice(&[1, user.len() as u8]);
    v.extend_from_slice(user.as_bytes());
    v.push(password.len() as u8);
    v.extend_from_slice(password);
    Ok(v)
}

/// RFC 1929 §2's answer, `VER STATUS`: whether the proxy took the user name and password.
pub fn password_status(buf: &[u8]) -> Result<Parsed<bool>, Malformed> {
    // RFC 1929 says version 1; some servers answer with 5 (the SOCKS version): both are read.
    Ok(match fixed(buf, 2, &[1, 5], "the answer to the user name and password is not RFC 1929's")? {
        Parsed::Done(status, n) => Parsed::Done(status == 0, n),
        Parsed::Need(n) => Parsed::Need(n),
    })
}

/// RFC 1928 §4: `VER=5 CMD=CONNECT RSV ATYP DST.ADDR DST.PORT`.
pub fn request5(dest: &Dest, port: u16) -> Result<Vec<u8>, &'static str> {
    let mut v = vec![5, 1, 0];
    match dest {
        Dest::Ip(IpAddr::V4(ip)) => {
            v.push(1);
            v.extend_from_slice(&ip.octets());
        }
        Dest::Ip(IpAddr::V6(ip)) => {
            v.push(4);
            v.extend_from_slice(&ip.octets());
        }
        Dest::Name(name) => {
            if name.is_empty() || name.len() > 255 {
                return Err("a host name SOCKS5 can carry has 1 to 255 bytes");
            }
            v.push(3);
            v.push(name.len() as u8);
            v.extend_from_slice(name.as_bytes());
        }
    }
    v.extend_from_slice(&port.to_be_bytes());
    Ok(v)
}

/// RFC 1928 §6: `VER REP RSV ATYP BND.ADDR BND.PORT`; the reply code (0: granted).
pub fn reply5(buf: &[u8]) -> Result<Parsed<u8>, Malformed> {
    if buf.len() < 5 {
        return Ok(Parsed::Need(5));
    }
    if buf[0] != 5 {
        return Err(Malformed("the answer to CONNECT is not SOCKS5"));
    }
    let addr = match buf[3] {
        1 => 4,
        4 => 16,
        3 => 1 + buf[4] as usize,
        _ => return Err(Malformed("the answer to CONNECT has an unknown address type")),
    };
    let total = 4 + addr + 2;
    if buf.len() < total {
        return Ok(Parsed::Need(total));
    }
    Ok(Parsed::Done(buf[1], total))
}

/// The SOCKS4 request: `VN=4 CD=1 DSTPORT DSTIP USERID NUL`, and for SOCKS4a a name after it
/// (`DSTIP` 0.0.0.x, x ≠ 0). SOCKS4 carries IPv4 only.
pub fn request4(dest: &Dest, port: u16, user: &str) -> Result<Vec<u8>, &'static str> {
    if user.contains('\0') {
        return Err("a SOCKS4 user id cannot hold a NUL byte");
    }
    let mut v = vec![4, 1];
    v.extend_from_slice(&port.to_be_bytes());
    match dest {
        Dest::Ip(IpAddr::V4(ip)) => {
            v.extend_from_slice(&ip.octets());
            v.extend_from_slice(user.as_bytes());
            v.push(0);
        }
        Dest::Ip(IpAddr::V6(_)) => return Err("SOCKS4 cannot reach an IPv6 address; use socks5h://"),
        Dest::Name(name) => {
            if name.is_empty() || name.contains('\0') {
                return Err("not a host name SOCKS4a can carry");
            }
            v.extend_from_slice(&[0, 0, 0, 1]);
            v.extend_from_slice(user.as_bytes());
            v.push(0);
            v.extend_from_slice(name.as_bytes());
            v.push(0);
        }
    }
    Ok(v)
}

/// The SOCKS4 reply: `VN=0 CD DSTPORT DSTIP`; the reply code (90: granted).
pub fn reply4(buf: &[u8]) -> Result<Parsed<u8>, Malformed> {
    // VN is 0 by the protocol; some servers put 4 there.
    fixed(buf, 8, &[0, 4], "the answer to CONNECT is not SOCKS4's")
}

/// Why a connection through a SOCKS proxy failed, as toll serve's client sees it: the status,
/// RFC 9209's error type, and the sentence for the body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failed {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    /// The proxy rejected the credential (or wants one toll has not got): its URL, for the
    /// body's `toll auth login` line.
    pub login: Option<String>,
    /// The proxy has just rejected a credential (and closed the connection, RFC 1929): another
    /// one, if a source has it, may be tried on a new connection.
    pub rejected: bool,
    /// The proxy wants a user name and password and no source has one (none was rejected).
    pub missing: bool,
}

impl Failed {
    pub fn new(status: StatusCode, kind: &'static str, message: String) -> Failed {
        Failed { status, kind, message, login: None, rejected: false, missing: false }
    }

    /// 502 `proxy_internal_error`: the proxy, or what it sent, is at fault.
    pub fn proxy(message: String) -> Failed {
        Failed::new(StatusCode::BAD_GATEWAY, "proxy_internal_error", message)
    }
}

/// The connection to the proxy failed during `step`: 504 when it stopped answering in time.
fn broke_off(proxy: &str, step: &str, e: std::io::Error) -> Failed {
    let (status, kind) = if e.kind() == std::io::ErrorKind::TimedOut {
        (StatusCode::GATEWAY_TIMEOUT, "connection_timeout")
    } else {
        (StatusCode::BAD_GATEWAY, "proxy_internal_error")
    };
    Failed::new(status, kind, format!("the SOCKS proxy {proxy} broke off {step}: {e}"))
}

/// A SOCKS5 reply code (RFC 1928 §6) as a failure.
fn refused5(proxy: &str, code: u8, target: &str) -> Failed {
    let (status, kind, why) = match code {
        2 => (StatusCode::FORBIDDEN, "http_request_denied", "its rules do not allow this connection"),
        3 => (StatusCode::BAD_GATEWAY, "destination_unavailable", "the network is unreachable"),
        4 => (StatusCode::BAD_GATEWAY, "destination_unavailable", "the host is unreachable"),
        5 => (StatusCode::BAD_GATEWAY, "connection_refused", "the connection was refused"),
        6 => (StatusCode::GATEWAY_TIMEOUT, "connection_timeout", "the connection timed out (TTL expired)"),
        7 => (StatusCode::BAD_GATEWAY, "proxy_internal_error", "it does not support CONNECT"),
        8 => (StatusCode::BAD_GATEWAY, "proxy_internal_error", "it does not support this address type"),
        _ => (StatusCode::BAD_GATEWAY, "proxy_internal_error", "a general failure"),
    };
    Failed::new(
        status,
        kind,
        format!("the SOCKS proxy {proxy} could not connect to {target}: {why} (code {code})"),
    )
}

/// A SOCKS4 reply code as a failure (90 is granted).
fn refused4(proxy: &str, code: u8, target: &str) -> Failed {
    let why = match code {
        91 => "rejected or failed",
        92 => "it could not reach this machine's identd",
        93 => "identd did not confirm the user id",
        _ => "an unknown reply",
    };
    Failed::new(
        StatusCode::BAD_GATEWAY,
        "connection_refused",
        format!("the SOCKS proxy {proxy} could not connect to {target}: {why} (code {code})"),
    )
}

/// Reads one message with `parse`, exactly to its end (at most 262 bytes: a SOCKS5 reply with a
/// 255-byte name).
async fn read_message<S, T>(
    s: &mut S,
    parse: impl Fn(&[u8]) -> Result<Parsed<T>, Malformed>,
) -> std::io::Result<Result<T, Malformed>>
where
    S: AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(16);
    loop {
        match parse(&buf) {
            Ok(Parsed::Done(t, _)) => return Ok(Ok(t)),
            Err(e) => return Ok(Err(e)),
            Ok(Parsed::Need(n)) => {
                let have = buf.len();
                buf.resize(n, 0);
                s.read_exact(&mut buf[have..]).await?;
            }
        }
    }
}

/// `f`, or a `TimedOut` error when it takes longer than `limit`.
async fn timed<T>(
    limit: std::time::Duration,
    f: impl std::future::Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    tokio::time::timeout(limit, f).await.unwrap_or_else(|_| {
        Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer within {limit:.0?}")))
    })
}

/// The SOCKS proxies toll serve has used, each with its credentials for the server's life
/// (shared by `toll serve`'s start-up check and the server, as the relay is).
pub struct Ways {
    sources: SourceFactory,
    brokers: Mutex<HashMap<Key, Arc<CredentialBroker>>>,
    rejections: Arc<crate::creds::Rejections>,
    /// For the log: a rejected credential is said once, when it happens.
    note: Box<dyn Fn(&str) + Send + Sync>,
}

impl Ways {
    pub fn new(
        sources: SourceFactory,
        rejections: Arc<crate::creds::Rejections>,
        note: Box<dyn Fn(&str) + Send + Sync>,
    ) -> Ways {
        Ways { sources, brokers: Mutex::new(HashMap::new()), rejections, note }
    }

    /// One broker per proxy and credentials in its URL (the credential sources depend on them).
    fn broker(&self, spec: &ProxySpec) -> Arc<CredentialBroker> {
        let mut map = self.brokers.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key(spec))
            .or_insert_with(|| {
                Arc::new(CredentialBroker::in_run((self.sources)(spec), &self.rejections, spec))
            })
            .clone()
    }
}

/// What tells SOCKS proxies apart for their credentials and connections: the URL without
/// credentials, and the user name and password in it. A new password in the URL (the settings
/// file, read again on SIGHUP) is a new way with a broker of its own, so it is tried; a
/// credential rejected before is still never sent again (the session remembers rejections
/// across brokers).
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    url: String,
    user: Option<String>,
    password: Option<crate::secret::Secret>,
}

/// Equal keys have the same URL and user: the password need not be hashed.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.url.hash(h);
        self.user.hash(h);
    }
}

pub fn key(spec: &ProxySpec) -> Key {
    Key { url: spec.display_url(), user: spec.user.clone(), password: spec.password.clone() }
}

/// Credentials tried in one connection attempt after the proxy rejected one (each on a new
/// connection): the next source's, or the prompt's next attempt (it allows three).
pub const LOGINS: usize = 3;

/// One SOCKS proxy as a way to targets: toll serve's direct connector, the relay's `--preproxy`.
pub struct Hop {
    pub spec: ProxySpec,
    dialect: Dialect,
    broker: Arc<CredentialBroker>,
    ways: Arc<Ways>,
    /// Whether this proxy rejected a credential already (the prompt says so when it asks again).
    rejected_one: std::sync::atomic::AtomicBool,
}

impl Hop {
    pub fn new(ways: &Arc<Ways>, spec: ProxySpec) -> Option<Hop> {
        let dialect = Dialect::of(&spec.scheme)?;
        Some(Hop {
            broker: ways.broker(&spec),
            spec,
            dialect,
            ways: ways.clone(),
            rejected_one: Default::default(),
        })
    }

    /// Whether names are resolved on this side (`socks5://`, `socks4://`).
    pub fn resolves_here(&self) -> bool {
        !self.dialect.remote()
    }

    /// SOCKS4 or 4a: IPv4 targets only.
    pub fn is_v4(&self) -> bool {
        matches!(self.dialect, Dialect::V4 { .. })
    }

    fn request(&self, after_rejection: bool) -> CredentialRequest {
        CredentialRequest { proxy: self.spec.clone(), scheme: Scheme::Basic, realm: None, after_rejection }
    }

    /// Asks the proxy, on `s` (connected to it), for a connection to `dest`:`port`. On success
    /// `s` carries the target's bytes from here on.
    /// `limit` bounds each exchange with the proxy, not the credential lookup between them: at
    /// start-up a person may take a while at the prompt.
    pub async fn handshake<S>(
        &self,
        s: &mut S,
        dest: &Dest,
        port: u16,
        limit: std::time::Duration,
    ) -> Result<(), Failed>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let proxy = self.spec.display_url();
        let target = match dest {
            Dest::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            Dest::Ip(ip) => format!("{ip}:{port}"),
            Dest::Name(n) => format!("{}:{port}", crate::term::sanitize(n)),
        };
        let broken = |e: std::io::Error| broke_off(&proxy, "the handshake", e);
        let malformed = |e: Malformed| Failed::proxy(format!("the SOCKS proxy {proxy}: {e}"));
        let unsendable = |why: &str| Failed::proxy(why.to_string());
        match self.dialect {
            Dialect::V4 { .. } => {
                let user = self.spec.user.as_deref().unwrap_or("");
                let req = request4(dest, port, user).map_err(unsendable)?;
                timed(limit, s.write_all(&req)).await.map_err(broken)?;
                match timed(limit, read_message(s, reply4)).await.map_err(broken)?.map_err(malformed)? {
                    90 => Ok(()),
                    code => Err(refused4(&proxy, code, &target)),
                }
            }
            Dialect::V5 { .. } => {
                timed(limit, s.write_all(&greeting())).await.map_err(broken)?;
                match timed(limit, read_message(s, method_choice))
                    .await
                    .map_err(broken)?
                    .map_err(malformed)?
                {
                    NO_AUTH => {}
                    USER_PASSWORD => self.log_in(s, &proxy, limit).await?,
                    NONE_ACCEPTABLE => {
                        let offered = "none, user name and password";
                        return Err(Failed::proxy(format!(
                            "the SOCKS proxy {proxy} accepts none of the methods toll offers ({offered})"
                        )));
                    }
                    other => {
                        return Err(malformed(Malformed(if other == 1 {
                            "it chose GSSAPI, which toll did not offer"
                        } else {
                            "it chose a method toll did not offer"
                        })))
                    }
                }
                let req = request5(dest, port).map_err(unsendable)?;
                timed(limit, s.write_all(&req)).await.map_err(broken)?;
                match timed(limit, read_message(s, reply5)).await.map_err(broken)?.map_err(malformed)? {
                    0 => Ok(()),
                    code => Err(refused5(&proxy, code, &target)),
                }
            }
        }
    }

    /// Where to ask this proxy to connect for `host`: the name itself when the proxy resolves
    /// names (or `host` is an address), else `host`'s addresses looked up here within `limit`
    /// (SOCKS4 carries IPv4 only; `v4`: only addresses of that family, for `-4`/`-6`). Empty
    /// when the name has none usable. With `doh` (`--doh-url`) the lookup is through it, and
    /// its failure is the error (no system lookup). toll serve's connector has its own lookup
    /// (its loopback rule for other hosts' clients).
    pub async fn dests(
        &self,
        host: &str,
        port: u16,
        v4: Option<bool>,
        limit: std::time::Duration,
        doh: Option<&crate::doh::Doh>,
    ) -> std::io::Result<Vec<Dest>> {
        if !self.resolves_here()
            || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok()
        {
            return Ok(vec![dest_for(host)]);
        }
        let late = || std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time");
        let found: Vec<IpAddr> = match doh {
            Some(doh) => tokio::time::timeout(limit, doh.lookup(host))
                .await
                .map_err(|_| late())?
                .map_err(std::io::Error::other)?,
            None => tokio::time::timeout(limit, tokio::net::lookup_host((host, port)))
                .await
                .unwrap_or_else(|_| Err(late()))?
                .map(|a| a.ip())
                .collect(),
        };
        Ok(found
            .into_iter()
            .filter(|ip| !self.is_v4() || ip.is_ipv4())
            .filter(|ip| v4.is_none_or(|v4| ip.is_ipv4() == v4))
            .map(Dest::Ip)
            .collect())
    }

    /// A connection to `port` at one of `dests` (a name's addresses, each in turn while the
    /// proxy says that one cannot be reached, as a direct connection tries them all), through
    /// this proxy: `open` makes each new connection to the proxy. After a rejected password the
    /// next credential, if a source has one, is tried on a new connection (RFC 1929: the proxy
    /// closes the old one), at most [`LOGINS`] times.
    pub async fn connect<S, F, Fut>(
        &self,
        dests: &[Dest],
        port: u16,
        limit: std::time::Duration,
        mut open: F,
    ) -> Result<S, Failed>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<S, Failed>>,
    {
        let (mut logins, mut i) = (0, 0);
        loop {
            let Some(dest) = dests.get(i) else {
                return Err(Failed::proxy(format!(
                    "no address to give the SOCKS proxy {}",
                    self.spec.display_url()
                )));
            };
            let mut stream = open().await?;
            match self.handshake(&mut stream, dest, port, limit).await {
                Ok(()) => return Ok(stream),
                Err(f) if f.rejected && logins < LOGINS => logins += 1,
                Err(f)
                    if matches!(f.kind, "destination_unavailable" | "connection_refused")
                        && i + 1 < dests.len() =>
                {
                    i += 1
                }
                Err(f) => return Err(f),
            }
        }
    }

    /// RFC 1929, with the lockout rule: a credential the proxy rejects is never sent again.
    async fn log_in<S>(&self, s: &mut S, proxy: &str, limit: std::time::Duration) -> Result<(), Failed>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let issued = match self.broker.get_accepted() {
            Some(i) => Ok(i),
            None => {
                // Sources may block (the keyring): off the async worker.
                let broker = self.broker.clone();
                let req = self.request(self.rejected_one.load(std::sync::atomic::Ordering::Relaxed));
                tokio::task::spawn_blocking(move || broker.get(&req))
                    .await
                    .map_err(|e| Failed::proxy(format!("credential lookup failed: {e}")))?
            }
        };
        let issued: Issued = issued.map_err(|ex| {
            let mut message = if ex.rejected.is_empty() {
                format!("the SOCKS proxy {proxy} wants a user name and password, and none is configured")
            } else {
                format!(
                    "the SOCKS proxy {proxy} rejected the password from {}; it is not sent again",
                    ex.rejected.join(", ")
                )
            };
            for why in &ex.incomplete {
                message.push_str(&format!("; {why}"));
            }
            Failed {
                login: Some(proxy.to_string()),
                missing: ex.rejected.is_empty(),
                ..Failed::proxy(message)
            }
        })?;
        let unsendable = |why: &str| Failed::proxy(why.to_string());
        // Zeroed when dropped, like the `Secret` it copies.
        let req = zeroize::Zeroizing::new(
            password_request(&issued.creds.user, issued.creds.password.expose().as_bytes())
                .map_err(unsendable)?,
        );
        let broken = |e: std::io::Error| broke_off(proxy, "the log-in", e);
        timed(limit, s.write_all(&req)).await.map_err(broken)?;
        drop(req);
        let ok = timed(limit, read_message(s, password_status))
            .await
            .map_err(broken)?
            .map_err(|e| Failed::proxy(format!("the SOCKS proxy {proxy}: {e}")))?;
        let req = self.request(!ok);
        if ok {
            self.broker.accept(&req, &issued);
            return Ok(());
        }
        self.broker.reject(&req, &issued);
        self.rejected_one.store(true, std::sync::atomic::Ordering::Relaxed);
        (self.ways.note)(&format!(
            "the SOCKS proxy {proxy} rejected the password for user {:?} from {}; it will not be sent again",
            crate::term::sanitize(&issued.creds.user),
            issued.source
        ));
        Err(Failed {
            login: Some(proxy.to_string()),
            rejected: true,
            ..Failed::proxy(format!(
                "the SOCKS proxy {proxy} rejected the password for user {:?} from {}; it is not sent again",
                crate::term::sanitize(&issued.creds.user),
                issued.source
            ))
        })
    }
}

/// The destination to ask for when the proxy resolves names (or the target is a literal).
pub fn dest_for(host: &str) -> Dest {
    match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => Dest::Ip(ip),
        Err(_) => Dest::Name(host.to_string()),
    }
}

#[cfg(test)]
mod tests;
