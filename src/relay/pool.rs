//! Upstream connections kept between the client connections of `toll serve`: when a client
//! connection ends, the upstream connection it held (authenticated by NTLM or Negotiate, or
//! just open) goes back to its proxy's pool, and the next client connection to that proxy takes
//! it instead of connecting and authenticating again. Every client of one server is the same
//! user (admission), so a connection authenticated for one may carry the next one's requests —
//! but only one client's at a time: a connection is in a client's slot or in the pool, never
//! both. toll's own transfers keep their connections per reqwest connection, as before.

use super::spare::SPARE_IDLE;
use super::upstream::Conn;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connections kept per proxy; beyond it the oldest is closed.
const IDLE_MAX: usize = 16;

/// An idle connection older than this is closed rather than reused (proxies close idle
/// connections themselves after a minute or two; Squid's `client_idle_pconn_timeout` is 2 min).
const IDLE_FOR: Duration = Duration::from_secs(30);

#[derive(Default)]
pub(super) struct Pool {
    idle: Mutex<Vec<(Conn, Instant)>>,
    /// Connections opened ahead for the next tunnels (`spare`).
    spares: Mutex<Vec<(Conn, Instant)>>,
    /// Spares being opened (`spare::refill`).
    pub(super) filling: AtomicUsize,
    /// A task closes the spares that grow old (`spare`).
    pub(super) pruning: AtomicBool,
}

impl Pool {
    /// Keeps `conn` for the next client, if it can still carry a request.
    pub(super) fn put(&self, conn: Conn) {
        if !conn.usable() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(c, at)| c.usable() && at.elapsed() < IDLE_FOR);
        if idle.len() >= IDLE_MAX {
            idle.remove(0);
        }
        idle.push((conn, Instant::now()));
    }

    /// The most recently used connection that is still open and not too old.
    pub(super) fn take(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((c, at)) = idle.pop() {
            if c.usable() && at.elapsed() < IDLE_FOR {
                return Some(c);
            }
        }
        None
    }
}

impl Pool {
    /// A spare for a new tunnel, the oldest first (an NTLM challenge must not grow old).
    pub(super) fn take_spare(&self) -> Option<Conn> {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        spares.retain(|(c, at)| c.usable() && at.elapsed() < SPARE_IDLE);
        (!spares.is_empty()).then(|| spares.remove(0).0)
    }

    pub(super) fn put_spare(&self, conn: Conn) {
        self.spares.lock().unwrap_or_else(|e| e.into_inner()).push((conn, Instant::now()));
    }

    pub(super) fn spares(&self) -> usize {
        self.spares.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Closes the spares that were not used in time.
    pub(super) fn prune_spares(&self) {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        spares.retain(|(c, at)| c.usable() && at.elapsed() < SPARE_IDLE);
    }
}

/// A client connection of `toll serve` ended: its upstream connection goes back to the pool.
impl Drop for super::ClientConn {
    fn drop(&mut self) {
        if !self.pooled {
            return;
        }
        if let (Some(up), Some(conn)) = (self.upstream.take(), self.conn.take()) {
            up.pool.put(conn);
        }
    }
}
