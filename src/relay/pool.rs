//! Upstream connections that carry http requests (absolute form) to one proxy, for `toll serve`
//! and toll's own in-process forwarding, and the spare connections kept for new tunnels.
//!
//! A connection is *leased* for one request: taken from the idle ones (the most recently used
//! first) or opened, and handed back when the response's body has been read to its end
//! ([`Returning`]), so the next request — of any client connection of the same server, which
//! are all the same user (admission) — goes out on it without a new connection, and without a
//! new handshake where NTLM or Negotiate authenticated it (a connection-bound scheme
//! authenticates the connection, RFC 4559 §4; MS-NLMP). A connection is in one request's lease
//! or idle, never both. A response dropped before its end closes its connection.
//!
//! At most [`LANES`] connections per proxy carry requests at once (idle ones included); more
//! requests wait their turn, first come first served. Without the bound, 1,000 clients asking
//! at once opened 1,000 upstream connections, each with its own NTLM handshake or Digest
//! session (a 407 each), and a proxy serves fewer requests per second with 1,000 connections
//! than with 100 (bench/SERVE.md). Browsers bound their connections to a proxy the same way.
//! CONNECT tunnels are not counted: each holds its connection for as long as the tunnel lives.
//!
//! An idle connection is closed after [`IDLE_FOR`] by one pruning task per proxy, which runs
//! while there are idle connections: a server that goes quiet does not keep up to 64
//! connections (and a proxy's sockets) open until the proxy gives up on them.

use super::spare::SPARE_IDLE;
use super::upstream::Conn;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
/// tokio's clock, so the tests can pause it (it is the monotonic clock otherwise).
use tokio::time::Instant;

/// Connections that carry requests to one proxy at once.
pub(super) const LANES: usize = 64;

/// An idle connection older than this is closed rather than reused (proxies close idle
/// connections themselves after a minute or two; Squid's `client_idle_pconn_timeout` is 2 min).
const IDLE_FOR: Duration = Duration::from_secs(30);

/// What a pooled connection must say about itself.
pub(super) trait Reusable: Send + 'static {
    /// Still open: it may carry another request.
    fn usable(&self) -> bool;
}

impl Reusable for Conn {
    fn usable(&self) -> bool {
        Conn::usable(self)
    }
}

#[derive(Default)]
pub(super) struct Pool {
    /// Connections for forwarded requests.
    pub(super) lanes: Arc<Lanes<Conn>>,
    /// Connections opened ahead for the next tunnels (`spare`).
    spares: Mutex<Vec<(Conn, Instant)>>,
    /// Spares being opened (`spare::refill`).
    pub(super) filling: AtomicUsize,
    /// The last tunnel through this proxy worked: a spare taken may be replaced at once.
    pub(super) tunnel_worked: AtomicBool,
    /// A task closes the spares that grow old (`spare`).
    pub(super) pruning: AtomicBool,
}

/// The connections of one proxy that carry requests, bounded by `limit`.
pub(super) struct Lanes<C: Reusable> {
    limit: usize,
    state: Mutex<LaneState<C>>,
}

struct LaneState<C: Reusable> {
    /// Leased and idle connections, and leases that will open one (at most `limit`).
    counted: usize,
    /// Idle connections with the time each was handed back, the most recent last.
    idle: Vec<(C, Instant)>,
    /// Requests waiting for a lane, the first in line first.
    waiting: VecDeque<tokio::sync::oneshot::Sender<Lease<C>>>,
    /// A task closes the idle connections that grow old ([`Lanes::prune_later`]).
    pruning: bool,
}

impl<C: Reusable> Default for Lanes<C> {
    fn default() -> Self {
        Lanes::new(LANES)
    }
}

/// One request's lane: the connection it goes out on (`None`: it opens one), handed back when
/// dropped. A connection is kept only if the request's response was read to its end
/// ([`Lease::finished`]); otherwise it is closed and the lane freed.
pub(super) struct Lease<C: Reusable> {
    /// `None` once handed on (to a waiting request that went away meanwhile).
    lanes: Option<Arc<Lanes<C>>>,
    pub(super) conn: Option<C>,
    finished: bool,
}

