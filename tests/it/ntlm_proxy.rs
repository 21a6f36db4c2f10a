//! An in-process NTLM proxy that really checks NTLMv2 (MS-NLMP §3.2.5.1.2) for one known
//! account, on top of [`crate::fakeproxy`] (which tunnels CONNECTs and forwards http requests
//! once a request is allowed). Squid's `ntlm_fake_auth` accepts any password; this one does not.
//!
//! Per connection it hands out its own server challenge, with a TargetInfo holding an
//! MsvAvTimestamp, so a correct client must answer with that timestamp, a Z(24) LM response,
//! MsvAvFlags 0x2 and a MIC over the three messages; it checks all of that, and that the type 3
//! arrives on the connection that got the type 2. Like IIS and Squid, an authenticated
//! connection needs no header on its later requests.
//!
//! The server side is written here from the spec, independently of toll's client code.
//!
//! [`NtlmProxy::as_origin`] makes it an NTLM web server instead (IIS's role, for `-u --ntlm`):
//! `Authorization` and `WWW-Authenticate` with 401s, and `authenticated as DOMAIN\user` (or, on
//! an authenticated connection, `authenticated connection`) as the page.

use crate::fakeproxy::{reply_407, Action, FakeProxy, ProxyRequest, Reply};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The server's NetBIOS domain, sent as TargetName and MsvAvNbDomainName.
pub const SERVER_DOMAIN: &str = "TESTDOM";

#[derive(Clone, Debug)]
pub struct Event {
    pub conn: usize,
    /// "type1", "type3", "none" (no header), "other" (another scheme), "authenticated-conn".
    pub leg: &'static str,
    pub ok: bool,
    pub detail: String,
}

enum ConnState {
    Challenged { type1: Vec<u8>, type2: Vec<u8>, challenge: [u8; 8], timestamp: u64 },
    Authenticated,
}

/// The account: `domain\user` with `password`, also valid as the UPN `upn` with no domain.
pub struct NtlmProxy {
    user: String,
    domain: String,
    upn: String,
    password: String,
    /// Challenges offered besides `NTLM` (e.g. `Basic realm="x"`), after it.
    also: Vec<String>,
    /// Basic credentials also accepted (for fallback tests).
    basic: Option<(String, String)>,
    conns: Mutex<HashMap<usize, ConnState>>,
    events: Mutex<Vec<Event>>,
    seq: AtomicU64,
    /// A web server (401, `WWW-Authenticate`) rather than a proxy.
    origin: bool,
}

impl NtlmProxy {
    pub fn new(domain: &str, user: &str, upn: &str, password: &str) -> Arc<NtlmProxy> {
        Self::with_basic(domain, user, upn, password, &[], None)
    }

