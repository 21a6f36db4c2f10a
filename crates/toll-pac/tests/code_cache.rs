//! `Script::compile_cached`: a PAC's bytecode kept by the caller is loaded instead of parsing the
//! source, only for exactly that source, and the loaded script behaves as the compiled one
//! (top level run, answers, error lines, the time limit).

use std::sync::Arc;
use toll_pac::{Limits, PacArgs, PacErrorKind, Script, StaticEnv, UrlMode};

fn args(url: &str) -> PacArgs {
    PacArgs::new(&url::Url::parse(url).unwrap(), UrlMode::Transfer)
}

fn cached(source: &str, code: Option<&[u8]>) -> Result<(Script, Option<Vec<u8>>), toll_pac::PacError> {
    let limits = Limits { timeout: std::time::Duration::from_millis(300), ..Limits::default() };
    Script::compile_cached(source, "corp.pac", limits, Arc::new(StaticEnv::new()), code)
}

// The top level computes state the entry point reads: it must run from bytecode too.
const PAC: &str = "var n = 0; var table = {}; for (var i = 0; i < 50; i++) table['h' + i] = 'PROXY p' + i + ':8080';\n\
    function FindProxyForURL(url, host) {\n  n++;\n  return table[host] || ('DIRECT; x' + n).slice(0, 6);\n}\n";

#[test]
fn kept_code_is_loaded_and_answers_as_the_source_does() {
    let (fresh, code) = cached(PAC, None).unwrap();
    let code = code.expect("compiling from source returns code to keep");
    let (loaded, again) = cached(PAC, Some(&code)).unwrap();
    assert!(again.is_none(), "kept code was used, nothing new to keep");
    for host in ["h0", "h49", "other"] {
        let url = format!("http://{host}/");
        assert_eq!(loaded.find_proxy(&args(&url)).unwrap(), fresh.find_proxy(&args(&url)).unwrap());
    }
    assert_eq!(loaded.find_proxy(&args("http://h7/")).unwrap(), "PROXY p7:8080");
}

#[test]
fn code_for_another_source_or_damaged_code_is_never_run() {
    let (_, code) = cached(PAC, None).unwrap();
    let code = code.unwrap();
    let changed = PAC.replace("p' + i", "q' + i");
    let (script, again) = cached(&changed, Some(&code)).unwrap();
    assert!(again.is_some(), "the changed source was compiled");
    assert_eq!(script.find_proxy(&args("http://h7/")).unwrap(), "PROXY q7:8080");
    for bad in [&code[..code.len() / 2], b"garbage".as_slice(), &[]] {
        let (script, again) = cached(PAC, Some(bad)).unwrap();
        assert!(again.is_some());
        assert_eq!(script.find_proxy(&args("http://h7/")).unwrap(), "PROXY p7:8080");
    }
}

#[test]
fn loaded_code_keeps_error_lines_and_the_time_limit() {
    let src = "function FindProxyForURL(url, host) {\n  if (host == 'loop') for (;;) {}\n  throw new Error('boom');\n}\n";
    let (_, code) = cached(src, None).unwrap();
    let (loaded, _) = cached(src, Some(&code.unwrap())).unwrap();
    let e = loaded.find_proxy(&args("http://x/")).unwrap_err();
    assert_eq!((e.kind, e.line), (PacErrorKind::Exception, Some(3)), "{e}");
    assert_eq!(loaded.find_proxy(&args("http://loop/")).unwrap_err().kind, PacErrorKind::Timeout);
}

#[test]
fn a_source_that_does_not_compile_gives_no_code_and_the_same_error() {
    let e = cached("function FindProxyForURL(url, host) {\n  return 'DIRECT'\n", None).err().unwrap();
    assert_eq!(e.kind, PacErrorKind::Syntax, "{e}");
    let e = cached("function FindProxyForUrl(url, host) { return 'DIRECT'; }", None).err().unwrap();
    assert_eq!(e.kind, PacErrorKind::NoEntryPoint, "{e}");
}
