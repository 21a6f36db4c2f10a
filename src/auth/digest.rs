//! Digest (RFC 7616), with RFC 2617 §3.2.2.1 (RFC 2069) compatibility when no `qop` is offered.
//!
//! The arithmetic is `http_auth::DigestClient`'s (MD5, SHA-256, SHA-512-256 and their `-sess`
//! forms, `userhash`, non-ASCII user names, the nonce count). Around it, this module:
//!
//! - vets the challenge first, for clear errors: an unknown `algorithm` is
//!   [`AuthError::Unsupported`]; a lowercase one (`algorithm=md5`, which `http_auth` rejects) is
//!   accepted, since RFC 7616 §3.3 gives no case rule and proxies send it;
//! - picks `qop`: `auth` whenever offered, `auth-int` only when it is the only choice (§3.3), since
//!   it needs the whole body in hand;
//! - draws the cnonce from the injected [`Entropy`], once per nonce, and reuses it with increasing
//!   `nc` (§3.4): the `-sess` session key H(A1) is defined by the first cnonce sent with a nonce;
//! - keeps the answered nonce, so further requests carry the next `nc` without another 407 (§3.4,
//!   "nonce-count"), and a fresh nonce (after `stale=true`, §3.3, or named ahead by `nextnonce`,
//!   §3.5) restarts at `00000001`.
//!
//! One `DigestAuth` is one session: its counts must reach the proxy in order (Squid's
//! `check_nonce_count` retires a nonce on a count that is not above the last one it saw), so the
//! relay lets a session carry one request at a time (`sequenced`) and keeps a pool of them for
//! concurrent requests, told apart by `session_key` (the nonce).
//!
//! For a CONNECT the relay passes method `CONNECT` and uri `host:port` (RFC 7231 §4.3.6's
//! authority-form request-target), which is what both sides hash.

use super::*;
use http_auth::{ChallengeRef, DigestClient, ParamValue, PasswordParams};

/// A Digest session carried into the next run: the challenge it answers, its cnonce and the
/// next nonce count (RFC 7616 §3.4: a nonce count is never reused with one nonce).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DigestMemory {
    pub params: Vec<(String, String)>,
    pub cnonce: String,
    pub next_nc: u32,
}

/// Restored sessions whose count is beyond this are not worth replaying (see `restore`); proxies
/// retire nonces long before (Squid: `nonce_max_count 50` by default).
const MAX_RESTORED_NC: u32 = 10_000;

