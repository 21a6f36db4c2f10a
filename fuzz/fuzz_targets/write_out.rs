//! `-w FORMAT` through [`toll::client::writeout`]: parsing and rendering any format for a
//! transfer with server-chosen headers never panics, and a format without `%` renders to its
//! own escapes only.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::client::writeout::{parse_format, render, TransferInfo};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (format, header) = text.split_once('\u{0}').unwrap_or((&text, "x-fuzz: 1"));
    let _ = parse_format(format);
    let mut info = TransferInfo::default();
    if let Some((n, v)) = header.split_once(':') {
        info.headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let r = render(format, &info);
    if !format.contains('%') && !format.contains('\\') {
        let out: Vec<u8> = r.pieces.into_iter().flat_map(|(_, b)| b).collect();
        assert_eq!(out, format.as_bytes(), "a plain format changed");
    }
});
