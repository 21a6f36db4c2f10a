//! `--alt-svc FILE`: curl's HTTP Alternative Services cache (RFC 7838). An https origin that
//! answered with `Alt-Svc: h2=":4432"` is reached, on the next new connection to it, at the
//! alternative (here localhost:4432) — TLS still verifies the ORIGIN's name, `Host` and the URL
//! stay the origin's (`alt_route` does the connecting).
//!
//! This file owns the pure engine: the header's parser ([`parse_header`], a faithful reading of
//! curl 7.88's, quirks included: see its doc), the cache ([`Cache`]: learning, `clear`, lookup)
//! and the cache file's parser and writer ([`parse_file`], [`write_file`]). Times are Unix
//! seconds given by the caller; the clock and the file are read by `alt_route`.
//!
//! The file is curl's: `#` comments, then one alternative a line —
//! `h1 example.com 443 h2 alt.example.com 8443 "20261205 10:00:00" 0 0`: the origin's ALPN
//! (the protocol of the response that advertised the alternative), host and port, the
//! alternative's ALPN, host and port, the expiry (UTC), `persist` and a priority curl reads and
//! writes back unused. As curl, a line without that shape is skipped, expired lines are kept
//! until a lookup passes them, and `h3` entries (never used: toll and Debian's curl have no
//! HTTP/3) are kept and written back. Unlike curl, a host with characters a host name cannot
//! have (control characters, quotes) makes the line skipped, and the cache holds at most
//! [`MAX_ENTRIES`] lines (more are not learnt).

/// The most alternatives the cache holds (curl has no limit): a server cannot grow the file
/// without bound.
pub const MAX_ENTRIES: usize = 2000;

/// The most alternatives learnt from one header value.
const MAX_PER_HEADER: usize = 32;

/// curl's `MAX_ALTSVC_HOSTLEN`: a host this long or longer is refused.
const MAX_HOST: usize = 512;

/// A protocol an alternative speaks, by its RFC 7838 ALPN name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alpn {
    H1,
    H2,
    H3,
}

impl Alpn {
    /// As curl reads them: `h1`, `h2`, `h3`, any case; anything else is not an ALPN it knows.
    pub fn parse(s: &str) -> Option<Alpn> {
        match s.to_ascii_lowercase().as_str() {
            "h1" => Some(Alpn::H1),
            "h2" => Some(Alpn::H2),
            "h3" => Some(Alpn::H3),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Alpn::H1 => "h1",
            Alpn::H2 => "h2",
            Alpn::H3 => "h3",
        }
    }
}

/// Where a request goes: an origin (`src`) or an alternative (`dst`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub alpn: Alpn,
    /// As received or read (an IPv6 address without brackets); compared without case.
    pub host: String,
    pub port: u16,
}

/// One cached alternative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub src: Endpoint,
    pub dst: Endpoint,
    /// Unix seconds.
    pub expires: i64,
    pub persist: bool,
    pub prio: u32,
}

/// One alternative of an `Alt-Svc` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub dst: Endpoint,
    /// `ma=`, seconds, as curl keeps it: an unsigned number a negative one wraps into.
    pub max_age: u64,
    pub persist: bool,
}

/// What an `Alt-Svc` value says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Advice {
    /// `clear`: forget the origin's alternatives.
    Clear,
    /// These alternatives replace the origin's (none: the value changes nothing).
    Offers(Vec<Offer>),
}

fn blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// curl's `getalnum`: blanks skipped, then the word up to a blank, `;` or `=` (at most 9 bytes
/// for an ALPN, 31 for a parameter's name, else `None`).
fn word<'a>(p: &mut &'a [u8], max: usize) -> Option<&'a [u8]> {
    while p.first().is_some_and(|&b| blank(b)) {
        *p = &p[1..];
    }
    let n = p.iter().position(|&b| blank(b) || b == b';' || b == b'=').unwrap_or(p.len());
    let w = &p[..n];
    *p = &p[n..];
    (n > 0 && n <= max).then_some(w)
}

