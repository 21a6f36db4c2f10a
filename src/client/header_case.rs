//! A response head as curl prints it (`-i`, `-I`, `-D`, `%{size_header}`): as received.
//!
//! For an HTTP/1 response the head read off the wire ([`super::wire`]) is kept with the response
//! ([`RawHead`]) and printed byte for byte: header names in their case and order, the reason
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

/// Attaches the last completed wire head to `resp` when it is this response's (same status).
pub fn attach(resp: &mut reqwest::Response, heads: Vec<Vec<u8>>) {
    let Some(head) = heads.into_iter().next_back() else { return };
    if resp.version() >= reqwest::Version::HTTP_2 {
        return;
    }
    let code = format!(" {} ", resp.status().as_u16());
    let code_end = format!(" {}\r", resp.status().as_u16());
    let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let first_s = String::from_utf8_lossy(first);
    if first_s.contains(&code) || first_s.contains(&code_end) || first_s.trim_end().ends_with(code.trim_end())
    {
        resp.extensions_mut().insert(RawHead(head));
    }
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
        let mut r = response(http::Version::HTTP_11, &[("x-lower", "a")]);
        let raw = b"HTTP/1.1 200 Fine\r\nx-lower: a\r\nX-UP: b\r\n\r\n".to_vec();
        attach(&mut r, vec![b"HTTP/1.1 302 Found\r\n\r\n".to_vec(), raw.clone()]);
        assert_eq!(head_text(&r), raw);
        let mut r = response(http::Version::HTTP_11, &[]);
        attach(&mut r, vec![b"HTTP/1.1 404 Not Found\r\n\r\n".to_vec()]);
        assert_eq!(head_text(&r), b"HTTP/1.1 200 OK\r\n\r\n", "another response's head is not used");
        let mut r = response(http::Version::HTTP_11, &[]);
        attach(&mut r, vec![b"HTTP/1.1 200\r\n\r\n".to_vec()]);
        assert_eq!(head_text(&r), b"HTTP/1.1 200\r\n\r\n", "no reason phrase at all");
    }
}
