//! An HTTP/1 client connection that the task reading a response body can drive itself (issue 10).
//!
//! hyper's client connection is a future of its own: spawned as a task, it reads the socket and
//! hands each body chunk to the response body through a channel. When the body is read by
//! another task (the transfer, on the other worker thread), every chunk costs a wake-up of that
//! thread (an eventfd write and a context switch): measured on 200 MiB over http through Squid,
//! ~2 800 cross-thread wake-ups and more CPU than curl's single loop, which on a busy machine
//! shows as wall time (each hand-over waits for a CPU).
//!
//! Here the connection future is shared: a background task polls it as before (the 407 dance,
//! draining bodies, keep-alive), but while a response body is being read the reader *borrows*
//! it ([`Driver::poll_here`]): the connection is polled from the reader's own task, its socket
//! registers the reader's waker, and a chunk goes from `recv` to the reader's hands in one poll,
//! on one thread. The borrow ends when the body ends or is dropped ([`Driver::release`]); the
//! background task then takes the connection over again (it is woken for that). Nothing about
//! what is sent or received changes: only which task polls the same future.
//!
//! Within that one poll the connection and the body wake each other (hyper's body channel: the
//! body asks for the next chunk, the connection delivers it). Woken while it runs, a tokio task
//! is put back as if it had yielded, and the scheduler wakes the other worker thread to take it
//! (measured: a futex wake-up per chunk, the ping-pong this module exists to avoid). So the
//! body polls both through a waker of its own ([`Quiet`]) that only notes such wakes while the
//! poll runs (the poll then goes round again) and passes on those that come later.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// Rounds of one body poll after wakes that came during the poll; then it yields for real.
const ROUNDS: usize = 8;

type ConnFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A handle on a connection future shared by its background task and a body reader.
#[derive(Clone)]
pub struct Driver {
    shared: Arc<Mutex<State>>,
}

struct State {
    /// The connection; `None` once it has finished.
    conn: Option<ConnFuture>,
    /// A body reader polls the connection now; the background task stays out of it.
    borrowed: bool,
    /// The background task's waker, kept from its last poll: woken when the connection is
    /// handed back. It must be woken even if it was not polled during the borrow: the reader's
    /// polls replaced the wakers the connection had registered for it (socket, channels), so
    /// nothing else would ever wake it again.
    background: Option<Waker>,
}

impl State {
    fn poll_conn(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(conn) = self.conn.as_mut() else { return Poll::Ready(()) };
        if conn.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.conn = None;
        // Let the background task see the end and finish.
        if let Some(w) = self.background.take() {
            w.wake();
        }
        Poll::Ready(())
    }
}

impl Driver {
    /// Spawns the background task for `conn` (as `tokio::spawn(conn)` would) and returns the
    /// handle through which a body reader can drive it.
    pub fn spawn(conn: impl Future<Output = ()> + Send + 'static) -> Driver {
        let driver = Driver::new(conn);
        tokio::spawn(driver.clone().background());
        driver
    }

