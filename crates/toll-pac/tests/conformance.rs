//! The conformance table (`conformance.txt`): helper calls and whole PACs, each with its
//! expected answer, run against an injected host table and clock. See the file's header for
//! the format. Nothing here resolves a real name: `StaticEnv` answers from its table.

use std::sync::Arc;
use std::time::Duration;
use toll_pac::{Limits, Now, PacArgs, PacErrorKind, Script, StaticEnv, Tm, UrlMode};

#[derive(Clone)]
struct World {
    now: Now,
    hosts: Vec<(String, Vec<String>)>,
    my_ips: Vec<String>,
    timeout_ms: u64,
}

impl World {
    fn env(&self) -> Arc<StaticEnv> {
        let mut env = StaticEnv::new();
        env.now = self.now;
        for (name, addrs) in &self.hosts {
            let addrs: Vec<&str> = addrs.iter().map(String::as_str).collect();
            env = env.host(name, &addrs);
        }
        env.my_ips = self.my_ips.iter().map(|s| s.parse().expect("@myip: an IP")).collect();
        Arc::new(env)
    }

    fn limits(&self) -> Limits {
        Limits { timeout: Duration::from_millis(self.timeout_ms), ..Limits::default() }
    }
}

fn kind(name: &str) -> PacErrorKind {
    match name {
        "Syntax" => PacErrorKind::Syntax,
        "Exception" => PacErrorKind::Exception,
        "NoEntryPoint" => PacErrorKind::NoEntryPoint,
        "NotAString" => PacErrorKind::NotAString,
        "BadResult" => PacErrorKind::BadResult,
        "Timeout" => PacErrorKind::Timeout,
        "Memory" => PacErrorKind::Memory,
        "Stack" => PacErrorKind::Stack,
        other => panic!("unknown error kind {other}"),
    }
}

/// Checks one outcome against `expected`: a JSON-ish literal / quoted string, or
/// `error:Kind[@line][:substring]`.
fn check(
    what: &str,
    outcome: Result<String, toll_pac::PacError>,
    expected: &str,
    failures: &mut Vec<String>,
) {
    let ok = match (&outcome, expected.strip_prefix("error:")) {
        (Err(e), Some(spec)) => {
            let (head, substring) = spec.split_once(':').unwrap_or((spec, ""));
            let (k, line) = match head.split_once('@') {
                Some((k, l)) => (k, Some(l.parse::<u32>().expect("line number"))),
                None => (head, None),
            };
            e.kind == kind(k) && (line.is_none() || e.line == line) && e.to_string().contains(substring)
        }
        (Ok(got), None) => got == expected,
        _ => false,
    };
    if !ok {
        failures.push(format!("{what}\n    expected {expected}\n    got      {outcome:?}"));
    }
}

#[test]
fn conformance_table() {
    let table = include_str!("conformance.txt");
    let t0 = Tm::parse("2026-12-01T10:30:00").unwrap();
    let mut world = World {
        now: Now { local: t0, utc: t0 },
        hosts: Vec::new(),
        my_ips: vec!["192.0.2.10".into()],
        timeout_ms: 3000,
    };
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut lines = table.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let n = n + 1;
        let line = line.trim_end();
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@now ") {
            let mut parts = rest.split_whitespace();
            let local = Tm::parse(parts.next().unwrap()).expect("@now local");
            let utc = parts.next().map(|u| Tm::parse(u).expect("@now utc")).unwrap_or(local);
            world.now = Now { local, utc };
        } else if let Some(rest) = line.strip_prefix("@host ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap().to_string();
            world.hosts.push((name, parts.map(String::from).collect()));
        } else if let Some(rest) = line.strip_prefix("@myip") {
            world.my_ips = rest.split_whitespace().map(String::from).collect();
        } else if let Some(rest) = line.strip_prefix("@timeout ") {
            world.timeout_ms = rest.trim().parse().unwrap();
        } else if let Some(name) = line.strip_prefix("[pac ").and_then(|r| r.strip_suffix(']')) {
            // A whole PAC: source lines up to the first `=> ` case line.
            let mut source = String::new();
            while let Some((_, l)) = lines.next_if(|(_, l)| !l.starts_with("=> ")) {
                source.push_str(l);
                source.push('\n');
            }
            let compiled = Script::compile(&source, name, world.limits(), world.env());
            while let Some((m, l)) = lines.next_if(|(_, l)| l.starts_with("=> ")) {
                cases += 1;
                let case = l.trim_start_matches("=> ");
                let (url, expected) =
                    case.split_once(" => ").unwrap_or_else(|| panic!("line {}: URL => expected", m + 1));
                let what = format!("line {}: [pac {name}] {url}", m + 1);
                let outcome = match &compiled {
                    Err(e) => Err(e.clone()),
                    Ok(script) => {
                        let url = url::Url::parse(url).expect("a URL");
                        script
                            .evaluate(&PacArgs::new(&url, UrlMode::Transfer))
                            .map(|a| format!("{:?}", a.raw))
                    }
                };
                check(&what, outcome, expected, &mut failures);
            }
        } else if let Some((expr, expected)) = line.split_once(" => ") {
            // A helper call, evaluated inside FindProxyForURL (url, host of http://www.example.com/).
            cases += 1;
            let source = format!(
                "function FindProxyForURL(url, host) {{\n  var v = ({expr});\n  return v === undefined ? 'undefined' : JSON.stringify(v);\n}}\n"
            );
            let url = url::Url::parse("http://www.example.com/path").unwrap();
            let outcome = Script::compile(&source, "case", world.limits(), world.env())
                .and_then(|s| s.find_proxy(&PacArgs::new(&url, UrlMode::Transfer)));
            check(&format!("line {n}: {expr}"), outcome, expected.trim(), &mut failures);
        } else {
            panic!("conformance.txt line {n}: cannot read {line:?}");
        }
    }
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert!(cases >= 200, "only {cases} cases");
    eprintln!("{cases} conformance cases passed");
}

/// Ten thousand `shExpMatch`/`dnsDomainIs` rules, about 1 MB: compiles and answers (the bench
/// measures how fast; here only that it works, under the default limits).
#[test]
fn a_one_megabyte_pac_with_ten_thousand_rules() {
    let source = big_pac(10_000);
    assert!(source.len() >= 1_000_000, "{} bytes", source.len());
    let env = Arc::new(StaticEnv::new());
    let script = Script::compile(&source, "big.pac", Limits::default(), env.clone()).unwrap();
    let ask = |u: &str| {
        script.evaluate(&PacArgs::new(&url::Url::parse(u).unwrap(), UrlMode::Transfer)).unwrap().raw
    };
    assert_eq!(ask("http://host9999.dept-9999.example.com/"), "PROXY p9999.corp:8080");
    assert_eq!(ask("http://www.other.org/"), "PROXY fallback.corp:3128; DIRECT");
    assert!(env.lookups.lock().unwrap().is_empty(), "no rule resolves names");
}

fn big_pac(rules: usize) -> String {
    let mut s = String::from("// generated: ten thousand rules\nfunction FindProxyForURL(url, host) {\n");
    for i in 0..rules {
        s.push_str(&format!(
            "  if (shExpMatch(host, \"*.dept-{i}.example.com\") || dnsDomainIs(host, \".old-{i}.example.com\")) return \"PROXY p{i}.corp:8080\";\n"
        ));
    }
    s.push_str("  return \"PROXY fallback.corp:3128; DIRECT\";\n}\n");
    s
}
