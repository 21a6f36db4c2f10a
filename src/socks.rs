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
    /// For the log: a rejected credential is said once, when it happens.
    note: Box<dyn Fn(&str) + Send + Sync>,
}

impl Ways {
    pub fn new(sources: SourceFactory, note: Box<dyn Fn(&str) + Send + Sync>) -> Ways {
        Ways { sources, brokers: Mutex::new(HashMap::new()), note }
    }

    /// One broker per proxy and credentials in its URL (the credential sources depend on them).
    fn broker(&self, spec: &ProxySpec) -> Arc<CredentialBroker> {
        let mut map = self.brokers.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key(spec)).or_insert_with(|| Arc::new(CredentialBroker::new((self.sources)(spec)))).clone()
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
mod tests {
    use super::*;
    use crate::creds::{CredentialSource, FixedSource};
    use crate::secret::Secret;

    /// Every parser: a message's prefixes all ask for more, and it is read exactly to its end.
    fn exact<T: std::fmt::Debug + PartialEq>(
        parse: impl Fn(&[u8]) -> Result<Parsed<T>, Malformed>,
        msg: &[u8],
    ) {
        let mut with_more = msg.to_vec();
        with_more.extend_from_slice(b"tunnel bytes");
        let Ok(Parsed::Done(whole, used)) = parse(&with_more) else { panic!("{msg:?} is whole") };
        assert_eq!(used, msg.len(), "{msg:?}");
        for k in 0..msg.len() {
            match parse(&msg[..k]) {
                Ok(Parsed::Need(n)) => assert!(n > k && n <= msg.len(), "{k} → {n}"),
                other => panic!("a prefix of {k} bytes: {other:?}"),
            }
        }
        assert_eq!(parse(msg), Ok(Parsed::Done(whole, used)));
    }

