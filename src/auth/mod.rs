//! The proxy authentication engine (RFC 7235 §2, §4.3 `Proxy-Authenticate`, §4.4
//! `Proxy-Authorization`). Pure: challenge + credentials + injected randomness → header value.
//! No I/O, terminal or environment here, with one exception: Negotiate asks the system's
//! Kerberos library (`gssapi`, loaded at run time) for its tokens, which reads the ticket cache.
//! The relay (`crate::relay`) drives it.
//!
//! One module per scheme. Each scheme implements [`Authenticator`]; a connection-bound scheme
//! (NTLM, Negotiate) keeps its handshake state in its authenticator, and the relay
//! keeps one authenticator per upstream connection for such schemes. The origin's `-u` uses the
//! same schemes (`client::origin_auth`), and [`sigv4`] too, which answers no challenge: it signs
//! each request (`--aws-sigv4`), with the time passed in.

pub mod basic;
pub mod challenge;
pub mod digest;
#[cfg(all(unix, not(target_os = "macos")))]
pub mod gssapi;
pub mod negotiate;
pub mod ntlm;
pub mod sigv4;

pub use challenge::{parse_challenges, Challenge};

use crate::secret::{Credentials, Secret};
use std::fmt;

/// The schemes toll knows, weakest first: `Ord` is preference order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    Basic,
    Digest,
    Ntlm,
    Negotiate,
}

impl Scheme {
    pub const ALL: [Scheme; 4] = [Scheme::Basic, Scheme::Digest, Scheme::Ntlm, Scheme::Negotiate];

