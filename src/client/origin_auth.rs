//! `-u/--user`: authentication with the origin (401 + `WWW-Authenticate`), with the same scheme
//! engine (`crate::auth`) that answers the proxy's 407s in the relay.
//!
//! As curl: with `--basic` (the default) Basic goes with the first request; with `--ntlm` the
//! first request opens the handshake; with `--digest`, `--negotiate` or `--anyauth` the first
//! request goes without credentials and the 401's challenge is answered. A leg that cannot
//! complete the handshake goes without the request's body ([`OriginAuthState::withholds_body`]).
//! The rules the proxy side follows hold here too:
//! - the credentials go only to the first URL's origin (scheme, host, port), not to a host a
//!   redirect leads to, unless `--location-trusted` (`-n` looks the new host up in its file);
//! - they are never mixed with the proxy's: only `Authorization` is written here, and the
//!   proxy's `Proxy-Authorization` exists only inside the relay;
//! - a credential the origin rejected is never sent again in this run (the 401 is the answer,
//!   as curl returns it), and a handshake has a fixed number of legs, so nothing loops.
//!
//! A `-H 'Authorization: …'` given by the user wins over `-u`, as in curl.

use crate::auth::{self, Authenticator, Challenge, OsEntropy, RequestTarget, Scheme, SchemeSet, Verdict};
use crate::config::{Netrc, NetrcConfig, OriginAuth, RequestConfig};
use crate::error::{Error, Exit, Result};
use crate::secret::{Credentials, Secret};
use reqwest::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};

/// At most this many 401s are answered in one run (NTLM needs two legs).
const MAX_LEGS: usize = 4;

pub struct OriginAuthState {
    cfg: Option<OriginAuth>,
    home: url::Origin,
    creds: Credentials,
    /// The scheme in use, after a challenge (or Basic sent first).
    active: Option<Box<dyn Authenticator>>,
    /// The answer to send with the next request (computed from the last 401).
    pending: Option<Secret>,
    /// For a scheme that is not connection-bound, the 401's challenge instead: answered in
    /// `authorize` for the request it goes with (Digest's `auth-int` hashes that one's body).
    deferred: Option<Challenge>,
    /// Whether the last request carried our `Authorization`, and whether that value could
    /// complete the handshake (an NTLM negotiate message cannot: a 401 after it rejects no
    /// credential).
    sent: bool,
    sent_final: bool,
    /// The last request carried the answer to a connection-bound scheme's challenge (NTLM's
    /// authenticate message), which is only good on the connection the challenge came on.
    sent_bound_answer: bool,
    /// A connection-bound answer is pending (see `sent_bound_answer`).
    bound_answer_pending: bool,
    /// A `-H 'Authorization: …'` of the user's, which wins over `-u` (see [`Self::authorize`]).
    user_header: bool,
    /// The last request carried an `Authorization` that was not ours (`-H`, `--oauth2-bearer`):
    /// its 401 is the answer, never a reason to send it again.
    carried_theirs: bool,
    /// `--location-trusted`: the credentials go to other origins after a redirect too.
    trusted: bool,
    /// The first request went without its body to ask for the server's challenge (see
    /// [`Self::withholds_body`]).
    asked: bool,
    rejected: bool,
    legs: usize,
    /// The Kerberos service for Negotiate (`--service-name`, else `HTTP`).
    service: String,
    delegation: auth::Delegation,
    /// `-n`'s file, for the hosts a redirect leads to (see [`Self::follow_netrc`]).
    netrc: Option<NetrcHosts>,
    /// The origins that rejected their credentials in this run, for a redirect back to one.
    refused: Vec<url::Origin>,
}

/// `-n`'s file as read, with what shapes the credentials it gives.
struct NetrcHosts {
    cfg: NetrcConfig,
    file: std::sync::Arc<Netrc>,
    /// `-H 'Authorization:'` and the like (see `OriginAuth::minus_removed_header`).
    removed: Vec<String>,
}

impl OriginAuthState {
    pub fn new(req: &RequestConfig) -> OriginAuthState {
        let service = req.curl.service_name.clone().unwrap_or_else(|| auth::HTTP_SERVICE.into());
        let mut state = Self::with(req.origin_auth.clone(), req.url.origin(), service, req.curl.delegation);
        state.trusted = req.curl.location_trusted;
        state.user_header = req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
        // Read only when neither -u nor the URL gave a password (`app::netrc_login`): the
        // credentials in use are the file's, or none.
        state.netrc = req.curl.netrc.as_ref().and_then(|cfg| {
            let file = cfg.read.clone()?;
            Some(NetrcHosts { cfg: cfg.clone(), file, removed: req.curl.removed_headers.clone() })
        });
        state
    }

