//! `--alt-svc`: the cache file and `Alt-Svc` values. A file read, written and read again holds
//! the same entries; whatever a server sends, the cache stays within its cap, the written file
//! has one line per entry and reads back to the same cache (an expiry past the year 9999
//! reads back as expired, as in curl), an alternative learnt is found by a lookup (h1
//! and h2 ones) and `clear` leaves the origin none.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::client::alt_svc::{parse_file, write_file, Alpn, Cache, Entry, MAX_ENTRIES};

const NOW: i64 = 1_800_000_000;

/// The entries as the file gives them back: an expiry past the year 9999 (or before year 1) is
/// written with a year curl cannot read, which reads back as -1 (kept, expired), as in curl.
fn readable(entries: &[Entry]) -> Vec<Entry> {
    let written = |t: i64| if (-62_135_596_800..253_402_300_800).contains(&t) { t } else { -1 };
    entries.iter().map(|e| Entry { expires: written(e.expires), ..e.clone() }).collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (file, learnt) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let entries = parse_file(file);
    assert!(entries.len() <= MAX_ENTRIES);
    let written = write_file(&entries);
    assert_eq!(parse_file(&written), readable(&entries), "a cache does not survive a write: {written:?}");
    let mut cache = Cache { entries };
    for line in learnt.lines() {
        let mut f = line.splitn(4, ' ');
        let (Some(alpn), Some(host), Some(port), Some(value)) = (f.next(), f.next(), f.next(), f.next()) else {
            continue;
        };
        // Responses come over h1 or h2 (toll speaks no HTTP/3).
        let (Some(alpn @ (Alpn::H1 | Alpn::H2)), Ok(port)) = (Alpn::parse(alpn), port.parse::<u16>()) else {
            continue;
        };
        // The host comes from a URL: a name or an address, no spaces or quotes.
        if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c)) {
            continue;
        }
        let offered = cache.learn(alpn, host, port, value, NOW);
        assert!(cache.entries.len() <= MAX_ENTRIES);
        // The cache keys an origin without one trailing dot, as curl compares (`o..` is `o.`).
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if value.trim().eq_ignore_ascii_case("clear") {
            assert!(
                !cache.entries.iter().any(|e| e.src.alpn == alpn && e.src.port == port && e.src.host.eq_ignore_ascii_case(bare.strip_suffix('.').unwrap_or(bare))),
                "{line:?}: clear left alternatives"
            );
        }
        // What was just learnt is at the end of the cache; one usable and alive is found.
        let learnt = &cache.entries[cache.entries.len() - offered.len()..];
        if learnt.iter().any(|e| e.dst.alpn != Alpn::H3 && e.expires >= NOW) {
            let mut probe = cache.clone();
            assert!(probe.lookup(host, port, &[Alpn::H1, Alpn::H2], NOW).is_some(), "{line:?} not found");
        }
        let written = write_file(&cache.entries);
        assert_eq!(written.lines().count(), 2 + cache.entries.len(), "{written:?}");
        assert_eq!(parse_file(&written), readable(&cache.entries), "{written:?}");
    }
});