    pub fn with_basic(
        domain: &str,
        user: &str,
        upn: &str,
        password: &str,
        also: &[&str],
        basic: Option<(&str, &str)>,
    ) -> Arc<NtlmProxy> {
        Arc::new(NtlmProxy {
            user: user.into(),
            domain: domain.into(),
            upn: upn.into(),
            password: password.into(),
            also: also.iter().map(|s| s.to_string()).collect(),
            basic: basic.map(|(u, p)| (u.into(), p.into())),
            conns: Mutex::new(HashMap::new()),
            events: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0x5eed),
            origin: false,
        })
    }

    /// An NTLM web server for the account, offering `also` after `NTLM`.
    pub fn as_origin(domain: &str, user: &str, upn: &str, password: &str, also: &[&str]) -> Arc<NtlmProxy> {
        let mut me = Self::with_basic(domain, user, upn, password, also, None);
        Arc::get_mut(&mut me).expect("not shared yet").origin = true;
        me
    }

    pub fn start(self: &Arc<Self>) -> FakeProxy {
        let me = self.clone();
        FakeProxy::start(move |req| me.handle(req))
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    pub fn summary(&self) -> String {
        self.events()
            .iter()
            .map(|e| format!("  conn {} {} ok={} {}\n", e.conn, e.leg, e.ok, e.detail))
            .collect()
    }

    fn event(&self, conn: usize, leg: &'static str, ok: bool, detail: impl Into<String>) {
        self.events.lock().unwrap().push(Event { conn, leg, ok, detail: detail.into() });
    }

    fn refuse(&self, token: Option<&[u8]>) -> Action {
        let ntlm = match token {
            Some(t) => format!("NTLM {}", B64.encode(t)),
            None => "NTLM".to_string(),
        };
        let mut all = vec![ntlm];
        if token.is_none() {
            all.extend(self.also.iter().cloned());
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        if !self.origin {
            return reply_407(&refs).into_action();
        }
        let mut r =
            Reply::new(401).header("Content-Type", "text/plain").body(b"ntlm authentication required\n");
        for c in refs {
            r = r.header("WWW-Authenticate", c);
        }
        r.into_action()
    }

    /// What an allowed request gets: the proxy's job, or the server's page.
    fn allow(&self, page: &str) -> Action {
        match self.origin {
            false => Action::Allow,
            true => Reply::new(200)
                .header("Content-Type", "text/plain")
                .body(format!("{page}\n").as_bytes())
                .into_action(),
        }
    }

    /// The proxy's script (public so a test can wrap it to inject faults).
    pub fn handle(&self, req: &ProxyRequest) -> Action {
        let conn = req.conn;
        let header = match self.origin {
            true => req.header("authorization"),
            false => req.proxy_authorization(),
        };
        let Some(header) = header.map(str::to_owned) else {
            if matches!(self.conns.lock().unwrap().get(&conn), Some(ConnState::Authenticated)) {
                self.event(conn, "authenticated-conn", true, format!("{} {}", req.method, req.target));
                return self.allow("authenticated connection");
            }
            if !req.is_auth_probe() {
                // toll's auth probe is listed by `FakeProxy::probes`, not as a leg here.
                self.event(conn, "none", false, format!("{} {}", req.method, req.target));
            }
            return self.refuse(None);
        };
        let (scheme, token) = header.split_once(' ').unwrap_or((&header, ""));
        if !scheme.eq_ignore_ascii_case("NTLM") {
            let ok = self.basic.as_ref().is_some_and(|(u, p)| {
                crate::fakeproxy::basic_credentials(&header).is_some_and(|(bu, bp)| &bu == u && &bp == p)
            });
            self.event(conn, "other", ok, scheme.to_string());
            return if ok { self.allow("authenticated with Basic") } else { self.refuse(None) };
        }
        let Ok(msg) = B64.decode(token.trim()) else {
            self.event(conn, "garbage", false, token.to_string());
            return self.refuse(None);
        };
        match msg.get(8..12) {
            Some([1, 0, 0, 0]) if msg.starts_with(b"NTLMSSP\0") => self.type1(conn, msg),
            Some([3, 0, 0, 0]) if msg.starts_with(b"NTLMSSP\0") => {
                let state = self.conns.lock().unwrap().remove(&conn);
                match state {
                    Some(ConnState::Challenged { type1, type2, challenge, timestamp }) => {
                        match self.verify(&type1, &type2, &msg, &challenge, timestamp) {
                            Ok(who) => {
                                self.conns.lock().unwrap().insert(conn, ConnState::Authenticated);
                                let page = format!("authenticated as {who}");
                                self.event(conn, "type3", true, who);
                                self.allow(&page)
                            }
                            Err(why) => {
                                self.event(conn, "type3", false, why);
                                self.refuse(None)
                            }
                        }
                    }
                    _ => {
                        self.event(conn, "type3", false, "a type 3 on a connection that was sent no type 2");
                        self.refuse(None)
                    }
                }
            }
            _ => {
                self.event(conn, "garbage", false, "not an NTLM type 1 or 3");
                self.refuse(None)
            }
        }
    }

    fn type1(&self, conn: usize, type1: Vec<u8>) -> Action {
        let flags = u32_at(&type1, 12).unwrap_or(0);
        if type1.len() < 16 || flags & 0x200 == 0 || flags & 0x1 == 0 {
            self.event(conn, "type1", false, format!("flags {flags:#x}, {} bytes", type1.len()));
            return self.refuse(None);
        }
        let n = self.seq.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst);
        let challenge = n.wrapping_mul(0xbf58_476d_1ce4_e5b9).to_le_bytes();
        let timestamp = filetime_now();
        let type2 = challenge_message(&challenge, timestamp);
        self.conns
            .lock()
            .unwrap()
            .insert(conn, ConnState::Challenged { type1, type2: type2.clone(), challenge, timestamp });
        self.event(conn, "type1", true, format!("flags {flags:#x}"));
        self.refuse(Some(&type2))
    }

    /// MS-NLMP §3.2.5.1.2 for NTLMv2, plus the MIC; returns `domain\user` on success.
    fn verify(
        &self,
        type1: &[u8],
        type2: &[u8],
        m: &[u8],
        challenge: &[u8; 8],
        ts: u64,
    ) -> Result<String, String> {
        let field = |at: usize| -> Result<&[u8], String> {
            let len = u16::from_le_bytes(m.get(at..at + 2).ok_or("short")?.try_into().unwrap()) as usize;
            let off = u32_at(m, at + 4).ok_or("short")? as usize;
            m.get(off..off + len).ok_or_else(|| format!("field at {at} out of range"))
        };
        let flags = u32_at(m, 60).ok_or("no flags")?;
        if flags & 1 == 0 {
            return Err(format!("not Unicode: flags {flags:#x}"));
        }
        let (lm, nt) = (field(12)?, field(20)?);
        let domain = utf16(field(28)?);
        let user = utf16(field(36)?);
        let known = (user.eq_ignore_ascii_case(&self.user) && domain.eq_ignore_ascii_case(&self.domain))
            || (user.eq_ignore_ascii_case(&self.upn) && domain.is_empty());
        if !known {
            return Err(format!("unknown account {domain:?}\\{user:?}"));
        }
        if nt.len() < 16 + 28 + 4 {
            return Err(format!("NT response of {} bytes: not NTLMv2", nt.len()));
        }
        let nt_hash: [u8; 16] = Md4::digest(utf16le(&self.password)).into();
        let key = hmac_md5(&nt_hash, &[&utf16le(&(user.to_uppercase() + &domain))]);
        let (proof, blob) = nt.split_at(16);
        if hmac_md5(&key, &[challenge, blob]) != proof {
            return Err(format!("wrong NTProofStr for {domain}\\{user} (wrong password?)"));
        }
        if blob[..2] != [1, 1] {
            return Err("blob version is not 1".into());
        }
        let blob_ts = u64::from_le_bytes(blob[8..16].try_into().unwrap());
        if blob_ts != ts {
            return Err(format!("blob timestamp {blob_ts} is not the server's {ts}"));
        }
        if lm != [0u8; 24] {
            return Err("an LM response was sent although the server sent a timestamp".into());
        }
        let pairs = av_pairs(&blob[28..]).ok_or("bad AV pairs in the blob")?;
        let av_flags = pairs.iter().find(|(id, _)| *id == 6).map(|(_, v)| v.clone());
        if av_flags.as_deref().and_then(|v| v.get(..4)).map(|v| u32::from_le_bytes(v.try_into().unwrap()) & 2)
            != Some(2)
        {
            return Err("MsvAvFlags does not announce a MIC".into());
        }
        for (id, _) in av_pairs(&target_info(ts)).unwrap() {
            if !pairs.iter().any(|(i, _)| *i == id) {
                return Err(format!("AV pair {id} of the challenge is missing from the blob"));
            }
        }
        let session_base_key = hmac_md5(&key, &[proof]);
        let mic = m.get(72..88).ok_or("no room for a MIC")?;
        let mut zeroed = m.to_vec();
        zeroed[72..88].fill(0);
        if hmac_md5(&session_base_key, &[type1, type2, &zeroed]) != mic {
            return Err("wrong MIC".into());
        }
        Ok(format!("{domain}\\{user}"))
    }
}