    fn with(
        cfg: Option<OriginAuth>,
        home: url::Origin,
        service: String,
        delegation: auth::Delegation,
    ) -> OriginAuthState {
        let creds = cfg.as_ref().map_or_else(
            || Credentials::new("", ""),
            |c| Credentials {
                user: c.user.clone(),
                password: c.password.clone().unwrap_or_else(|| Secret::new("")),
            },
        );
        let active: Option<Box<dyn Authenticator>> = match &cfg {
            Some(c) if c.preemptive_basic => Some(Box::new(auth::basic::BasicAuth::asked())),
            _ => None,
        };
        OriginAuthState {
            cfg,
            home,
            creds,
            active,
            pending: None,
            deferred: None,
            sent: false,
            sent_final: true,
            sent_bound_answer: false,
            bound_answer_pending: false,
            user_header: false,
            carried_theirs: false,
            trusted: false,
            asked: false,
            rejected: false,
            service,
            delegation,
            legs: 0,
            netrc: None,
            refused: Vec::new(),
        }
    }

    /// `-n` after a redirect to another origin: that host's own entry in the file (and the URL's
    /// user's, if it names one), as curl looks it up per host. The first host's credentials still
    /// stay with it; a host without an entry gets none — with `--location-trusted`, the
    /// credentials in use (curl's "send them to every host") —; an origin that rejected its
    /// credentials in this run does not get them again.
    fn follow_netrc(&mut self, url: &url::Url) {
        let Some(netrc) = &self.netrc else { return };
        if url.origin() == self.home {
            return;
        }
        // Never from https to plain http unless trusted: the file's password would cross the
        // network in clear because a server said so (curl's CVE-2024-11053 was a netrc leak on
        // redirects).
        let from_https = matches!(&self.home, url::Origin::Tuple(scheme, ..) if scheme == "https");
        if from_https && url.scheme() != "https" && !self.trusted {
            return;
        }
        let Some(auth) =
            netrc.cfg.origin_auth(&netrc.file, url).and_then(|a| a.minus_removed_header(&netrc.removed))
        else {
            return;
        };
        if self.rejected && !self.refused.contains(&self.home) {
            self.refused.push(self.home.clone());
        }
        let fresh = Self::with(Some(auth), url.origin(), self.service.clone(), self.delegation);
        let old = std::mem::replace(self, fresh);
        self.netrc = old.netrc;
        self.refused = old.refused;
        self.user_header = old.user_header;
        self.trusted = old.trusted;
        if self.refused.contains(&self.home) {
            self.rejected = true;
            self.active = None;
        }
    }

    /// The origin rejected these credentials earlier in this run (an earlier `--retry` attempt):
    /// they are not sent again.
    pub fn rejected_before(mut self, rejected: bool) -> Self {
        if rejected {
            self.rejected = true;
            self.active = None;
        }
        self
    }

    pub fn is_rejected(&self) -> bool {
        self.rejected
    }

    fn applies(&self, url: &url::Url) -> bool {
        match &self.cfg {
            Some(_) => !self.rejected && (self.trusted || url.origin() == self.home),
            None => false,
        }
    }

    /// Before the request for `url` is built: whether it goes without its body, because the value
    /// it will carry is a leg that cannot complete the handshake (NTLM's negotiate message, which
    /// a server that asked for NTLM answers with a 401 anyway; a body it does not read would cost
    /// the connection the handshake is bound to). With NTLM the only scheme allowed (`--ntlm`)
    /// the handshake opens at once, as curl's does: the first request carries the negotiate
    /// message. With only schemes that need the server's challenge first (`--digest`,
    /// `--negotiate`; not Basic, which `--anyauth` allows), the first request asks without the
    /// body too, as curl's. Either way the caller sends the request again, whole, when the
    /// server needed no credentials, and a streamed upload is read once, by the final leg.
    pub fn withholds_body(&mut self, url: &url::Url, with_body: bool) -> Result<bool> {
        self.follow_netrc(url);
        if !self.applies(url) || self.user_header {
            return Ok(false);
        }
        let ntlm_only = self.cfg.as_ref().is_some_and(|c| c.schemes == SchemeSet::only(Scheme::Ntlm));
        if ntlm_only && self.pending.is_none() && self.active.is_none() {
            let mut a = auth::authenticator(Scheme::Ntlm).expect("NTLM is implemented");
            let bare = auth::parse_challenges(["NTLM"]).pop().expect("a bare NTLM challenge");
            // The negotiate message depends on neither the method nor the target.
            let target = target("GET", "/", None, url, &self.service, self.delegation);
            self.pending = Some(a.respond(&bare, &self.creds, &target, &mut OsEntropy).map_err(auth_error)?);
            self.active = Some(a);
            self.legs += 1;
        }
        if self.pending.is_none() && self.active.is_none() {
            // Once: a server that answered the bodiless request gets it whole next.
            let challenge_first =
                self.cfg.as_ref().is_some_and(|c| !c.schemes.contains(Scheme::Basic) && c.sigv4.is_none());
            let probe = with_body && challenge_first && !self.asked;
            self.asked |= probe;
            return Ok(probe);
        }
        Ok(with_body && self.pending.is_some() && self.active.as_ref().is_some_and(|a| !a.final_leg()))
    }

