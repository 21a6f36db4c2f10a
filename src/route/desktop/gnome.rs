//! GNOME's proxy settings, schema `org.gnome.system.proxy`, read with one
//! `gsettings list-recursively org.gnome.system.proxy` through a [`Runner`] (the real command in
//! use, so dconf, the keyfile backend or anything else GLib is configured with just works).
//!
//! Keys: `mode` (`none`, `manual`, `auto`), `autoconfig-url` (with `auto`; empty means
//! auto-detect, i.e. WPAD), `ignore-hosts` (bypass list for manual proxies), and the child
//! schemas `http`, `https`, `socks` with `host`/`port` (`http` also `use-authentication`,
//! `authentication-user`, `authentication-password`). `use-same-proxy` (true by default) with an
//! http proxy set makes that proxy the one for every URL, https included, the https and SOCKS
//! settings unused, as Chrome reads it; `ftp` is not used. SOCKS from GNOME is SOCKS5 with the
//! proxy resolving names.

use super::{host_port_spec, Bypass, DesktopProxy, Manual, Runner};
use crate::route::RouteError;
use crate::secret::Secret;
use std::collections::BTreeMap;

const SCHEMA: &str = "org.gnome.system.proxy";
const NAME: &str = "GNOME (org.gnome.system.proxy)";

/// A GVariant value as `gsettings` prints it (the types this schema uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
}

/// Reads the settings through `gsettings`.
pub fn read(runner: &dyn Runner) -> Result<DesktopProxy, RouteError> {
    let out = runner
        .run("gsettings", &["list-recursively", SCHEMA])
        .map_err(|message| RouteError::Desktop { desktop: NAME.into(), message })?;
    from_listing(&out)
}

/// The settings from `gsettings list-recursively` output.
pub fn from_listing(text: &str) -> Result<DesktopProxy, RouteError> {
    let err = |message: String| RouteError::Desktop { desktop: NAME.into(), message };
    let mut keys: BTreeMap<(String, String), Value> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, ' ');
        let (Some(schema), Some(key), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err(format!("unexpected gsettings line {line:?}")));
        };
        let sub = schema.strip_prefix(SCHEMA).unwrap_or(schema).trim_start_matches('.');
        let v = parse_value(value).ok_or_else(|| err(format!("cannot read the value of {schema} {key}")))?;
        keys.insert((sub.to_string(), key.to_string()), v);
    }
    let s = |sub: &str, key: &str| match keys.get(&(sub.to_string(), key.to_string())) {
        Some(Value::Str(v)) => v.clone(),
        _ => String::new(),
    };
    let port = |sub: &str| match keys.get(&(sub.to_string(), "port".to_string())) {
        Some(Value::Int(p)) => u16::try_from(*p).unwrap_or(0),
        _ => 0,
    };
    let mut d = DesktopProxy { desktop: NAME.into(), ..Default::default() };
    match s("", "mode").as_str() {
        "none" | "" => {}
        "auto" => match s("", "autoconfig-url").trim() {
            "" => d.auto_detect = true,
            url => d.pac_url = Some(url.to_string()),
        },
        "manual" => {
            let origin = |sub: &str| format!("GNOME proxy setting {SCHEMA}.{sub}");
            let spec =
                |scheme: &str, sub: &str| host_port_spec(scheme, &s(sub, "host"), port(sub), &origin(sub));
            let mut http = spec("http", "http")?;
            if let Some(p) = http.as_mut().filter(|_| {
                keys.get(&("http".into(), "use-authentication".into())) == Some(&Value::Bool(true))
            }) {
                let user = s("http", "authentication-user");
                if !user.is_empty() {
                    p.user = Some(user);
                    p.password =
                        Some(Secret::from(s("http", "authentication-password"))).filter(|p| !p.is_empty());
                }
            }
            let ignore = match keys.get(&(String::new(), "ignore-hosts".to_string())) {
                Some(Value::List(l)) => l.clone(),
                _ => Vec::new(),
            };
            let same = keys.get(&(String::new(), "use-same-proxy".to_string())) == Some(&Value::Bool(true));
            let (https, socks) = match &http {
                Some(h) if same => (Some(h.clone()), None),
                _ => (spec("http", "https")?, spec("socks5h", "socks")?),
            };
            let m = Manual { http, https, socks, bypass: Bypass::new(ignore.iter().map(String::as_str)) };
            d.manual = Some(m).filter(|m| !m.is_empty());
        }
        other => return Err(err(format!("unknown mode '{other}' (expected none, manual or auto)"))),
    }
    Ok(d)
}