/// The state for one answered nonce.
struct Session {
    client: DigestClient,
    /// The challenge's parameters, kept for [`DigestMemory`].
    params: Vec<(String, String)>,
    nonce: String,
    realm: String,
    cnonce: String,
    /// `auth-int` is the only qop offered, so the body must be hashed.
    auth_int: Option<Algorithm>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algorithm {
    Md5,
    Sha256,
    Sha512_256,
}

/// The algorithms of the IANA "HTTP Digest Algorithm Values" registry that RFC 7616 §3.3 defines.
const ALGORITHMS: [(&str, Algorithm); 6] = [
    ("MD5", Algorithm::Md5),
    ("MD5-sess", Algorithm::Md5),
    ("SHA-256", Algorithm::Sha256),
    ("SHA-256-sess", Algorithm::Sha256),
    ("SHA-512-256", Algorithm::Sha512_256),
    ("SHA-512-256-sess", Algorithm::Sha512_256),
];

impl Algorithm {
    /// Lowercase hex of H(data), as every Digest hash is sent (RFC 7616 §3.4).
    fn hex(self, data: &[u8]) -> String {
        use sha2::Digest as _;
        let bytes: Vec<u8> = match self {
            Algorithm::Md5 => md5::Md5::digest(data).to_vec(),
            Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Algorithm::Sha512_256 => sha2::Sha512_256::digest(data).to_vec(),
        };
        hex(&bytes)
    }
}

/// The challenge's algorithm (absent means MD5, RFC 7616 §3.3), named as it is sent back.
fn algorithm(challenge: &Challenge) -> Result<(&'static str, Algorithm), AuthError> {
    let name = challenge.param("algorithm").unwrap_or("MD5");
    ALGORITHMS
        .into_iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .ok_or_else(|| AuthError::Unsupported(Scheme::Digest, format!("unknown algorithm {name:?}")))
}

/// Whether toll can answer this Digest challenge's algorithm: a proxy may offer one Digest
/// challenge per algorithm (RFC 7616 §3.7), and one toll cannot answer should not be chosen.
pub fn supports_algorithm(challenge: &Challenge) -> bool {
    algorithm(challenge).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where cnonces come from when not from the [`Entropy`].
type CnonceSource = Box<dyn FnMut() -> String + Send>;

/// Digest client state toward one proxy: the nonce last answered and its count.
#[derive(Default)]
pub struct DigestAuth {
    session: Option<Session>,
    cnonce_source: Option<CnonceSource>,
}

impl DigestAuth {
    /// Takes each new cnonce from `source` instead of 16 bytes of the [`Entropy`]. For tests: the
    /// RFC 7616 §3.9 examples use cnonces that hex-encoded random bytes cannot reproduce.
    pub fn with_cnonce_source(source: impl FnMut() -> String + Send + 'static) -> DigestAuth {
        DigestAuth { session: None, cnonce_source: Some(Box::new(source)) }
    }

    fn new_cnonce(&mut self, rng: &mut dyn Entropy) -> String {
        if let Some(source) = &mut self.cnonce_source {
            return source();
        }
        let mut raw = [0u8; 16];
        rng.fill(&mut raw);
        hex(&raw)
    }

    /// Takes up `challenge`'s nonce, unless it is the one already in use (then `nc` goes on: a
    /// proxy may hand the same nonce to a second connection, and a repeated `nc` is a replay).
    fn start(&mut self, challenge: &Challenge, rng: &mut dyn Entropy) -> Result<&mut Session, AuthError> {
        let malformed = |why: &str| AuthError::Malformed(Scheme::Digest, why.to_owned());
        let unsupported = |why: String| AuthError::Unsupported(Scheme::Digest, why);
        if challenge.scheme != Some(Scheme::Digest) {
            return Err(malformed(&format!("{} is not a Digest challenge", challenge.scheme_name)));
        }
        let nonce = challenge.param("nonce").ok_or_else(|| malformed("it has no nonce"))?;
        let realm = challenge.realm().ok_or_else(|| malformed("it has no realm"))?;
        let (algorithm_name, algorithm) = algorithm(challenge)?;
        let auth_int = match challenge.param("qop") {
            // No qop: RFC 2069 style, which hashes like qop=auth without nc and cnonce.
            None => None,
            Some(qop) => {
                let offered = |q: &str| qop.split(',').any(|o| o.trim().eq_ignore_ascii_case(q));
                if offered("auth") {
                    None
                } else if offered("auth-int") {
                    Some(algorithm)
                } else {
                    return Err(unsupported(format!("no known qop in {qop:?}")));
                }
            }
        };
        if self.session.as_ref().is_some_and(|s| s.nonce == nonce && s.realm == realm) {
            return Ok(self.session.as_mut().expect("checked just above"));
        }

        // DigestClient reads the challenge as escaped wire text: re-escape the values it uses,
        // taking the first of any duplicates as `Challenge::param` does.
        let mut escaped: Vec<(&str, String)> = Vec::new();
        for name in ["realm", "domain", "nonce", "opaque", "stale", "qop", "userhash"] {
            if let Some(v) = challenge.param(name) {
                escaped.push((name, v.replace('\\', "\\\\").replace('"', "\\\"")));
            }
        }
        escaped.push(("algorithm", algorithm_name.to_owned()));
        let mut params = Vec::with_capacity(escaped.len());
        for (name, value) in &escaped {
            let value = ParamValue::try_from_escaped(value)
                .map_err(|_| unsupported(format!("the {name} holds characters a response cannot echo")))?;
            params.push((*name, value));
        }
        let client = DigestClient::try_from(&ChallengeRef { scheme: "Digest", params })
            .map_err(|e| AuthError::Malformed(Scheme::Digest, e))?;
        let cnonce = self.new_cnonce(rng);
        let params = challenge.params.clone();
        let session =
            Session { client, params, nonce: nonce.to_owned(), realm: realm.to_owned(), cnonce, auth_int };
        Ok(self.session.insert(session))
    }
}

impl DigestAuth {
    /// A session from an earlier run, answering with `memory.next_nc` next. `DigestClient` has no
    /// way to set its count, so the restored client is advanced by answering `next_nc - 1` times
    /// with a throw-away credential: a few microseconds each, bounded by [`MAX_RESTORED_NC`].
    pub fn restore(memory: &DigestMemory) -> Option<DigestAuth> {
        if memory.next_nc == 0 || memory.next_nc > MAX_RESTORED_NC {
            return None;
        }
        let challenge = Challenge {
            scheme: Some(Scheme::Digest),
            scheme_name: "Digest".into(),
            token68: None,
            params: memory.params.clone(),
        };
        let cnonce = memory.cnonce.clone();
        let mut auth = DigestAuth::with_cnonce_source(move || cnonce.clone());
        auth.start(&challenge, &mut OsEntropy).ok()?;
        auth.cnonce_source = None;
        auth.advance_to(memory.next_nc).then_some(auth)
    }

    /// Moves the session's count forward so the next answer carries `next_nc`, by answering
    /// with a throw-away credential (`DigestClient` cannot set its count). False when there is
    /// no session or the count is out of reach.
    fn advance_to(&mut self, next_nc: u32) -> bool {
        let Some(session) = self.session.as_mut() else { return false };
        if next_nc > MAX_RESTORED_NC {
            return false;
        }
        let throwaway = Credentials::new("-", "-");
        let target = RequestTarget {
            method: "GET",
            uri: "/",
            body: Some(&[]),
            proxy_host: "",
            service: "HTTP",
            delegation: crate::auth::Delegation::None,
        };
        while session.client.nonce_count().saturating_add(1) < next_nc {
            if answer(session, &throwaway, &target).is_err() {
                return false;
            }
        }
        true
    }
}

/// The value for one request with the session's nonce and the next `nc`.
fn answer(s: &mut Session, creds: &Credentials, target: &RequestTarget<'_>) -> Result<Secret, AuthError> {
    let body_hash;
    let body = match s.auth_int {
        None => None,
        Some(algorithm) => {
            let body = target.body.ok_or(AuthError::StreamedBody(Scheme::Digest))?;
            // RFC 7616 §3.4.3: A2 = Method ":" request-uri ":" H(entity-body). DigestClient
            // appends the bytes it is given unhashed, so give it the hash.
            body_hash = algorithm.hex(body);
            Some(body_hash.as_bytes())
        }
    };
    let params = PasswordParams {
        username: &creds.user,
        password: creds.password.expose(),
        uri: target.uri,
        method: target.method,
        body,
    };
    // Not a test shortcut: this is how DigestClient takes a cnonce it did not draw itself.
    let value = s
        .client
        .respond_with_testing_cnonce(&params, &s.cnonce)
        .map_err(|e| AuthError::Unsupported(Scheme::Digest, e))?;
    Ok(Secret::from(plain_username(raw_uri(value, target.uri), &creds.user)))
}

/// A user name that is not ASCII as a quoted string of its UTF-8 bytes, as curl sends it:
/// DigestClient writes RFC 7616 §3.4.4's `username*` (RFC 5987 encoding) instead, which Apache
/// (and Squid) do not read, so "Jürgen" was refused with the right password. RFC 9110's
/// quoted-string takes those bytes (obs-text) as well.
fn plain_username(value: String, user: &str) -> String {
    const STAR: &str = "username*=UTF-8''";
    let Some(at) = value.find(STAR) else { return value };
    let end = value[at..].find(',').map_or(value.len(), |i| at + i);
    let quoted = user.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{}username=\"{quoted}\"{}", &value[..at], &value[end..])
}

/// The `uri` parameter as the request has it. DigestClient writes it as a quoted string, a `\`
/// escaped as `\\`; Squid (and curl, which writes it unescaped) take the value as written and
/// hash that, so a query with a backslash got its answer refused as a wrong password. A URI
/// never holds a `"` (it is percent-encoded), so written as it is the value stays one string.
fn raw_uri(value: String, uri: &str) -> String {
    if !uri.contains('\\') || uri.contains('"') {
        return value;
    }
    let escaped = format!("uri=\"{}\"", uri.replace('\\', "\\\\"));
    value.replacen(&escaped, &format!("uri=\"{uri}\""), 1)
}

impl Authenticator for DigestAuth {
    fn scheme(&self) -> Scheme {
        Scheme::Digest
    }

