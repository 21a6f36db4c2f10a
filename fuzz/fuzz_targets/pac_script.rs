//! A PAC script, as a PAC URL or WPAD would hand it to toll, compiled and asked for a few URLs in
//! toll's sandbox (`toll::pac::Script`, QuickJS under a time, memory and stack limit): nothing
//! it does may panic or escape the limits — each compile and each call ends within the time
//! limit plus a margin, whatever the script runs (loops, regular expressions that backtrack,
//! huge strings, deep recursion, helpers with any arguments); memory is held by libFuzzer's
//! `-rss_limit_mb`; an answer that is accepted lists only valid entries. The script is then
//! compiled again from the bytecode toll would cache for it, which must load and run too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::time::{Duration, Instant};
use toll::pac::{Limits, PacArgs, PacErrorKind, ProxyEntry, Script, StaticEnv, UrlMode};

/// Short, so a script that loops costs little; the margin is generous (a loaded machine, and
/// QuickJS looks at the clock only every so many instructions).
const TIME: Duration = Duration::from_millis(50);
const MARGIN: Duration = Duration::from_secs(2);

const URLS: [&str; 4] =
    ["http://example.com/a/b?c=d", "https://intranet.corp:8443/x", "http://10.1.2.3/", "https://[fd00::5]/"];

fn env() -> Arc<StaticEnv> {
    // A table, never the system resolver.
    Arc::new(
        StaticEnv::new()
            .host("example.com", &["192.0.2.80", "2001:db8::80"])
            .host("intranet.corp", &["10.20.30.40"])
            .host("proxy.corp", &["10.0.0.8"]),
    )
}

fn limits() -> Limits {
    Limits { timeout: TIME, memory: 32 << 20, stack: 256 << 10 }
}

fn within(what: &str, started: Instant) {
    let took = started.elapsed();
    assert!(took < TIME + MARGIN, "{what} ran {took:?}, past the {TIME:?} limit");
}

fn ask(script: &Script) {
    for url in URLS {
        let url = url::Url::parse(url).expect("a fixed URL");
        let started = Instant::now();
        let answer = script.evaluate(&PacArgs::new(&url, UrlMode::Transfer));
        within("a call", started);
        match answer {
            Ok(a) => {
                assert!(!a.entries.is_empty(), "an accepted answer with no entry: {:?}", a.raw);
                for e in &a.entries {
                    if let ProxyEntry::Proxy { host, port, .. } = e {
                        assert!(!host.is_empty() && *port != 0, "{e:?} from {:?}", a.raw);
                    }
                }
            }
            // A script that loops for one URL loops for the others: one timeout is enough.
            Err(e) if e.kind == PacErrorKind::Timeout => return,
            Err(e) => assert!(e.kind != PacErrorKind::Engine || !e.message.is_empty(), "{e:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let started = Instant::now();
    let compiled = Script::compile_cached(&source, "fuzz.pac", limits(), env(), None);
    within("compiling", started);
    let Ok((script, code)) = compiled else { return };
    ask(&script);
    drop(script);
    if let Some(code) = code {
        let started = Instant::now();
        let again = Script::compile_cached(&source, "fuzz.pac", limits(), env(), Some(&code));
        within("loading the bytecode", started);
        if let Ok((script, rewritten)) = again {
            // Loaded, not compiled again (the code belongs to this source and engine).
            assert!(rewritten.is_none(), "the cached code was not used");
            ask(&script);
        }
    }
});
