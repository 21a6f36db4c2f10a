//! Who is on the other end of a loopback TCP connection: the owner (uid) of the client's socket,
//! asked of the kernel through the sock_diag netlink interface (`NETLINK_SOCK_DIAG`,
//! `SOCK_DIAG_BY_FAMILY`, one exact lookup by the connection's four-tuple — no scan of
//! `/proc/net/tcp`, which costs O(connections) per lookup).
//!
//! `toll serve` uses it so that only the user who started it may ride on their credentials: a
//! connection from loopback whose socket belongs to another uid is refused. Where the answer
//! cannot be known (not Linux, not loopback, the socket already gone), the caller must fall back
//! to requiring the per-user key; this module never guesses.

use std::io;
use std::net::SocketAddr;

/// The uid owning the client socket of a TCP connection accepted on `local` from `peer` (both
/// as the accepting side sees them). Only loopback peers can be asked about: a socket on another
/// host or network namespace is not in this kernel's tables.
pub fn peer_uid(local: SocketAddr, peer: SocketAddr) -> io::Result<u32> {
    if !peer.ip().is_loopback() && !is_mapped_loopback(&peer) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the peer is not on loopback"));
    }
    imp::peer_uid(local, peer)
}

/// The addresses of this machine's network interfaces (empty where they cannot be listed).
pub fn local_addresses() -> Vec<std::net::IpAddr> {
    crate::netif::addresses().into_iter().map(|(_, a)| a).collect()
}

