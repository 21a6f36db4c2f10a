//! What toll's own transfers learn from the relay for their report (`-i`, `-D`, `-w`): the
//! proxy's answers to CONNECTs, the addresses of the connections to each proxy, and how many
//! connections were made (the relay's failures are `Relay::take_failure`'s; a transfer's
//! beginning drops a stale one here). A detached relay (`toll serve`) keeps none of it.

use super::{Inner, Relay};
use crate::config::ProxySpec;
use http::{Response, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::net::TcpStream;

/// What a transfer's report needs from the relay, kept for toll's own transfers only.
#[derive(Default)]
pub(super) struct TransferNotes {
    /// The proxy's answers to the CONNECTs that opened tunnels, not yet taken by the client
    /// ([`Relay::take_connect_heads_of`]).
    connect_heads: Mutex<Vec<Noted>>,
    /// The addresses of the last connection to each proxy (`host`, `port`): the proxy's and
    /// this end's (`%{remote_ip}`, `%{local_ip}`: a proxy named by a host name is reported by
    /// its address, as curl does).
    peers: Mutex<Vec<((String, u16), ProxyAddresses)>>,
    /// Connections the HTTP client made to the loopback relay, and connections the relay made
    /// to proxies for requests (`%{num_connects}` counts the second kind, not the first).
    pub(super) accepted: AtomicU64,
    opened: AtomicU64,
}

/// The proxy's 2xx answer to a CONNECT that opened a tunnel: curl prints it with `-i`, `-I` and
/// `-D` before the origin's head (unless `--suppress-connect-headers`) and counts it in
/// `%{size_header}`. Its fields as read (hyper keeps the reason phrase, not the names' case).
#[derive(Clone, Debug)]
pub struct ConnectHead {
    pub version: http::Version,
    pub status: StatusCode,
    /// The reason phrase when it is not the status's usual one.
    pub reason: Option<Vec<u8>>,
    pub headers: http::HeaderMap,
}

/// The two ends of a connection to a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyAddresses {
    pub proxy: SocketAddr,
    pub local: SocketAddr,
}

/// Heads kept for a client that never takes them (bounds the memory of a long run).
const KEPT_CONNECT_HEADS: usize = 16;

/// A CONNECT's answer as kept for the client.
struct Noted {
    /// The address of the client's connection to the loopback relay that asked for the tunnel
    /// (`None`: a tunnel opened in process).
    client: Option<SocketAddr>,
    /// Noted since the transfer began ([`Relay::begin_transfer`]).
    this_transfer: bool,
    head: ConnectHead,
}

impl Relay {
    /// A transfer begins: the answers of tunnels opened in process that an earlier transfer did
    /// not see through are dropped, and those of the loopback relay's tunnels no response came
    /// on yet are no longer this transfer's ([`Relay::take_connect_heads`]), but still go with
    /// the first response on their connection ([`Relay::take_connect_heads_of`]).
    pub fn begin_transfer(&self) {
        let Some(n) = &self.inner.notes else { return };
        // A refusal on a loopback connection no response came on (a tunnel hyper's pool opened
        // and did not use; `Relay::take_failure_of`) is not this transfer's.
        let mut failure = self.inner.failure.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(&*failure, Some((Some(_), _))) {
            *failure = None;
        }
        drop(failure);
        let mut heads = n.connect_heads.lock().unwrap_or_else(|e| e.into_inner());
        heads.retain(|h| h.client.is_some());
        heads.iter_mut().for_each(|h| h.this_transfer = false);
    }

    /// The proxy's answers to the CONNECTs made since the transfer began, oldest first (the
    /// loopback path's and [`Relay::open_tunnel_stream`]'s alike; none for a detached relay).
    pub fn take_connect_heads(&self) -> Vec<ConnectHead> {
        self.take_heads(|h| h.this_transfer)
    }

    /// The proxy's answers to the CONNECTs that opened the tunnels in process (`None`), or the
    /// one that opened the tunnel of the HTTP client's connection to the loopback relay from
    /// `client`, oldest first. The others stay: hyper's pool may open a connection that the
    /// request it was opened for then does not use (it races a new connection against the
    /// return of a kept one, and finishes the loser in the background; hyperium/hyper#4134),
    /// and that tunnel's answer belongs to the first response that comes on it, if one does.
    pub fn take_connect_heads_of(&self, client: Option<SocketAddr>) -> Vec<ConnectHead> {
        self.take_heads(|h| h.client == client)
    }

