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
    let text = String::from_utf8_lossy(head);
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

/// The head as curl prints it.
pub fn head_text(resp: &reqwest::Response) -> Vec<u8> {
    if let Some(RawHead(raw)) = resp.extensions().get::<RawHead>() {
        return raw.clone();
    }
    let status = resp.status();
    let http2 = resp.version() >= reqwest::Version::HTTP_2;
    let mut out = if http2 {
        format!("HTTP/2 {} \r\n", status.as_u16()).into_bytes()
    } else {
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
        format!("{:?} {} {reason}\r\n", resp.version(), status.as_u16()).into_bytes()
    };
    for (k, v) in resp.headers() {
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
        assert!(!is_head_of(b"HTTP/1.1 200 OK\r\nx-lower: b\r\n\r\n", &r), "another value");
        assert!(!is_head_of(b"HTTP/1.1 200 OK\r\n\r\n", &r), "a field missing");
        assert!(is_head_of(b"HTTP/1.1 200\r\nX-Lower:a\n\n", &r), "no reason phrase, bare LF");
        let mut with = r;
        with.extensions_mut().insert(RawHead(raw.to_vec()));
        assert_eq!(head_text(&with), raw);
    }
}
