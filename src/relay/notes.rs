//! What toll's own transfers learn from the relay for their report (`-i`, `-D`, `-w`): the
//! proxy's answers to CONNECTs, the addresses of the connections to each proxy, and how many
//! connections were made. A detached relay (`toll serve`) keeps none of it.

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
    /// ([`Relay::take_connect_heads`]).
    connect_heads: Mutex<Vec<ConnectHead>>,
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

impl Relay {
    /// The proxy's answers to the CONNECTs that opened tunnels since the last call, oldest
    /// first (the loopback path's and [`Relay::open_tunnel_stream`]'s alike; none for a
    /// detached relay).
    pub fn take_connect_heads(&self) -> Vec<ConnectHead> {
        match &self.inner.notes {
            Some(n) => std::mem::take(&mut *n.connect_heads.lock().unwrap_or_else(|e| e.into_inner())),
            None => Vec::new(),
        }
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

    /// Keeps the proxy's 2xx answer to a CONNECT for the transfer's report.
    pub(super) fn note_connect_head<B>(&self, resp: &Response<B>) {
        let Some(notes) = &self.notes else { return };
        let mut heads = notes.connect_heads.lock().unwrap_or_else(|e| e.into_inner());
        if heads.len() == KEPT_CONNECT_HEADS {
            heads.remove(0);
        }
        heads.push(ConnectHead {
            version: resp.version(),
            status: resp.status(),
            reason: resp.extensions().get::<hyper::ext::ReasonPhrase>().map(|r| r.as_bytes().to_vec()),
            headers: resp.headers().clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::{UpstreamFactory, UpstreamSetup};
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
}