fn is_mapped_loopback(a: &SocketAddr) -> bool {
    match a {
        SocketAddr::V6(v6) => v6.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        SocketAddr::V4(_) => false,
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::mem::size_of;
    use std::net::{IpAddr, SocketAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const INET_DIAG_NOCOOKIE: u32 = !0;
    const NETLINK_SOCK_DIAG: libc::c_int = 4;
    /// All TCP states: the client socket of a live connection is ESTABLISHED, but it may be
    /// closing by the time we ask (then the answer is still its owner).
    const ALL_STATES: u32 = !0;

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct SockId {
        sport: [u8; 2],
        dport: [u8; 2],
        src: [u8; 16],
        dst: [u8; 16],
        interface: u32,
        cookie: [u32; 2],
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct ReqV2 {
        family: u8,
        protocol: u8,
        ext: u8,
        pad: u8,
        states: u32,
        id: SockId,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct NlHdr {
        len: u32,
        kind: u16,
        flags: u16,
        seq: u32,
        pid: u32,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Request {
        hdr: NlHdr,
        req: ReqV2,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct DiagMsg {
        family: u8,
        state: u8,
        timer: u8,
        retrans: u8,
        id: SockId,
        expires: u32,
        rqueue: u32,
        wqueue: u32,
        uid: u32,
        inode: u32,
    }

    /// The address as the kernel stores it for `family`: IPv4 in the first four bytes, IPv6
    /// whole. A peer is looked up in its canonical form (`canonical`): a dual-stack listener
    /// reports an IPv4 client as `::ffff:a.b.c.d`, and the kernel finds an IPv4 connection by
    /// the AF_INET lookup whether the client's socket is AF_INET or a dual-stack AF_INET6.
    fn put(ip: IpAddr, out: &mut [u8; 16]) {
        match ip {
            IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => *out = v6.octets(),
        }
    }

    fn canonical(a: SocketAddr) -> SocketAddr {
        match a {
            SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
                Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
                None => a,
            },
            SocketAddr::V4(_) => a,
        }
    }

    pub fn peer_uid(local: SocketAddr, peer: SocketAddr) -> io::Result<u32> {
        let peer = canonical(peer);
        let mut request = lookup(local, peer);
        DIAG.with(|diag| {
            let mut diag = diag.borrow_mut();
            let d = match diag.as_mut() {
                Some(d) => d,
                None => diag.insert(Diag::open()?),
            };
            d.seq = d.seq.wrapping_add(1);
            request.hdr.seq = d.seq;
            let answer = d.ask(&request, peer);
            // The socket itself failed (not the lookup): a fresh one next time.
            if answer.as_ref().is_err_and(|e| e.kind() != io::ErrorKind::NotFound) {
                *diag = None;
            }
            answer
        })
    }

    /// The request for the socket connected from `peer` to `local` (its sequence number is
    /// set when it is sent).
    fn lookup(local: SocketAddr, peer: SocketAddr) -> Request {
        let (local, peer) = (canonical(local), canonical(peer));
        let family = match peer {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        } as u8;
        // The client's socket, from its own point of view: its source is the peer address.
        let mut id = SockId {
            sport: peer.port().to_be_bytes(),
            dport: local.port().to_be_bytes(),
            cookie: [INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE],
            ..SockId::default()
        };
        put(peer.ip(), &mut id.src);
        put(local.ip(), &mut id.dst);
        Request {
            hdr: NlHdr {
                len: size_of::<Request>() as u32,
                kind: SOCK_DIAG_BY_FAMILY,
                flags: libc::NLM_F_REQUEST as u16,
                seq: 0,
                pid: 0,
            },
            req: ReqV2 {
                family,
                protocol: libc::IPPROTO_TCP as u8,
                states: ALL_STATES,
                id,
                ..ReqV2::default()
            },
        }
    }

    thread_local! {
        /// This thread's sock_diag socket, opened at its first lookup and kept: a lookup (one
        /// per accepted connection) is then two system calls, not five (socket, setsockopt and
        /// close were a tenth of the syscalls of a CONNECT through `toll serve`).
        static DIAG: std::cell::RefCell<Option<Diag>> = const { std::cell::RefCell::new(None) };
    }

    struct Diag {
        fd: OwnedFd,
        /// The last request's sequence number: a late answer to an earlier request (one that
        /// timed out) is told apart by its number, never taken for this one's.
        seq: u32,
    }

    impl Diag {
        fn open() -> io::Result<Diag> {
            // SAFETY: plain socket(2); the descriptor is owned (and closed) by `OwnedFd`.
            let raw = unsafe {
                libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
            };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a fresh, valid descriptor that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // A reply that never comes must not hang an accept path.
            let timeout = libc::timeval { tv_sec: 1, tv_usec: 0 };
            // SAFETY: setsockopt with a correctly sized timeval.
            let set = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&timeout as *const libc::timeval).cast(),
                    size_of::<libc::timeval>() as libc::socklen_t,
                )
            };
            if set < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(Diag { fd, seq: 0 })
        }

        /// Sends `request` and reads until the answer with its sequence number.
        fn ask(&self, request: &Request, peer: SocketAddr) -> io::Result<u32> {
            self.send(request)?;
            let mut buf = [0u8; 8192];
            loop {
                // SAFETY: receives into a buffer of the stated size.
                let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                if let Some(answer) = parse_reply(&buf[..n as usize], request.hdr.seq, peer) {
                    return answer;
                }
            }
        }

        fn send(&self, request: &Request) -> io::Result<()> {
            // SAFETY: sockaddr_nl is plain old data; all zeroes is the kernel's address (pid 0).
            let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            // SAFETY: sends `request` (plain old data of the stated size) to the kernel's address.
            let sent = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    (request as *const Request).cast(),
                    size_of::<Request>(),
                    0,
                    (&kernel as *const libc::sockaddr_nl).cast(),
                    size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if sent < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
    }

    /// The client socket's own address as the kernel reports it, in canonical form: a client
    /// with a dual-stack IPv6 socket (Java's always are) that connected to 127.0.0.1 is found by
    /// the IPv4 lookup, but reported as AF_INET6 with `::ffff:127.0.0.1`.
    fn reported(msg: &DiagMsg) -> IpAddr {
        if msg.family == libc::AF_INET6 as u8 {
            IpAddr::from(msg.id.src).to_canonical()
        } else {
            IpAddr::from([msg.id.src[0], msg.id.src[1], msg.id.src[2], msg.id.src[3]])
        }
    }

    /// Test only: a lookup sent on this thread's socket whose answer (no such socket) is left
    /// unread, as after a lookup that timed out.
    #[cfg(test)]
    pub fn leave_an_unread_answer() {
        let bogus: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(peer_uid(bogus, bogus).is_err(), "opens the socket");
        DIAG.with(|diag| {
            let mut diag = diag.borrow_mut();
            let d = diag.as_mut().unwrap();
            d.seq += 1;
            let mut request = lookup(bogus, bogus);
            request.hdr.seq = d.seq;
            d.send(&request).unwrap();
        });
    }

    /// The answer to request `seq` in one datagram from the kernel — one `inet_diag_msg` for
    /// the socket, or an error message (ENOENT when no such socket exists, e.g. it belongs to
    /// another network namespace) — or `None` if it holds only answers to earlier requests.
    fn parse_reply(mut data: &[u8], seq: u32, want: SocketAddr) -> Option<io::Result<u32>> {
        let mut answered = false;
        while data.len() >= size_of::<NlHdr>() {
            // SAFETY: `data` holds at least a header; read_unaligned copes with any alignment.
            let hdr: NlHdr = unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) };
            let len = hdr.len as usize;
            if len < size_of::<NlHdr>() || len > data.len() {
                break;
            }
            let body = &data[size_of::<NlHdr>()..len];
            data = &data[((len + 3) & !3).min(data.len())..];
            if hdr.seq != seq {
                continue;
            }
            answered = true;
            if hdr.kind == libc::NLMSG_ERROR as u16 {
                let errno = body.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                return Some(Err(match errno {
                    0 => io::Error::new(io::ErrorKind::NotFound, "no such socket"),
                    // The lookup's own answer, not a broken socket.
                    e if -e == libc::ENOENT => io::Error::new(io::ErrorKind::NotFound, "no such socket"),
                    e => io::Error::from_raw_os_error(-e),
                }));
            }
            if hdr.kind == SOCK_DIAG_BY_FAMILY && body.len() >= size_of::<DiagMsg>() {
                // SAFETY: `body` holds at least one DiagMsg (plain old data).
                let msg: DiagMsg = unsafe { std::ptr::read_unaligned(body.as_ptr().cast()) };
                if u16::from_be_bytes(msg.id.sport) == want.port() && reported(&msg) == want.ip() {
                    return Some(Ok(msg.uid));
                }
            }
        }
        answered.then(|| {
            Err(io::Error::new(io::ErrorKind::NotFound, "the kernel did not report the peer socket"))
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    use std::net::SocketAddr;

    pub fn peer_uid(_: SocketAddr, _: SocketAddr) -> io::Result<u32> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "the peer's owner cannot be known on this platform"))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn me() -> u32 {
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() }
    }

    #[test]
    fn a_loopback_peer_of_this_process_is_this_user() {
        for bind in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(listener) = TcpListener::bind(bind) else { continue }; // no IPv6 here
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, from) = listener.accept().unwrap();
            assert_eq!(from, client.local_addr().unwrap());
            assert_eq!(peer_uid(server.local_addr().unwrap(), from).unwrap(), me(), "{bind}");
        }
    }

    /// A dual-stack IPv6 client socket (Java's, for one) connected to an IPv4 listener: the
    /// kernel reports it as AF_INET6 with the mapped address, and it is still this user.
    #[test]
    fn a_dual_stack_client_socket_is_this_user_too() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let Ok(client) = TcpStream::connect(format!("[::ffff:127.0.0.1]:{port}")) else {
            return; // no IPv6 in this kernel
        };
        assert!(client.local_addr().unwrap().is_ipv6());
        let (server, from) = listener.accept().unwrap();
        assert_eq!(peer_uid(server.local_addr().unwrap(), from).unwrap(), me());
    }

    #[test]
    fn this_machines_addresses_include_loopback() {
        let all = local_addresses();
        assert!(all.contains(&"127.0.0.1".parse().unwrap()), "{all:?}");
        assert!(!all.contains(&"192.0.2.1".parse().unwrap()), "{all:?}");
    }

    #[test]
    fn a_socket_that_does_not_exist_is_not_found_never_guessed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let bogus: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(peer_uid(local, bogus).is_err());
    }

    /// The socket is kept for the thread's next lookups: an answer left unread (a lookup that
    /// timed out) must not be taken for the next lookup's ("no such socket" for this user's
    /// own client would refuse them).
    #[test]
    fn lookups_share_a_socket_and_a_late_answer_is_never_taken_for_the_next() {
        imp::leave_an_unread_answer();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        for _ in 0..3 {
            let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, from) = listener.accept().unwrap();
            assert_eq!(peer_uid(server.local_addr().unwrap(), from).unwrap(), me());
        }
    }

    #[test]
    fn a_peer_off_loopback_is_refused_without_asking() {
        let local: SocketAddr = "127.0.0.1:3128".parse().unwrap();
        let far: SocketAddr = "192.0.2.1:40000".parse().unwrap();
        assert_eq!(peer_uid(local, far).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn another_users_socket_reports_that_user() {
        // Needs root to start a client as another uid (CI runs as root); skipped otherwise.
        if me() != 0 || std::process::Command::new("setpriv").arg("--help").output().is_err() {
            eprintln!("SKIPPED another_users_socket_reports_that_user: needs root and setpriv");
            return;
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut child = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/127.0.0.1/{port}; sleep 5"))
            .spawn()
            .unwrap();
        let (server, from) = listener.accept().unwrap();
        let uid = peer_uid(server.local_addr().unwrap(), from);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(uid.unwrap(), 65534);
    }
}