/// C's `strtoul` in base 10: leading white space, a sign, digits; `None` without a digit; a
/// number too large is `u64::MAX`, a negative one wraps.
fn strtoul(s: &[u8]) -> Option<(u64, usize)> {
    let mut i = s.iter().take_while(|b| b.is_ascii_whitespace() || **b == 0x0b).count();
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = s[i.min(s.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in &s[i..i + digits] {
        n = match n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d - b'0'))) {
            Some(n) => n,
            None => return Some((u64::MAX, i + digits)),
        };
    }
    Some((if neg { n.wrapping_neg() } else { n }, i + digits))
}

/// An `Alt-Svc` value received from `src_host:src_port`, read as curl 7.88 reads it — with
/// the line's `\r\n` it sees after the value, which makes some quirks: a bare `clear` is not
/// `clear` to curl (its word then holds the line end; toll honours it all the same, as RFC 7838
/// says), `h2=":4432"; persist` (a parameter without `=`) drops that alternative and the rest,
/// an alternative without a port takes the previous one's. The alternative's host is letters,
/// digits, `.` and `-` only (curl 7.88 reads no IPv6 address there); `ma=` defaults to 24 hours.
pub fn parse_header(value: &str, src_host: &str, src_port: u16) -> Advice {
    if value.trim_matches([' ', '\t']).eq_ignore_ascii_case("clear") {
        return Advice::Clear;
    }
    let line = format!("{value}\r\n");
    let mut p = line.as_bytes();
    let mut offers = Vec::new();
    let Some(mut alpn) = word(&mut p, 9) else { return Advice::Offers(offers) };
    if alpn.eq_ignore_ascii_case(b"clear") {
        return Advice::Clear;
    }
    let mut dst_port = src_port;
    loop {
        if p.first() != Some(&b'=') {
            break;
        }
        let dst_alpn = std::str::from_utf8(alpn).ok().and_then(Alpn::parse);
        p = &p[1..];
        if p.first() != Some(&b'"') {
            break;
        }
        p = &p[1..];
        let mut valid = true;
        let dst_host = if p.first() != Some(&b':') {
            let n = p.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'.' || **b == b'-').count();
            let host = &p[..n];
            p = &p[n..];
            if n == 0 || n >= MAX_HOST {
                valid = false;
            }
            String::from_utf8_lossy(host).into_owned()
        } else {
            src_host.to_string()
        };
        if p.first() == Some(&b':') {
            p = &p[1..];
            let parsed = if p.first().is_some_and(u8::is_ascii_digit) { strtoul(p) } else { None };
            match parsed {
                Some((port, n)) if port != 0 && port <= 65535 && p.get(n) == Some(&b'"') => {
                    dst_port = port as u16;
                    p = &p[n..];
                }
                _ => valid = false,
            }
        }
        if p.first() != Some(&b'"') {
            break;
        }
        p = &p[1..];
        let (mut max_age, mut persist) = (24 * 3600u64, false);
        // The parameters; an unknown one is skipped.
        loop {
            while p.first().is_some_and(|&b| blank(b)) {
                p = &p[1..];
            }
            if p.first() != Some(&b';') {
                break;
            }
            p = &p[1..];
            if matches!(p.first(), None | Some(b'\r' | b'\n')) {
                break;
            }
            let name = word(&mut p, 31).unwrap_or_default();
            while p.first().is_some_and(|&b| blank(b)) {
                p = &p[1..];
            }
            if p.first() != Some(&b'=') {
                return Advice::Offers(offers);
            }
            p = &p[1..];
            while p.first().is_some_and(|&b| blank(b)) {
                p = &p[1..];
            }
            if p.is_empty() {
                return Advice::Offers(offers);
            }
            let quoted = p[0] == b'"';
            if quoted {
                p = &p[1..];
            }
            let value = p;
            if quoted {
                let Some(end) = p.iter().position(|&b| b == b'"') else { return Advice::Offers(offers) };
                p = &p[end + 1..];
            } else {
                let n = p.iter().take_while(|&&b| !blank(b) && b != b';' && b != b',').count();
                p = &p[n..];
            }
            if let Some((num, _)) = strtoul(value).filter(|(n, _)| *n < u64::MAX) {
                if name.eq_ignore_ascii_case(b"ma") {
                    max_age = num;
                } else if name.eq_ignore_ascii_case(b"persist") && num == 1 {
                    persist = true;
                }
            }
        }
        if let (Some(alpn), true) = (dst_alpn, valid) {
            if offers.len() < MAX_PER_HEADER {
                offers.push(Offer {
                    dst: Endpoint { alpn, host: dst_host, port: dst_port },
                    max_age,
                    persist,
                });
            }
        }
        if p.first() == Some(&b',') {
            p = &p[1..];
            match word(&mut p, 9) {
                Some(w) => alpn = w,
                None => break,
            }
        }
        if matches!(p.first(), None | Some(b';' | b'\n' | b'\r')) {
            break;
        }
    }
    Advice::Offers(offers)
}