    /// Adds `Authorization` to `request` when the origin credentials go with it.
    /// `request_target`: the request-target sent when it is not the URL's path and query
    /// (`--path-as-is`, `--request-target`): Digest hashes the one the server receives, and for
    /// `qop=auth-int` this request's body, when it is in memory.
    pub fn authorize(
        &mut self,
        mut request: reqwest::Request,
        request_target: Option<&str>,
    ) -> Result<reqwest::Request> {
        self.follow_netrc(request.url());
        self.sent = false;
        self.sent_bound_answer = std::mem::take(&mut self.bound_answer_pending) && self.pending.is_some();
        self.carried_theirs = request.headers().contains_key(AUTHORIZATION);
        if !self.applies(request.url()) || self.carried_theirs {
            self.sent_bound_answer = false;
            self.pending = None;
            self.deferred = None;
            return Ok(request);
        }
        if let Some(spec) = self.cfg.as_ref().and_then(|c| c.sigv4.as_ref()) {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let signed = sign(spec, &self.creds, &request, &auth::sigv4::amz_date(now.as_secs()))?;
            for (name, value) in signed.headers {
                let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| Error::new(Exit::Usage, "--aws-sigv4: the provider makes no header name"))?;
                let value = HeaderValue::from_str(&value)
                    .map_err(|_| Error::new(Exit::Usage, "--aws-sigv4: a signed header cannot be sent"))?;
                request.headers_mut().insert(name, value);
            }
            let mut h = HeaderValue::from_str(signed.authorization.expose())
                .map_err(|_| Error::new(Exit::Usage, "the -u access key cannot be sent in a header"))?;
            h.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, h);
            self.sent = true;
            return Ok(request);
        }
        let value = match self.pending.take() {
            Some(v) => Some(v),
            None => {
                let method = request.method().to_string();
                // `None`: streamed, not known before it is sent.
                let body = match request.body() {
                    None => Some(&[][..]),
                    Some(b) => b.as_bytes(),
                };
                let uri = request_target.map_or_else(|| request_uri(request.url()), str::to_owned);
                let target = target(&method, &uri, body, request.url(), &self.service, self.delegation);
                match (self.active.as_mut(), self.deferred.take()) {
                    (Some(a), Some(challenge)) => Some(
                        a.respond(&challenge, &self.creds, &target, &mut OsEntropy).map_err(auth_error)?,
                    ),
                    (Some(a), None) if !a.connection_bound() => {
                        a.preemptive(&self.creds, &target, &mut OsEntropy).transpose().map_err(auth_error)?
                    }
                    _ => None,
                }
            }
        };
        if let Some(v) = value {
            let mut h = HeaderValue::from_bytes(v.expose().as_bytes())
                .map_err(|_| Error::new(Exit::Usage, "the -u credentials cannot be sent in a header"))?;
            h.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, h);
            self.sent = true;
            self.sent_final = self.active.as_ref().is_none_or(|a| a.final_leg());
        }
        Ok(request)
    }

    /// Whether the request [`authorize`](Self::authorize) just prepared answers a
    /// connection-bound scheme's challenge: it must go on the connection that challenge came on,
    /// or not at all (a server takes it on another as a failed logon, which counts toward a
    /// lockout).
    pub fn answers_on_its_connection(&self) -> bool {
        self.sent_bound_answer
    }

    /// Whether the answer [`wants_retry`](Self::wants_retry) prepared is one that must go on
    /// the connection its challenge came on (see [`answers_on_its_connection`](Self::answers_on_its_connection)).
    pub fn next_answer_is_bound(&self) -> bool {
        self.bound_answer_pending
    }

    /// After a response to a request sent by [`authorize`](Self::authorize): whether to send
    /// the same request again with an answer to its 401.
    pub fn wants_retry(&mut self, resp: &reqwest::Response, method: &str) -> Result<bool> {
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED || !self.applies(resp.url()) {
            return Ok(false);
        }
        let Some(cfg) = &self.cfg else { return Ok(false) };
        // A signed request has no challenge to answer, and one that carried the user's own
        // `Authorization` went as they asked: the 401 is the answer (answering it would send
        // their header again, with the body, up to the bound on legs).
        if cfg.sigv4.is_some() || self.carried_theirs {
            return Ok(false);
        }
        let values: Vec<&str> =
            resp.headers().get_all(WWW_AUTHENTICATE).iter().filter_map(|v| v.to_str().ok()).collect();
        let challenges = auth::parse_challenges(values);
        // A 401 that asks for another scheme only (a redirect into an area with Basic after
        // Digest worked) did not judge the credential: the scheme is chosen again. Not for a
        // connection-bound handshake, whose 401s carry its own scheme.
        let scheme_gone = self.active.as_ref().is_some_and(|a| {
            !a.connection_bound()
                && !challenges.is_empty()
                && !challenges.iter().any(|c| c.scheme == Some(a.scheme()))
        });
        if self.sent && scheme_gone {
            self.active = None;
            self.sent = false;
        }
        if self.sent {
            let verdict = self.active.as_ref().map_or(Verdict::Rejected, |a| {
                a.verdict(challenges.iter().find(|c| c.scheme == Some(a.scheme())))
            });
            if verdict == Verdict::Rejected && !self.sent_final {
                // A negotiate message carries no credential: the server does not do NTLM (or
                // not here). The 401 is the answer; nothing was rejected.
                self.active = None;
                return Ok(false);
            }
            if verdict == Verdict::Rejected {
                // The 401 is the answer: this credential is not sent again.
                self.rejected = true;
                self.active = None;
                return Ok(false);
            }
        }
        if self.legs >= MAX_LEGS {
            return Ok(false);
        }
        let continuing = self.sent && self.active.is_some();
        let chosen: Option<Challenge> = if continuing {
            let scheme = self.active.as_ref().map(|a| a.scheme());
            challenges.iter().find(|c| c.scheme == scheme).cloned()
        } else {
            auth::choose(&challenges, cfg.schemes).cloned()
        };
        let Some(challenge) = chosen else { return Ok(false) };
        if !continuing {
            let Some(a) = challenge.scheme.and_then(auth::authenticator) else { return Ok(false) };
            self.active = Some(a);
        }
        let a = self.active.as_mut().expect("set above");
        if !a.connection_bound() {
            // Answered in `authorize`, for the request it goes with: Digest's `qop=auth-int`
            // hashes that request's body, which the one that asked for the challenge may not
            // have carried (see `withholds_body`).
            self.deferred = Some(challenge);
            self.legs += 1;
            return Ok(true);
        }
        // Connection-bound schemes (NTLM, Negotiate) hash neither the target nor a body. A
        // challenge on a connection the server closes cannot be answered: the 401 stands, as
        // curl returns it.
        if closes_connection(resp) {
            self.active = None;
            return Ok(false);
        }
        let uri = request_uri(resp.url());
        let target = target(method, &uri, None, resp.url(), &self.service, self.delegation);
        let answer = if a.needs_credentials() {
            a.respond(&challenge, &self.creds, &target, &mut OsEntropy)
        } else {
            tokio::task::block_in_place(|| a.respond(&challenge, &self.creds, &target, &mut OsEntropy))
        };
        match answer {
            Ok(v) => {
                self.pending = Some(v);
                self.bound_answer_pending = true;
                self.legs += 1;
                Ok(true)
            }
            // A scheme that cannot work here: the 401 stands, as curl returns it.
            Err(_) if a.scheme() == Scheme::Negotiate => Ok(false),
            Err(e) => Err(auth_error(e)),
        }
    }
}