impl<C: Reusable> Lanes<C> {
    pub(super) fn new(limit: usize) -> Self {
        Lanes {
            limit,
            state: Mutex::new(LaneState {
                counted: 0,
                idle: Vec::new(),
                waiting: VecDeque::new(),
                pruning: false,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LaneState<C>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A lane for one request: an idle connection, a new one, or — all lanes busy — the first
    /// one handed back.
    pub(super) async fn lease(self: &Arc<Self>) -> Lease<C> {
        let waiting = {
            let mut s = self.state();
            while let Some((c, at)) = s.idle.pop() {
                if c.usable() && Instant::now().duration_since(at) < IDLE_FOR {
                    return Lease { lanes: Some(self.clone()), conn: Some(c), finished: false };
                }
                s.counted -= 1;
            }
            if s.counted < self.limit {
                s.counted += 1;
                return Lease { lanes: Some(self.clone()), conn: None, finished: false };
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            s.waiting.push_back(tx);
            rx
        };
        // A lease sent to a request that went away is dropped with the channel, which hands
        // it back: a lane is never lost.
        match waiting.await {
            Ok(mut lease) => {
                lease.finished = false;
                lease
            }
            // Only when the lanes themselves are gone.
            Err(_) => Lease { lanes: None, conn: None, finished: false },
        }
    }

    /// A lease ended: its connection (if it can carry another request) and its lane go to the
    /// first waiting request, or the connection waits idle.
    fn hand_back(self: &Arc<Self>, mut conn: Option<C>) {
        conn = conn.filter(C::usable);
        loop {
            let next = {
                let mut s = self.state();
                match s.waiting.pop_front() {
                    Some(tx) => tx,
                    None => {
                        let Some(c) = conn else {
                            s.counted -= 1;
                            return;
                        };
                        s.idle.push((c, Instant::now()));
                        let stale = s.prune();
                        let start = !s.pruning && tokio::runtime::Handle::try_current().is_ok();
                        s.pruning |= start;
                        drop(s);
                        // Closed outside the lock.
                        drop(stale);
                        if start {
                            self.prune_later();
                        }
                        return;
                    }
                }
            };
            let lease = Lease { lanes: Some(self.clone()), conn: conn.take(), finished: true };
            match next.send(lease) {
                Ok(()) => return,
                // That request went away: the next in line, outside the lock (so the lease
                // taken back is not dropped under it).
                Err(mut back) => {
                    conn = back.conn.take();
                    back.lanes = None;
                }
            }
        }
    }

    /// The pruning task: it sleeps until the oldest idle connection is due, closes what is
    /// due, and ends when none is left idle. It holds the lanes weakly, so a proxy's pool that
    /// is dropped (settings re-read) is not kept alive by it.
    fn prune_later(self: &Arc<Self>) {
        let lanes = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let due = {
                    let Some(lanes) = lanes.upgrade() else { return };
                    let mut s = lanes.state();
                    let stale = s.prune();
                    let due = s.idle.first().map(|(_, at)| *at + IDLE_FOR);
                    s.pruning = due.is_some();
                    drop(s);
                    drop(stale);
                    match due {
                        Some(due) => due,
                        None => return,
                    }
                };
                // A little after: the connection handed back at `at` is due strictly after.
                tokio::time::sleep_until(due + Duration::from_millis(10)).await;
            }
        });
    }

    /// Closes the idle connections (their lanes are free again).
    fn forget_idle(&self) {
        let mut s = self.state();
        let idle = std::mem::take(&mut s.idle);
        s.counted -= idle.len();
        drop(s);
        // Closed outside the lock.
        drop(idle);
    }

    #[cfg(test)]
    fn counted(&self) -> (usize, usize, usize) {
        let s = self.state();
        (s.counted, s.idle.len(), s.waiting.len())
    }
}

impl<C: Reusable> LaneState<C> {
    /// Takes out the idle connections that the proxy closed or that are too old (their lanes
    /// are free again), for the caller to drop outside the lock. `idle` stays oldest first.
    fn prune(&mut self) -> Vec<C> {
        let now = Instant::now();
        // No allocation unless something is taken out (this runs at every hand-back).
        let stale: Vec<C> = self
            .idle
            .extract_if(.., |(c, at)| !c.usable() || now.duration_since(*at) >= IDLE_FOR)
            .map(|(c, _)| c)
            .collect();
        self.counted -= stale.len();
        stale
    }
}

impl<C: Reusable> Lease<C> {
    /// The response was read to its end: the connection may carry the next request.
    pub(super) fn finished(&mut self) {
        self.finished = true;
    }
}

impl<C: Reusable> Drop for Lease<C> {
    fn drop(&mut self) {
        let Some(lanes) = self.lanes.take() else { return };
        let conn = self.conn.take().filter(|_| self.finished);
        lanes.hand_back(conn);
    }
}

impl Pool {
    /// Closes the idle connections and the spares (`Relay::forget_idle`).
    pub(super) fn forget_idle(&self) {
        self.lanes.forget_idle();
        let spares = std::mem::take(&mut *self.spares.lock().unwrap_or_else(|e| e.into_inner()));
        drop(spares);
    }

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

/// A forwarded response's body that hands its lease back as soon as it ends — before the client
/// has even taken the last bytes, so the next request need not wait for it. Dropped earlier,
/// the connection is closed (the rest of the response would still be on it).
pub(super) struct Returning<B: hyper::body::Body, C: Reusable> {
    body: B,
    /// In a mutex only so the body is `Sync` (a connection is not); never contended.
    lease: Mutex<Option<Lease<C>>>,
}

impl<B: hyper::body::Body, C: Reusable> Returning<B, C> {
    pub(super) fn new(body: B, lease: Lease<C>) -> Self {
        Returning { body, lease: Mutex::new(Some(lease)) }
    }
}

impl<B, C> hyper::body::Body for Returning<B, C>
where
    B: hyper::body::Body + Unpin,
    C: Reusable + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = std::pin::Pin::new(&mut this.body).poll_frame(cx);
        let lease = this.lease.get_mut().unwrap_or_else(|e| e.into_inner());
        match &polled {
            std::task::Poll::Ready(None) => {
                if let Some(mut lease) = lease.take() {
                    lease.finished();
                }
            }
            // A broken body: its connection is not reused.
            std::task::Poll::Ready(Some(Err(_))) => drop(lease.take()),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl<B: hyper::body::Body, C: Reusable> Drop for Returning<B, C> {
    fn drop(&mut self) {
        // A body with nothing in it (HEAD, 204, 304) may be dropped unread.
        let ended = self.body.is_end_stream();
        if let Some(lease) = self.lease.get_mut().unwrap_or_else(|e| e.into_inner()).as_mut() {
            if ended {
                lease.finished();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// A connection that is open until its flag says otherwise.
    struct Fake(u32, Arc<AtomicBool>);

    impl Reusable for Fake {
        fn usable(&self) -> bool {
            !self.1.load(Ordering::Relaxed)
        }
    }

    fn fake(n: u32) -> (Fake, Arc<AtomicBool>) {
        let closed = Arc::new(AtomicBool::new(false));
        (Fake(n, closed.clone()), closed)
    }

    #[tokio::test]
    async fn a_finished_lease_hands_its_connection_to_the_next_request() {
        let lanes = Arc::new(Lanes::<Fake>::new(2));
        let mut a = lanes.lease().await;
        assert!(a.conn.is_none(), "a new lane opens a connection");
        a.conn = Some(fake(1).0);
        a.finished();
        drop(a);
        assert_eq!(lanes.counted(), (1, 1, 0));
        let b = lanes.lease().await;
        assert_eq!(b.conn.as_ref().map(|c| c.0), Some(1), "the idle connection is reused");
        // Not finished (the response was dropped half read): closed, and its lane freed.
        drop(b);
        assert_eq!(lanes.counted(), (0, 0, 0));
    }

    #[tokio::test]
    async fn forgotten_idle_connections_are_not_reused_and_free_their_lanes() {
        let lanes = Arc::new(Lanes::<Fake>::new(2));
        let mut a = lanes.lease().await;
        let mut b = lanes.lease().await;
        a.conn = Some(fake(1).0);
        a.finished();
        drop(a);
        assert_eq!(lanes.counted(), (2, 1, 0));
        // The network changed: the idle one goes; the one carrying a request goes on.
        lanes.forget_idle();
        assert_eq!(lanes.counted(), (1, 0, 0));
        b.conn = Some(fake(2).0);
        b.finished();
        drop(b);
        let c = lanes.lease().await;
        assert_eq!(c.conn.as_ref().map(|c| c.0), Some(2), "the one that finished later is kept");
    }

    #[tokio::test]
    async fn beyond_the_limit_requests_wait_in_line_for_a_lane() {
        let lanes = Arc::new(Lanes::<Fake>::new(2));
        let mut a = lanes.lease().await;
        let b = lanes.lease().await;
        a.conn = Some(fake(7).0);
        let third = tokio::spawn({
            let lanes = lanes.clone();
            async move { lanes.lease().await.conn.as_ref().map(|c| c.0) }
        });
        let fourth = tokio::spawn({
            let lanes = lanes.clone();
            async move { lanes.lease().await.conn.as_ref().map(|c| c.0) }
        });
        while lanes.counted().2 < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(lanes.counted(), (2, 0, 2), "two lanes, two in line");
        a.finished();
        drop(a);
        assert_eq!(third.await.unwrap(), Some(7), "the first in line gets the connection handed back");
        // The third dropped its lease unfinished (its connection closed): the lane is passed on
        // empty, and the next request opens a connection.
        drop(b);
        assert_eq!(fourth.await.unwrap(), None);
        assert_eq!(lanes.counted(), (0, 0, 0), "every lane came back");
    }

    #[tokio::test]
    async fn a_request_that_stops_waiting_loses_no_lane() {
        let lanes = Arc::new(Lanes::<Fake>::new(1));
        let mut a = lanes.lease().await;
        a.conn = Some(fake(3).0);
        let gone = tokio::spawn({
            let lanes = lanes.clone();
            async move { drop(lanes.lease().await) }
        });
        while lanes.counted().2 < 1 {
            tokio::task::yield_now().await;
        }
        gone.abort();
        let _ = gone.await;
        a.finished();
        drop(a);
        assert_eq!(lanes.counted(), (1, 1, 0), "the connection waits idle for the next request");
        let (c, closed) = fake(4);
        let mut b = lanes.lease().await;
        assert_eq!(b.conn.as_ref().map(|c| c.0), Some(3));
        b.conn = Some(c);
        b.finished();
        drop(b);
        // Closed by the proxy while idle: not handed out, and its lane is free again.
        closed.store(true, Ordering::Relaxed);
        assert!(lanes.lease().await.conn.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_connections_are_closed_when_they_grow_old_even_if_no_request_comes() {
        let lanes = Arc::new(Lanes::<Fake>::new(4));
        let put = |n| {
            let lanes = lanes.clone();
            async move {
                let (c, flag) = fake(n);
                let mut lease = lanes.lease().await;
                lease.conn = Some(c);
                lease.finished();
                drop(lease);
                flag
            }
        };
        // Two requests at once; the first ends at 0 s, the second at 20 s.
        let (mut a, mut b) = (lanes.lease().await, lanes.lease().await);
        let ((c1, first), (c2, second)) = (fake(1), fake(2));
        (a.conn, b.conn) = (Some(c1), Some(c2));
        a.finished();
        drop(a);
        tokio::time::sleep(Duration::from_secs(20)).await;
        b.finished();
        drop(b);
        assert_eq!(lanes.counted(), (2, 2, 0));
        // The first is due at 30 s: closed (the last other holder of its flag is gone).
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(lanes.counted(), (1, 1, 0), "the first closed, the second still idle");
        assert_eq!(Arc::strong_count(&first), 1, "the old connection was dropped");
        assert_eq!(Arc::strong_count(&second), 2);
        // The second is due at 50 s; then the pruner has nothing left and ends.
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(lanes.counted(), (0, 0, 0));
        assert_eq!(Arc::strong_count(&second), 1);
        assert!(!lanes.state().pruning, "no idle connection, no pruning task");
        // A connection handed back later starts a new one, which also sees a connection the
        // proxy closed meanwhile.
        let third = put(3).await;
        assert!(lanes.state().pruning);
        third.store(true, Ordering::Relaxed);
        tokio::time::sleep(IDLE_FOR + Duration::from_secs(1)).await;
        assert_eq!(lanes.counted(), (0, 0, 0));
        assert_eq!(Arc::strong_count(&third), 1);
        // The task holds the lanes weakly: they are dropped with their last owner.
        let _ = put(4).await;
        let weak = Arc::downgrade(&lanes);
        drop(lanes);
        assert!(weak.upgrade().is_none());
    }

    #[tokio::test]
    async fn a_body_read_to_its_end_hands_its_connection_back_and_one_dropped_early_does_not() {
        use http_body_util::BodyExt;
        let lanes = Arc::new(Lanes::<Fake>::new(4));
        let mut lease = lanes.lease().await;
        lease.conn = Some(fake(1).0);
        let body = Returning::new(http_body_util::Full::new(bytes::Bytes::from_static(b"abc")), lease);
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
        assert_eq!(lanes.counted(), (1, 1, 0));
        let lease = lanes.lease().await;
        let mut body = Returning::new(
            http_body_util::StreamBody::new(futures_util::stream::iter(vec![
                Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(bytes::Bytes::from_static(b"a"))),
                Ok(hyper::body::Frame::data(bytes::Bytes::from_static(b"b"))),
            ])),
            lease,
        );
        assert!(body.frame().await.is_some());
        drop(body);
        assert_eq!(lanes.counted(), (0, 0, 0), "half read: closed");
        // Nothing to read (HEAD, 204): dropped unread, kept.
        let mut lease = lanes.lease().await;
        lease.conn = Some(fake(2).0);
        drop(Returning::new(http_body_util::Empty::<bytes::Bytes>::new(), lease));
        assert_eq!(lanes.counted(), (1, 1, 0));
    }
}
