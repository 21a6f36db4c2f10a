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

pub trait Reporter: Send + Sync {
    /// Whether trace lines are wanted at all (so the engine can skip building them).
    fn verbose(&self) -> bool;
    fn line(&self, direction: Direction, text: &str);
}

/// A reporter that drops everything.
pub struct Quiet;

impl Reporter for Quiet {
    fn verbose(&self) -> bool {
        false
    }
    fn line(&self, _: Direction, _: &str) {}
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
