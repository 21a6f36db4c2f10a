//! A response head as curl prints it (`-i`, `-I`, `-D`, `%{size_header}`): as received.
//!
//! For an HTTP/1 response the head read off the wire ([`super::wire`]) — the newest one with the
//! response's status and fields, so transfers side by side cannot swap heads — is kept with the
//! response ([`RawHead`]) and printed byte for byte: header names in their case and order, the reason
//! phrase, repeated fields where they were. Through a proxy the relay passes the upstream
//! head's case on (hyper's `preserve_header_case`), so this holds there too. Without it (the
//! head was too large, or the tap is off) the head is rebuilt from the parsed response:
//! HTTP/1 names in their canonical spelling (Title-Case, with the irregular ones — `ETag`,
//! `WWW-Authenticate`, `Content-MD5`, … — as curl's peers and Squid write them), the
//! reason phrase hyper kept; HTTP/2 heads are lowercase and have no reason phrase, and curl
//! prints them so (`HTTP/2 200 `).

/// The head of a response as read off the wire (HTTP/1 only), kept in its extensions.
#[derive(Clone, Debug)]
pub struct RawHead(pub Vec<u8>);

/// Attaches the wire head that is `resp`'s (the newest one with its status and its fields,
/// from [`wire::Tap`](super::wire::Tap)) to it, if there is one.
pub fn attach(resp: &mut reqwest::Response, tap: &super::wire::Tap) {
    if resp.version() >= reqwest::Version::HTTP_2 {
        return;
    }
    if let Some(head) = tap.take_head(|h| is_head_of(h, resp)) {
        resp.extensions_mut().insert(RawHead(head));
    }
}

/// Whether `head` (as read) is `resp`'s: the same status, and every field of `resp` in it with
/// the same value (the HTTP library may have dropped some, e.g. `Content-Encoding` when it
/// decompresses, but never adds or changes one).
fn is_head_of(head: &[u8], resp: &reqwest::Response) -> bool {
    let text = String::from_utf8_lossy(final_head(head));
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse::<u16>().ok());
    if status != Some(resp.status().as_u16()) {
        return false;
    }
    let fields: Vec<(String, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim()))
        .collect();
    resp.headers().iter().all(|(name, value)| {
        fields.iter().any(|(n, v)| n == name.as_str() && v.as_bytes() == value.as_bytes())
    })
}

/// The last head of `heads`: the 1xx heads before it (see `wire`) skipped.
fn final_head(mut heads: &[u8]) -> &[u8] {
    while super::wire::is_informational(heads) {
        let Some(end) = super::wire::head_end(heads) else { break };
        heads = &heads[end..];
    }
    heads
}

/// The head as curl prints it.
pub fn head_text(resp: &reqwest::Response) -> Vec<u8> {
    if let Some(RawHead(raw)) = resp.extensions().get::<RawHead>() {
        return raw.clone();
    }
    let reason = resp.extensions().get::<hyper::ext::ReasonPhrase>().map(|r| r.as_bytes());
    rebuild(resp.version(), resp.status(), reason, resp.headers())
}

/// A proxy's answer to the CONNECT that opened a tunnel, as curl prints it (rebuilt: the relay
/// read it, and keeps no wire bytes).
pub fn connect_head_text(head: &crate::relay::ConnectHead) -> Vec<u8> {
    rebuild(head.version, head.status, head.reason.as_deref(), &head.headers)
}

