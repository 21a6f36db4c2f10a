//! The response heads the wire tap keeps for `-i`, `-I`, `-D` and `%{size_header}`
//! ([`toll::client::wire_heads`], `src/client/wire.rs`) from what a server sends: a request is
//! written, then the server's bytes arrive in reads cut anywhere. Input: a selector byte per
//! chunk (bit 0: a write, not a read), the chunk's length in the next byte, its bytes. Checked
//! beyond "no panic": at most 32 heads are kept, each is HTTP/1 text that ends in a blank line,
//! is at most two 128-KiB bounds long (1xx heads in front, then the final one), is made of bytes
//! the server sent, and holds exactly one head that is not 1xx — the last.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut chunks = Vec::new();
    let mut rest = data;
    while let [selector, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        chunks.push((selector & 1 == 1, &tail[..n]));
        rest = &tail[n..];
    }
    let received: Vec<u8> = chunks.iter().filter(|(sent, _)| !sent).flat_map(|(_, b)| b.iter().copied()).collect();
    let heads = toll::client::wire_heads(chunks.iter().copied());
    assert!(heads.len() <= 32, "{} heads kept", heads.len());
    for head in &heads {
        assert!(head.starts_with(b"HTTP/1."), "{:?}", String::from_utf8_lossy(head));
        assert!(head.ends_with(b"\n\n") || head.ends_with(b"\n\r\n"), "{:?}", String::from_utf8_lossy(head));
        assert!(head.len() <= 2 * 128 * 1024 + 255, "{} bytes", head.len());
        // Every head is made of the server's bytes (found in what was read, split at heads).
        let parts = split_heads(head);
        let finals = parts.iter().filter(|p| !p.starts_with(b"HTTP/1.1 1") && !p.starts_with(b"HTTP/1.0 1")).count();
        assert!(finals <= 1, "{finals} final heads in one: {:?}", String::from_utf8_lossy(head));
        for p in parts {
            assert!(received.windows(p.len()).any(|w| w == p), "not read: {:?}", String::from_utf8_lossy(p));
        }
    }
});

/// The heads one kept head is made of (each up to and with its first blank line: `\n\n` or
/// `\n\r\n`, as httparse ends a head).
fn split_heads(mut head: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    while !head.is_empty() {
        let end = (0..head.len())
            .find_map(|i| match (head[i], head.get(i + 1), head.get(i + 2)) {
                (b'\n', Some(b'\n'), _) => Some(i + 2),
                (b'\n', Some(b'\r'), Some(b'\n')) => Some(i + 3),
                _ => None,
            })
            .unwrap_or(head.len());
        parts.push(&head[..end]);
        head = &head[end..];
    }
    parts
}
