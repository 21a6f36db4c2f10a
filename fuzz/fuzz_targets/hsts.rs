//! `--hsts`: the cache file and `Strict-Transport-Security` values. A file read, written and
//! read again holds the same entries; whatever a server sends, the written file has one line per
//! entry and reads back to the same cache; a host learnt is covered, and `max-age=0` forgets it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::client::hsts::{parse_file, parse_header, write_file, Cache};

const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (file, learnt) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let entries = parse_file(file, NOW);
    let written = write_file(&entries, NOW);
    assert_eq!(parse_file(&written, NOW), entries, "a cache does not survive a write: {written:?}");
    // `host value` lines: what servers sent.
    let mut cache = Cache { entries };
    for line in learnt.lines() {
        let (host, value) = line.split_once(' ').unwrap_or((line, ""));
        let d = parse_header(value);
        let changed = cache.learn(host, value, NOW);
        if changed && d.is_some_and(|d| d.max_age > 0) {
            assert!(cache.covers(host, NOW), "{host} learnt but not covered");
        }
        if changed && d.is_some_and(|d| d.max_age == 0) {
            let gone = host.trim_end_matches('.');
            assert!(!cache.entries.iter().any(|e| e.host.eq_ignore_ascii_case(gone)), "{host} not forgotten");
        }
        let written = write_file(&cache.entries, NOW);
        assert_eq!(written.lines().count(), 2 + cache.entries.len(), "{written:?}");
        assert_eq!(parse_file(&written, NOW), cache.entries, "{written:?}");
    }
});
