//! The `Via` field toll serve adds to each message it forwards (RFC 9110 §7.6.3: a proxy MUST),
//! and the loop it reveals. A request for the listener's own address is caught by its target
//! (`is_self`), but an upstream proxy named by a host name that leads back here (this machine's
//! name with `--listen 0.0.0.0:…`, a PAC or a desktop setting written for browsers) is not:
//! each request would come back as a new one, until the connection limit. Every server
//! names itself with a pseudonym of its own, so a request that already carries it has been here
//! before; another toll on the way (`toll run` in a container, through `toll serve --allow` on
//! the host) has another name and is a hop like any other.

use http::header::VIA;
use http::{HeaderMap, HeaderValue, Version};

/// This server's `received-by` (RFC 9110 §7.6.3: a pseudonym): `toll-` and 8 random hex digits.
pub struct Pseudonym {
    name: String,
    /// `1.1 toll-…`, made once: most messages are HTTP/1.1 and carry no `Via` yet.
    v11: HeaderValue,
}

impl Default for Pseudonym {
    /// A new name: each server has its own.
    fn default() -> Self {
        Pseudonym::new()
    }
}

impl Pseudonym {
    pub fn new() -> Pseudonym {
        let mut raw = [0u8; 4];
        // Without randomness, the process id still tells this server from another toll on the
        // way (a container's `toll run` has its own pid namespace, and a pid may repeat there:
        // a false loop, said as such, rather than a loop not seen).
        if getrandom::fill(&mut raw).is_err() {
            raw = std::process::id().to_be_bytes();
        }
        let name = format!("toll-{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let v11 = HeaderValue::from_str(&format!("1.1 {name}")).expect("ASCII");
        Pseudonym { name, v11 }
    }

    /// Whether one of the `Via` entries in `headers` is this server's: the message came back.
    /// Read as bytes: a hop's comment in UTF-8 (obs-text) is no `str` for `http`, and [`add`]
    /// joins this server's entry into the same line, which must not hide it.
    ///
    /// [`add`]: Pseudonym::add
    pub fn seen_in(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(VIA)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            // `received-protocol RWS received-by [ RWS comment ]`
            .filter_map(|entry| entry.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty()).nth(1))
            .any(|by| by.eq_ignore_ascii_case(self.name.as_bytes()))
    }

    /// Adds this hop to `headers` (after the entries already there, as the field's order is the
    /// path's): `1.1 toll-…`, with the version of the message as it was received. One field line
    /// in the end, the earlier ones joined into it (the same field, RFC 9110 §5.3), for readers
    /// that look at the first line only.
    pub fn add(&self, headers: &mut HeaderMap, received: Version) {
        let protocol = match received {
            Version::HTTP_09 => "0.9",
            Version::HTTP_10 => "1.0",
            Version::HTTP_2 => "2",
            Version::HTTP_3 => "3",
            _ => "1.1",
        };
        if received == Version::HTTP_11 && !headers.contains_key(VIA) {
            headers.insert(VIA, self.v11.clone());
            return;
        }
        let mut line: Vec<u8> = Vec::new();
        for earlier in headers.get_all(VIA) {
            line.extend_from_slice(earlier.as_bytes());
            line.extend_from_slice(b", ");
        }
        line.extend_from_slice(format!("{protocol} {}", self.name).as_bytes());
        if let Ok(v) = HeaderValue::from_bytes(&line) {
            headers.insert(VIA, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_that_carries_this_servers_name_has_been_here_before() {
        let me = Pseudonym::new();
        let other = Pseudonym::new();
        assert_ne!(me.name, other.name);
        let mut h = HeaderMap::new();
        assert!(!me.seen_in(&h));
        h.append(VIA, HeaderValue::from_static("1.1 squid.corp (squid/5.7), 1.0 fred"));
        other.add(&mut h, Version::HTTP_10);
        assert!(!me.seen_in(&h), "other hops, another toll among them");
        me.add(&mut h, Version::HTTP_11);
        assert!(me.seen_in(&h));
        let all: Vec<_> = h.get_all(VIA).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert_eq!(
            all,
            [format!("1.1 squid.corp (squid/5.7), 1.0 fred, 1.0 {}, 1.1 {}", other.name, me.name)]
        );
        let mut h = HeaderMap::new();
        me.add(&mut h, Version::HTTP_11);
        assert_eq!(h[VIA], format!("1.1 {}", me.name).as_str());
        assert!(me.seen_in(&h) && !other.seen_in(&h));
        // A hop before with UTF-8 in its comment: this server's entry, joined to it, is seen.
        let mut h = HeaderMap::new();
        h.insert(VIA, HeaderValue::from_bytes("1.1 proxy.corp (Stra\u{df}e)".as_bytes()).unwrap());
        me.add(&mut h, Version::HTTP_11);
        assert!(h[VIA].to_str().is_err(), "obs-text in the line");
        assert!(me.seen_in(&h), "{:?}", h[VIA]);
        // The name in a comment or as a protocol is not this hop's `received-by`.
        let mut h = HeaderMap::new();
        h.insert(VIA, HeaderValue::from_str(&format!("{} x ({})", me.name, me.name)).unwrap());
        assert!(!me.seen_in(&h));
    }
}
