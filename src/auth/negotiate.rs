//! Negotiate (RFC 4559): SPNEGO (RFC 4178) tokens over Kerberos, from the platform's GSSAPI and
//! the user's ticket cache. No password is involved: the proxy gets a Kerberos service ticket
//! for `HTTP@<proxy host>` (RFC 4559 §4: the service name is `HTTP`, the host the one the
//! client connects to; `--proxy-service-name` / `--service-name` name another service, as in
//! curl, for a proxy whose principal is not `HTTP/host`).
//!
//! The handshake (RFC 4559 §4–§5): a bare `Negotiate` challenge is answered with the first
//! token; a 407 carrying `Negotiate <token>` continues the same security context on the same
//! connection (SPNEGO may need more than one leg); a 407 with a bare `Negotiate`, or after the
//! context completed, is a refusal. The token the proxy may add to its final 200 (mutual
//! authentication, RFC 4559 §5) is not checked: the relay does not hand it back and Squid sends
//! none.
//!
//! Where it fails locally — no GSSAPI library, no ticket, no KDC, no principal for the proxy —
//! `respond` returns [`AuthError::Unavailable`] so the relay can try the next scheme.
//!
//! Platforms: Linux and the BSDs load MIT's `libgssapi_krb5.so.2` at run time
//! ([`super::gssapi`]). macOS (GSS.framework) and Windows (SSPI, `InitializeSecurityContextW`
//! with the "Negotiate" package) are seams: [`start`] for them reports Negotiate unavailable.

use super::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// One security context: the GSSAPI (or, later, SSPI) state of one handshake.
pub trait SecurityContext: Send {
    /// The next token: for the first call `input` is `None`, then the proxy's token.
    fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, String>;
    /// The context is established; any further 407 is a refusal.
    fn complete(&self) -> bool;
    /// The user's credentials were delegated in the tokens so far (`--delegation`).
    fn delegated(&self) -> bool {
        false
    }
}

/// Starts a context toward `service@host` (called with `service`, `host` and whether to delegate);
/// an error means Negotiate cannot be used from here.
pub type Starter = Box<dyn Fn(&str, &str, Delegation) -> Result<Box<dyn SecurityContext>, String> + Send>;

/// Longest `Negotiate` token accepted from the proxy (base64 text).
const MAX_TOKEN: usize = 64 * 1024;

/// Negotiate client state for one proxy connection.
pub struct NegotiateAuth {
    start: Starter,
    context: Option<Box<dyn SecurityContext>>,
}

impl Default for NegotiateAuth {
    fn default() -> Self {
        NegotiateAuth { start: Box::new(start), context: None }
    }
}

impl NegotiateAuth {
    /// With another way to make security contexts (tests; an SSPI backend later).
    pub fn with_starter(start: Starter) -> NegotiateAuth {
        NegotiateAuth { start, context: None }
    }

    /// Through a specific GSSAPI library file instead of the system's.
    #[cfg(all(unix, not(target_os = "macos")))]
    pub fn with_library(path: &str) -> NegotiateAuth {
        let path = path.to_owned();
        NegotiateAuth::with_starter(Box::new(move |service, host, delegation| {
            gss_start(gssapi::Gss::load(&path)?, service, host, delegation)
        }))
    }
}

fn unavailable(why: String) -> AuthError {
    AuthError::Unavailable(Scheme::Negotiate, why)
}

#[cfg(all(unix, not(target_os = "macos")))]
struct GssContext(gssapi::Context);

#[cfg(all(unix, not(target_os = "macos")))]
impl SecurityContext for GssContext {
    fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, String> {
        self.0.step(input).map_err(|e| e.message)
    }
    fn complete(&self) -> bool {
        self.0.complete()
    }
    fn delegated(&self) -> bool {
        self.0.delegated()
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn gss_start(
    gss: std::sync::Arc<gssapi::Gss>,
    service: &str,
    host: &str,
    delegation: Delegation,
) -> Result<Box<dyn SecurityContext>, String> {
    let ctx = gssapi::Context::new(gss, service, host, delegation).map_err(|e| e.message)?;
    Ok(Box::new(GssContext(ctx)))
}

/// The platform's security contexts: MIT GSSAPI loaded at run time.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn start(service: &str, host: &str, delegation: Delegation) -> Result<Box<dyn SecurityContext>, String> {
    gss_start(gssapi::Gss::system()?, service, host, delegation)
}

/// macOS: GSS.framework has the same API with packed structs; not done yet.
#[cfg(target_os = "macos")]
pub fn start(_service: &str, _host: &str, _: Delegation) -> Result<Box<dyn SecurityContext>, String> {
    Err("Negotiate is not supported on macOS yet (GSS.framework)".into())
}

/// Windows: SSPI's Negotiate package; not done yet.
#[cfg(windows)]
pub fn start(_service: &str, _host: &str, _: Delegation) -> Result<Box<dyn SecurityContext>, String> {
    Err("Negotiate is not supported on Windows yet (SSPI)".into())
}

#[cfg(not(any(unix, windows)))]
pub fn start(_service: &str, _host: &str, _: Delegation) -> Result<Box<dyn SecurityContext>, String> {
    Err("Negotiate is not supported on this platform".into())
}

fn header(token: &[u8]) -> Secret {
    Secret::from(format!("Negotiate {}", B64.encode(token)))
}

impl Authenticator for NegotiateAuth {
    fn scheme(&self) -> Scheme {
        Scheme::Negotiate
    }