    fn respond(
        &mut self,
        challenge: &Challenge,
        creds: &Credentials,
        target: &RequestTarget<'_>,
        rng: &mut dyn Entropy,
    ) -> Result<Secret, AuthError> {
        let result = self.start(challenge, rng).and_then(|s| answer(s, creds, target));
        if result.is_err() {
            // Do not go on sending a nonce the proxy has just replaced with one we cannot answer.
            self.session = None;
        }
        result
    }

    fn preemptive(
        &mut self,
        creds: &Credentials,
        target: &RequestTarget<'_>,
        _rng: &mut dyn Entropy,
    ) -> Option<Result<Secret, AuthError>> {
        Some(answer(self.session.as_mut()?, creds, target))
    }

    fn resume_count(&mut self, next_nc: u32) {
        if !self.advance_to(next_nc) {
            // Out of reach: better a fresh 407 than a count someone else already sent.
            self.session = None;
        }
    }

    fn sequenced(&self) -> bool {
        true
    }

    fn session_key(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.nonce.as_str())
    }

    /// The session moves to `nonce` with the challenge's other parameters (realm, opaque,
    /// algorithm, qop) and a fresh cnonce: for `-sess` algorithms H(A1) is per nonce.
    fn next_nonce(&mut self, nonce: &str, rng: &mut dyn Entropy) -> bool {
        let Some(s) = &self.session else { return false };
        if nonce.is_empty() || s.nonce == nonce {
            return false;
        }
        let mut params: Vec<(String, String)> = s
            .params
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("nonce") && !k.eq_ignore_ascii_case("stale"))
            .cloned()
            .collect();
        params.push(("nonce".into(), nonce.into()));
        let challenge =
            Challenge { scheme: Some(Scheme::Digest), scheme_name: "Digest".into(), token68: None, params };
        let old = self.session.take();
        if self.start(&challenge, rng).is_ok() {
            return true;
        }
        self.session = old;
        false
    }

    fn memory(&self) -> Option<Memory> {
        let s = self.session.as_ref()?;
        Some(Memory::Digest(DigestMemory {
            params: s.params.clone(),
            cnonce: s.cnonce.clone(),
            next_nc: s.client.nonce_count().checked_add(1)?,
        }))
    }

    /// `stale=true` (RFC 7616 §3.3) says the credentials were right and only the nonce was old:
    /// answer the new nonce. A "stale" challenge repeating the nonce just sent is a proxy that would
    /// keep us looping, so that, like any other 407, is a rejection.
    fn verdict(&self, challenge: Option<&Challenge>) -> Verdict {
        let Some(c) = challenge else {
            return Verdict::Rejected;
        };
        let stale = c.param("stale").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let same_nonce = self.session.as_ref().is_some_and(|s| c.param("nonce") == Some(s.nonce.as_str()));
        if stale && !same_nonce {
            Verdict::Continue
        } else {
            Verdict::Rejected
        }
    }
}