/// Parses one GVariant text value: `'str'`, `"str"`, `8080`, `uint32 8080`, `true`, `['a', 'b']`,
/// `@as []`. `None` for anything else.
pub fn parse_value(text: &str) -> Option<Value> {
    let t = text.trim();
    let t = t.strip_prefix("@as ").unwrap_or(t);
    match t {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    let num = t.rsplit(' ').next().unwrap_or(t);
    if let Ok(n) = num.parse::<i64>() {
        return Some(Value::Int(n));
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let mut items = Vec::new();
        let mut rest = inner.trim_start();
        while !rest.is_empty() {
            let (item, after) = parse_string(rest)?;
            items.push(item);
            rest = after.trim_start();
            rest = match rest.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if rest.is_empty() => rest,
                None => return None,
            };
        }
        return Some(Value::List(items));
    }
    match parse_string(t)? {
        (s, "") => Some(Value::Str(s)),
        _ => None,
    }
}

/// A quoted GVariant string at the start of `t` (either quote; backslash escapes) and the rest.
fn parse_string(t: &str) -> Option<(String, &str)> {
    let quote = t.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    let mut chars = t[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, e) = chars.next()?;
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            }
            c if c == quote => return Some((out, &t[1 + i + 1..])),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::describe_list;
    use url::Url;

    const DEFAULTS: &str = "org.gnome.system.proxy autoconfig-url ''