    fn connection_bound(&self) -> bool {
        true
    }

    /// The Kerberos ticket cache is the credential.
    fn needs_credentials(&self) -> bool {
        false
    }

    fn respond(
        &mut self,
        challenge: &Challenge,
        _creds: &Credentials,
        target: &RequestTarget<'_>,
        _rng: &mut dyn Entropy,
    ) -> Result<Secret, AuthError> {
        if challenge.scheme != Some(Scheme::Negotiate) {
            return Err(AuthError::Malformed(
                Scheme::Negotiate,
                format!("{} is not a Negotiate challenge", challenge.scheme_name),
            ));
        }
        match challenge.token68.as_deref() {
            None => {
                // A bare `Negotiate`: a new context (a new connection, or a restart).
                self.context = None;
                if target.proxy_host.is_empty() {
                    return Err(unavailable("the proxy's host name is not known".into()));
                }
                if target.service.is_empty() {
                    return Err(unavailable("the Kerberos service name is empty".into()));
                }
                let mut ctx = (self.start)(target.service, target.proxy_host, target.delegation)
                    .map_err(unavailable)?;
                // The first step is where a missing ticket, an unreachable KDC or an unknown
                // service principal shows: all local problems, so the next scheme may do.
                let token = ctx.step(None).map_err(|e| {
                    unavailable(format!(
                        "cannot get a ticket for {}@{}: {e}",
                        target.service, target.proxy_host
                    ))
                })?;
                if token.is_empty() {
                    return Err(unavailable("GSSAPI produced no initial token".into()));
                }
                self.context = Some(ctx);
                Ok(header(&token))
            }
            Some(token) => {
                let Some(ctx) = self.context.as_mut() else {
                    return Err(AuthError::Malformed(
                        Scheme::Negotiate,
                        "the proxy sent a continuation token before toll sent any".into(),
                    ));
                };
                let input = decode(token)?;
                let out = ctx.step(Some(&input)).map_err(|e| {
                    AuthError::Malformed(
                        Scheme::Negotiate,
                        format!("the proxy's token was not accepted: {e}"),
                    )
                });
                let out = match out {
                    Ok(t) if !t.is_empty() => t,
                    Ok(_) => {
                        return Err(AuthError::Malformed(
                            Scheme::Negotiate,
                            "the proxy asked again, but the Kerberos exchange had nothing more to send"
                                .into(),
                        ))
                    }
                    Err(e) => {
                        self.context = None;
                        return Err(e);
                    }
                };
                Ok(header(&out))
            }
        }
    }