/// Whether the server closes the connection after `resp` (`Connection: close`, or HTTP/1.0
/// without `keep-alive`).
fn closes_connection(resp: &reqwest::Response) -> bool {
    let tokens = resp
        .headers()
        .get_all(reqwest::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect::<Vec<_>>();
    tokens.iter().any(|t| t == "close")
        || (resp.version() <= reqwest::Version::HTTP_10 && !tokens.iter().any(|t| t == "keep-alive"))
}

/// `--aws-sigv4`: the signature of `request` as it stands: its body in memory (or too large to
/// read first), and the headers toll sends with it (`-H`, and those toll implies, such as
/// `-d`'s Content-Type) except the hop-by-hop ones a proxy or toll's relay may drop, and
/// Content-Length, which the connection sets.
fn sign(
    spec: &auth::sigv4::Spec,
    creds: &Credentials,
    request: &reqwest::Request,
    now: &str,
) -> Result<auth::sigv4::Signed> {
    const UNSIGNED: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    ];
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter(|(n, _)| !UNSIGNED.contains(&n.as_str()))
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let url = request.url();
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => String::new(),
    };
    let body = match request.body() {
        None => Some(&[][..]),
        Some(b) => b.as_bytes(),
    };
    let req = auth::sigv4::Request {
        method: request.method().as_str(),
        host: &host,
        path: url.path(),
        query: url.query(),
        headers: &headers,
        body,
    };
    auth::sigv4::sign(spec, creds, &req, now).map_err(|e| {
        Error::new(Exit::Usage, format!("--aws-sigv4: {e}")).hint("see --aws-sigv4 in toll --help")
    })
}