/// Expected responses not printed in an RFC were computed with an independent implementation
/// (Python `hashlib`) of RFC 7616 §3.4.1–§3.4.3.
#[cfg(test)]
mod tests {
    use super::*;

    const REALM: &str = "http-auth@example.org";
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    const GET: RequestTarget<'static> = RequestTarget {
        method: "GET",
        uri: "/dir/index.html",
        body: None,
        proxy_host: "proxy",
        service: "HTTP",
        delegation: crate::auth::Delegation::None,
    };

    struct FixedEntropy(u8);
    impl Entropy for FixedEntropy {
        fn fill(&mut self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    fn parse(header: &str) -> Challenge {
        parse_challenges([header]).remove(0)
    }

    /// The RFC 7616 §3.9.1 challenge, with `algorithm` and `qop` as given.
    fn rfc_challenge(algorithm: &str, qop: &str) -> Challenge {
        parse(&format!(
            r#"Digest realm="{REALM}", qop="{qop}", algorithm={algorithm}, nonce="{NONCE}", opaque="{OPAQUE}""#
        ))
    }

    fn mufasa() -> Credentials {
        Credentials::new("Mufasa", "Circle of Life")
    }

    fn rfc_auth() -> DigestAuth {
        DigestAuth::with_cnonce_source(|| CNONCE.to_owned())
    }

    /// The parameters of a `Proxy-Authorization: Digest …` value.
    fn sent(value: &Secret) -> Challenge {
        let c = parse(value.expose());
        assert_eq!(c.scheme, Some(Scheme::Digest));
        c
    }

    fn answer(challenge: &Challenge, target: &RequestTarget<'_>) -> Result<Challenge, AuthError> {
        rfc_auth().respond(challenge, &mufasa(), target, &mut FixedEntropy(0)).map(|v| sent(&v))
    }

    /// RFC 7616 §3.9.1, both the SHA-256 and the MD5 answer, verbatim.
    #[test]
    fn memory_restores_the_session_with_the_next_nonce_count() {
        let challenge = rfc_challenge("SHA-256", "auth");
        let target = RequestTarget {
            method: "GET",
            uri: "/dir/index.html",
            body: None,
            proxy_host: "proxy",
            service: "HTTP",
            delegation: crate::auth::Delegation::None,
        };
        let mut first = rfc_auth();
        first.respond(&challenge, &mufasa(), &target, &mut FixedEntropy(1)).unwrap();
        first.preemptive(&mufasa(), &target, &mut FixedEntropy(1)).unwrap().unwrap();
        let Some(Memory::Digest(memory)) = first.memory() else { panic!("no memory") };
        assert_eq!(memory.next_nc, 3);
        let json = serde_json::to_string(&Memory::Digest(memory.clone())).unwrap();
        assert!(!json.contains("Circle"), "no secret in the memory: {json}");
        let mut restored = DigestAuth::restore(&memory).unwrap();
        let expected = first.preemptive(&mufasa(), &target, &mut FixedEntropy(1)).unwrap().unwrap();
        let got = restored.preemptive(&mufasa(), &target, &mut FixedEntropy(9)).unwrap().unwrap();
        assert_eq!(got, expected, "same nonce, cnonce and nc=3 give the same answer");
        assert!(sent(&got).param("nc") == Some("00000003"));
        assert!(DigestAuth::restore(&DigestMemory { next_nc: MAX_RESTORED_NC + 1, ..memory }).is_none());
    }

    #[test]
    fn rfc7616_mufasa_sha256_and_md5() {
        let mut auth = rfc_auth();
        let value =
            auth.respond(&rfc_challenge("SHA-256", "auth, auth-int"), &mufasa(), &GET, &mut FixedEntropy(0));
        assert_eq!(
            value.unwrap().expose(),
            format!(
                r#"Digest username="Mufasa", realm="{REALM}", uri="/dir/index.html", nonce="{NONCE}", algorithm=SHA-256, nc=00000001, cnonce="{CNONCE}", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="{OPAQUE}""#
            )
        );
        let c = answer(&rfc_challenge("MD5", "auth, auth-int"), &GET).unwrap();
        assert_eq!(c.param("response"), Some("8ca523f5e9506fed4657c9700eebdbec"));
        assert_eq!(c.param("opaque"), Some(OPAQUE));
    }

    /// RFC 7616 §3.9.2 (SHA-512-256, charset, userhash). The username hash and response printed in
    /// the RFC are wrong (erratum 4897); these are the corrected values.
    #[test]
    fn rfc7616_userhash() {
        let challenge = parse(
            r#"Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true"#,
        );
        let mut auth =
            DigestAuth::with_cnonce_source(|| "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v".into());
        let creds = Credentials::new("J\u{e4}s\u{f8}n Doe", "Secret, or not?");
        let target = RequestTarget {
            method: "GET",
            uri: "/doe.json",
            body: None,
            proxy_host: "proxy",
            service: "HTTP",
            delegation: crate::auth::Delegation::None,
        };
        let c = sent(&auth.respond(&challenge, &creds, &target, &mut FixedEntropy(0)).unwrap());
        assert_eq!(
            c.param("username"),
            Some("793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b")
        );
        assert_eq!(c.param("userhash"), Some("true"));
        assert_eq!(
            c.param("response"),
            Some("3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5")
        );
    }

    #[test]
    fn nc_increments_per_nonce_and_restarts_with_a_fresh_one() {
        let mut auth = rfc_auth();
        let (creds, rng) = (mufasa(), &mut FixedEntropy(0));
        assert!(auth.preemptive(&creds, &GET, rng).is_none(), "nothing to reuse before a challenge");
        let first = sent(&auth.respond(&rfc_challenge("MD5", "auth"), &creds, &GET, rng).unwrap());
        assert_eq!(first.param("nc"), Some("00000001"));
        let second = sent(&auth.preemptive(&creds, &GET, rng).unwrap().unwrap());
        assert_eq!(second.param("nc"), Some("00000002"));
        assert_eq!(second.param("nonce"), Some(NONCE));
        assert_eq!(second.param("response"), Some("4b5d595ecf2db9df612ea5b45cd97101"));
        // The same nonce offered again (say, to another connection) goes on counting.
        let third = sent(&auth.respond(&rfc_challenge("MD5", "auth"), &creds, &GET, rng).unwrap());
        assert_eq!(third.param("nc"), Some("00000003"));
        let fresh = parse(&format!(r#"Digest realm="{REALM}", qop="auth", nonce="n2", opaque="{OPAQUE}""#));
        let fourth = sent(&auth.respond(&fresh, &creds, &GET, rng).unwrap());
        assert_eq!((fourth.param("nonce"), fourth.param("nc")), (Some("n2"), Some("00000001")));
        let fifth = sent(&auth.preemptive(&creds, &GET, rng).unwrap().unwrap());
        assert_eq!((fifth.param("nonce"), fifth.param("nc")), (Some("n2"), Some("00000002")));
    }

    #[test]
    fn stale_true_continues_with_the_new_nonce_anything_else_is_rejected() {
        let mut auth = rfc_auth();
        let (creds, rng) = (mufasa(), &mut FixedEntropy(0));
        auth.respond(&rfc_challenge("MD5", "auth"), &creds, &GET, rng).unwrap();
        auth.preemptive(&creds, &GET, rng).unwrap().unwrap();
        let stale = parse(&format!(r#"Digest realm="{REALM}", qop="auth", nonce="n2", stale=TRUE"#));
        assert_eq!(auth.verdict(Some(&stale)), Verdict::Continue);
        let again = sent(&auth.respond(&stale, &creds, &GET, rng).unwrap());
        assert_eq!((again.param("nonce"), again.param("nc")), (Some("n2"), Some("00000001")));

        let not_stale = parse(&format!(r#"Digest realm="{REALM}", qop="auth", nonce="n3", stale=false"#));
        assert_eq!(auth.verdict(Some(&not_stale)), Verdict::Rejected);
        let no_stale = parse(&format!(r#"Digest realm="{REALM}", qop="auth", nonce="n3""#));
        assert_eq!(auth.verdict(Some(&no_stale)), Verdict::Rejected);
        assert_eq!(auth.verdict(None), Verdict::Rejected);
        // "Stale" yet the very nonce just sent: following it would loop.
        let same = parse(&format!(r#"Digest realm="{REALM}", qop="auth", nonce="n2", stale=true"#));
        assert_eq!(auth.verdict(Some(&same)), Verdict::Rejected);
    }

    #[test]
    fn a_backslash_in_the_uri_goes_as_written_and_is_hashed_so() {
        let uri = r"http://h/q?a|b\c^d`e";
        let target = RequestTarget { uri, ..GET };
        let value =
            rfc_auth().respond(&rfc_challenge("MD5", "auth"), &mufasa(), &target, &mut FixedEntropy(0));
        let value = value.unwrap();
        assert!(value.expose().contains(&format!("uri=\"{uri}\",")), "{}", value.expose());
        let c = sent(&value);
        let md5 = |t: String| Algorithm::Md5.hex(t.as_bytes());
        let ha1 = md5(format!("Mufasa:{REALM}:Circle of Life"));
        let ha2 = md5(format!("GET:{uri}"));
        let (nc, cnonce) = (c.param("nc").unwrap(), c.param("cnonce").unwrap());
        let want = md5(format!("{ha1}:{NONCE}:{nc}:{cnonce}:auth:{ha2}"));
        assert_eq!(c.param("response"), Some(want.as_str()), "hashed over the uri as sent");
    }

    #[test]
    fn connect_hashes_method_connect_and_authority_uri() {
        let target = RequestTarget {
            method: "CONNECT",
            uri: "example.com:443",
            body: None,
            proxy_host: "proxy",
            service: "HTTP",
            delegation: crate::auth::Delegation::None,
        };
        let c = answer(&rfc_challenge("MD5", "auth"), &target).unwrap();
        assert_eq!(c.param("uri"), Some("example.com:443"));
        assert_eq!(c.param("response"), Some("389a1da55e44b101820f457fee8c0773"));
    }

    #[test]
    fn opaque_is_echoed_only_when_sent() {
        let c = answer(&rfc_challenge("MD5", "auth"), &GET).unwrap();
        assert_eq!(c.param("opaque"), Some(OPAQUE));
        let no_opaque = parse(r#"Digest realm="r", nonce="n", qop="auth""#);
        assert_eq!(answer(&no_opaque, &GET).unwrap().param("opaque"), None);
    }

    #[test]
    fn lowercase_algorithms_and_sess_variants() {
        let c = answer(&rfc_challenge("md5", "auth"), &GET).unwrap();
        assert_eq!(c.param("algorithm"), Some("MD5"));
        assert_eq!(c.param("response"), Some("8ca523f5e9506fed4657c9700eebdbec"));
        let c = answer(&rfc_challenge("MD5-sess", "auth"), &GET).unwrap();
        assert_eq!(c.param("response"), Some("e783283f46242139c486a698fec7211d"));
        let c = answer(&rfc_challenge("sha-512-256-SESS", "auth"), &GET).unwrap();
        assert_eq!(c.param("algorithm"), Some("SHA-512-256-sess"));
        assert_eq!(
            c.param("response"),
            Some("3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e")
        );
    }

    #[test]
    fn auth_int_only_when_it_is_the_only_qop() {
        let post = RequestTarget {
            method: "POST",
            uri: "http://example.com/upload",
            body: Some(b"hello"),
            proxy_host: "proxy",
            service: "HTTP",
            delegation: crate::auth::Delegation::None,
        };
        // Both offered: auth, even with the body at hand.
        let c = answer(&rfc_challenge("SHA-256", "auth-int, auth"), &post).unwrap();
        assert_eq!(c.param("qop"), Some("auth"));
        let only_int = rfc_challenge("SHA-256", "auth-int");
        let c = answer(&only_int, &post).unwrap();
        assert_eq!(c.param("qop"), Some("auth-int"));
        assert_eq!(
            c.param("response"),
            Some("f86c8024841564006d7629f02e74aa9c414180204cd66920e46befbc654d51cf")
        );
        let unknown_body = RequestTarget { body: None, ..post };
        assert!(matches!(answer(&only_int, &unknown_body), Err(AuthError::StreamedBody(Scheme::Digest))));
    }

    /// RFC 2069 §2.4's example, with the response corrected by erratum 749.
    #[test]
    fn rfc2069_compat_without_qop() {
        let challenge = parse(
            r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        );
        let creds = Credentials::new("Mufasa", "CircleOfLife");
        let v = rfc_auth().respond(&challenge, &creds, &GET, &mut FixedEntropy(0)).unwrap();
        let c = sent(&v);
        assert_eq!(c.param("response"), Some("1949323746fe6a43ef61f9606e7febea"));
        assert!(c.param("nc").is_none() && c.param("cnonce").is_none() && c.param("qop").is_none());
    }

    #[test]
    fn cnonce_comes_from_the_entropy_once_per_nonce() {
        let mut auth = DigestAuth::default();
        let (creds, rng) = (mufasa(), &mut FixedEntropy(0x2a));
        let c = sent(&auth.respond(&rfc_challenge("MD5", "auth"), &creds, &GET, rng).unwrap());
        assert_eq!(c.param("cnonce"), Some("2a".repeat(16).as_str()));
        assert_eq!(c.param("response"), Some("0c3756cf47d4b965b7d887ce1a4d943f"));
        let next = sent(&auth.preemptive(&creds, &GET, &mut FixedEntropy(0x55)).unwrap().unwrap());
        assert_eq!(next.param("cnonce"), c.param("cnonce"));
    }

    /// `nextnonce` (RFC 7616 §3.5): the session moves to the named nonce with the challenge's
    /// other parameters, a fresh cnonce and count 1; the nonce in use or no session is refused.
    #[test]
    fn nextnonce_restarts_the_session_at_count_one() {
        let (creds, rng) = (mufasa(), &mut FixedEntropy(1));
        assert!(!DigestAuth::default().next_nonce("n", rng), "no session to move");
        let stale = parse(&format!(
            r#"Digest realm="{REALM}", qop="auth", nonce="{NONCE}", opaque="{OPAQUE}", stale=true"#
        ));
        let mut auth = DigestAuth::default();
        auth.respond(&stale, &creds, &GET, rng).unwrap();
        assert!(auth.sequenced());
        assert_eq!(auth.session_key(), Some(NONCE));
        assert!(!auth.next_nonce(NONCE, rng), "the nonce in use");
        assert!(auth.next_nonce("fresh", &mut FixedEntropy(2)));
        assert_eq!(auth.session_key(), Some("fresh"));
        let c = sent(&auth.preemptive(&creds, &GET, rng).unwrap().unwrap());
        assert_eq!(c.param("nonce"), Some("fresh"));
        assert_eq!(c.param("nc"), Some("00000001"));
        assert_eq!(c.param("cnonce"), Some("02".repeat(16).as_str()));
        assert_eq!((c.param("opaque"), c.realm()), (Some(OPAQUE), Some(REALM)));
        let Some(Memory::Digest(m)) = auth.memory() else { panic!("a Digest memory") };
        assert_eq!(m.next_nc, 2);
        let nonces: Vec<&str> =
            m.params.iter().filter(|(k, _)| k == "nonce").map(|(_, v)| v.as_str()).collect();
        assert_eq!(nonces, ["fresh"]);
        assert!(!m.params.iter().any(|(k, _)| k == "stale"), "{:?}", m.params);
    }

    #[test]
    fn unusable_challenges_are_errors() {
        let unknown = rfc_challenge("SHA-1024", "auth");
        assert!(!supports_algorithm(&unknown));
        assert!(supports_algorithm(&rfc_challenge("sha-256", "auth")));
        assert!(supports_algorithm(&parse(r#"Digest realm="r", nonce="n""#)));
        assert!(
            matches!(answer(&unknown, &GET), Err(AuthError::Unsupported(Scheme::Digest, m)) if m.contains("SHA-1024"))
        );
        let qop = rfc_challenge("MD5", "auth-conf");
        assert!(matches!(answer(&qop, &GET), Err(AuthError::Unsupported(Scheme::Digest, _))));
        for malformed in [r#"Digest realm="r""#, r#"Digest nonce="n""#, r#"Basic realm="r""#] {
            assert!(matches!(answer(&parse(malformed), &GET), Err(AuthError::Malformed(..))), "{malformed}");
        }
        // A failed answer forgets the old nonce rather than keep sending it.
        let mut auth = rfc_auth();
        let (creds, rng) = (mufasa(), &mut FixedEntropy(0));
        auth.respond(&rfc_challenge("MD5", "auth"), &creds, &GET, rng).unwrap();
        assert!(auth.respond(&unknown, &creds, &GET, rng).is_err());
        assert!(auth.preemptive(&creds, &GET, rng).is_none());
    }

    #[test]
    fn awkward_values_are_escaped_and_usernames_encoded() {
        let challenge = parse(r#"Digest realm="a \"quoted\" realm, with comma", nonce="n", qop="auth""#);
        let creds = Credentials::new("J\u{e4}s\u{f8}n", "pw");
        let v = rfc_auth().respond(&challenge, &creds, &GET, &mut FixedEntropy(0)).unwrap();
        let c = sent(&v);
        assert_eq!(c.realm(), Some(r#"a "quoted" realm, with comma"#));
        // Not as RFC 7616's username* (RFC 5987), which Apache and Squid do not read: the
        // name's UTF-8 bytes in a quoted string, as curl sends it.
        assert_eq!(c.param("username*"), None);
        assert_eq!(c.param("username"), Some("J\u{e4}s\u{f8}n"));
        assert!(v.expose().contains("username=\"J\u{e4}s\u{f8}n\", "), "{}", v.expose());
    }
}