    fn take_heads(&self, which: impl Fn(&Noted) -> bool) -> Vec<ConnectHead> {
        let Some(n) = &self.inner.notes else { return Vec::new() };
        let mut heads = n.connect_heads.lock().unwrap_or_else(|e| e.into_inner());
        let (taken, kept): (Vec<Noted>, Vec<Noted>) =
            std::mem::take(&mut *heads).into_iter().partition(which);
        *heads = kept;
        taken.into_iter().map(|h| h.head).collect()
    }

    /// How many connections this relay has been asked for on loopback by the HTTP client, and
    /// how many it opened to proxies, so far (`(0, 0)` for a detached relay).
    pub fn connection_counts(&self) -> (u64, u64) {
        match &self.inner.notes {
            Some(n) => (n.accepted.load(Ordering::Relaxed), n.opened.load(Ordering::Relaxed)),
            None => (0, 0),
        }
    }

    /// The addresses of this relay's last connection to the proxy `spec`, if it made one.
    pub fn proxy_addresses(&self, spec: &ProxySpec) -> Option<ProxyAddresses> {
        let notes = self.inner.notes.as_ref()?;
        let peers = notes.peers.lock().unwrap_or_else(|e| e.into_inner());
        // Keys are lowercase (`note_peer`).
        peers
            .iter()
            .find(|((h, p), _)| h.eq_ignore_ascii_case(&spec.host) && *p == spec.port)
            .map(|(_, a)| *a)
    }
}