    /// The scheme token as sent on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Basic => "Basic",
            Scheme::Digest => "Digest",
            Scheme::Ntlm => "NTLM",
            Scheme::Negotiate => "Negotiate",
        }
    }

    /// Scheme tokens are case-insensitive (RFC 7235 §2.1).
    pub fn from_name(token: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(token))
    }

    /// Schemes this build can answer. All of them: Negotiate where GSSAPI or a ticket is missing
    /// fails in `respond` with [`AuthError::Unavailable`], and the relay moves on.
    pub fn implemented(self) -> bool {
        matches!(self, Scheme::Basic | Scheme::Digest | Scheme::Ntlm | Scheme::Negotiate)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The schemes the user allows (`--proxy-basic`, `--proxy-digest`, `--proxy-anyauth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemeSet(u8);

impl SchemeSet {
    pub const ANY: SchemeSet = SchemeSet(0b1111);
    pub const fn only(s: Scheme) -> SchemeSet {
        SchemeSet(1 << s as u8)
    }
    pub fn with(self, s: Scheme) -> SchemeSet {
        SchemeSet(self.0 | 1 << s as u8)
    }
    pub fn without(self, s: Scheme) -> SchemeSet {
        SchemeSet(self.0 & !(1 << s as u8))
    }
    pub fn contains(self, s: Scheme) -> bool {
        self.0 & (1 << s as u8) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The strongest challenge among `offered` that toll can answer and the user allows.
/// Never picks a scheme the proxy did not offer (so Basic is never sent unasked). Among several
/// challenges of one scheme the first answerable one wins: RFC 7616 §3.7 has the server list
/// its preferred Digest algorithm first.
pub fn choose(offered: &[Challenge], allowed: SchemeSet) -> Option<&Challenge> {
    offered
        .iter()
        .rev()
        .filter(|c| c.scheme.is_some_and(|s| s.implemented() && allowed.contains(s)))
        .filter(|c| c.scheme != Some(Scheme::Digest) || digest::supports_algorithm(c))
        .max_by_key(|c| c.scheme)
}

/// The request a `Proxy-Authorization` value is computed for. Digest hashes `method` and `uri`:
/// for a CONNECT the method is `CONNECT` and the uri is `host:port` (RFC 7616 §3.4, RFC 7231 §4.3.6).
#[derive(Clone, Copy, Debug)]
pub struct RequestTarget<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    /// The request body, when it is known and small (only Digest `qop=auth-int` uses it).
    pub body: Option<&'a [u8]>,
    /// The host name of the proxy being answered, as toll connects to it (Negotiate asks
    /// Kerberos for a ticket for `service@proxy_host`, RFC 4559 §4).
    pub proxy_host: &'a str,
    /// The Kerberos service Negotiate asks a ticket for: [`HTTP_SERVICE`] (RFC 4559 §4) unless
    /// `--proxy-service-name` (`--service-name` for a server) names another.
    pub service: &'a str,
    /// Whether Negotiate hands over the user's Kerberos credentials (`--delegation`).
    pub delegation: Delegation,
}

/// `--delegation`, as curl's: whether Negotiate delegates the user's credentials to the server
/// or proxy it authenticates to (a forwarded ticket-granting ticket inside the token, RFC 4121
/// §4.1.1), so that it can act as the user towards other services.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delegation {
    /// Never (the default).
    #[default]
    None,
    /// When the KDC says the service is trusted for it (its ticket's `ok-as-delegate` flag).
    Policy,
    /// Always (where the user's ticket is forwardable).
    Always,
}

/// The service name of an HTTP server's (or proxy's) Kerberos principal, `HTTP/host@REALM`
/// (RFC 4559 §4).
pub const HTTP_SERVICE: &str = "HTTP";

/// Randomness and time, injected so tests can use fixed values (Digest cnonce, NTLM client
/// challenge and timestamp).
pub trait Entropy: Send {
    fn fill(&mut self, buf: &mut [u8]);

    fn now(&self) -> std::time::SystemTime {
        std::time::SystemTime::now()
    }
}

/// The operating system's CSPRNG.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("OS randomness");
    }
}

/// What a 407 that answered our `Proxy-Authorization` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The credentials were refused: never send them again in this run.
    Rejected,
    /// Same credentials, next step: Digest `stale=true` (new nonce), an NTLM type-2 message.
    Continue,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the {0} challenge is malformed: {1}")]
    Malformed(Scheme, String),
    #[error("{0} authentication is not supported: {1}")]
    Unsupported(Scheme, String),
    /// Digest with only `qop=auth-int` offered hashes the body, and this request's is streamed.
    #[error(
        "{0} authentication needs the request body first: only qop=auth-int is offered, which \
         hashes it, and this body is streamed (not known before it is sent)"
    )]
    StreamedBody(Scheme),
    /// The scheme cannot work from here (no GSSAPI library, no Kerberos ticket): try another.
    #[error("{0} unavailable: {1}")]
    Unavailable(Scheme, String),
}

/// One scheme's client state toward one proxy (for connection-bound schemes: one connection).
pub trait Authenticator: Send {
    fn scheme(&self) -> Scheme;

    /// True for schemes whose handshake belongs to one TCP connection (NTLM, Negotiate).
    fn connection_bound(&self) -> bool {
        false
    }

    /// False for schemes that authenticate with something the system already holds (Negotiate
    /// with a Kerberos ticket): the relay then asks no credential source.
    fn needs_credentials(&self) -> bool {
        true
    }

    /// Whether the value `respond` just produced can complete the handshake. False for an NTLM
    /// negotiate message (type 1): the relay then sends that leg without the request body, since
    /// the proxy will answer it with a 407 anyway.
    fn final_leg(&self) -> bool {
        true
    }

    /// The `Proxy-Authorization` value answering `challenge` (which is for this scheme).
    fn respond(
        &mut self,
        challenge: &Challenge,
        creds: &Credentials,
        target: &RequestTarget<'_>,
        rng: &mut dyn Entropy,
    ) -> Result<Secret, AuthError>;

    /// A value for a further request without a new challenge (Basic: the same; Digest: the
    /// known nonce with the next nc). `None` when the scheme needs a fresh challenge first — as
    /// connection-bound schemes always do: they authenticate one connection, once.
    fn preemptive(
        &mut self,
        _creds: &Credentials,
        _target: &RequestTarget<'_>,
        _rng: &mut dyn Entropy,
    ) -> Option<Result<Secret, AuthError>> {
        None
    }

    /// What this authenticator can carry into the next run so that run answers before being
    /// asked (issue: remembered auth). Never holds a secret.
    fn memory(&self) -> Option<Memory> {
        None
    }

    /// Continue the nonce count at `next_nc` (never backwards): another process has used the
    /// counts before it with the same nonce.
    fn resume_count(&mut self, _next_nc: u32) {}

    /// Whether each pre-emptive value advances state that the proxy checks in order (Digest: the
    /// nonce count; Squid's `check_nonce_count` retires a nonce whose counts arrive out of
    /// order). Such an authenticator carries one request at a time; Basic's one value serves
    /// any number of requests at once.
    fn sequenced(&self) -> bool {
        false
    }

    /// The proxy's name for this authenticator's session (Digest: the nonce it answers). Two
    /// sessions with one key share one count at the proxy, so the relay never runs them at once.
    fn session_key(&self) -> Option<&str> {
        None
    }

    /// The proxy named the nonce for the next request (`nextnonce` in a
    /// `Proxy-Authentication-Info`, RFC 7616 §3.5): move to it, counting from 1 again, without a
    /// 407. False when there is no session to move or `nonce` is the one in use.
    fn next_nonce(&mut self, _nonce: &str, _rng: &mut dyn Entropy) -> bool {
        false
    }

    /// The proxy answered our response with a 407 whose challenge for this scheme is
    /// `challenge` (`None`: the 407 did not offer this scheme again).
    fn verdict(&self, challenge: Option<&Challenge>) -> Verdict;
}

/// A scheme that worked on a proxy, remembered across runs (no secrets: the password comes from
/// the credential sources again).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "scheme")]
pub enum Memory {
    Basic,
    Digest(digest::DigestMemory),
    /// NTLM worked: the next run opens each connection with the type-1 message (one 407 per
    /// connection instead of two). Nothing of the handshake itself is kept: it belongs to one
    /// connection.
    #[serde(rename = "NTLM")]
    Ntlm,
}

impl Memory {
    pub fn scheme(&self) -> Scheme {
        match self {
            Memory::Basic => Scheme::Basic,
            Memory::Digest(_) => Scheme::Digest,
            Memory::Ntlm => Scheme::Ntlm,
        }
    }

    /// A connection-bound scheme: the relay opens each connection's handshake with it, instead
    /// of restoring an authenticator that answers every request.
    pub fn connection_bound(&self) -> bool {
        matches!(self, Memory::Ntlm)
    }

    /// An authenticator that answers pre-emptively from this memory (`None` for connection-bound
    /// schemes, see [`Memory::connection_bound`]).
    pub fn restore(&self) -> Option<Box<dyn Authenticator>> {
        match self {
            Memory::Basic => Some(Box::new(basic::BasicAuth::asked())),
            Memory::Digest(d) => {
                digest::DigestAuth::restore(d).map(|a| Box::new(a) as Box<dyn Authenticator>)
            }
            Memory::Ntlm => None,
        }
    }
}

/// A fresh authenticator for `scheme`, or `None` when this build cannot do it.
pub fn authenticator(scheme: Scheme) -> Option<Box<dyn Authenticator>> {
    match scheme {
        Scheme::Basic => Some(Box::new(basic::BasicAuth::default())),
        Scheme::Digest => Some(Box::new(digest::DigestAuth::default())),
        Scheme::Ntlm => Some(Box::new(ntlm::NtlmAuth::default())),
        Scheme::Negotiate => Some(Box::new(negotiate::NegotiateAuth::default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_takes_the_first_answerable_digest_challenge() {
        let offered = parse_challenges([
            r#"Digest realm="r", nonce="1", algorithm=SHA-999"#,
            r#"Digest realm="r", nonce="2", algorithm=SHA-256"#,
            r#"Digest realm="r", nonce="3", algorithm=MD5"#,
            r#"Basic realm="r""#,
        ]);
        assert_eq!(choose(&offered, SchemeSet::ANY).and_then(|c| c.param("nonce")), Some("2"));
        assert_eq!(
            choose(&offered, SchemeSet::only(Scheme::Basic)).map(|c| c.scheme),
            Some(Some(Scheme::Basic))
        );
    }

    #[test]
    fn ntlm_is_remembered_as_its_scheme_only_after_a_completed_handshake() {
        let json = serde_json::to_string(&Memory::Ntlm).unwrap();
        assert_eq!(json, r#"{"scheme":"NTLM"}"#);
        assert_eq!(serde_json::from_str::<Memory>(&json).unwrap(), Memory::Ntlm);
        assert!(Memory::Ntlm.connection_bound() && Memory::Ntlm.restore().is_none());
        assert!(!Memory::Basic.connection_bound());

        let mut a = authenticator(Scheme::Ntlm).unwrap();
        assert_eq!(a.memory(), None);
        let bare = parse_challenges(["NTLM"]);
        let target = RequestTarget {
            method: "GET",
            uri: "http://o/",
            body: None,
            proxy_host: "p",
            service: "HTTP",
            delegation: crate::auth::Delegation::None,
        };
        a.respond(&bare[0], &Credentials::new("u", "p"), &target, &mut OsEntropy).unwrap();
        assert_eq!(a.memory(), None, "a type 1 proves nothing");
    }

    #[test]
    fn strongest_first_negotiate_ntlm_digest_basic() {
        let offered =
            parse_challenges([r#"Basic realm="r""#, r#"Digest realm="r", nonce="n""#, "NTLM", "Negotiate"]);
        let pick = |allowed| choose(&offered, allowed).and_then(|c| c.scheme);
        assert_eq!(pick(SchemeSet::ANY), Some(Scheme::Negotiate));
        assert_eq!(pick(SchemeSet::ANY.without(Scheme::Negotiate)), Some(Scheme::Ntlm));
        assert_eq!(pick(SchemeSet::only(Scheme::Digest).with(Scheme::Basic)), Some(Scheme::Digest));
        assert_eq!(pick(SchemeSet::only(Scheme::Ntlm)), Some(Scheme::Ntlm));
        assert!(authenticator(Scheme::Ntlm).is_some_and(|a| a.connection_bound() && a.needs_credentials()));
        assert!(
            authenticator(Scheme::Negotiate).is_some_and(|a| a.connection_bound() && !a.needs_credentials())
        );
    }
}
