//! `toll serve` and `toll run`: the relay offered to other programs on loopback. This room owns
//! admission (who may use the listener: the same user, or the per-user key), and later the
//! access log, limits and signals; the upstream side is the relay's.

pub mod admission;
pub mod key;
pub mod peer;
