//! The Negotiate token path up to the GSSAPI call: the proxy's `Negotiate <token>` text is
//! length-checked and base64-decoded, and the bytes handed to the security context must be
//! exactly the token's decoding. The context is a stand-in (no GSSAPI, no Kerberos): it echoes.
#![no_main]

#[path = "common.rs"]
mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{assert_header_safe, FixedEntropy};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, Mutex};
use toll::auth::negotiate::{NegotiateAuth, SecurityContext};
use toll::auth::{Authenticator, Challenge, RequestTarget, Scheme};
use toll::secret::Credentials;

struct Echo {
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
    legs: usize,
}

impl SecurityContext for Echo {
    fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, String> {
        self.legs += 1;
        match input {
            None => Ok(b"first".to_vec()),
            Some(b) => {
                self.seen.lock().unwrap().push(b.to_vec());
                if b.first() == Some(&0xff) {
                    return Err("refused".into());
                }
                Ok(b.iter().rev().take(32).copied().collect())
            }
        }
    }
    fn complete(&self) -> bool {
        self.legs >= 3
    }
}

fn negotiate(token: Option<String>) -> Challenge {
    Challenge {
        scheme: Some(Scheme::Negotiate),
        scheme_name: "Negotiate".into(),
        token68: token,
        params: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data).into_owned();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let mut auth = NegotiateAuth::with_starter(Box::new(move |_service, _host, _delegation| {
        Ok(Box::new(Echo { seen: seen2.clone(), legs: 0 }) as Box<dyn SecurityContext>)
    }));
    let creds = Credentials::new("", "");
    let target = RequestTarget { method: "GET", uri: "http://example.com/", body: None, proxy_host: "proxy", service: "HTTP", delegation: Default::default() };
    let rng = &mut FixedEntropy;
    auth.respond(&negotiate(None), &creds, &target, rng).expect("the stand-in always starts");
    let challenge = negotiate(Some(token.clone()));
    for _ in 0..2 {
        let _ = auth.verdict(Some(&challenge));
        if let Ok(v) = auth.respond(&challenge, &creds, &target, rng) {
            assert_header_safe("Negotiate response", v.expose());
        }
    }
    let seen = seen.lock().unwrap();
    if let Some(first) = seen.first() {
        assert_eq!(
            Some(first),
            B64.decode(&token).ok().as_ref(),
            "the context got other bytes than the token's"
        );
    }
});
