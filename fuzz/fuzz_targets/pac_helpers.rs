//! Every PAC helper called with any arguments (strings of any text, numbers from any text,
//! `undefined`, `null`, booleans, objects whose `toString` gives the text): never a panic, and
//! each answers with the type the Netscape and Microsoft descriptions give it — `dnsResolve` an
//! IPv4 address or `null`, `sortIpAddressList` addresses or `false`, the date and net tests a
//! boolean, `convert_addr` a 32-bit integer. `shExpMatch`'s native path (a pattern without
//! regular-expression characters) must agree with the browsers' `RegExp` translation.
//!
//! Input: a byte choosing the helper, then its arguments separated by NUL bytes; an argument's
//! first character says what it is (`n` a number from the rest, `u` undefined, `z` null, `t`
//! true, `f` false, `o` an object, anything else the whole argument as a string).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use toll::pac::{Limits, PacArgs, Script, StaticEnv};

/// (name, what `typeof` of its answer may be)
const HELPERS: [(&str, &[&str]); 22] = [
    ("isPlainHostName", &["boolean"]),
    ("dnsDomainIs", &["boolean"]),
    ("localHostOrDomainIs", &["boolean"]),
    ("isResolvable", &["boolean"]),
    ("isInNet", &["boolean"]),
    ("dnsResolve", &["string", "object"]),
    ("convert_addr", &["number"]),
    ("myIpAddress", &["string"]),
    ("dnsDomainLevels", &["number"]),
    ("shExpMatch", &["boolean"]),
    ("weekdayRange", &["boolean"]),
    ("dateRange", &["boolean"]),
    ("timeRange", &["boolean"]),
    ("alert", &["undefined"]),
    ("isResolvableEx", &["boolean"]),
    ("isInNetEx", &["boolean"]),
    ("dnsResolveEx", &["string"]),
    ("myIpAddressEx", &["string"]),
    ("sortIpAddressList", &["string", "boolean"]),
    ("getClientVersion", &["string"]),
    // The two paths of shExpMatch, compared in the script itself (below).
    ("__shExpBoth", &["boolean"]),
    ("__tollGlob", &["boolean", "undefined"]),
];

/// A JavaScript string literal holding exactly `s` (JSON's escapes, plus the two line
/// separators JSON leaves bare).
fn literal(s: &str) -> String {
    serde_json::to_string(s).expect("a string").replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029")
}

fn argument(piece: &str) -> String {
    let rest = piece.get(1..).unwrap_or("");
    match piece.as_bytes().first() {
        Some(b'n') => format!("Number({})", literal(rest)),
        Some(b'u') => "undefined".into(),
        Some(b'z') => "null".into(),
        Some(b't') => "true".into(),
        Some(b'f') => "false".into(),
        Some(b'o') => format!("{{ toString: function () {{ return {}; }} }}", literal(rest)),
        _ => literal(piece),
    }
}

const SCRIPT_HEAD: &str = r#"
function __shExpBoth(str, shexp) {
  var native = __tollGlob(str, shexp);
  var re = String(shexp).replace(/\./g, "\\.").replace(/\*/g, ".*").replace(/\?/g, ".");
  var slow = new RegExp("^" + re + "$").test(String(str));
  if (native !== undefined && native !== slow) throw new Error("shExpMatch: native " + native + ", RegExp " + slow);
  return slow;
}
"#;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let (name, types) = HELPERS[usize::from(which) % HELPERS.len()];
    let text = String::from_utf8_lossy(rest);
    let args: Vec<String> =
        if text.is_empty() { Vec::new() } else { text.split('\0').map(argument).collect() };
    let source = format!(
        "{SCRIPT_HEAD}\nfunction FindProxyForURL(url, host) {{\n  var r = {name}({});\n  return typeof r + \"|\" + String(r);\n}}\n",
        args.join(", ")
    );
    let env = Arc::new(
        StaticEnv::new()
            .host("example.com", &["192.0.2.80", "2001:db8::80"])
            .host("v6.only", &["2001:db8::6"])
            .host("intranet.corp", &["10.20.30.40"]),
    );
    let limits = Limits { timeout: Duration::from_secs(1), memory: 32 << 20, stack: 256 << 10 };
    let script = Script::compile(&source, "helpers.pac", limits, env).expect("the generated script compiles");
    let url = url::Url::parse("http://example.com/").expect("a fixed URL");
    let answer = match script.find_proxy(&PacArgs::new(&url, toll::pac::UrlMode::Transfer)) {
        Ok(a) => a,
        Err(e) => {
            // Only a RegExp the pattern makes may fail (a pattern that is no regular expression,
            // or one that backtracks past the time limit), and never the comparison.
            assert!(!e.message.contains("shExpMatch: native"), "{e}");
            assert!(name == "__shExpBoth" || name == "shExpMatch", "{name}({}) failed: {e}", args.join(", "));
            return;
        }
    };
    let (kind, value) = answer.split_once('|').expect("typeof|value");
    assert!(types.contains(&kind), "{name}({}) gave {kind} {value:?}", args.join(", "));
    match (name, kind) {
        ("dnsResolve", "string") => {
            assert!(value.parse::<Ipv4Addr>().is_ok(), "dnsResolve gave {value:?}")
        }
        ("dnsResolve", _) => assert_eq!(value, "null"),
        ("myIpAddress", _) => assert!(value.parse::<Ipv4Addr>().is_ok(), "myIpAddress gave {value:?}"),
        ("convert_addr", _) => {
            let n: f64 = value.parse().expect("a number");
            assert!(n.fract() == 0.0 && (i32::MIN as f64..=i32::MAX as f64).contains(&n), "{value}");
        }
        ("dnsDomainLevels", _) => assert!(value.parse::<u32>().is_ok(), "{value}"),
        ("dnsResolveEx" | "myIpAddressEx", _) => {
            for a in value.split(';').filter(|a| !a.is_empty()) {
                assert!(a.parse::<IpAddr>().is_ok(), "{name} gave {value:?}");
            }
        }
        ("sortIpAddressList", "string") => {
            for a in value.split(';') {
                assert!(a.parse::<IpAddr>().is_ok(), "sortIpAddressList gave {value:?}");
            }
        }
        _ => {}
    }
});