fn u32_at(m: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(m.get(at..at + 4)?.try_into().ok()?))
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn filetime_now() -> u64 {
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    (unix.as_secs() + 11_644_473_600) * 10_000_000 + u64::from(unix.subsec_nanos() / 100)
}

fn av_pairs(mut b: &[u8]) -> Option<Vec<(u16, Vec<u8>)>> {
    let mut out = Vec::new();
    loop {
        let id = u16::from_le_bytes(b.get(..2)?.try_into().ok()?);
        let len = u16::from_le_bytes(b.get(2..4)?.try_into().ok()?) as usize;
        if id == 0 {
            return Some(out);
        }
        out.push((id, b.get(4..4 + len)?.to_vec()));
        b = &b[4 + len..];
    }
}

fn target_info(ts: u64) -> Vec<u8> {
    let mut info = Vec::new();
    let mut pair = |id: u16, v: &[u8]| {
        info.extend_from_slice(&id.to_le_bytes());
        info.extend_from_slice(&(v.len() as u16).to_le_bytes());
        info.extend_from_slice(v);
    };
    pair(2, &utf16le(SERVER_DOMAIN));
    pair(1, &utf16le("PROXY"));
    pair(4, &utf16le("testdom.example"));
    pair(3, &utf16le("proxy.testdom.example"));
    pair(7, &ts.to_le_bytes());
    pair(0, &[]);
    info
}

/// A CHALLENGE_MESSAGE (§2.2.1.2) as Windows servers send it: Unicode, NTLM, extended session
/// security, target info with a timestamp, target type domain, Version.
fn challenge_message(challenge: &[u8; 8], ts: u64) -> Vec<u8> {
    let name = utf16le(SERVER_DOMAIN);
    let info = target_info(ts);
    let flags: u32 = 0x0000_0001
        | 0x0000_0004
        | 0x0000_0200
        | 0x0000_8000
        | 0x0001_0000
        | 0x0008_0000
        | 0x0080_0000
        | 0x0200_0000
        | 0x2000_0000
        | 0x8000_0000;
    let mut m = Vec::new();
    m.extend_from_slice(b"NTLMSSP\0");
    m.extend_from_slice(&2u32.to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&56u32.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(challenge);
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&(info.len() as u16).to_le_bytes());
    m.extend_from_slice(&(info.len() as u16).to_le_bytes());
    m.extend_from_slice(&(56 + name.len() as u32).to_le_bytes());
    m.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 0x0f]);
    m.extend_from_slice(&name);
    m.extend_from_slice(&info);
    m
}
