//! The test origin's routes for the transfer options (`-F`, `-C`, `-J`, `-R`, `-z`, `--etag-*`),
//! answering the same whichever client asks (for the curl differential suite):
//! - `/form`: the request's method and Content-Type (boundary replaced by its length), then each
//!   multipart part: its head lines as received and its content (or, above 200 bytes, its
//!   length and SHA-256); a multipart part's own parts likewise, nested, and what follows each
//!   closing boundary. `/form?framing`: the `Content-Length` and `Transfer-Encoding` first.
//! - `/range/N`: N bytes of [`crate::pattern_bytes`], honouring `Range: bytes=A-` (206 with
//!   `Content-Range`; 416 when A ≥ N). `/bytes/N` ignores ranges.
//! - `/dated`: a body with `Last-Modified` (2026-12-01) and `ETag: "v1"`; 304 when
//!   `If-None-Match: "v1"` or `If-Modified-Since` is not earlier, 412 when `If-Unmodified-Since`
//!   is earlier.
//! - `/disposition-raw?v=VALUE`: `Content-Disposition: VALUE` (hostile names for `-J`).
//! - `/hsts?sts=VALUE`: `Strict-Transport-Security: VALUE` (`--hsts`).

use crate::http::{self, Head};

pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

const LAST_MODIFIED: &str = "Tue, 01 Dec 2026 00:00:00 GMT";

/// The answer for one of these routes, or `None` for another route.
pub fn route(segs: &[&str], head: &Head, method: &str, query: &str, body: &[u8]) -> Option<Answer> {
    let text = || vec![("Content-Type".to_string(), "text/plain".to_string())];
    Some(match segs {
        ["form"] => {
            let mut out = Vec::new();
            if query == "framing" {
                for name in ["content-length", "transfer-encoding"] {
                    out.extend(format!("{name}: {}\n", head.header(name).unwrap_or("-")).as_bytes());
                }
            }
            out.extend(form_echo(head, method, body));
            (200, text(), out)
        }
        ["hsts"] => {
            let mut h = text();
            if let Some(v) = http::query_param(query, "sts") {
                h.push(("Strict-Transport-Security".into(), v));
            }
            (200, h, b"hsts\n".to_vec())
        }
        ["range", n] => {
            let n: usize = n.parse().unwrap_or(0);
            let data = crate::pattern_bytes(n);
            let start = head
                .header("range")
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|a| a.parse::<usize>().ok());
            let mut h = vec![("Content-Type".to_string(), "application/octet-stream".to_string())];
            match start {
                None => (200, h, data),
                Some(a) if a >= n => {
                    h.push(("Content-Range".into(), format!("bytes */{n}")));
                    (416, h, b"range not satisfiable\n".to_vec())
                }
                Some(a) => {
                    h.push(("Content-Range".into(), format!("bytes {a}-{}/{n}", n - 1)));
                    (206, h, data[a..].to_vec())
                }
            }
        }
        ["dated"] => {
            let lm = httpdate::parse_http_date(LAST_MODIFIED).unwrap();
            let since = |name: &str| head.header(name).and_then(|v| httpdate::parse_http_date(v).ok());
            let mut h = text();
            h.push(("Last-Modified".into(), LAST_MODIFIED.into()));
            h.push(("ETag".into(), "\"v1\"".into()));
            if head.header("if-none-match") == Some("\"v1\"")
                || since("if-modified-since").is_some_and(|t| t >= lm)
            {
                (304, h, Vec::new())
            } else if since("if-unmodified-since").is_some_and(|t| t < lm) {
                (412, h, b"precondition failed\n".to_vec())
            } else {
                (200, h, b"dated body\n".to_vec())
            }
        }
        ["disposition-raw"] => {
            let mut h = text();
            h.push(("Content-Disposition".into(), http::query_param(query, "v").unwrap_or_default()));
            (200, h, b"raw disposition body\n".to_vec())
        }
        _ => return None,
    })
}

/// `/form`'s answer: what the client sent, part by part.
fn form_echo(head: &Head, method: &str, body: &[u8]) -> Vec<u8> {
    let ct = head.header("content-type").unwrap_or("-");
    let Some((kind, boundary)) = ct.split_once("boundary=") else {
        return format!("{method} not multipart: {ct}\n").into_bytes();
    };
    let mut out = format!("{method} {kind}boundary=<{} chars>\n", boundary.len()).into_bytes();
    echo_parts(body, boundary, &mut out);
    out
}

/// The parts of a multipart body: each one's head lines and content; a part that is itself
/// multipart (`-F 'f=@a,b'`) with its boundary's length for the boundary and its own parts
/// echoed between `nested` and `end nested`.
fn echo_parts(text: &[u8], boundary: &str, out: &mut Vec<u8>) {
    let delim = format!("--{boundary}");
    let mut pos = 0;
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay[from.min(hay.len())..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
    };
    while let Some(start) = find(text, delim.as_bytes(), pos) {
        let after = start + delim.len();
        if text[after..].starts_with(b"--") {
            out.extend_from_slice(b"end\n");
            // What follows the closing boundary (curl sends a CRLF).
            out.extend_from_slice(
                format!("after end: {:?}\n", String::from_utf8_lossy(&text[after + 2..])).as_bytes(),
            );
            break;
        }
        let head_start = after + 2;
        let Some(head_end) = find(text, b"\r\n\r\n", head_start) else { break };
        let content_start = head_end + 4;
        let Some(next) = find(text, format!("\r\n{delim}").as_bytes(), content_start) else { break };
        out.extend_from_slice(b"part\n");
        let part_head = String::from_utf8_lossy(&text[head_start..head_end]);
        let inner = part_head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-type: multipart/"))
            .and_then(|l| l.split_once("boundary="))
            .map(|(_, b)| b.trim().to_string());
        let content = &text[content_start..next];
        match inner {
            Some(inner) => {
                let shown = part_head.replace(&inner, &format!("<{} chars>", inner.len()));
                out.extend_from_slice(shown.as_bytes());
                out.extend_from_slice(b"\nnested\n");
                echo_parts(content, &inner, out);
                out.extend_from_slice(b"end nested\n");
            }
            None => {
                out.extend_from_slice(&text[head_start..head_end]);
                out.extend_from_slice(b"\n");
                if content.len() > 200 {
                    out.extend_from_slice(
                        format!("<{} bytes, sha256 {}>\n", content.len(), crate::sha256_hex(content))
                            .as_bytes(),
                    );
                } else {
                    out.extend_from_slice(content);
                    out.extend_from_slice(b"\n");
                }
            }
        }
        pos = next + 2;
    }
}