org.gnome.system.proxy ignore-hosts ['localhost', '127.0.0.0/8', '::1']
org.gnome.system.proxy mode 'none'
org.gnome.system.proxy use-same-proxy true
org.gnome.system.proxy.http authentication-password ''
org.gnome.system.proxy.http authentication-user ''
org.gnome.system.proxy.http enabled false
org.gnome.system.proxy.http host ''
org.gnome.system.proxy.http port 8080
org.gnome.system.proxy.http use-authentication false
org.gnome.system.proxy.https host ''
org.gnome.system.proxy.https port 0
org.gnome.system.proxy.socks host ''
org.gnome.system.proxy.socks port 0
";

    fn with(changes: &[(&str, &str)]) -> String {
        let mut text = DEFAULTS.to_string();
        for (key, value) in changes {
            let line = text.lines().find(|l| l.starts_with(&format!("{key} "))).unwrap().to_string();
            text = text.replace(&line, &format!("{key} {value}"));
        }
        text
    }

    #[test]
    fn gvariant_values() {
        assert_eq!(parse_value("'it\\'s'"), Some(Value::Str("it's".into())));
        assert_eq!(parse_value("\"it's\""), Some(Value::Str("it's".into())));
        assert_eq!(parse_value("uint32 8080"), Some(Value::Int(8080)));
        assert_eq!(parse_value("@as []"), Some(Value::List(vec![])));
        assert_eq!(
            parse_value("['a', \"b'c\", 'd,e']"),
            Some(Value::List(vec!["a".into(), "b'c".into(), "d,e".into()]))
        );
        assert_eq!(parse_value("'unterminated"), None);
        assert_eq!(parse_value("['a' 'b']"), None);
    }

    #[test]
    fn none_auto_and_auto_detect() {
        assert!(from_listing(DEFAULTS).unwrap().is_none());
        let pac = from_listing(&with(&[
            ("org.gnome.system.proxy mode", "'auto'"),
            ("org.gnome.system.proxy autoconfig-url", "'http://pac.corp.example/proxy.pac'"),
        ]))
        .unwrap();
        assert_eq!(pac.pac_url.as_deref(), Some("http://pac.corp.example/proxy.pac"));
        assert!(!pac.auto_detect && pac.manual.is_none());
        let detect = from_listing(&with(&[("org.gnome.system.proxy mode", "'auto'")])).unwrap();
        assert!(detect.auto_detect && detect.pac_url.is_none());
        assert!(from_listing(&with(&[("org.gnome.system.proxy mode", "'sometimes'")]))
            .unwrap_err()
            .to_string()
            .contains("unknown mode 'sometimes'"));
    }

    #[test]
    fn manual_with_ignore_hosts_socks_and_authentication() {
        let d = from_listing(&with(&[
            ("org.gnome.system.proxy mode", "'manual'"),
            ("org.gnome.system.proxy use-same-proxy", "false"),
            ("org.gnome.system.proxy ignore-hosts", "['localhost', '*.intra.example', '10.0.0.0/8']"),
            ("org.gnome.system.proxy.http host", "'web.example'"),
            ("org.gnome.system.proxy.http port", "3128"),
            ("org.gnome.system.proxy.http use-authentication", "true"),
            ("org.gnome.system.proxy.http authentication-user", "'alice'"),
            ("org.gnome.system.proxy.http authentication-password", "'s3cret'"),
            ("org.gnome.system.proxy.socks host", "'sox.example'"),
            ("org.gnome.system.proxy.socks port", "1080"),
        ]))
        .unwrap();
        let m = d.manual.unwrap();
        let list = |u: &str| describe_list(&m.route(&Url::parse(u).unwrap()));
        assert_eq!(list("http://a.example/"), "http://web.example:3128");
        assert_eq!(list("https://a.example/"), "socks5h://sox.example:1080");
        assert_eq!(list("http://x.intra.example/"), "DIRECT");
        assert_eq!(list("http://10.1.1.1/"), "DIRECT");
        let http = m.http.unwrap();
        assert_eq!(http.user.as_deref(), Some("alice"));
        assert_eq!(http.password.unwrap().expose(), "s3cret");
        assert!(http.origin.contains("org.gnome.system.proxy.http"));
        // use-same-proxy (the default): the http proxy for https too (review W: https went
        // DIRECT), the https and SOCKS settings unused, as in Chrome; without an http proxy
        // the others are used.
        let same = |extra: &[(&str, &str)]| {
            let mut changes = vec![
                ("org.gnome.system.proxy mode", "'manual'"),
                ("org.gnome.system.proxy.https host", "'tls.example'"),
                ("org.gnome.system.proxy.https port", "3129"),
                ("org.gnome.system.proxy.socks host", "'sox.example'"),
                ("org.gnome.system.proxy.socks port", "1080"),
            ];
            changes.extend_from_slice(extra);
            let m = from_listing(&with(&changes)).unwrap().manual.unwrap();
            let list = |u: &str| describe_list(&m.route(&Url::parse(u).unwrap()));
            (list("http://a.example/"), list("https://a.example/"))
        };
        let web = [
            ("org.gnome.system.proxy.http host", "'web.example'"),
            ("org.gnome.system.proxy.http port", "3128"),
        ];
        assert_eq!(same(&web), ("http://web.example:3128".into(), "http://web.example:3128".into()));
        assert_eq!(same(&[]), ("socks5h://sox.example:1080".into(), "http://tls.example:3129".into()));
        // Manual mode with no host at all is no proxy.
        assert!(from_listing(&with(&[("org.gnome.system.proxy mode", "'manual'")])).unwrap().is_none());
    }

    #[test]
    fn runner_failures_name_gnome() {
        struct Fails;
        impl Runner for Fails {
            fn run(&self, _: &str, _: &[&str]) -> Result<String, String> {
                Err("No such schema".into())
            }
        }
        let e = read(&Fails).unwrap_err().to_string();
        assert!(e.contains("GNOME") && e.contains("No such schema"), "{e}");
    }
}
