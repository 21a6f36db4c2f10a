//! curl's URL globbing ([`toll::cli::expand_url_glob`]): never a panic; at most
//! [`toll::cli::MAX_URLS`] URLs; every URL has one value per glob, and a pattern without glob
//! characters stands for itself alone.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Short patterns: 100,000 expansions of a long one would only measure memory.
    let text = String::from_utf8_lossy(&data[..data.len().min(160)]);
    if let Ok(urls) = toll::cli::expand_url_glob(&text) {
        assert!(!urls.is_empty() && urls.len() as u64 <= toll::cli::MAX_URLS, "{}", urls.len());
        let globs = urls[0].values.len();
        for u in &urls {
            assert_eq!(u.values.len(), globs, "{text:?}");
        }
        if !text.contains(['{', '}', '[', ']', '\\']) {
            assert_eq!(urls.len(), 1);
            assert_eq!(urls[0].url, text);
        }
    }
});