/// An origin's host as the cache keys it: an IPv6 address without brackets, one trailing dot
/// dropped (curl compares without it). Learning and lookup both go through it (the `alt_svc`
/// fuzz target found hosts such as `o.]]` learnt under one key and looked up under another).
fn origin_host(host: &str) -> &str {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.strip_suffix('.').unwrap_or(h)
}

/// curl's host comparison: without case.
fn same_host(host: &str, cached: &str) -> bool {
    host.eq_ignore_ascii_case(cached)
}

/// The cached alternatives, in curl's order (the file's, then as learnt).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cache {
    pub entries: Vec<Entry>,
}

impl Cache {
    /// Forgets the alternatives of one origin (as reached over `alpn`).
    fn flush(&mut self, alpn: Alpn, host: &str, port: u16) {
        self.entries.retain(|e| !(e.src.alpn == alpn && e.src.port == port && same_host(host, &e.src.host)));
    }

    /// Learns an `Alt-Svc` value received at `now` in a response over `alpn` (`h2` or `h1`)
    /// from the https origin `host:port` (the URL's, also when an alternative answered). The
    /// first alternative replaces what the origin had; `clear` forgets it. Returns the
    /// alternatives learnt.
    pub fn learn(&mut self, alpn: Alpn, host: &str, port: u16, value: &str, now: i64) -> Vec<Endpoint> {
        // The URL's host as the file can hold it (curl 7.88 writes an IPv6 address bare).
        let Some(host) = file_host(origin_host(host)) else {
            return Vec::new();
        };
        let host = host.as_str();
        let offers = match parse_header(value, host, port) {
            Advice::Clear => {
                self.flush(alpn, host, port);
                return Vec::new();
            }
            Advice::Offers(o) if o.is_empty() => return Vec::new(),
            Advice::Offers(o) => o,
        };
        self.flush(alpn, host, port);
        let mut learnt = Vec::new();
        for o in offers {
            if self.entries.len() >= MAX_ENTRIES {
                break;
            }
            let src = Endpoint { alpn, host: host.to_string(), port };
            // time_t arithmetic, as curl's (a "negative" `ma` is in the past).
            let expires = now.wrapping_add(o.max_age as i64);
            learnt.push(o.dst.clone());
            self.entries.push(Entry { src, dst: o.dst, expires, persist: o.persist, prio: 0 });
        }
        learnt
    }

    /// The alternative for a new connection to the https origin `host:port` at `now`, as curl
    /// looks: one advertised over h2 first, then over h1, the first in the cache's order whose
    /// protocol is one of `usable`. Expired entries passed on the way are removed.
    pub fn lookup(&mut self, host: &str, port: u16, usable: &[Alpn], now: i64) -> Option<Entry> {
        let host = origin_host(host);
        for src in [Alpn::H2, Alpn::H1] {
            let mut i = 0;
            while i < self.entries.len() {
                let e = &self.entries[i];
                if e.expires < now {
                    self.entries.remove(i);
                    continue;
                }
                if e.src.alpn == src
                    && e.src.port == port
                    && same_host(host, &e.src.host)
                    && usable.contains(&e.dst.alpn)
                {
                    return Some(e.clone());
                }
                i += 1;
            }
        }
        None
    }
}

/// A host read from the file: what a host name or an IP address can hold (curl takes any
/// non-blank bytes); an IPv6 address loses its brackets.
fn file_host(s: &str) -> Option<String> {
    let s = match s.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']')?,
        None => s,
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    (!s.is_empty() && s.len() < MAX_HOST && s.chars().all(ok)).then(|| s.to_string())
}

/// A port as curl's `sscanf("%u")` then `unsigned short` make it: wrapped.
fn file_number(s: &str) -> Option<u32> {
    let (n, used) = strtoul(s.as_bytes())?;
    (used == s.len()).then_some(n as u32)
}

