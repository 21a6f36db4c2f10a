//! Request bodies that must survive a 407 (RFC 7235 §3.2: the proxy may refuse a request before
//! it has read the body, and the client then repeats it with credentials).
//!
//! Small bodies are buffered and replayed. A larger body is never duplicated or truncated at the
//! origin: while no credential is known to work, it is sent behind `Expect: 100-continue`
//! (RFC 7231 §5.1.1) — the body leaves only after `100 Continue` or a short wait with no answer,
//! and if the proxy answers 407 first, the untouched body is taken back for the next attempt.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::oneshot;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type RelayBody = BoxBody<Bytes, BoxError>;

/// Bodies up to this size are buffered so they can be replayed after a 407.
pub const REPLAY_LIMIT: usize = 1 << 20;

/// How long a gated body waits for the proxy's verdict before it is sent anyway (curl: 1 s;
/// `--expect100-timeout` changes it for toll's own transfers).
pub const EXPECT_WAIT: Duration = Duration::from_secs(1);

pub fn empty() -> RelayBody {
    Empty::new().map_err(|e| match e {}).boxed()
}

pub fn full(b: Bytes) -> RelayBody {
    Full::new(b).map_err(|e| match e {}).boxed()
}

/// A response body served to a client (by `toll serve` or the loopback relay) that fails only
/// after what came before the failure has had its chance to leave. hyper's server drops what it
/// has not flushed yet when a response body fails; a body whose break arrives in the same read
/// as its head (an upstream that sends a head, a few bytes and closes: the relay's
/// [`super::driven`] bodies see it at once) then reached the client as nothing at all, an
/// "empty reply" instead of the partial answer a proxy passes on (curl's exit 18, which a
/// client can resume). So the error is held for one round: the server flushes, then meets it.
pub fn flushed_before_failing(body: RelayBody) -> RelayBody {
    FlushedBeforeFailing { body, held: None }.boxed()
}

struct FlushedBeforeFailing {
    body: RelayBody,
    held: Option<BoxError>,
}

impl Body for FlushedBeforeFailing {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(e) = self.held.take() {
            return Poll::Ready(Some(Err(e)));
        }
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(Some(Err(e))) => {
                self.held = Some(e);
                // Pending with nothing to wait for: wake at once; the server flushes meanwhile.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_none() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Whether a client holds its request body back until it hears `100 Continue` (RFC 9110
/// §10.1.1). hyper says that to it as soon as the body is first read, so such a body is read
/// only once the next hop has said 100 itself (or said nothing for [`EXPECT_WAIT`]): a refusal
/// (401, 407, 413) then costs the client no upload.
pub fn expects_continue(headers: &http::HeaderMap, body: &impl Body) -> bool {
    !body.is_end_stream()
        && headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// A body that has been read as far as [`REPLAY_LIMIT`]; the rest, if any, is still in `rest`
/// (a client's connection for the loopback relay and `toll serve`, reqwest's body for toll's own
/// requests forwarded in process).
pub struct Partial {
    prefix: Option<Bytes>,
    rest: RelayBody,
    /// Watched once [`RequestBody::watch_end`] asks.
    upload: UploadWatch,
}

impl Partial {
    /// `prefix` (what was read already, if anything) followed by what is left of `rest`.
    pub fn new<B>(prefix: Option<Bytes>, rest: B) -> Partial
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        Partial::boxed(prefix, rest.map_err(Into::into).boxed())
    }

    fn boxed(prefix: Option<Bytes>, rest: RelayBody) -> Partial {
        Partial { prefix, rest, upload: UploadWatch::default() }
    }
}

impl Body for Partial {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        this.upload.asking();
        let polled = match this.prefix.take() {
            Some(p) => Poll::Ready(Some(Ok(Frame::data(p)))),
            None => Pin::new(&mut this.rest).poll_frame(cx),
        };
        this.upload.polled(&polled, this.rest.is_end_stream());
        polled
    }

    fn size_hint(&self) -> SizeHint {
        let extra = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let inner = self.rest.size_hint();
        let mut h = SizeHint::new();
        h.set_lower(inner.lower() + extra);
        if let Some(u) = inner.upper() {
            h.set_upper(u + extra);
        }
        h
    }
}

/// The client's request body, in the form the relay can resend.
pub enum RequestBody {
    Empty,
    /// Complete, replayable.
    Buffered(Bytes),
    /// Too large to buffer: can be sent once (`None` once it has left).
    Stream(Option<Partial>),
}

impl RequestBody {
    /// `body` left unread, to be sent once (behind the relay's gate, as a body too large to
    /// buffer is).
    pub fn unread<B>(body: B) -> RequestBody
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        RequestBody::Stream(Some(Partial::new(None, body)))
    }

