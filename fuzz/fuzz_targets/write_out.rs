//! `-w FORMAT` through [`toll::client::writeout`]: parsing and rendering any format for a
//! transfer with server-chosen headers never panics, a format without `%` renders to its own
//! escapes only, and when the output goes to a terminal no value a server chose brings a
//! control, bidi or invisible character with it (a format without them renders without them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::client::writeout::{parse_format, render_for, TransferInfo};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (format, header) = text.split_once('\u{0}').unwrap_or((&text, "x-fuzz: 1"));
    let _ = parse_format(format);
    let mut info = TransferInfo::default();
    if let Some((n, v)) = header.split_once(':') {
        info.headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let tty = data.first().is_some_and(|b| b & 1 == 1);
    let r = render_for(format, &info, &|_| tty);
    let drives_a_terminal =
        |c: char| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || toll::term::is_deceptive(c);
    if tty && !format.chars().any(drives_a_terminal) {
        for (_, piece) in &r.pieces {
            let shown = String::from_utf8_lossy(piece);
            assert!(!shown.chars().any(drives_a_terminal), "a value reached the terminal raw: {shown:?}");
        }
    }
    if !format.contains('%') && !format.contains('\\') {
        let out: Vec<u8> = r.pieces.into_iter().flat_map(|(_, b)| b).collect();
        assert_eq!(out, format.as_bytes(), "a plain format changed");
    }
});