/// The entries of a cache file, in its order; lines without the file's shape are skipped.
/// Expired entries are kept (curl drops them when a lookup passes them).
pub fn parse_file(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches([' ', '\t']);
        if line.starts_with('#') || entries.len() >= MAX_ENTRIES {
            continue;
        }
        if let Some(e) = parse_line(line) {
            entries.push(e);
        }
    }
    entries
}

fn parse_line(line: &str) -> Option<Entry> {
    let (head, rest) = line.split_once('"')?;
    let (date, tail) = rest.split_once('"')?;
    let f: Vec<&str> = head.split_ascii_whitespace().collect();
    let [src_alpn, src_host, src_port, dst_alpn, dst_host, dst_port] = f.as_slice() else { return None };
    let mut tail = tail.split_ascii_whitespace();
    let (persist, prio) = (file_number(tail.next()?)?, file_number(tail.next()?)?);
    let endpoint = |alpn: &str, host: &str, port: &str| {
        Some(Endpoint {
            alpn: Alpn::parse(alpn).filter(|_| alpn.len() <= 10)?,
            host: file_host(host)?,
            port: file_number(port)? as u16,
        })
    };
    Some(Entry {
        src: endpoint(src_alpn, src_host, src_port)?,
        dst: endpoint(dst_alpn, dst_host, dst_port)?,
        // curl's date parser gives -1 for what it cannot read: the line is kept, expired.
        expires: crate::utc::parse_curl_date(date).unwrap_or(-1),
        persist: persist != 0,
        prio,
    })
}