fn request_uri(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// For the server, "the proxy host" of Negotiate's ticket is the URL's host.
fn target<'a>(
    method: &'a str,
    uri: &'a str,
    body: Option<&'a [u8]>,
    url: &'a url::Url,
    service: &'a str,
    delegation: auth::Delegation,
) -> RequestTarget<'a> {
    RequestTarget { method, uri, body, proxy_host: url.host_str().unwrap_or(""), service, delegation }
}

fn auth_error(e: auth::AuthError) -> Error {
    let hint = match e {
        auth::AuthError::StreamedBody(_) => {
            "give it as text (-d/--data-binary TEXT) or with -d @FILE (up to 1 MiB): those are read first"
        }
        _ => "check -u and the scheme option (--basic, --digest, --ntlm, --negotiate, --anyauth)",
    };
    Error::new(Exit::Usage, format!("cannot authenticate with the server: {e}")).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Scheme, SchemeSet};

    fn req(url: &str, schemes: SchemeSet, basic: bool, trusted: bool) -> RequestConfig {
        RequestConfig {
            origin_auth: Some(OriginAuth {
                user: "joe".into(),
                password: Some(Secret::new("pw")),
                schemes,
                preemptive_basic: basic,
                sigv4: None,
            }),
            curl: crate::config::CurlExtras { location_trusted: trusted, ..Default::default() },
            ..RequestConfig::get(url::Url::parse(url).unwrap())
        }
    }

    fn get(url: &str) -> reqwest::Request {
        reqwest::Request::new(reqwest::Method::GET, url::Url::parse(url).unwrap())
    }

    fn resp(status: u16, url: &str, challenges: &[&str]) -> reqwest::Response {
        use reqwest::ResponseBuilderExt;
        let mut b = http::Response::builder().status(status).url(url::Url::parse(url).unwrap());
        for c in challenges {
            b = b.header("www-authenticate", *c);
        }
        b.body("").unwrap().into()
    }

    fn auth_header(r: &reqwest::Request) -> Option<String> {
        r.headers().get(AUTHORIZATION).map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn basic_goes_first_and_only_to_the_home_origin() {
        let mut s =
            OriginAuthState::new(&req("http://a.test/x", SchemeSet::only(Scheme::Basic), true, false));
        assert_eq!(
            auth_header(&s.authorize(get("http://a.test/x"), None).unwrap()).as_deref(),
            Some("Basic am9lOnB3")
        );
        assert_eq!(auth_header(&s.authorize(get("http://b.test/x"), None).unwrap()), None);
        assert_eq!(auth_header(&s.authorize(get("http://a.test:81/x"), None).unwrap()), None);
        assert_eq!(auth_header(&s.authorize(get("https://a.test/x"), None).unwrap()), None);
        let mut t = OriginAuthState::new(&req("http://a.test/x", SchemeSet::only(Scheme::Basic), true, true));
        assert!(
            auth_header(&t.authorize(get("http://b.test/x"), None).unwrap()).is_some(),
            "--location-trusted"
        );
    }

    #[test]
    fn a_rejected_credential_is_never_sent_again() {
        let mut s = OriginAuthState::new(&req("http://a.test/", SchemeSet::only(Scheme::Basic), true, false));
        assert!(auth_header(&s.authorize(get("http://a.test/"), None).unwrap()).is_some());
        let r = resp(401, "http://a.test/", &["Basic realm=\"x\""]);
        assert!(!s.wants_retry(&r, "GET").unwrap());
        assert_eq!(auth_header(&s.authorize(get("http://a.test/"), None).unwrap()), None);
        assert!(!s.wants_retry(&r, "GET").unwrap());
        assert!(s.is_rejected());
        // The next attempt of the same run (--retry) starts rejected.
        let mut again =
            OriginAuthState::new(&req("http://a.test/", SchemeSet::only(Scheme::Basic), true, false))
                .rejected_before(true);
        assert_eq!(auth_header(&again.authorize(get("http://a.test/"), None).unwrap()), None);
    }

    #[test]
    fn digest_answers_the_challenge_once() {
        let mut s =
            OriginAuthState::new(&req("http://a.test/p?q=1", SchemeSet::only(Scheme::Digest), false, false));
        assert_eq!(
            auth_header(&s.authorize(get("http://a.test/p?q=1"), None).unwrap()),
            None,
            "nothing before the 401"
        );
        let challenge = "Digest realm=\"r\", nonce=\"abc\", qop=\"auth\"";
        let r = resp(401, "http://a.test/p?q=1", &["Basic realm=\"r\"", challenge]);
        assert!(s.wants_retry(&r, "GET").unwrap());
        let sent = auth_header(&s.authorize(get("http://a.test/p?q=1"), None).unwrap()).unwrap();
        assert!(sent.starts_with("Digest ") && sent.contains("uri=\"/p?q=1\""), "{sent}");
        // Rejected: the same challenge again, stale=false.
        assert!(!s.wants_retry(&r, "GET").unwrap());
        assert_eq!(auth_header(&s.authorize(get("http://a.test/p?q=1"), None).unwrap()), None);
    }

    /// The value of `param` in a Digest answer.
    fn param(sent: &str, param: &str) -> String {
        let at = sent.find(&format!("{param}=")).unwrap() + param.len() + 1;
        sent[at..].split(',').next().unwrap().trim_matches('"').to_string()
    }

    #[test]
    fn digest_hashes_the_request_target_sent_and_the_body_for_auth_int() {
        let url = "http://a.test/p/./q";
        let mut s = OriginAuthState::new(&req(url, SchemeSet::only(Scheme::Digest), false, false));
        // --path-as-is: the server receives /p/./q, not the URL's /p/q.
        s.authorize(get(url), Some("/p/./q")).unwrap();
        let r = resp(401, url, &["Digest realm=\"r\", nonce=\"abc\", qop=\"auth\""]);
        assert!(s.wants_retry(&r, "GET").unwrap());
        let sent = auth_header(&s.authorize(get(url), Some("/p/./q")).unwrap()).unwrap();
        assert_eq!(param(&sent, "uri"), "/p/./q", "{sent}");

        // qop=auth-int alone: A2 = method:uri:MD5(body) (RFC 7616 §3.4.3), for the body sent.
        let post = |body: &'static [u8]| {
            let mut r =
                reqwest::Request::new(reqwest::Method::POST, url::Url::parse("http://a.test/i").unwrap());
            *r.body_mut() = Some(body.into());
            r
        };
        let int = resp(401, "http://a.test/i", &["Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""]);
        let mut s =
            OriginAuthState::new(&req("http://a.test/i", SchemeSet::only(Scheme::Digest), false, false));
        s.authorize(post(b"a=1"), None).unwrap();
        assert!(s.wants_retry(&int, "POST").unwrap());
        let sent = auth_header(&s.authorize(post(b"a=1"), None).unwrap()).unwrap();
        assert_eq!(param(&sent, "qop"), "auth-int");
        let md5 = |t: String| {
            use md5::Digest as _;
            md5::Md5::digest(t.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let ha1 = md5("joe:r:pw".into());
        let ha2 = md5(format!("POST:/i:{}", md5("a=1".into())));
        let (nc, cnonce) = (param(&sent, "nc"), param(&sent, "cnonce"));
        assert_eq!(param(&sent, "response"), md5(format!("{ha1}:n:{nc}:{cnonce}:auth-int:{ha2}")));

        // A streamed body is not known first: a clear error, nothing sent.
        let mut s =
            OriginAuthState::new(&req("http://a.test/i", SchemeSet::only(Scheme::Digest), false, false));
        let streamed = || {
            let mut r = post(b"");
            *r.body_mut() = Some(reqwest::Body::wrap_stream(futures_util::stream::empty::<
                std::result::Result<Vec<u8>, std::io::Error>,
            >()));
            r
        };
        s.authorize(streamed(), None).unwrap();
        assert!(s.wants_retry(&int, "POST").unwrap());
        let e = s.authorize(streamed(), None).expect_err("a streamed body cannot be hashed first");
        assert!(e.to_string().contains("auth-int"), "{e}");
    }

    #[test]
    fn netrc_credentials_follow_a_redirect_to_the_hosts_own_entry_only() {
        let file = crate::client::netrc::parse_netrc(
            "machine a.test login ann password apw\nmachine b.test login bob password bpw\n",
        )
        .unwrap();
        let netrc = || NetrcConfig {
            file: None,
            schemes: (SchemeSet::only(Scheme::Basic), true),
            sigv4: None,
            read: Some(std::sync::Arc::new(file.clone())),
        };
        let state = |trusted: bool| {
            let mut r = RequestConfig::get(url::Url::parse("http://a.test/").unwrap());
            let cfg = netrc();
            r.origin_auth = cfg.origin_auth(&file, &r.url);
            r.curl.netrc = Some(cfg);
            r.curl.location_trusted = trusted;
            OriginAuthState::new(&r)
        };
        let basic = |creds: &str| {
            use base64::Engine;
            Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(creds)))
        };
        let mut s = state(false);
        assert_eq!(auth_header(&s.authorize(get("http://a.test/"), None).unwrap()), basic("ann:apw"));
        assert_eq!(auth_header(&s.authorize(get("http://b.test/"), None).unwrap()), basic("bob:bpw"));
        assert_eq!(auth_header(&s.authorize(get("http://c.test/"), None).unwrap()), None, "no entry");
        // b.test rejects bob's: a redirect back there does not send them again.
        assert_eq!(auth_header(&s.authorize(get("http://b.test/x"), None).unwrap()), basic("bob:bpw"));
        assert!(!s.wants_retry(&resp(401, "http://b.test/x", &["Basic realm=\"r\""]), "GET").unwrap());
        assert_eq!(auth_header(&s.authorize(get("http://a.test/"), None).unwrap()), basic("ann:apw"));
        assert_eq!(auth_header(&s.authorize(get("http://b.test/"), None).unwrap()), None, "rejected there");
        // Never from https to plain http, even to a host with its own entry.
        let mut r = RequestConfig::get(url::Url::parse("https://a.test/").unwrap());
        let cfg = netrc();
        r.origin_auth = cfg.origin_auth(&file, &r.url);
        r.curl.netrc = Some(cfg);
        let mut secure = OriginAuthState::new(&r);
        assert_eq!(auth_header(&secure.authorize(get("https://a.test/"), None).unwrap()), basic("ann:apw"));
        assert_eq!(auth_header(&secure.authorize(get("http://b.test/"), None).unwrap()), None, "a downgrade");
        assert_eq!(auth_header(&secure.authorize(get("https://b.test/"), None).unwrap()), basic("bob:bpw"));
        // --location-trusted: a host with its own entry gets it (as curl 7.88 looks each host
        // up); one without gets the credentials in use, as -u's go on, plain http included.
        let mut t = state(true);
        t.authorize(get("http://a.test/"), None).unwrap();
        assert_eq!(auth_header(&t.authorize(get("http://b.test/"), None).unwrap()), basic("bob:bpw"));
        assert_eq!(auth_header(&t.authorize(get("http://c.test/"), None).unwrap()), basic("bob:bpw"));
        let mut t = state(true);
        t.authorize(get("http://a.test/"), None).unwrap();
        assert_eq!(auth_header(&t.authorize(get("http://c.test/"), None).unwrap()), basic("ann:apw"));
        // Without -n's file (as with -u), nothing follows.
        let mut u = OriginAuthState::new(&req("http://a.test/", SchemeSet::only(Scheme::Basic), true, false));
        assert_eq!(auth_header(&u.authorize(get("http://b.test/"), None).unwrap()), None);
    }

    #[test]
    fn ntlm_alone_opens_at_once_and_its_negotiate_leg_goes_without_the_body() {
        let url = url::Url::parse("http://a.test/up").unwrap();
        let ntlm =
            || OriginAuthState::new(&req("http://a.test/up", SchemeSet::only(Scheme::Ntlm), false, false));
        let mut s = ntlm();
        assert!(s.withholds_body(&url, true).unwrap(), "the negotiate message cannot complete it");
        let sent = auth_header(&s.authorize(get("http://a.test/up"), None).unwrap()).unwrap();
        assert!(sent.starts_with("NTLM TlRMTVNTUAAB"), "a type 1 first: {sent}");
        // A server that does not do NTLM: its 401 stands, and no credential was rejected.
        assert!(!s.wants_retry(&resp(401, "http://a.test/up", &["Basic realm=\"r\""]), "PUT").unwrap());
        assert!(!s.is_rejected());
        // A server that needs none (200 to the negotiate leg): the request again, with its body
        // and without a header.
        let mut s = ntlm();
        assert!(s.withholds_body(&url, true).unwrap());
        s.authorize(get("http://a.test/up"), None).unwrap();
        assert!(!s.wants_retry(&resp(200, "http://a.test/up", &[]), "PUT").unwrap());
        assert!(!s.withholds_body(&url, true).unwrap());
        assert_eq!(auth_header(&s.authorize(get("http://a.test/up"), None).unwrap()), None);
        // --digest asks first without the body too; after the challenge, the answer goes with it.
        let mut d =
            OriginAuthState::new(&req("http://a.test/up", SchemeSet::only(Scheme::Digest), false, false));
        assert!(d.withholds_body(&url, true).unwrap());
        assert_eq!(auth_header(&d.authorize(get("http://a.test/up"), None).unwrap()), None);
        let challenge = "Digest realm=\"r\", nonce=\"n\", qop=\"auth\"";
        assert!(d.wants_retry(&resp(401, "http://a.test/up", &[challenge]), "PUT").unwrap());
        assert!(!d.withholds_body(&url, true).unwrap(), "the answer can complete it");
        // A server that needs none answers the bodiless request: the next one goes whole, once.
        let mut d =
            OriginAuthState::new(&req("http://a.test/up", SchemeSet::only(Scheme::Digest), false, false));
        assert!(d.withholds_body(&url, true).unwrap());
        d.authorize(get("http://a.test/up"), None).unwrap();
        assert!(!d.wants_retry(&resp(200, "http://a.test/up", &[]), "PUT").unwrap());
        assert!(!d.withholds_body(&url, true).unwrap(), "no second probe");
        // Without a body nothing is withheld; --anyauth asks first, with the body.
        assert!(!ntlm().withholds_body(&url, false).unwrap());
        let mut any = OriginAuthState::new(&req("http://a.test/up", SchemeSet::ANY, false, false));
        assert!(!any.withholds_body(&url, true).unwrap());
        assert_eq!(auth_header(&any.authorize(get("http://a.test/up"), None).unwrap()), None);
        // A user's own Authorization header wins: nothing is opened, nothing withheld.
        let mut r = req("http://a.test/up", SchemeSet::only(Scheme::Ntlm), false, false);
        r.headers.push(("Authorization".into(), "Bearer t".into()));
        let mut own = OriginAuthState::new(&r);
        assert!(!own.withholds_body(&url, true).unwrap());
        assert_eq!(auth_header(&own.authorize(get("http://a.test/up"), None).unwrap()), None);
    }

    #[test]
    fn a_scheme_not_allowed_is_not_answered_and_user_headers_win() {
        let mut s =
            OriginAuthState::new(&req("http://a.test/", SchemeSet::only(Scheme::Digest), false, false));
        assert!(!s.wants_retry(&resp(401, "http://a.test/", &["Basic realm=\"r\""]), "GET").unwrap());
        let mut b = OriginAuthState::new(&req("http://a.test/", SchemeSet::only(Scheme::Basic), true, false));
        let mut own = get("http://a.test/");
        own.headers_mut().insert(AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert_eq!(auth_header(&b.authorize(own, None).unwrap()).as_deref(), Some("Bearer t"));
        // Its 401 is the answer: the request is not sent again (it was, up to the bound on legs).
        assert!(!b.wants_retry(&resp(401, "http://a.test/", &["Basic realm=\"r\""]), "GET").unwrap());
        assert!(!b
            .wants_retry(&resp(401, "http://a.test/", &["Digest realm=\"r\", nonce=\"n\""]), "GET")
            .unwrap());
        let none = OriginAuthState::new(&RequestConfig::get(url::Url::parse("http://a.test/").unwrap()));
        assert!(none.cfg.is_none());
    }

    #[test]
    fn handshakes_have_a_bounded_number_of_legs() {
        let mut s = OriginAuthState::new(&req("http://a.test/", SchemeSet::ANY, false, false));
        let r = resp(401, "http://a.test/", &["Digest realm=\"r\", nonce=\"n\", stale=true"]);
        let mut answered = 0;
        for _ in 0..10 {
            s.authorize(get("http://a.test/"), None).unwrap();
            if s.wants_retry(&r, "GET").unwrap() {
                answered += 1;
            }
        }
        assert!(answered <= MAX_LEGS, "{answered}");
    }
}
