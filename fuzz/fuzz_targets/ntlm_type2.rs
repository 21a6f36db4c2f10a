//! NTLM type-2 (CHALLENGE_MESSAGE) bytes from the proxy: the first byte picks the user-name
//! form, the rest is the message, sent base64-encoded in `NTLM <token>` after toll's type 1.
//! Nothing may panic; an accepted message must yield a well-formed type 3 in a valid header.
#![no_main]

#[path = "common.rs"]
mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{assert_header_safe, FixedEntropy};
use libfuzzer_sys::fuzz_target;
use toll::auth::ntlm::NtlmAuth;
use toll::auth::{Authenticator, Challenge, RequestTarget, Scheme};
use toll::secret::Credentials;

fn ntlm(token: Option<String>) -> Challenge {
    Challenge { scheme: Some(Scheme::Ntlm), scheme_name: "NTLM".into(), token68: token, params: Vec::new() }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else { return };
    let user = ["alice", "CORP\\alice", "alice@corp.example", "jürgen", "CORP/"][usize::from(selector % 5)];
    let creds = Credentials::new(user, "Passw0rd");
    let target = RequestTarget { method: "CONNECT", uri: "example.com:443", body: None, proxy_host: "proxy", service: "HTTP", delegation: Default::default() };
    let rng = &mut FixedEntropy;
    let mut auth = NtlmAuth::default();
    let type1 = auth.respond(&ntlm(None), &creds, &target, rng).expect("the type 1 needs nothing");
    assert!(type1.expose().starts_with("NTLM "));
    let challenge = ntlm(Some(B64.encode(message)));
    let _ = auth.verdict(Some(&challenge));
    if let Ok(type3) = auth.respond(&challenge, &creds, &target, rng) {
        assert_header_safe("type 3", type3.expose());
        let raw = B64.decode(type3.expose().strip_prefix("NTLM ").expect("NTLM prefix")).expect("base64");
        assert!(raw.starts_with(b"NTLMSSP\0\x03\0\0\0"), "not a type 3: {raw:?}");
    }
    let _ = auth.verdict(Some(&challenge));
    // The same token again after the type 3 must be refused, never answered.
    assert!(auth.respond(&challenge, &creds, &target, rng).is_err());
});
