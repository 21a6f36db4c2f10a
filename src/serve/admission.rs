//! Who may use a `toll serve` listener. The listener holds the user's proxy credentials, so it is
//! never an open proxy (px and cntlm serve every local user on 127.0.0.1:3128):
//!
//! - a connection from loopback whose socket belongs to the same uid as the server is served;
//! - everyone else must show the per-user key as the proxy credential (`toll:KEY`): a loopback
//!   peer whose owner cannot be known (another platform, a socket already gone) or that belongs
//!   to another uid, and a peer in an `--allow` range (gateway mode for containers or a VM);
//! - anything else is refused, with the reason for the access log.
//!
//! The decision is pure (the uid lookup is injected), so every branch is tested here.

use crate::secret::Secret;
use ipnet::IpNet;
use std::io;
use std::net::SocketAddr;

/// What the server admits.
#[derive(Clone)]
pub struct Policy {
    /// The uid that runs the server.
    pub uid: u32,
    /// The per-user key (kept 0600 in the state dir; `toll serve --print-env` shows it).
    pub key: Secret,
    /// `--allow CIDR`: non-loopback peers that may connect when they show the key.
    pub allow: Vec<IpNet>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Serve; `by_key` says the key was what let it in (for the access log).
    Serve { by_key: bool },
    /// Ask for the key (a 407 with `Basic realm="toll serve"`): the client may not have sent it
    /// yet. Only for peers that may use the key at all.
    NeedKey(&'static str),
    /// 403 and a log line.
    Refuse(&'static str),
}

/// The user name a client puts before the key in its proxy URL (`http://toll:KEY@host:port`).
pub const KEY_USER: &str = "toll";

impl Policy {
    /// Decides for one request from `peer`, accepted on `local`, that presented `presented`
    /// (the decoded `Proxy-Authorization: Basic` credential, if any). `owner` finds the uid of
    /// the peer's socket (see [`super::peer::peer_uid`]).
    pub fn decide(
        &self,
        local: SocketAddr,
        peer: SocketAddr,
        presented: Option<(&str, &str)>,
        owner: &dyn Fn(SocketAddr, SocketAddr) -> io::Result<u32>,
    ) -> Decision {
        let key_ok = presented.is_some_and(|(user, key)| user == KEY_USER && self.key_matches(key));
        let key_wrong = presented.is_some() && !key_ok;
        let ip = peer.ip().to_canonical();
        if !from_another_host(peer) {
            return match owner(local, peer) {
                Ok(uid) if uid == self.uid => Decision::Serve { by_key: false },
                _ if key_ok => Decision::Serve { by_key: true },
                _ if key_wrong => Decision::Refuse("a wrong key"),
                Ok(_) => Decision::Refuse("a loopback connection of another user, without the key"),
                // The kernel reports no such socket: most often the client has already left
                // (reset right after its head), which the log should not make look like a stranger.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    Decision::NeedKey("a loopback connection whose owner cannot be known (gone already?)")
                }
                Err(_) => Decision::NeedKey("a loopback connection whose owner cannot be known"),
            };
        }
        // A range written as IPv6 (`::/0`) also holds a dual-stack listener's mapped peers.
        if !self.allow.iter().any(|net| net.contains(&ip) || net.contains(&peer.ip())) {
            return Decision::Refuse("not from loopback nor from an --allow range");
        }
        match (key_ok, key_wrong) {
            (true, _) => Decision::Serve { by_key: true },
            (_, true) => Decision::Refuse("a wrong key"),
            _ => Decision::NeedKey("an --allow range requires the key"),
        }
    }

    fn key_matches(&self, presented: &str) -> bool {
        crate::relay::constant_time_eq(presented.as_bytes(), self.key.expose().as_bytes())
    }
}

/// Whether `peer` is another host (off loopback; an IPv4-mapped address is taken as IPv4): such
/// a peer is admitted only from an `--allow` range, with the key, and never reaches this
/// machine's loopback through the server (`super::plan`).
pub fn from_another_host(peer: SocketAddr) -> bool {
    !peer.ip().to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 1000;

    fn policy(allow: &[&str]) -> Policy {
        Policy { uid: ME, key: Secret::new("k3y"), allow: allow.iter().map(|a| a.parse().unwrap()).collect() }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn owned_by(uid: u32) -> impl Fn(SocketAddr, SocketAddr) -> io::Result<u32> {
        move |_, _| Ok(uid)
    }

    fn unknown(_: SocketAddr, _: SocketAddr) -> io::Result<u32> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "no sock_diag"))
    }

    const LOCAL: &str = "127.0.0.1:3128";

    #[test]
    fn the_same_user_on_loopback_needs_no_key() {
        let p = policy(&[]);
        for peer in ["127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"] {
            assert_eq!(
                p.decide(addr(LOCAL), addr(peer), None, &owned_by(ME)),
                Decision::Serve { by_key: false }
            );
        }
    }

    #[test]
    fn another_user_on_loopback_is_refused_unless_it_shows_the_key() {
        let p = policy(&[]);
        let other = owned_by(1001);
        assert!(matches!(p.decide(addr(LOCAL), addr("127.0.0.1:5000"), None, &other), Decision::Refuse(_)));
        assert!(matches!(
            p.decide(addr(LOCAL), addr("127.0.0.1:5000"), Some(("toll", "guess")), &other),
            Decision::Refuse(_)
        ));
        assert_eq!(
            p.decide(addr(LOCAL), addr("127.0.0.1:5000"), Some(("toll", "k3y")), &other),
            Decision::Serve { by_key: true }
        );
    }

    #[test]
    fn an_unknown_owner_must_show_the_key() {
        let p = policy(&[]);
        assert!(matches!(
            p.decide(addr(LOCAL), addr("127.0.0.1:5000"), None, &unknown),
            Decision::NeedKey(_)
        ));
        assert_eq!(
            p.decide(addr(LOCAL), addr("127.0.0.1:5000"), Some(("toll", "k3y")), &unknown),
            Decision::Serve { by_key: true }
        );
        // The key belongs to the user name `toll`: the same secret under another name is wrong.
        assert!(matches!(
            p.decide(addr(LOCAL), addr("127.0.0.1:5000"), Some(("alice", "k3y")), &unknown),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn another_host_is_any_peer_off_loopback_in_either_family() {
        for local in ["127.0.0.1:5", "127.9.9.9:5", "[::1]:5", "[::ffff:127.0.0.1]:5"] {
            assert!(!from_another_host(addr(local)), "{local}");
        }
        for other in ["172.17.0.2:5", "[::ffff:10.0.0.1]:5", "[fe80::1]:5", "0.0.0.0:5"] {
            assert!(from_another_host(addr(other)), "{other}");
        }
    }

    #[test]
    fn off_loopback_only_allowed_ranges_with_the_key() {
        let p = policy(&["172.17.0.0/16"]);
        let peer = addr("172.17.0.5:40000");
        // The owner lookup is never trusted off loopback: another kernel owns that socket.
        assert!(matches!(p.decide(addr("172.17.0.1:3128"), peer, None, &owned_by(ME)), Decision::NeedKey(_)));
        assert_eq!(
            p.decide(addr("172.17.0.1:3128"), peer, Some(("toll", "k3y")), &owned_by(ME)),
            Decision::Serve { by_key: true }
        );
        let outside = addr("10.1.2.3:40000");
        assert!(matches!(
            p.decide(addr("172.17.0.1:3128"), outside, Some(("toll", "k3y")), &owned_by(ME)),
            Decision::Refuse(_)
        ));
        assert!(matches!(
            policy(&[]).decide(addr(LOCAL), peer, Some(("toll", "k3y")), &unknown),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn a_dual_stack_listeners_mapped_peer_is_in_an_ipv4_range_and_in_an_ipv6_one_that_holds_it() {
        let mapped = addr("[::ffff:192.0.2.2]:40000");
        let key = Some(("toll", "k3y"));
        for allow in ["192.0.2.0/24", "::/0", "::ffff:0:0/96"] {
            assert_eq!(
                policy(&[allow]).decide(addr("[::]:3128"), mapped, key, &owned_by(ME)),
                Decision::Serve { by_key: true },
                "{allow}"
            );
        }
        assert!(matches!(
            policy(&["fd00::/8"]).decide(addr("[::]:3128"), mapped, key, &owned_by(ME)),
            Decision::Refuse(_)
        ));
    }
}
