//! The engine's voice: verbose trace lines and the final proxy outcome, handed to the app which
//! owns the terminal. The engine never formats a secret into a line; the app still sanitises
//! every line because proxy-supplied text (realms, reason phrases) can carry control bytes.

use crate::auth::Challenge;

/// What a trace line describes, rendered like curl's `-v`: `*` info, `>` sent, `<` received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Info,
    Sent,
    Received,
}

/// One request/response leg between the relay and the upstream proxy, for tools that explain
/// what happened (`toll doctor`). Never holds a secret: only which scheme was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leg {
    /// `scheme://host:port` of the proxy.
    pub proxy: String,
    /// `CONNECT host:port` or `GET http://…` (no credentials).
    pub request: String,
    /// The scheme whose `Proxy-Authorization` this leg carried, if any.
    pub sent: Option<crate::auth::Scheme>,
    pub status: u16,
    pub reason: String,
    /// The `Proxy-Authenticate` headers, raw (sanitise before printing).
    pub challenges: Vec<String>,
    /// How long the proxy took to answer.
    pub elapsed: std::time::Duration,
}

pub trait Reporter: Send + Sync {
    /// Whether trace lines are wanted at all (so the engine can skip building them).
    fn verbose(&self) -> bool;
    fn line(&self, direction: Direction, text: &str);
    /// A finished leg with the upstream proxy.
    fn leg(&self, _leg: &Leg) {}
}

/// A reporter that drops everything.
pub struct Quiet;

impl Reporter for Quiet {
    fn verbose(&self) -> bool {
        false
    }
    fn line(&self, _: Direction, _: &str) {}
}

/// A raw `Proxy-Authenticate` value as it may be shown (`-v`, `toll doctor --report`): the
/// token of a connection-bound scheme (an NTLM type-2 message, a Negotiate continuation) is
/// replaced by its length, like every other token toll handles.
pub fn shown_challenge(raw: &str) -> String {
    let trimmed = raw.trim();
    match trimmed.split_once(' ') {
        Some((scheme, token))
            if ["NTLM", "Negotiate", "Kerberos"].iter().any(|s| s.eq_ignore_ascii_case(scheme))
                && !token.trim().is_empty() =>
        {
            format!("{scheme} <redacted {}-byte token>", token.trim().len())
        }
        _ => trimmed.to_string(),
    }
}

/// One challenge as a person reads it: `Digest (realm "Corp", SHA-256)`. Never contains a token.
pub fn describe_challenge(c: &Challenge) -> String {
    let mut extra = Vec::new();
    if let Some(r) = c.realm() {
        extra.push(format!("realm \"{r}\""));
    }
    if let Some(a) = c.param("algorithm") {
        extra.push(a.to_string());
    }
    if extra.is_empty() {
        c.scheme_name.clone()
    } else {
        format!("{} ({})", c.scheme_name, extra.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_bound_tokens_are_not_shown() {
        assert_eq!(shown_challenge("NTLM TlRMTVNTUAACAAAA"), "NTLM <redacted 16-byte token>");
        assert_eq!(shown_challenge("negotiate oRQwEqADCgEA"), "negotiate <redacted 12-byte token>");
        assert_eq!(shown_challenge("NTLM"), "NTLM");
        assert_eq!(shown_challenge(r#"Digest realm="r", nonce="n""#), r#"Digest realm="r", nonce="n""#);
    }
}