/// The cache as curl writes its file: every entry, expired or not.
pub fn write_file(entries: &[Entry]) -> String {
    let mut out = String::from(
        "# Your alt-svc cache. https://curl.se/docs/alt-svc.html\n\
         # This file was generated by libcurl! Edit at your own risk.\n",
    );
    for e in entries {
        out.push_str(&format!(
            "{} {} {} {} {} {} \"{}\" {} {}\n",
            e.src.alpn.name(),
            e.src.host,
            e.src.port,
            e.dst.alpn.name(),
            e.dst.host,
            e.dst.port,
            crate::utc::curl_date(e.expires),
            u8::from(e.persist),
            e.prio
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000; // 2027-01-15 08:00:00 UTC

    fn offers(value: &str) -> Vec<(String, String, u16, u64, bool)> {
        match parse_header(value, "origin.test", 4431) {
            Advice::Clear => vec![("clear".into(), String::new(), 0, 0, false)],
            Advice::Offers(o) => o
                .into_iter()
                .map(|o| (o.dst.alpn.name().to_string(), o.dst.host, o.dst.port, o.max_age, o.persist))
                .collect(),
        }
    }

    fn one(
        alpn: &str,
        host: &str,
        port: u16,
        ma: u64,
        persist: bool,
    ) -> Vec<(String, String, u16, u64, bool)> {
        vec![(alpn.into(), host.into(), port, ma, persist)]
    }

    const DAY: u64 = 86_400;

    #[test]
    fn headers_as_curl_788_reads_them() {
        // Each measured with curl 7.88.1 (see the README's --alt-svc notes).
        assert_eq!(offers(r#"h2=":4432""#), one("h2", "origin.test", 4432, DAY, false));
        assert_eq!(offers(r#"h2=":4432"; ma=60; persist=1"#), one("h2", "origin.test", 4432, 60, true));
        assert_eq!(offers(r#"H2="Alt.Test:4432";MA="30""#), one("h2", "Alt.Test", 4432, 30, false));
        assert_eq!(offers(r#"h2="alt.test""#), one("h2", "alt.test", 4431, DAY, false));
        assert_eq!(offers(r#"h2=":4432"; ma=abc"#), one("h2", "origin.test", 4432, DAY, false));
        assert_eq!(
            offers(r#"h2=":4432"; ma=99999999999999999999"#),
            one("h2", "origin.test", 4432, DAY, false)
        );
        assert_eq!(
            offers(r#"h2=":4432"; ma=-5"#),
            one("h2", "origin.test", 4432, 5u64.wrapping_neg(), false)
        );
        assert_eq!(offers(r#"h2=":4432"; ma=+60"#)[0].3, 60);
        assert_eq!(offers(r#"h2=":4432"; ma= 60"#)[0].3, 60);
        assert_eq!(offers(r#"h2=":4432"; ma=60x"#)[0].3, 60);
        assert_eq!(offers(r#"h2=":4432"; ma="#)[0].3, DAY, "an empty value is no number");
        assert!(!offers(r#"h2=":4432"; persist=2"#)[0].4);
        assert_eq!(offers(r#"h2=":4432"; abcdefghijabcdefghijabcdefghijabcdefghij=5; ma=60"#)[0].3, 60);
        assert_eq!(offers(r#"h2=":4432";"#).len(), 1);
        assert_eq!(offers(r#"h2=":04432""#)[0].2, 4432);
        assert_eq!(
            offers(r#"h2="other.test:443", h1=":4432"; ma=100"#),
            vec![
                ("h2".into(), "other.test".into(), 443, DAY, false),
                ("h1".into(), "origin.test".into(), 4432, 100, false)
            ]
        );
        // The previous alternative's port carries over to one without a port.
        assert_eq!(offers(r#"h2=":4432", h1="b.test""#)[1], ("h1".into(), "b.test".into(), 4432, DAY, false));
        // h3 is read and kept; an unknown protocol is skipped, the rest read.
        assert_eq!(offers(r#"h3=":4433", foo=":1", h1=":4435""#).len(), 2);
        assert_eq!(offers(r#"h2=":4432", ,h1=":4434""#).len(), 1);
        assert_eq!(offers(r#"h2=":4432"x, h1=":4434""#).len(), 1);
        assert_eq!(offers(r#"h2=":4432", h1=:4434, h1=":4435""#).len(), 1);
        assert_eq!(offers(r#"h2=":4432", clear"#).len(), 1);
        for nothing in [
            r#"h2=":4432"; persist"#,
            r#"h2=":4432"; ma="60"#,
            r#"h2 = ":4432""#,
            r#"h2=localhost:4432"#,
            r#"h2="[::1]:4432""#,
            r#"h2="a_b:4432""#,
            r#"h2=":0""#,
            r#"h2=":99999""#,
            r#"h2=":443a""#,
            r#"h2=":""#,
            r#"h2="""#,
            r#"h2="x:""#,
            r#"http/1.1=":4432""#,
            "h2=\"a\u{1}b:1\"",
            "",
            "clear, h2=\":4432\"",
        ] {
            let o = offers(nothing);
            assert!(o.is_empty() || o[0].0 == "clear", "{nothing:?}: {o:?}");
        }
        assert_eq!(offers("clear")[0].0, "clear", "curl 7.88 misses a bare clear; toll does not");
        assert_eq!(offers("clear;")[0].0, "clear");
        assert_eq!(offers("CLEAR ")[0].0, "clear");
        let many = vec![r#"h2=":1""#; 100].join(", ");
        assert_eq!(offers(&many).len(), MAX_PER_HEADER);
    }

    #[test]
    fn the_file_is_curls() {
        let text = "# comment\n\
            h1 localhost 4431 h2 localhost 4432 \"20300101 00:00:00\" 0 0\n\
            \th2   a.test   1 h3 b.test 2 \"20000101 00:00:00\" 1 5 extra\n\
            h1 a.test 99999 h2 b.test 2 \"20300101 00:00:00\" 0 0\n\
            h1 [::1] 1 h2 [::1] 2 \"20300101 00:00:00\" 0 0\n\
            bad line\n\
            h1 a.test 1 h2 b.test 2 \"2030\" 0 0\n\
            h9 a.test 1 h2 b.test 2 \"20300101 00:00:00\" 0 0\n\
            h1 a.test 1 h2 b.test 2 \"20300101 00:00:00\"\n\
            h1 a.test 1 h2 b\u{1}x 2 \"20300101 00:00:00\" 0 0\n\
            h1 a\"b 1 h2 b.test 2 \"20300101 00:00:00\" 0 0\n";
        let e = parse_file(text);
        assert_eq!(e.len(), 5, "{e:?}");
        assert_eq!(e[4].expires, -1, "a date curl cannot read: kept, expired");
        assert_eq!(e[1].dst.alpn, Alpn::H3);
        assert!(e[1].persist && e[1].prio == 5, "kept as read");
        assert_eq!(e[2].src.port, 34463, "curl's %u into an unsigned short wraps");
        assert_eq!(e[3].src.host, "::1");
        let written = write_file(&e);
        assert_eq!(
            written,
            "# Your alt-svc cache. https://curl.se/docs/alt-svc.html\n\
             # This file was generated by libcurl! Edit at your own risk.\n\
             h1 localhost 4431 h2 localhost 4432 \"20300101 00:00:00\" 0 0\n\
             h2 a.test 1 h3 b.test 2 \"20000101 00:00:00\" 1 5\n\
             h1 a.test 34463 h2 b.test 2 \"20300101 00:00:00\" 0 0\n\
             h1 ::1 1 h2 ::1 2 \"20300101 00:00:00\" 0 0\n\
             h1 a.test 1 h2 b.test 2 \"19691231 23:59:59\" 0 0\n",
            "expired entries stay until a lookup passes them; IPv6 without brackets, as curl 7.88"
        );
        assert_eq!(parse_file(&written), e);
        assert_eq!(crate::utc::curl_date(NOW + 99_999_999_999), "51951130 17:46:39");
        let many = "h1 a 1 h2 b 2 \"20300101 00:00:00\" 0 0\n".repeat(MAX_ENTRIES + 5);
        assert_eq!(parse_file(&many).len(), MAX_ENTRIES);
    }

    #[test]
    fn learning_clearing_and_lookup() {
        let mut c = Cache::default();
        let h2_4432 = Endpoint { alpn: Alpn::H2, host: "localhost".into(), port: 4432 };
        assert_eq!(c.learn(Alpn::H1, "localhost", 4431, r#"h2=":4432"; ma=60"#, NOW), vec![h2_4432.clone()]);
        assert_eq!(c.entries[0].expires, NOW + 60);
        assert_eq!(c.entries[0].src, Endpoint { alpn: Alpn::H1, host: "localhost".into(), port: 4431 });
        let usable = [Alpn::H1, Alpn::H2];
        assert_eq!(c.lookup("LOCALHOST.", 4431, &usable, NOW).map(|e| e.dst), Some(h2_4432.clone()));
        assert_eq!(c.lookup("localhost", 443, &usable, NOW), None, "another origin");
        // A second header replaces the origin's alternatives.
        c.learn(Alpn::H1, "localhost", 4431, r#"h3=":4433", h1=":4434""#, NOW);
        assert_eq!(c.entries.len(), 2);
        assert_eq!(
            c.lookup("localhost", 4431, &usable, NOW).map(|e| e.dst.port),
            Some(4434),
            "h3 is never used"
        );
        // One learnt over h2 is looked up first.
        c.learn(Alpn::H2, "localhost", 4431, r#"h2=":4435""#, NOW);
        assert_eq!(c.lookup("localhost", 4431, &usable, NOW).map(|e| e.dst.port), Some(4435));
        // clear forgets what was learnt over the same protocol only.
        assert!(c.learn(Alpn::H2, "localhost", 4431, "clear", NOW).is_empty());
        assert_eq!(c.lookup("localhost", 4431, &usable, NOW).map(|e| e.dst.port), Some(4434));
        assert!(c.learn(Alpn::H1, "localhost", 4431, "nonsense", NOW).is_empty());
        assert_eq!(c.entries.len(), 2, "a value without alternatives changes nothing");
        // Expired: removed when a lookup passes them.
        assert_eq!(c.lookup("localhost", 4431, &usable, NOW + DAY as i64 + 1), None);
        assert!(c.entries.is_empty());
        // curl learns for IP addresses too; an IPv6 origin is kept without brackets.
        c.learn(Alpn::H1, "[::1]", 4431, r#"h2=":4432""#, NOW);
        assert_eq!(c.entries[0].dst.host, "::1");
        assert!(c.lookup("[::1]", 4431, &usable, NOW).is_some());
        c.learn(Alpn::H1, "x", 1, r#"h2=":4432"; ma=-5"#, NOW);
        assert_eq!(c.entries[1].expires, NOW - 5, "time_t arithmetic, as curl's");
        for i in 0..MAX_ENTRIES + 10 {
            c.learn(Alpn::H1, &format!("h{i}"), 1, r#"h2=":2""#, NOW);
        }
        assert_eq!(c.entries.len(), MAX_ENTRIES);
    }
}