    fn new(conn: impl Future<Output = ()> + Send + 'static) -> Driver {
        Driver {
            shared: Arc::new(Mutex::new(State {
                conn: Some(Box::pin(conn)),
                borrowed: false,
                background: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the background task runs: the connection, except while a reader has borrowed it.
    fn background(self) -> impl Future<Output = ()> + Send {
        std::future::poll_fn(move |cx| {
            let mut s = self.lock();
            if !s.background.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                s.background = Some(cx.waker().clone());
            }
            if s.borrowed && s.conn.is_some() {
                return Poll::Pending;
            }
            s.poll_conn(cx)
        })
    }

    /// Polls the connection from the caller's task (borrowing it from the background task
    /// until [`Driver::release`]). Returns true once the connection has finished.
    pub fn poll_here(&self, cx: &mut Context<'_>) -> bool {
        let mut s = self.lock();
        s.borrowed = true;
        s.poll_conn(cx).is_ready()
    }

    /// Hands the connection back to the background task (the body was read or dropped).
    pub fn release(&self) {
        let mut s = self.lock();
        if std::mem::replace(&mut s.borrowed, false) {
            if let Some(w) = &s.background {
                w.wake_by_ref();
            }
        }
    }
}

/// A response body that drives its connection from the task reading it (see the module doc).
pub struct Driving<B> {
    body: B,
    /// The connection, and the waker the body and the connection are polled with.
    driver: Option<(Driver, Arc<Quiet>, Waker)>,
}

impl<B> Driving<B> {
    /// `body` as read from the connection that `driver` handles; `None`: a connection nobody
    /// else drives (the body is passed through as it is).
    pub fn new(body: B, driver: Option<Driver>) -> Driving<B> {
        let driver = driver.map(|d| {
            let quiet = Arc::new(Quiet { state: AtomicU8::new(IDLE), task: Mutex::new(None) });
            (d, quiet.clone(), Waker::from(quiet))
        });
        Driving { body, driver }
    }

    fn release(&mut self) {
        if let Some((d, ..)) = self.driver.take() {
            d.release();
        }
    }
}

impl<B> Drop for Driving<B> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<B> hyper::body::Body for Driving<B>
where
    B: hyper::body::Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        let Some((driver, quiet, waker)) = &this.driver else {
            return Pin::new(&mut this.body).poll_frame(cx);
        };
        quiet.set_task(cx.waker());
        let mut inner = Context::from_waker(waker);
        for _ in 0..ROUNDS {
            quiet.state.store(POLLING, Ordering::SeqCst);
            let mut polled = Pin::new(&mut this.body).poll_frame(&mut inner);
            if polled.is_pending() {
                // The connection reads what the body asked for (hyper reads a chunk only when
                // the body wants one), then the body has it at once.
                driver.poll_here(&mut inner);
                polled = Pin::new(&mut this.body).poll_frame(&mut inner);
            }
            let woken = quiet.state.swap(IDLE, Ordering::SeqCst) == WOKEN;
            match polled {
                Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                    this.release();
                    return polled;
                }
                // A wake noted during the poll concerned what the next poll looks at anyway.
                Poll::Ready(Some(Ok(_))) => return polled,
                Poll::Pending if woken => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

const IDLE: u8 = 0;
const POLLING: u8 = 1;
const WOKEN: u8 = 2;

/// The waker a [`Driving`] body polls with: a wake while the body's own poll runs is only noted
/// (the poll goes round again), any other is passed to the task reading the body.
struct Quiet {
    state: AtomicU8,
    task: Mutex<Option<Waker>>,
}

impl Quiet {
    fn set_task(&self, waker: &Waker) {
        let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if !task.as_ref().is_some_and(|t| t.will_wake(waker)) {
            *task = Some(waker.clone());
        }
    }
}

impl Wake for Quiet {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match self.state.compare_exchange(POLLING, WOKEN, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) | Err(WOKEN) => {}
            Err(_) => {
                if let Some(t) = self.task.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    t.wake_by_ref();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A connection stand-in: counts its polls, finishes when told to.
    fn counting(
        polls: Arc<AtomicUsize>,
        done: Arc<std::sync::atomic::AtomicBool>,
    ) -> impl Future<Output = ()> {
        std::future::poll_fn(move |cx| {
            polls.fetch_add(1, Ordering::SeqCst);
            if done.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
    }

    fn noop_cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn the_background_stays_out_while_borrowed_and_resumes_after_release() {
        let polls = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = Driver::new(counting(polls.clone(), done.clone()));
        let mut bg = Box::pin(d.clone().background());
        let mut cx = noop_cx();
        assert!(bg.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.load(Ordering::SeqCst), 1);
        assert!(!d.poll_here(&mut cx));
        assert_eq!(polls.load(Ordering::SeqCst), 2);
        // Borrowed: the background task stays pending without touching the connection.
        assert!(bg.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.load(Ordering::SeqCst), 2);
        d.release();
        assert!(bg.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.load(Ordering::SeqCst), 3);
        done.store(true, Ordering::SeqCst);
        assert!(bg.as_mut().poll(&mut cx).is_ready());
    }

    /// The reader's polls replace the wakers the connection registered for the background task,
    /// so the hand-back must wake it even when it was not polled during the borrow (a redirect
    /// followed on the same connection hung without this).
    #[test]
    fn release_wakes_a_background_task_that_was_not_polled_during_the_borrow() {
        let d = Driver::new(std::future::pending());
        let mut bg = Box::pin(d.clone().background());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        assert!(bg.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        d.poll_here(&mut noop_cx());
        d.release();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // A release without a borrow wakes nobody.
        d.release();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_connection_finished_by_the_reader_ends_the_background_task() {
        let polls = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let d = Driver::new(counting(polls.clone(), done));
        let mut bg = Box::pin(d.clone().background());
        let mut cx = noop_cx();
        assert!(d.poll_here(&mut cx));
        // Still marked borrowed, but there is nothing left to wait for.
        assert!(bg.as_mut().poll(&mut cx).is_ready());
        assert_eq!(polls.load(Ordering::SeqCst), 1);
    }

    /// A body that has one chunk only after the connection was polled.
    struct Fed {
        conn_polls: Arc<AtomicUsize>,
        sent: bool,
    }

    impl hyper::body::Body for Fed {
        type Data = bytes::Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
            if self.sent {
                return Poll::Ready(None);
            }
            if self.conn_polls.load(Ordering::SeqCst) == 0 {
                return Poll::Pending;
            }
            self.sent = true;
            Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes::Bytes::from_static(b"x")))))
        }
    }

    #[test]
    fn the_body_drives_its_connection_and_hands_it_back_at_the_end() {
        let polls = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = Driver::new(counting(polls.clone(), done));
        let mut body = Driving::new(Fed { conn_polls: polls.clone(), sent: false }, Some(d.clone()));
        let mut cx = noop_cx();
        let first = hyper::body::Body::poll_frame(Pin::new(&mut body), &mut cx);
        assert!(matches!(first, Poll::Ready(Some(Ok(_)))), "the chunk arrives in the same poll");
        assert!(d.lock().borrowed);
        let end = hyper::body::Body::poll_frame(Pin::new(&mut body), &mut cx);
        assert!(matches!(end, Poll::Ready(None)));
        assert!(!d.lock().borrowed, "the end of the body hands the connection back");
    }

    #[test]
    fn dropping_an_unfinished_body_hands_the_connection_back() {
        let polls = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = Driver::new(counting(polls.clone(), done));
        let mut body = Driving::new(Fed { conn_polls: polls.clone(), sent: false }, Some(d.clone()));
        let _ = hyper::body::Body::poll_frame(Pin::new(&mut body), &mut noop_cx());
        assert!(d.lock().borrowed);
        drop(body);
        assert!(!d.lock().borrowed);
    }

    /// A task waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A body that behaves as hyper's channel does: its first poll wakes the waker it is given
    /// (asking the connection for a chunk) and is pending; the next one has the chunk. Keeps
    /// the last waker it saw.
    struct Chatty {
        polls: usize,
        seen: Option<Waker>,
    }

    impl hyper::body::Body for Chatty {
        type Data = bytes::Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
            self.polls += 1;
            self.seen = Some(cx.waker().clone());
            match self.polls {
                1 => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                2 | 3 => Poll::Pending,
                _ => Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes::Bytes::from_static(b"x"))))),
            }
        }
    }

    #[test]
    fn wakes_during_the_poll_go_round_again_instead_of_waking_the_task() {
        let d = Driver::new(std::future::pending());
        let mut body = Driving::new(Chatty { polls: 0, seen: None }, Some(d));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = Waker::from(count.clone());
        let mut cx = Context::from_waker(&task);
        // Round 1: polls 1 (wakes) and 2, noted as woken; round 2: poll 3, then 4 has the data.
        let first = hyper::body::Body::poll_frame(Pin::new(&mut body), &mut cx);
        assert!(matches!(first, Poll::Ready(Some(Ok(_)))));
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "the task was not woken by its own poll");
    }

    #[test]
    fn wakes_after_the_poll_reach_the_task() {
        let d = Driver::new(std::future::pending());
        let mut body = Driving::new(Chatty { polls: 1, seen: None }, Some(d));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = Waker::from(count.clone());
        let mut cx = Context::from_waker(&task);
        let first = hyper::body::Body::poll_frame(Pin::new(&mut body), &mut cx);
        assert!(first.is_pending());
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        // Later, from the connection's side (the socket became readable):
        body.body.seen.as_ref().unwrap().wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }
}