impl Inner {
    /// Counts a connection opened to a proxy for a request (not the probe of
    /// `proxy_demands_auth`, which carries none of the transfer's).
    pub(super) fn count_opened(&self) {
        if let Some(notes) = &self.notes {
            notes.opened.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Notes the addresses of a connection to a proxy (toll's own transfers only: system calls).
    pub(super) fn note_peer(&self, spec: &ProxySpec, tcp: &TcpStream) {
        let Some(notes) = &self.notes else { return };
        let (Ok(proxy), Ok(local)) = (tcp.peer_addr(), tcp.local_addr()) else { return };
        let mut peers = notes.peers.lock().unwrap_or_else(|e| e.into_inner());
        // Host names compare without case (as `proxy_addresses` looks them up), so one proxy
        // written two ways keeps one entry: the latest.
        let key = (spec.host.to_ascii_lowercase(), spec.port);
        peers.retain(|(k, _)| *k != key);
        peers.push((key, ProxyAddresses { proxy, local }));
    }

    /// Keeps the proxy's 2xx answer to a CONNECT for the transfer's report, with the address of
    /// the client's connection to the loopback relay that asked for it (`None`: in process).
    pub(super) fn note_connect_head<B>(&self, resp: &Response<B>, client: Option<SocketAddr>) {
        let Some(notes) = &self.notes else { return };
        let mut heads = notes.connect_heads.lock().unwrap_or_else(|e| e.into_inner());
        // A connection to the relay carries one CONNECT: an answer kept for an earlier
        // connection from the same address (its port used again) is stale.
        if client.is_some() {
            heads.retain(|h| h.client != client);
        }
        if heads.len() == KEPT_CONNECT_HEADS {
            heads.remove(0);
        }
        let head = ConnectHead {
            version: resp.version(),
            status: resp.status(),
            reason: resp.extensions().get::<hyper::ext::ReasonPhrase>().map(|r| r.as_bytes().to_vec()),
            headers: resp.headers().clone(),
        };
        heads.push(Noted { client, this_transfer: true, head });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::{Failure, FailureKind, UpstreamFactory, UpstreamSetup};
    use std::sync::Arc;

    fn spec(host: &str) -> ProxySpec {
        ProxySpec::test_http(host)
    }

    fn relay(own_transfers: bool) -> Relay {
        let factory: UpstreamFactory = Box::new(|_: &ProxySpec| -> UpstreamSetup { unreachable!() });
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Relay::new(factory, Arc::new(crate::report::Quiet), None, addr, own_transfers).unwrap()
    }

    /// A proxy's host name is compared without case both when noted and when looked up, so
    /// the same proxy written two ways reports its latest connection.
    #[test]
    fn one_proxy_written_two_ways_keeps_its_latest_addresses() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (first, second) =
                (TcpStream::connect(addr).await.unwrap(), TcpStream::connect(addr).await.unwrap());
            let own = relay(true);
            own.inner.note_peer(&spec("Proxy.Example"), &first);
            own.inner.note_peer(&spec("proxy.example"), &second);
            let seen = own.proxy_addresses(&spec("PROXY.example")).expect("noted");
            assert_eq!((seen.proxy, seen.local), (addr, second.local_addr().unwrap()));
            assert!(own.proxy_addresses(&spec("other.example")).is_none());
            let peers = own.inner.notes.as_ref().unwrap().peers.lock().unwrap().len();
            assert_eq!(peers, 1);

            let detached = relay(false);
            detached.inner.note_peer(&spec("proxy.example"), &first);
            assert!(detached.proxy_addresses(&spec("proxy.example")).is_none(), "toll serve keeps none");
        });
    }

    /// A CONNECT's answer goes with the connection to the loopback relay that asked for it: a
    /// tunnel hyper's pool opened and did not use keeps its answer for the first response on
    /// it, and a later connection from the same address replaces a stale one.
    #[test]
    fn a_connect_answer_is_taken_by_its_own_connection() {
        let own = relay(true);
        let answer = |status: u16| Response::builder().status(status).body(()).unwrap();
        let (used, spare) =
            (SocketAddr::from(([127, 0, 0, 1], 40001)), SocketAddr::from(([127, 0, 0, 1], 40002)));
        own.inner.note_connect_head(&answer(200), Some(used));
        own.inner.note_connect_head(&answer(201), Some(spare));
        own.inner.note_connect_head(&answer(202), None);
        let statuses = |heads: Vec<ConnectHead>| heads.iter().map(|h| h.status.as_u16()).collect::<Vec<_>>();
        assert_eq!(statuses(own.take_connect_heads_of(Some(used))), [200]);
        assert_eq!(statuses(own.take_connect_heads_of(Some(used))), [] as [u16; 0], "taken once");
        assert_eq!(statuses(own.take_connect_heads_of(None)), [202]);
        own.inner.note_connect_head(&answer(203), Some(spare));
        assert_eq!(statuses(own.take_connect_heads_of(Some(spare))), [203], "the stale answer is gone");
        // A failed transfer's `%{http_connect}` is its own CONNECT's, never an unused tunnel's
        // from a transfer before; that one's still goes with the first response on it.
        own.inner.note_connect_head(&answer(204), Some(used));
        own.inner.note_connect_head(&answer(205), None);
        own.begin_transfer();
        own.inner.note_connect_head(&answer(206), Some(spare));
        assert_eq!(statuses(own.take_connect_heads()), [206]);
        assert_eq!(statuses(own.take_connect_heads_of(None)), [] as [u16; 0], "dropped");
        assert_eq!(statuses(own.take_connect_heads_of(Some(used))), [204]);
        assert!(relay(false).take_connect_heads_of(None).is_empty());
    }

    /// A refused CONNECT of a tunnel hyper's pool opened and did not use is not the failure of
    /// a response that came on another connection; it is of one that came on its own, and of a
    /// request that got no response at all, and a transfer after it no longer sees it.
    #[test]
    fn a_refusal_goes_with_its_own_connection() {
        let own = relay(true);
        let (used, spare) =
            (SocketAddr::from(([127, 0, 0, 1], 40001)), SocketAddr::from(([127, 0, 0, 1], 40002)));
        let refused = |target: &str| Failure {
            proxy: "http://proxy.example:3128".into(),
            origin: "-x".into(),
            target: target.into(),
            kind: FailureKind::Denied,
            status: Some((403, "Forbidden".into())),
            offered: Vec::new(),
        };
        own.inner.record_from(refused("spare"), Some(spare));
        assert_eq!(own.take_failure_of(Some(used)), None, "the response came on another connection");
        assert_eq!(own.take_failure_of(Some(spare)).map(|f| f.target), Some("spare".into()));
        own.inner.record_from(refused("spare"), Some(spare));
        assert_eq!(own.take_failure().map(|f| f.target), Some("spare".into()), "no response: any");
        // In process (no loopback connection), or a response whose connection is not known.
        own.inner.record(refused("in process"));
        assert_eq!(own.take_failure_of(Some(used)).map(|f| f.target), Some("in process".into()));
        own.inner.record_from(refused("spare"), Some(spare));
        assert_eq!(own.take_failure_of(None).map(|f| f.target), Some("spare".into()));
        // The next transfer does not inherit an unused tunnel's refusal, nor an in-process one's
        // beyond what it was before (kept until taken, as always).
        own.inner.record_from(refused("spare"), Some(spare));
        own.begin_transfer();
        assert_eq!(own.take_failure(), None);
        own.inner.record(refused("in process"));
        own.begin_transfer();
        assert!(own.take_failure().is_some());
    }
}