    /// Reads `body` until its end or [`REPLAY_LIMIT`], whichever comes first.
    pub async fn read<B>(body: B) -> Result<RequestBody, BoxError>
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        // Most requests have no body: no allocation for them.
        if body.is_end_stream() {
            return Ok(RequestBody::Empty);
        }
        let mut body: RelayBody = body.map_err(Into::into).boxed();
        if body.size_hint().lower() as usize > REPLAY_LIMIT {
            return Ok(RequestBody::Stream(Some(Partial::boxed(None, body))));
        }
        let mut buf = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                buf.extend_from_slice(&data);
                if buf.len() > REPLAY_LIMIT {
                    let prefix = Some(buf.freeze());
                    return Ok(RequestBody::Stream(Some(Partial::boxed(prefix, body))));
                }
            }
        }
        Ok(if buf.is_empty() { RequestBody::Empty } else { RequestBody::Buffered(buf.freeze()) })
    }

    /// The bytes Digest `auth-int` may hash: only a buffered body is known in advance.
    pub fn known_bytes(&self) -> Option<&[u8]> {
        match self {
            RequestBody::Empty => Some(&[]),
            RequestBody::Buffered(b) => Some(b),
            RequestBody::Stream(_) => None,
        }
    }

    /// For a streamed body: a receiver told when its last byte has been taken (it errs when the
    /// body is dropped before that), and how the upload is moving. `None` for a body that is
    /// already all here.
    pub fn watch_end(&mut self) -> Option<(oneshot::Receiver<()>, Progress)> {
        let RequestBody::Stream(Some(partial)) = self else { return None };
        Some(partial.upload.watch())
    }
}

/// What a request body tells about its upload as it is sent: once, when its last byte has been
/// taken (a body that breaks off drops the sender without a word: the exchange then fails on its
/// own, nothing to time), and how it is moving ([`Progress`]). [`silent_for`] reads both. Kept
/// by [`Partial`] (through a proxy) and by `serve::direct`'s bodies (to an origin).
#[derive(Default)]
pub struct UploadWatch {
    ended: Option<oneshot::Sender<()>>,
    progress: Progress,
}

impl UploadWatch {
    /// What [`silent_for`] waits on; from now on the end is told.
    pub fn watch(&mut self) -> (oneshot::Receiver<()>, Progress) {
        let (tx, rx) = oneshot::channel();
        self.ended = Some(tx);
        (rx, self.progress.clone())
    }

    /// Before a poll of the body: the connection came back for more.
    pub fn asking(&self) {
        self.progress.asked();
    }

    /// After a poll of the body that gave `polled`; `at_end`: the body holds nothing more.
    pub fn polled<T, E>(&mut self, polled: &Poll<Option<Result<T, E>>>, at_end: bool) {
        match polled {
            Poll::Ready(None) => self.end(),
            Poll::Ready(Some(Ok(_))) => {
                self.progress.handed();
                if at_end {
                    self.end();
                }
            }
            Poll::Ready(Some(Err(_))) => self.ended = None,
            Poll::Pending => {}
        }
    }

    /// The body's last byte has been taken.
    pub fn end(&mut self) {
        if let Some(tx) = self.ended.take() {
            let _ = tx.send(());
        }
    }
}

/// How an upload is moving: since when the connection has held the body's last frame without
/// coming back for the next one. hyper asks for the next frame as soon as the previous one fits
/// in its write buffer, so a long wait here is a peer that stopped reading the upload, never a
/// slow client (whose waits are spent inside a poll).
#[derive(Clone, Default)]
pub struct Progress(Arc<Mutex<Option<tokio::time::Instant>>>);

impl Progress {
    pub fn handed(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokio::time::Instant::now());
    }

    pub fn asked(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// How long the peer has not come back for more, if it holds a frame now.
    pub fn stalled_for(&self) -> Option<Duration> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).map(|t| t.elapsed())
    }
}

/// Completes once the peer has been silent for `limit`: it took no more of the upload for that
/// long, or it has not answered for that long after the upload's last byte (`ended`, `None`
/// for a body that is already all sent). A body dropped unfinished (`ended` errs) fails the
/// exchange on its own; this then never completes.
pub async fn silent_for(limit: Duration, upload: Option<(oneshot::Receiver<()>, Progress)>) {
    if let Some((mut ended, progress)) = upload {
        let tick = (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        loop {
            tokio::select! {
                r = &mut ended => {
                    if r.is_err() {
                        std::future::pending::<()>().await;
                    }
                    break;
                }
                () = tokio::time::sleep(tick) => {
                    if progress.stalled_for().is_some_and(|d| d >= limit) {
                        return;
                    }
                }
            }
        }
    }
    tokio::time::sleep(limit).await;
}

/// Shared between a [`GatedBody`] (owned by hyper) and the relay, so the relay can take the body
/// back when the proxy refuses before the gate opened.
pub type Slot = Arc<Mutex<Option<Partial>>>;

/// A body that waits for a go-ahead (`100 Continue`, or [`EXPECT_WAIT`] without any answer).
pub struct GatedBody {
    state: GateState,
    slot: Slot,
}

enum GateState {
    Waiting { go: Option<oneshot::Receiver<()>>, timer: Pin<Box<tokio::time::Sleep>> },
    Open(Partial),
    Gone,
}

/// The relay's handle on a gate: open it early, or take the body back.
pub struct Gate {
    go: Mutex<Option<oneshot::Sender<()>>>,
    slot: Slot,
}

impl Gate {
    /// A gate that opens by itself after `wait` without an answer.
    pub fn new(body: Partial, wait: Duration) -> (Arc<Gate>, GatedBody) {
        let (tx, rx) = oneshot::channel();
        let slot: Slot = Arc::new(Mutex::new(Some(body)));
        let gate = Arc::new(Gate { go: Mutex::new(Some(tx)), slot: slot.clone() });
        let timer = Box::pin(tokio::time::sleep(wait));
        (gate, GatedBody { state: GateState::Waiting { go: Some(rx), timer }, slot })
    }

    /// `100 Continue` arrived: send the body now.
    pub fn open(&self) {
        if let Some(tx) = self.go.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(());
        }
    }

    /// The body, if none of it has left yet. After this the gated body fails, which makes hyper
    /// drop the (now unusable) connection.
    pub fn take_back(&self) -> Option<Partial> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("request body withheld: the proxy answered before it was sent")]