/// A head rebuilt from its parsed parts (see the module doc).
fn rebuild(
    version: http::Version,
    status: http::StatusCode,
    reason: Option<&[u8]>,
    headers: &http::HeaderMap,
) -> Vec<u8> {
    let http2 = version >= http::Version::HTTP_2;
    let mut out = if http2 {
        format!("HTTP/2 {} \r\n", status.as_u16()).into_bytes()
    } else {
        let reason = match reason {
            Some(r) => String::from_utf8_lossy(r).into_owned(),
            None => status.canonical_reason().unwrap_or("").to_string(),
        };
        format!("{version:?} {} {reason}\r\n", status.as_u16()).into_bytes()
    };
    for (k, v) in headers {
        if http2 {
            out.extend_from_slice(k.as_str().as_bytes());
        } else {
            out.extend_from_slice(canonical(k.as_str()).as_bytes());
        }
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The heads a transfer received before its final response's, in order: each redirect's that
/// `-L` followed, and each proxy's answer to a CONNECT that opened a tunnel for it. curl prints
/// them all with `-i`, `-I` and `-D` (the CONNECT answers not with
/// `--suppress-connect-headers`) and counts them all in `%{size_header}`. Also where the
/// last of those answers left the transfer, for `-w` when no final response comes.
#[derive(Debug, Default)]
pub struct EarlierHeads(Vec<(Earlier, Vec<u8>)>, Option<LastAnswer>);

/// The URL a transfer was at after its last redirect answer (the one it went on to, or the
/// answer's own when it stopped there) and the ends of the connection that answer came on.
#[derive(Clone, Debug)]
pub struct LastAnswer {
    pub url: String,
    pub ends: super::writeout::Ends,
    /// Where the answer pointed, when the transfer stopped there (`%{redirect_url}`).
    pub redirect_url: Option<String>,
    /// The method of the request made there (or of the one answered, when it stopped there):
    /// `%{method}` is the last request's, as curl's.
    pub method: String,
    /// Whether the request answered carried the body, and whether the one made there does (a
    /// 303, or a 302 after a POST, goes on without it): `%{size_upload}` is the last sent
    /// request's.
    pub body_before: bool,
    pub body_after: bool,
}

#[cfg(test)]
impl LastAnswer {
    pub fn at(url: &str) -> LastAnswer {
        LastAnswer {
            url: url.into(),
            ends: Default::default(),
            redirect_url: None,
            method: "GET".into(),
            body_before: false,
            body_after: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Earlier {
    Redirect,
    /// With the proxy's status.
    Connect(u16),
    /// A redirect that was not followed (`--max-redirs` reached): the transfer ends with an
    /// error, and `-w` describes this response, as curl's does.
    Unfollowed,
}

impl EarlierHeads {
    /// A redirect followed to `last.url`.
    pub fn redirect(&mut self, head: Vec<u8>, last: LastAnswer) {
        self.0.push((Earlier::Redirect, head));
        self.1 = Some(last);
    }

    /// See [`Earlier::Unfollowed`]; `last.url` is the answer's own.
    pub fn unfollowed(&mut self, head: Vec<u8>, last: LastAnswer) {
        self.0.push((Earlier::Unfollowed, head));
        self.1 = Some(last);
    }

    /// See [`LastAnswer`].
    pub fn last_answer(&self) -> Option<&LastAnswer> {
        self.1.as_ref()
    }

    /// The status of the last response received from the server (a redirect followed or not),
    /// for a transfer that ended without a final one (a redirect refused).
    pub fn last_status(&self) -> Option<u16> {
        let (_, head) = self.0.iter().rev().find(|(kind, _)| !matches!(kind, Earlier::Connect(_)))?;
        let line = head.split(|&b| b == b'\n').next()?;
        std::str::from_utf8(line).ok()?.split_whitespace().nth(1)?.parse().ok()
    }

    pub fn connect(&mut self, status: u16, head: Vec<u8>) {
        self.0.push((Earlier::Connect(status), head));
    }

    /// The status of the last CONNECT this transfer made (`%{http_connect}`: none on a tunnel
    /// an earlier transfer opened, as in curl).
    pub fn connect_status(&self) -> Option<u16> {
        self.0.iter().rev().find_map(|(kind, _)| match kind {
            Earlier::Connect(status) => Some(*status),
            Earlier::Redirect | Earlier::Unfollowed => None,
        })
    }

    /// How many redirects were followed.
    pub fn redirects(&self) -> usize {
        self.0.iter().filter(|(kind, _)| *kind == Earlier::Redirect).count()
    }

    /// Their bytes, all of them (`%{size_header}` counts what was received).
    pub fn size(&self) -> u64 {
        self.0.iter().map(|(_, h)| h.len() as u64).sum()
    }

    /// The heads printed, in order.
    pub fn shown(&self, suppress_connect: bool) -> impl Iterator<Item = &[u8]> {
        self.0
            .iter()
            .filter(move |(kind, _)| !(suppress_connect && matches!(kind, Earlier::Connect(_))))
            .map(|(_, h)| h.as_slice())
    }
}

/// Names whose usual spelling is not plain Title-Case (Squid's table and common servers').
const IRREGULAR: [&str; 16] = [
    "ETag",
    "WWW-Authenticate",
    "Content-MD5",
    "Content-ID",
    "X-XSS-Protection",
    "X-UA-Compatible",
    "X-DNS-Prefetch-Control",
    "DNT",
    "TE",
    "Mime-Version",
    "FTP-Command",
    "FTP-Arguments",
    "FTP-Pre",
    "FTP-Server",
    "FTP-Status",
    "FTP-Reason",
];

/// A lowercase header name in its usual spelling: `content-type` → `Content-Type`,
/// `etag` → `ETag`.
pub fn canonical(name: &str) -> String {
    if let Some(irregular) = IRREGULAR.iter().find(|i| i.eq_ignore_ascii_case(name)) {
        return (*irregular).to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
        upper = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(version: http::Version, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut b = http::Response::builder().status(200).version(version);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body("").unwrap().into()
    }

    #[test]
    fn the_last_status_is_the_servers_not_the_proxys() {
        let mut heads = EarlierHeads::default();
        assert_eq!(heads.last_status(), None);
        heads.connect(200, b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec());
        assert_eq!(heads.last_status(), None, "a CONNECT answer is the proxy's");
        heads.redirect(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: /a\r\n\r\n".to_vec(),
            LastAnswer::at("http://x/"),
        );
        heads.connect(200, b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec());
        assert_eq!(heads.last_status(), Some(301));
        heads.unfollowed(b"HTTP/2 302\r\nlocation: /b\r\n\r\n".to_vec(), LastAnswer::at("http://x/"));
        assert_eq!(
            (heads.last_status(), heads.redirects(), heads.connect_status()),
            (Some(302), 1, Some(200))
        );
    }

    #[test]
    fn canonical_spellings() {
        assert_eq!(canonical("content-type"), "Content-Type");
        assert_eq!(canonical("etag"), "ETag");
        assert_eq!(canonical("www-authenticate"), "WWW-Authenticate");
        assert_eq!(canonical("x-xss-protection"), "X-XSS-Protection");
        assert_eq!(canonical("content-md5"), "Content-MD5");
        assert_eq!(canonical("x-cache-lookup"), "X-Cache-Lookup");
        assert_eq!(canonical("a--b"), "A--B");
    }

    #[test]
    fn a_connect_answer_as_curl_prints_it() {
        let mut headers = http::HeaderMap::new();
        headers.insert("proxy-agent", "corp-proxy/2".parse().unwrap());
        let head = crate::relay::ConnectHead {
            version: http::Version::HTTP_10,
            status: http::StatusCode::OK,
            reason: Some(b"Connection established".to_vec()),
            headers,
        };
        assert_eq!(
            connect_head_text(&head),
            b"HTTP/1.0 200 Connection established\r\nProxy-Agent: corp-proxy/2\r\n\r\n"
        );
        let plain = crate::relay::ConnectHead {
            version: http::Version::HTTP_11,
            status: http::StatusCode::OK,
            reason: None,
            headers: http::HeaderMap::new(),
        };
        assert_eq!(connect_head_text(&plain), b"HTTP/1.1 200 OK\r\n\r\n");
    }

    #[test]
    fn earlier_heads_keep_their_order_and_suppress_only_the_connect_answers() {
        let mut heads = EarlierHeads::default();
        assert_eq!(heads.connect_status(), None);
        heads.connect(200, b"C1".to_vec());
        heads.redirect(b"R1".to_vec(), LastAnswer::at("http://x/"));
        heads.connect(201, b"C2".to_vec());
        heads.redirect(b"R2x".to_vec(), LastAnswer::at("http://x/"));
        assert_eq!(heads.redirects(), 2);
        assert_eq!(heads.connect_status(), Some(201));
        assert_eq!(heads.size(), 9, "every head received counts, shown or not");
        let all: Vec<&[u8]> = heads.shown(false).collect();
        assert_eq!(all, [&b"C1"[..], b"R1", b"C2", b"R2x"]);
        let without: Vec<&[u8]> = heads.shown(true).collect();
        assert_eq!(without, [&b"R1"[..], b"R2x"]);
    }

    #[test]
    fn rebuilt_heads_as_curl_prints_them() {
        let r = response(http::Version::HTTP_11, &[("content-type", "text/plain"), ("etag", "\"x\"")]);
        assert_eq!(head_text(&r), b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: \"x\"\r\n\r\n");
        let r = response(http::Version::HTTP_2, &[("content-type", "text/plain")]);
        assert_eq!(head_text(&r), b"HTTP/2 200 \r\ncontent-type: text/plain\r\n\r\n");
    }

    #[test]
    fn the_wire_head_wins_when_it_is_this_responses() {
        let r = response(http::Version::HTTP_11, &[("x-lower", "a")]);
        let raw = b"HTTP/1.1 200 Fine\r\nx-lower: a\r\nX-UP: b\r\n\r\n";
        assert!(is_head_of(raw, &r));
        assert!(!is_head_of(b"HTTP/1.1 302 Found\r\nx-lower: a\r\n\r\n", &r), "another status");
        // 1xx heads in front (see `wire`) are skipped to find the final one.
        assert!(is_head_of(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 E\r\nLink: <a>\r\n\r\nHTTP/1.1 200 OK\r\nx-lower: a\r\n\r\n", &r));
        assert!(!is_head_of(b"HTTP/1.1 100 Continue\r\n\r\n", &r));
        assert!(!is_head_of(b"HTTP/1.1 200 OK\r\nx-lower: b\r\n\r\n", &r), "another value");
        assert!(!is_head_of(b"HTTP/1.1 200 OK\r\n\r\n", &r), "a field missing");
        assert!(is_head_of(b"HTTP/1.1 200\r\nX-Lower:a\n\n", &r), "no reason phrase, bare LF");
        let mut with = r;
        with.extensions_mut().insert(RawHead(raw.to_vec()));
        assert_eq!(head_text(&with), raw);
    }
}
