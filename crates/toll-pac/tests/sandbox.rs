//! The sandbox under its default limits: what a hostile PAC meets, what a slow but honest one
//! gets, and how errors read.

use std::sync::Arc;
use std::time::{Duration, Instant};
use toll_pac::{
    EntryPoint, Limits, PacArgs, PacErrorKind, ProxyEntry, ProxyKind, Script, StaticEnv, UrlMode,
};

fn args(url: &str) -> PacArgs {
    PacArgs::new(&url::Url::parse(url).unwrap(), UrlMode::Transfer)
}

fn compile(source: &str) -> Result<Script, toll_pac::PacError> {
    Script::compile(source, "test.pac", Limits::default(), Arc::new(StaticEnv::new()))
}

#[test]
fn an_endless_loop_that_catches_everything_is_stopped_within_a_few_seconds() {
    let pac =
        compile("function FindProxyForURL(u, h) { for (;;) { try { for (;;) {} } catch (e) {} } }").unwrap();
    let t = Instant::now();
    let e = pac.find_proxy(&args("http://x/")).unwrap_err();
    let took = t.elapsed();
    assert_eq!(e.kind, PacErrorKind::Timeout, "{e}");
    assert!(took >= Limits::default().timeout && took < Duration::from_secs(8), "{took:?}");
    assert!(e.to_string().starts_with("PAC test.pac: the script ran longer than 5000 ms"), "{e}");
}

#[test]
fn a_script_that_takes_one_second_is_fine() {
    let pac = compile(
        "function FindProxyForURL(u, h) { var end = Date.now() + 1000; var n = 0; while (Date.now() < end) n++; return 'DIRECT'; }",
    )
    .unwrap();
    assert_eq!(pac.find_proxy(&args("http://x/")).unwrap(), "DIRECT");
}

#[test]
fn deep_recursion_is_an_error_not_a_crash_even_on_a_small_thread_stack() {
    // Compiled on one thread, evaluated on another with a small stack: the limit follows.
    let pac = Arc::new(
        compile(
            "function f(n) { return f(n + 1) + 1; } function FindProxyForURL(u, h) { return String(f(0)); }",
        )
        .unwrap(),
    );
    let p = pac.clone();
    let e = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || p.find_proxy(&args("http://x/")).unwrap_err())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(e.kind, PacErrorKind::Stack, "{e}");
    assert_eq!(pac.find_proxy(&args("http://x/")).unwrap_err().kind, PacErrorKind::Stack);
}

#[test]
fn a_two_gib_string_fails_cleanly() {
    let pac = compile(
        "function FindProxyForURL(u, h) { var parts = []; for (var i = 0; i < 2048; i++) parts.push('x'.repeat(1 << 20) + i); return parts.join(''); }",
    )
    .unwrap();
    let e = pac.find_proxy(&args("http://x/")).unwrap_err();
    assert_eq!(e.kind, PacErrorKind::Memory, "{e}");
    assert!(e.to_string().contains("out of memory (the limit is 256 MiB)"), "{e}");
    // The runtime is still usable afterwards.
    let ok = compile("function FindProxyForURL(u, h) { return 'DIRECT'; }").unwrap();
    assert_eq!(ok.find_proxy(&args("http://x/")).unwrap(), "DIRECT");
}

/// Small objects up to the limit leave QuickJS no memory even for its "out of memory" error, and
/// it throws `null` instead: still told as what it is, and a `throw null` as what that is.
#[test]
fn memory_filled_with_small_objects_is_out_of_memory_not_a_thrown_null() {
    let pac = compile(
        "function FindProxyForURL(u, h) { var a = []; for (var i = 0; ; i++) a.push({ i: i, s: 'abcdefghijklmnop' + i }); }",
    )
    .unwrap();
    let e = pac.find_proxy(&args("http://x/")).unwrap_err();
    assert_eq!(e.kind, PacErrorKind::Memory, "{e}");
    assert!(e.to_string().contains("out of memory (the limit is 256 MiB)"), "{e}");
    // The same runtime answers again, and its next error is its own.
    let e = pac.find_proxy(&args("http://x/")).unwrap_err();
    assert_eq!(e.kind, PacErrorKind::Memory, "{e}");
    let thrower = compile("function FindProxyForURL(u, h) { throw null; }").unwrap();
    let e = thrower.find_proxy(&args("http://x/")).unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (PacErrorKind::Exception, "uncaught exception: null"), "{e}");
}

#[test]
fn names_are_resolved_only_through_the_environment() {
    let env = Arc::new(StaticEnv::new().host("intranet.corp", &["10.1.2.3"]));
    let pac = Script::compile(
        "function FindProxyForURL(u, h) { return isInNet(h, '10.0.0.0', '255.0.0.0') && isResolvable('10.0.0.1') ? 'DIRECT' : 'PROXY p:1'; }",
        "t.pac",
        Limits::default(),
        env.clone(),
    )
    .unwrap();
    assert_eq!(pac.evaluate(&args("http://INTRANET.corp/")).unwrap().entries, vec![ProxyEntry::Direct]);
    assert_eq!(*env.lookups.lock().unwrap(), vec!["intranet.corp"]);
}

#[test]
fn alerts_reach_the_environment() {
    let env = Arc::new(StaticEnv::new());
    let pac = Script::compile(
        "alert('top'); function FindProxyForURL(u, h) { alert('for ' + h); alert(42); return 'DIRECT'; }",
        "t.pac",
        Limits::default(),
        env.clone(),
    )
    .unwrap();
    pac.find_proxy(&args("http://Host.example/")).unwrap();
    assert_eq!(*env.alerts.lock().unwrap(), vec!["top", "for host.example", "42"]);
}

#[test]
fn evaluate_parses_and_names_the_entry_point() {
    let pac = compile("function FindProxyForURL(u, h) { return 'PROXY a:1'; } function FindProxyForURLEx(u, h) { return 'SOCKS5 [::1]:1080; DIRECT'; }").unwrap();
    assert_eq!(pac.entry_point(), EntryPoint::FindProxyForURLEx);
    let answer = pac.evaluate(&args("http://x/")).unwrap();
    assert_eq!(answer.raw, "SOCKS5 [::1]:1080; DIRECT");
    assert_eq!(
        answer.entries,
        vec![
            ProxyEntry::Proxy { kind: ProxyKind::Socks5, host: "::1".into(), port: 1080 },
            ProxyEntry::Direct
        ]
    );
    let bad = compile("function FindProxyForURL(u, h) { return 'PROXI a:1'; }").unwrap();
    let e = bad.evaluate(&args("http://x/")).unwrap_err();
    assert_eq!(e.to_string(), "PAC test.pac: FindProxyForURL returned an invalid result: entry \"PROXI a:1\": unknown keyword (expected PROXY, HTTP, HTTPS, SOCKS, SOCKS4, SOCKS5 or DIRECT)");
}

#[test]
fn errors_name_the_pac_and_the_line() {
    let e = compile("// one\nfunction FindProxyForURL(u, h) {\n  return 'DIRECT'\n  +;\n}\n").err().unwrap();
    assert_eq!(e.kind, PacErrorKind::Syntax);
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.to_string().starts_with("PAC test.pac, line 4: SyntaxError"), "{e}");
    let pac = compile("function FindProxyForURL(u, h) {\n  var x;\n  return x.y;\n}\n").unwrap();
    let e = pac.find_proxy(&args("http://x/")).unwrap_err();
    assert_eq!((e.kind, e.line), (PacErrorKind::Exception, Some(3)), "{e}");
}

#[test]
fn script_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Script>();
}