    /// A continuation token while the context still expects one is the next leg (RFC 4559
    /// §5); anything else is a refusal.
    fn verdict(&self, challenge: Option<&Challenge>) -> Verdict {
        let token = challenge.and_then(|c| c.token68.as_deref());
        match (&self.context, token) {
            (Some(ctx), Some(t)) if !ctx.complete() && decode(t).is_ok() => Verdict::Continue,
            _ => Verdict::Rejected,
        }
    }
}

fn decode(token: &str) -> Result<Vec<u8>, AuthError> {
    if token.len() > MAX_TOKEN {
        return Err(AuthError::Malformed(
            Scheme::Negotiate,
            format!("its token is {} characters long", token.len()),
        ));
    }
    B64.decode(token)
        .map_err(|e| AuthError::Malformed(Scheme::Negotiate, format!("its token is not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    const TARGET: RequestTarget<'static> = RequestTarget {
        method: "GET",
        uri: "http://example.com/",
        body: None,
        proxy_host: "proxy.corp.example",
        service: HTTP_SERVICE,
        delegation: Delegation::None,
    };

    struct NoEntropy;
    impl Entropy for NoEntropy {
        fn fill(&mut self, buf: &mut [u8]) {
            buf.fill(0);
        }
    }

    fn negotiate(token: Option<&[u8]>) -> Challenge {
        let h = match token {
            None => "Negotiate".to_owned(),
            Some(t) => format!("Negotiate {}", B64.encode(t)),
        };
        parse_challenges([h.as_str()]).remove(0)
    }

    /// A scripted context: answers each step with the next of `outputs`, records inputs, and
    /// completes after `legs` steps.
    struct Scripted {
        outputs: Vec<Result<Vec<u8>, String>>,
        seen: Arc<Mutex<Vec<Option<Vec<u8>>>>>,
        legs: usize,
        done: usize,
    }

    impl SecurityContext for Scripted {
        fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, String> {
            self.seen.lock().unwrap().push(input.map(<[u8]>::to_vec));
            self.done += 1;
            self.outputs.remove(0)
        }
        fn complete(&self) -> bool {
            self.done >= self.legs
        }
    }

    type Seen = Arc<Mutex<Vec<Option<Vec<u8>>>>>;

    fn scripted(
        outputs: Vec<Result<Vec<u8>, String>>,
        legs: usize,
    ) -> (NegotiateAuth, Seen, Arc<Mutex<Vec<String>>>) {
        let seen: Seen = Arc::default();
        let hosts: Arc<Mutex<Vec<String>>> = Arc::default();
        let (s, h) = (seen.clone(), hosts.clone());
        let outputs = Mutex::new(Some(outputs));
        let auth = NegotiateAuth::with_starter(Box::new(move |service, host, delegation| {
            let delegating =
                if delegation == Delegation::None { String::new() } else { format!(" {delegation:?}") };
            h.lock().unwrap().push(format!("{service}@{host}{delegating}"));
            let outputs = outputs.lock().unwrap().take().ok_or("started twice")?;
            Ok(Box::new(Scripted { outputs, seen: s.clone(), legs, done: 0 }) as Box<dyn SecurityContext>)
        }));
        (auth, seen, hosts)
    }

    fn creds() -> Credentials {
        Credentials::new("", "")
    }

    #[test]
    fn one_leg_kerberos() {
        let (mut auth, seen, hosts) = scripted(vec![Ok(b"AP-REQ".to_vec())], 1);
        assert!(!auth.needs_credentials() && auth.connection_bound() && auth.final_leg());
        let v = auth.respond(&negotiate(None), &creds(), &TARGET, &mut NoEntropy).unwrap();
        assert_eq!(v.expose(), format!("Negotiate {}", B64.encode(b"AP-REQ")));
        assert_eq!(*hosts.lock().unwrap(), ["HTTP@proxy.corp.example"]);
        assert_eq!(*seen.lock().unwrap(), [None]);
        // The context is complete: another token, or a bare challenge, is a refusal.
        assert_eq!(auth.verdict(Some(&negotiate(Some(b"more")))), Verdict::Rejected);
        assert_eq!(auth.verdict(Some(&negotiate(None))), Verdict::Rejected);
        assert_eq!(auth.verdict(None), Verdict::Rejected);
        assert!(auth.preemptive(&creds(), &TARGET, &mut NoEntropy).is_none());
    }

    #[test]
    fn the_delegation_asked_for_is_the_contexts() {
        for delegation in [Delegation::Policy, Delegation::Always] {
            let (mut auth, _, hosts) = scripted(vec![Ok(b"AP-REQ".to_vec())], 1);
            let target = RequestTarget { delegation, ..TARGET };
            auth.respond(&negotiate(None), &creds(), &target, &mut NoEntropy).unwrap();
            assert_eq!(*hosts.lock().unwrap(), [format!("HTTP@proxy.corp.example {delegation:?}")]);
        }
    }

    #[test]
    fn another_service_name_is_asked_for_and_named_in_errors() {
        let (mut auth, _, asked) = scripted(vec![Ok(b"AP-REQ".to_vec())], 1);
        let target = RequestTarget { service: "shrubbery", ..TARGET };
        auth.respond(&negotiate(None), &creds(), &target, &mut NoEntropy).unwrap();
        assert_eq!(*asked.lock().unwrap(), ["shrubbery@proxy.corp.example"]);

        let (mut auth, _, _) = scripted(vec![Err("Server not found in Kerberos database".into())], 1);
        let err = auth.respond(&negotiate(None), &creds(), &target, &mut NoEntropy).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Negotiate unavailable: cannot get a ticket for shrubbery@proxy.corp.example: "),
            "{err}"
        );

        let (mut auth, _, asked) = scripted(vec![Ok(b"t".to_vec())], 1);
        let empty = RequestTarget { service: "", ..TARGET };
        assert!(matches!(
            auth.respond(&negotiate(None), &creds(), &empty, &mut NoEntropy),
            Err(AuthError::Unavailable(Scheme::Negotiate, _))
        ));
        assert!(asked.lock().unwrap().is_empty(), "no context is started without a service");
    }
    #[test]
    fn multi_leg_continues_with_the_proxys_token() {
        let (mut auth, seen, _) = scripted(vec![Ok(b"first".to_vec()), Ok(b"second".to_vec())], 2);
        auth.respond(&negotiate(None), &creds(), &TARGET, &mut NoEntropy).unwrap();
        let cont = negotiate(Some(b"from proxy"));
        assert_eq!(auth.verdict(Some(&cont)), Verdict::Continue);
        let v = auth.respond(&cont, &creds(), &TARGET, &mut NoEntropy).unwrap();
        assert_eq!(v.expose(), format!("Negotiate {}", B64.encode(b"second")));
        assert_eq!(*seen.lock().unwrap(), [None, Some(b"from proxy".to_vec())]);
        assert_eq!(auth.verdict(Some(&cont)), Verdict::Rejected, "complete now");
    }

    #[test]
    fn local_failures_are_unavailable() {
        let (mut auth, _, _) = scripted(vec![Err("No Kerberos credentials available".into())], 1);
        let err = auth.respond(&negotiate(None), &creds(), &TARGET, &mut NoEntropy).unwrap_err();
        assert!(
            matches!(&err, AuthError::Unavailable(Scheme::Negotiate, m) if m.contains("No Kerberos credentials"))
        );
        assert!(err
            .to_string()
            .starts_with("Negotiate unavailable: cannot get a ticket for HTTP@proxy.corp.example: "));
        assert_eq!(auth.verdict(Some(&negotiate(Some(b"x")))), Verdict::Rejected);

        let mut auth =
            NegotiateAuth::with_starter(Box::new(|_, _, _| Err("libgssapi_krb5.so.2 not found".into())));
        let err = auth.respond(&negotiate(None), &creds(), &TARGET, &mut NoEntropy).unwrap_err();
        assert_eq!(err.to_string(), "Negotiate unavailable: libgssapi_krb5.so.2 not found");

        let (mut auth, _, _) = scripted(vec![Ok(b"t".to_vec())], 1);
        let no_host = RequestTarget { proxy_host: "", ..TARGET };
        assert!(matches!(
            auth.respond(&negotiate(None), &creds(), &no_host, &mut NoEntropy),
            Err(AuthError::Unavailable(..))
        ));
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn a_missing_gssapi_library_is_unavailable() {
        let mut auth = NegotiateAuth::with_library("libtoll-no-such-gssapi.so.2");
        let err = auth.respond(&negotiate(None), &creds(), &TARGET, &mut NoEntropy).unwrap_err();
        assert!(matches!(err, AuthError::Unavailable(Scheme::Negotiate, _)));
        assert!(
            err.to_string().starts_with("Negotiate unavailable: libtoll-no-such-gssapi.so.2 not found"),
            "{err}"
        );
    }

    #[test]
    fn bad_continuations() {
        let (mut auth, _, _) = scripted(vec![Ok(b"first".to_vec()), Err("defective token".into())], 2);
        // A token before we sent one.
        assert_eq!(auth.verdict(Some(&negotiate(Some(b"x")))), Verdict::Rejected);
        assert!(matches!(
            auth.respond(&negotiate(Some(b"x")), &creds(), &TARGET, &mut NoEntropy),
            Err(AuthError::Malformed(..))
        ));
        auth.respond(&negotiate(None), &creds(), &TARGET, &mut NoEntropy).unwrap();
        let garbage = Challenge {
            scheme: Some(Scheme::Negotiate),
            scheme_name: "Negotiate".into(),
            token68: Some("!!!".into()),
            params: Vec::new(),
        };
        assert_eq!(auth.verdict(Some(&garbage)), Verdict::Rejected);
        assert!(auth.respond(&garbage, &creds(), &TARGET, &mut NoEntropy).is_err());
        let err = auth.respond(&negotiate(Some(b"reject")), &creds(), &TARGET, &mut NoEntropy).unwrap_err();
        assert!(err.to_string().contains("defective token"), "{err}");
        assert_eq!(auth.verdict(Some(&negotiate(Some(b"again")))), Verdict::Rejected, "context dropped");
        let basic = parse_challenges([r#"Basic realm="r""#]).remove(0);
        assert!(auth.respond(&basic, &creds(), &TARGET, &mut NoEntropy).is_err());
    }
}
