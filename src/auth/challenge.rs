//! `Proxy-Authenticate` challenge parsing (RFC 7235 §2.1, §4.3).
//! IMPLEMENTATION PENDING (auth helper).

use super::Scheme;

/// One challenge from a `Proxy-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme when toll knows it; `None` for others (kept so messages can name them).
    pub scheme: Option<Scheme>,
    /// The scheme token as the proxy sent it.
    pub scheme_name: String,
    /// A token68 (e.g. `NTLM TlRMTVNTUAACAAAA…`), when the challenge carries one.
    pub token68: Option<String>,
    /// auth-params: names lower-cased, values unquoted and unescaped, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }
}

/// Every challenge in `values` (one item per `Proxy-Authenticate` header line, each possibly a
/// comma-separated list). A header that cannot be parsed contributes nothing; never panics.
pub fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let _ = values;
    Vec::new()
}
