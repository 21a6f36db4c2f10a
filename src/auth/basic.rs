//! Basic (RFC 7617): `Basic base64(user-id ":" password)`.
//!
//! Always UTF-8, the only `charset` RFC 7617 §2.1 defines; proxies that announce nothing usually
//! expect it too. `http_auth::basic::encode_credentials` would do the encoding, but it leaves the
//! plain `user:password` in an ordinary `String`; here every copy lives in zeroed memory.

use super::*;
use base64::Engine as _;
use zeroize::Zeroizing;

/// Basic needs no state beyond "the proxy asked for it" (so it is never sent unasked).
#[derive(Default)]
pub struct BasicAuth {
    answered: bool,
}

impl BasicAuth {
    /// A proxy that asked for Basic in an earlier run: answer before it asks again.
    pub fn asked() -> BasicAuth {
        BasicAuth { answered: true }
    }
}

/// `Basic base64(user ":" password)`.
fn encode(creds: &Credentials) -> Result<Secret, AuthError> {
    // RFC 7617 §2: the user-id cannot hold a colon (the first one ends it); the password can.
    if creds.user.contains(':') {
        return Err(AuthError::Unsupported(
            Scheme::Basic,
            "a user name containing ':' cannot be sent".into(),
        ));
    }
    // RFC 7617 §2: neither part may contain control characters. The password is not named in the
    // message.
    if creds.user.chars().any(char::is_control) || creds.password.expose().chars().any(char::is_control) {
        return Err(AuthError::Unsupported(
            Scheme::Basic,
            "the user name or password contains a control character".into(),
        ));
    }
    let plain = Zeroizing::new(format!("{}:{}", creds.user, creds.password.expose()));
    let mut value = Zeroizing::new(String::with_capacity(6 + plain.len().div_ceil(3) * 4));
    value.push_str("Basic ");
    base64::engine::general_purpose::STANDARD.encode_string(plain.as_bytes(), &mut value);
    Ok(Secret::new(value.as_str()))
}

impl Authenticator for BasicAuth {
    fn scheme(&self) -> Scheme {
        Scheme::Basic
    }

    fn respond(
        &mut self,
        _challenge: &Challenge,
        creds: &Credentials,
        _target: &RequestTarget<'_>,
        _rng: &mut dyn Entropy,
    ) -> Result<Secret, AuthError> {
        let value = encode(creds)?;
        self.answered = true;
        Ok(value)
    }

    /// Basic credentials do not depend on the request, so once the proxy has asked for them they
    /// go with every further request to it (RFC 7617 §2.2 protection space reuse).
    fn preemptive(
        &mut self,
        creds: &Credentials,
        _target: &RequestTarget<'_>,
        _rng: &mut dyn Entropy,
    ) -> Option<Result<Secret, AuthError>> {
        self.answered.then(|| encode(creds))
    }

    fn memory(&self) -> Option<Memory> {
        self.answered.then_some(Memory::Basic)
    }

    /// Basic has no second step: a 407 after Basic credentials means they were refused.
    fn verdict(&self, _challenge: Option<&Challenge>) -> Verdict {
        Verdict::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoEntropy;
    impl Entropy for NoEntropy {
        fn fill(&mut self, _: &mut [u8]) {
            panic!("Basic needs no randomness");
        }
    }

    const GET: RequestTarget<'static> = RequestTarget {
        method: "GET",
        uri: "http://example.com/",
        body: None,
        proxy_host: "proxy",
        service: "HTTP",
        delegation: crate::auth::Delegation::None,
    };

    fn challenge() -> Challenge {
        parse_challenges(["Basic realm=\"WallyWorld\""]).remove(0)
    }

    fn respond(user: &str, password: &str) -> Result<String, AuthError> {
        let mut auth = BasicAuth::default();
        let creds = Credentials::new(user, password);
        auth.respond(&challenge(), &creds, &GET, &mut NoEntropy).map(|s| s.expose().to_owned())
    }

    /// RFC 7617 §2 and §2.1 examples.
    #[test]
    fn rfc7617_examples() {
        assert_eq!(respond("Aladdin", "open sesame").unwrap(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(respond("test", "123\u{a3}").unwrap(), "Basic dGVzdDoxMjPCow==");
    }

    #[test]
    fn password_may_contain_colons_user_may_not() {
        // base64("alice:pa:ss") — only the first colon separates.
        assert_eq!(respond("alice", "pa:ss").unwrap(), "Basic YWxpY2U6cGE6c3M=");
        assert!(matches!(respond("al:ice", "x"), Err(AuthError::Unsupported(Scheme::Basic, _))));
    }

    #[test]
    fn control_characters_are_refused_without_naming_the_password() {
        let err = respond("alice", "hunter2\n").unwrap_err();
        assert!(matches!(err, AuthError::Unsupported(Scheme::Basic, _)));
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn preemptive_only_after_a_challenge_then_the_same_value() {
        let mut auth = BasicAuth::default();
        let creds = Credentials::new("Aladdin", "open sesame");
        assert!(auth.preemptive(&creds, &GET, &mut NoEntropy).is_none(), "never sent unasked");
        let first = auth.respond(&challenge(), &creds, &GET, &mut NoEntropy).unwrap();
        let connect = RequestTarget {
            method: "CONNECT",
            uri: "example.com:443",
            body: None,
            proxy_host: "proxy",
            service: "HTTP",
            delegation: crate::auth::Delegation::None,
        };
        let again = auth.preemptive(&creds, &connect, &mut NoEntropy).unwrap().unwrap();
        assert_eq!(first, again);
    }

    #[test]
    fn any_407_after_basic_is_a_rejection() {
        let auth = BasicAuth::default();
        assert_eq!(auth.verdict(Some(&challenge())), Verdict::Rejected);
        assert_eq!(auth.verdict(None), Verdict::Rejected);
        assert_eq!(auth.scheme(), Scheme::Basic);
        assert!(!auth.connection_bound());
    }
}