struct Withheld;

impl Body for GatedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let GateState::Waiting { go, timer } = &mut this.state {
            let signalled = match go.as_mut().map(|rx| Pin::new(rx).poll(cx)) {
                Some(Poll::Ready(result)) => {
                    // A finished receiver must not be polled again. Dropped without a signal:
                    // only the timer is left.
                    *go = None;
                    result.is_ok()
                }
                _ => false,
            };
            let opened = signalled || timer.as_mut().poll(cx).is_ready();
            if !opened {
                return Poll::Pending;
            }
            this.state = match this.slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                Some(body) => GateState::Open(body),
                None => GateState::Gone,
            };
        }
        match &mut this.state {
            GateState::Open(body) => Pin::new(body).poll_frame(cx),
            _ => Poll::Ready(Some(Err(Box::new(Withheld)))),
        }
    }
}

use std::future::Future;

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `silent_for(limit, …)` has completed after `after` of paused time.
    async fn done_after(after: Duration, fut: impl std::future::Future<Output = ()>) -> bool {
        tokio::time::timeout(after, fut).await.is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_counted_from_the_uploads_end_or_from_when_the_peer_stopped_taking_it() {
        let limit = Duration::from_secs(10);
        // Nothing to upload: the limit runs at once.
        assert!(!done_after(Duration::from_secs(9), silent_for(limit, None)).await);
        assert!(done_after(Duration::from_secs(11), silent_for(limit, None)).await);

        // An upload the peer keeps taking (it asks again after each frame) is never cut off,
        // however long it takes; the limit runs from its end.
        let (tx, rx) = oneshot::channel();
        let progress = Progress::default();
        let moving = progress.clone();
        let feeder = tokio::spawn(async move {
            for _ in 0..30 {
                moving.handed();
                tokio::time::sleep(Duration::from_secs(1)).await;
                moving.asked();
            }
            let _ = tx.send(());
        });
        let watch = silent_for(limit, Some((rx, progress)));
        tokio::pin!(watch);
        assert!(!done_after(Duration::from_secs(35), &mut watch).await, "cut off while moving");
        assert!(done_after(Duration::from_secs(6), &mut watch).await, "no answer after the end");
        feeder.await.unwrap();

        // A peer that took one frame and never came back for the next.
        let (_tx, rx) = oneshot::channel::<()>();
        let progress = Progress::default();
        progress.handed();
        let watch = silent_for(limit, Some((rx, progress)));
        tokio::pin!(watch);
        assert!(!done_after(Duration::from_secs(9), &mut watch).await);
        assert!(done_after(Duration::from_secs(3), &mut watch).await, "a stalled upload");

        // A body dropped unfinished: the exchange fails on its own; no timer.
        let (tx, rx) = oneshot::channel::<()>();
        drop(tx);
        assert!(
            !done_after(Duration::from_secs(60), silent_for(limit, Some((rx, Progress::default())))).await
        );
    }

    /// A failure after data is held for one poll (with a wake-up, so the server's flush runs in
    /// between), then given; data and the end pass as they come.
    #[test]
    fn a_failure_waits_one_round_behind_the_data_before_it() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::{Wake, Waker};
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let frames: Vec<Result<Frame<Bytes>, BoxError>> =
            vec![Ok(Frame::data(Bytes::from_static(b"short"))), Err("broke off".into())];
        let inner = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
        let mut body = flushed_before_failing(inner.boxed());
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        let mut poll = || Pin::new(&mut body).poll_frame(&mut cx);
        assert!(
            matches!(poll(), Poll::Ready(Some(Ok(f))) if f.data_ref().is_some_and(|d| &d[..] == b"short"))
        );
        assert!(poll().is_pending());
        assert_eq!(woken.0.load(Ordering::Relaxed), 1, "woken at once: nothing else would");
        assert!(matches!(poll(), Poll::Ready(Some(Err(e))) if e.to_string() == "broke off"));
        assert!(matches!(poll(), Poll::Ready(None)));
    }
}
