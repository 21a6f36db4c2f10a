//! Secrets in memory: the one type every password, proxy token and relay key lives in.
//!
//! `Secret` never prints its contents (`Debug`/`Display` show `<redacted>`) and is zeroed when
//! dropped, so a stray `{:?}` in a log line or a `-v` trace cannot leak a credential.

use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// How `-v` and `--trace` show a field that carries a secret (`name` in lower case): its
/// authentication scheme where the value starts with a registered one (`Basic <redacted>`,
/// `Digest <redacted>`: which scheme answered is what one debugs, and no secret), else
/// `<redacted>` whole — a bare token, and every cookie.
pub fn shown_secret_field(name: &str, value: &[u8]) -> String {
    // The IANA HTTP Authentication Scheme Registry, with AWS's and GitHub's token schemes.
    const SCHEMES: [&str; 14] = [
        "basic",
        "bearer",
        "digest",
        "dpop",
        "hoba",
        "mutual",
        "negotiate",
        "ntlm",
        "oauth",
        "scram-sha-1",
        "scram-sha-256",
        "vapid",
        "aws4-hmac-sha256",
        "token",
    ];
    let credentials = matches!(name, "authorization" | "proxy-authorization");
    let scheme = std::str::from_utf8(value).ok().and_then(|v| v.trim_start().split_once(' ')).map(|(s, _)| s);
    match scheme.filter(|s| credentials && SCHEMES.contains(&s.to_ascii_lowercase().as_str())) {
        Some(s) => format!("{s} <redacted>"),
        None => "<redacted>".into(),
    }
}

/// A secret string (password, `Proxy-Authorization` value, token). Read it only with [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// `bytes` random bytes from the system, as lowercase hex (a key for toll's relay or
    /// server); the raw bytes are wiped.
    pub fn random_hex(bytes: usize) -> std::io::Result<Secret> {
        let mut raw = zeroize::Zeroizing::new(vec![0u8; bytes]);
        getrandom::fill(&mut raw).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Secret::new(raw.iter().map(|b| format!("{b:02x}")).collect::<String>()))
    }

    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The plain value. Call sites are the only places a secret is read; keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(mut s: String) -> Self {
        let secret = Secret::new(s.as_str());
        s.zeroize();
        secret
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A user name and password for one proxy. The user name is not secret (it is shown in prompts
/// and messages); the password is.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials { user: user.into(), password: Secret::new(password) }
    }

    /// A stable, non-reversible identity of this user+password pair for this process, used to
    /// remember "this exact credential was rejected" without keeping a second copy of it.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(process_salt());
        h.update((self.user.len() as u64).to_le_bytes());
        h.update(self.user.as_bytes());
        h.update(self.password.expose().as_bytes());
        h.finalize().into()
    }
}

fn process_salt() -> &'static [u8; 16] {
    static SALT: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
    SALT.get_or_init(|| {
        let mut s = [0u8; 16];
        getrandom::fill(&mut s).expect("OS randomness");
        s
    })
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &self.password).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_field_shows_a_registered_scheme_only() {
        let shown = |name, value: &str| shown_secret_field(name, value.as_bytes());
        assert_eq!(shown("authorization", "Basic YTpi"), "Basic <redacted>");
        assert_eq!(shown("proxy-authorization", "NTLM TlRMTVNT"), "NTLM <redacted>");
        assert_eq!(shown("authorization", "bearer abc.def"), "bearer <redacted>");
        // A bare token, or a first word that is no scheme, may be the secret itself.
        assert_eq!(shown("authorization", "s3cr3t-token"), "<redacted>");
        assert_eq!(shown("authorization", "s3cr3t more"), "<redacted>");
        assert_eq!(shown("cookie", "Basic x"), "<redacted>");
        assert_eq!(shown("set-cookie", "sid=1; Path=/"), "<redacted>");
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let c = Credentials::new("alice", "hunter2:x");
        let shown = format!("{c:?} {} {:?}", c.password, c.password);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("alice"));
    }

    #[test]
    fn fingerprint_separates_user_and_password() {
        assert_ne!(Credentials::new("ab", "c").fingerprint(), Credentials::new("a", "bc").fingerprint());
        assert_eq!(Credentials::new("a", "b").fingerprint(), Credentials::new("a", "b").fingerprint());
    }
}
