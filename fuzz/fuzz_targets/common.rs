//! Shared by the targets (each includes it with `#[path = "common.rs"] mod common;`).
#![allow(dead_code)]

use std::time::{Duration, SystemTime};
use toll::auth::Entropy;

/// Fixed randomness and clock: a crash must reproduce from its input alone.
pub struct FixedEntropy;

impl Entropy for FixedEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8 ^ 0x5a);
    }

    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }
}

/// What may go into an HTTP header value toll sends: no control characters except tab (a CR or
/// LF would be header injection, a NUL or DEL is refused by the peer).
pub fn assert_header_safe(what: &str, value: &str) {
    if let Some(b) = value.bytes().find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        panic!("{what} holds control byte {b:#04x}: {value:?}");
    }
}

/// One input split into `n` text parts at newlines (the last part keeps the rest).
pub fn parts(data: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut out: Vec<String> = text.splitn(n, '\n').map(str::to_owned).collect();
    out.resize(n, String::new());
    out
}