    #[test]
    fn replies_are_read_exactly_to_their_end() {
        exact(method_choice, &[5, 2]);
        exact(password_status, &[1, 0]);
        exact(reply5, &[5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]);
        exact(reply5, &[5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80]);
        exact(reply5, &[5, 5, 0, 3, 3, b'a', b'b', b'c', 0, 80]);
        exact(reply4, &[0, 90, 0, 80, 10, 0, 0, 1]);
        assert_eq!(reply5(&[5, 0, 0, 3, 3, b'a', b'b', b'c', 0, 80]), Ok(Parsed::Done(0, 10)));
        assert_eq!(password_status(&[1, 1]), Ok(Parsed::Done(false, 2)));
        assert!(reply5(&[4, 0, 0, 1, 0]).is_err());
        assert!(reply5(&[5, 0, 0, 9, 0]).is_err(), "unknown address type");
        assert!(method_choice(&[4, 0]).is_err());
        assert!(reply4(&[5, 90, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn requests_follow_the_rfcs() {
        assert_eq!(greeting(), [5, 2, 0, 2]);
        assert_eq!(
            request5(&Dest::Name("example.com".into()), 443).unwrap(),
            [&[5, 1, 0, 3, 11][..], b"example.com", &[1, 0xbb]].concat()
        );
        assert_eq!(
            request5(&Dest::Ip("10.1.2.3".parse().unwrap()), 80).unwrap(),
            [5, 1, 0, 1, 10, 1, 2, 3, 0, 80]
        );
        let v6 = request5(&Dest::Ip("::1".parse().unwrap()), 80).unwrap();
        assert_eq!((v6[3], v6.len(), v6[19]), (4, 22, 1));
        assert!(request5(&Dest::Name("a".repeat(256)), 80).is_err());
        assert_eq!(password_request("al", b"pw").unwrap(), [1, 2, b'a', b'l', 2, b'p', b'w']);
        assert!(password_request("", b"pw").is_err() && password_request("u", &[b'x'; 256]).is_err());
        assert_eq!(
            request4(&Dest::Ip("10.0.0.1".parse().unwrap()), 80, "bob").unwrap(),
            [4, 1, 0, 80, 10, 0, 0, 1, b'b', b'o', b'b', 0]
        );
        assert_eq!(
            request4(&Dest::Name("h".into()), 80, "").unwrap(),
            [4, 1, 0, 80, 0, 0, 0, 1, 0, b'h', 0],
            "SOCKS4a: 0.0.0.1 and the name after the user id"
        );
        assert!(request4(&Dest::Ip("::1".parse().unwrap()), 80, "").is_err());
        assert!(request4(&Dest::Name("h".into()), 80, "a\0b").is_err());
    }

    #[test]
    fn literals_go_as_addresses_and_names_as_names() {
        assert_eq!(dest_for("host"), Dest::Name("host".into()));
        assert_eq!(dest_for("[::1]"), Dest::Ip("::1".parse().unwrap()));
        assert_eq!(dest_for("10.0.0.1"), Dest::Ip("10.0.0.1".parse().unwrap()));
    }

    const LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

    fn ways(password: &str) -> Arc<Ways> {
        let password = password.to_string();
        let sources: SourceFactory = Arc::new(move |_: &ProxySpec| {
            vec![Box::new(FixedSource::new("-U", "alice", Some(Secret::from(password.clone()))))
                as Box<dyn CredentialSource>]
        });
        Arc::new(Ways::new(sources, Box::new(|_| {})))
    }

    fn spec(scheme: &str) -> ProxySpec {
        ProxySpec {
            scheme: scheme.into(),
            host: "127.0.0.1".into(),
            port: 1080,
            user: None,
            password: None,
            origin: "-x".into(),
        }
    }

    /// A proxy is one way per URL and credentials in it: the same URL again shares the broker
    /// (and its verdicts); a new password in it (desktop settings read again on SIGHUP) gets a
    /// broker of its own, so it is tried.
    #[test]
    fn a_new_password_in_the_proxy_url_is_a_new_way() {
        let ways = ways("pw");
        let with = |user: Option<&str>, password: Option<&str>| ProxySpec {
            user: user.map(Into::into),
            password: password.map(Secret::new),
            ..spec("socks5h")
        };
        let first = ways.broker(&with(Some("alice"), Some("one")));
        assert!(Arc::ptr_eq(&first, &ways.broker(&with(Some("alice"), Some("one")))));
        for other in
            [with(Some("alice"), Some("two")), with(Some("alice"), None), with(Some("bob"), Some("one"))]
        {
            assert!(!Arc::ptr_eq(&first, &ways.broker(&other)));
            assert!(key(&other) != key(&with(Some("alice"), Some("one"))));
        }
        assert!(key(&spec("socks5h")) != key(&spec("socks5")), "the scheme is part of the URL");
    }

    /// A SOCKS5 server on the other end of a pipe: wants `password` for alice, grants CONNECTs.
    async fn server(mut s: tokio::io::DuplexStream, password: &'static str) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let mut g = [0u8; 4];
        s.read_exact(&mut g).await.unwrap();
        seen.push(g.to_vec());
        s.write_all(&[5, USER_PASSWORD]).await.unwrap();
        let mut head = [0u8; 2];
        s.read_exact(&mut head).await.unwrap();
        let mut user = vec![0u8; head[1] as usize];
        s.read_exact(&mut user).await.unwrap();
        let mut plen = [0u8; 1];
        s.read_exact(&mut plen).await.unwrap();
        let mut pw = vec![0u8; plen[0] as usize];
        s.read_exact(&mut pw).await.unwrap();
        seen.push(pw.clone());
        if pw != password.as_bytes() {
            s.write_all(&[1, 1]).await.unwrap();
            return seen;
        }
        s.write_all(&[1, 0]).await.unwrap();
        let mut req = [0u8; 10];
        s.read_exact(&mut req).await.unwrap();
        seen.push(req.to_vec());
        // The reply and the tunnel's first bytes in one write: the handshake must leave them.
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80, b'H', b'I']).await.unwrap();
        seen
    }

    #[tokio::test]
    async fn a_password_is_sent_when_asked_and_a_rejected_one_never_again() {
        let ways = ways("right");
        let hop = Hop::new(&ways, spec("socks5h")).unwrap();
        let dest = Dest::Ip("127.0.0.1".parse().unwrap());
        let (mut a, b) = tokio::io::duplex(1024);
        let srv = tokio::spawn(server(b, "right"));
        hop.handshake(&mut a, &dest, 80, LIMIT).await.unwrap();
        let mut first = [0u8; 2];
        a.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HI", "the tunnel's first bytes are left for it");
        assert_eq!(srv.await.unwrap()[1], b"right");

        let ways = self::ways("wrong");
        let hop = Hop::new(&ways, spec("socks5h")).unwrap();
        let (mut a, b) = tokio::io::duplex(1024);
        let srv = tokio::spawn(server(b, "right"));
        let e = hop.handshake(&mut a, &dest, 80, LIMIT).await.unwrap_err();
        assert!(e.login.is_some() && e.message.contains("rejected the password for user \"alice\""), "{e}");
        assert!(!e.message.contains("wrong"), "{e}");
        assert_eq!(srv.await.unwrap().len(), 2, "refused after the password");
        // The next request, on another connection of the same server, does not send it again.
        let again = Hop::new(&ways, spec("socks5h")).unwrap();
        let (mut a, b) = tokio::io::duplex(1024);
        let srv = tokio::spawn(async move {
            let mut b = b;
            let mut g = [0u8; 4];
            b.read_exact(&mut g).await.unwrap();
            b.write_all(&[5, USER_PASSWORD]).await.unwrap();
            let mut rest = Vec::new();
            b.read_to_end(&mut rest).await.unwrap();
            rest
        });
        let e = again.handshake(&mut a, &dest, 80, LIMIT).await.unwrap_err();
        drop(a);
        assert!(
            e.message.contains("it is not sent again")
                && e.login.as_deref() == Some("socks5h://127.0.0.1:1080"),
            "{e}"
        );
        assert!(srv.await.unwrap().is_empty(), "nothing after the method choice");
    }

    /// A source that takes its time, as a person at the prompt does.
    struct Slow;

    impl CredentialSource for Slow {
        fn label(&self) -> String {
            "the prompt".into()
        }

        fn lookup(&self, _: &CredentialRequest) -> crate::creds::Lookup {
            std::thread::sleep(std::time::Duration::from_millis(400));
            crate::creds::Lookup::Found(crate::secret::Credentials::new("alice", "right"))
        }
    }

    #[tokio::test]
    async fn the_limit_is_for_the_proxy_not_for_a_person_typing() {
        let limit = std::time::Duration::from_millis(150);
        let sources: SourceFactory =
            Arc::new(|_: &ProxySpec| vec![Box::new(Slow) as Box<dyn CredentialSource>]);
        let ways = Arc::new(Ways::new(sources, Box::new(|_| {})));
        let hop = Hop::new(&ways, spec("socks5h")).unwrap();
        let dest = Dest::Ip("127.0.0.1".parse().unwrap());
        let (mut a, b) = tokio::io::duplex(1024);
        let srv = tokio::spawn(server(b, "right"));
        hop.handshake(&mut a, &dest, 80, limit).await.expect("a slow lookup is not the proxy's delay");
        assert_eq!(srv.await.unwrap()[1], b"right");
        // A proxy that does not answer the greeting: 504 once the limit is over.
        let (mut a, _silent) = tokio::io::duplex(1024);
        let e = hop.handshake(&mut a, &dest, 80, limit).await.unwrap_err();
        assert_eq!(e.status, StatusCode::GATEWAY_TIMEOUT, "{e}");
        assert!(e.message.contains("no answer within"), "{e}");
    }

    #[tokio::test]
    async fn refusals_become_the_right_status() {
        let ways = ways("x");
        let dest = Dest::Name("intranet".into());
        for (code, status) in [(2u8, 403u16), (5, 502), (6, 504), (1, 502)] {
            let hop = Hop::new(&ways, spec("socks5h")).unwrap();
            let (mut a, mut b) = tokio::io::duplex(1024);
            let srv = tokio::spawn(async move {
                let mut g = [0u8; 4];
                b.read_exact(&mut g).await.unwrap();
                b.write_all(&[5, NO_AUTH]).await.unwrap();
                let mut req = [0u8; 5 + 8 + 2];
                b.read_exact(&mut req).await.unwrap();
                b.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await.unwrap();
                req
            });
            let e = hop.handshake(&mut a, &dest, 8080, LIMIT).await.unwrap_err();
            assert_eq!(e.status.as_u16(), status, "{e}");
            assert!(
                e.message.contains("intranet:8080") && e.message.contains(&format!("(code {code})")),
                "{e}"
            );
            assert_eq!(&srv.await.unwrap()[4..13], b"\x08intranet", "socks5h: the name goes to the proxy");
        }
        let hop = Hop::new(&ways, spec("socks4a")).unwrap();
        let (mut a, mut b) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            let mut req = [0u8; 8 + 1 + 9];
            b.read_exact(&mut req).await.unwrap();
            b.write_all(&[0, 91, 0, 0, 0, 0, 0, 0]).await.unwrap();
        });
        let e = hop.handshake(&mut a, &dest, 80, LIMIT).await.unwrap_err();
        assert!(e.message.contains("rejected or failed (code 91)"), "{e}");
        assert!(Hop::new(&ways, spec("http")).is_none());
    }
}
