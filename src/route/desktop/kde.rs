//! KDE's proxy settings: the `[Proxy Settings]` group of `$XDG_CONFIG_HOME/kioslaverc` (path
//! passed in).
//!
//! `ProxyType`: 0 no proxy, 1 manual (`httpProxy`, `httpsProxy`, `socksProxy`, written either
//! `http://host port` or `http://host:port`), 2 PAC (`Proxy Config Script`), 3 auto-detect
//! (WPAD), 4 "use the environment" (the three keys then hold *names* of variables such as
//! `HTTP_PROXY`, and `NoProxyFor` the name of the bypass list's variable). `NoProxyFor` is the
//! bypass list (commas); `ReversedException=true` turns it into the list of hosts that do use
//! the proxy.

use super::{host_port_spec, Bypass, DesktopProxy, Manual};
use crate::config::ProxySpec;
use crate::route::RouteError;
use std::collections::HashMap;
use std::path::Path;

/// Reads `path`; a missing file means "no proxy" (KDE's default).
pub fn read(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<DesktopProxy, RouteError> {
    let name = format!("KDE ({})", path.display());
    match std::fs::read_to_string(path) {
        Ok(text) => from_text(&text, &name, env),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(DesktopProxy { desktop: name, ..Default::default() })
        }
        Err(e) => Err(RouteError::Desktop { desktop: name, message: format!("cannot read it: {e}") }),
    }
}

/// The settings from the text of a `kioslaverc`. `name` names it in messages; `env` resolves
/// the variable names of `ProxyType=4`.
pub fn from_text(
    text: &str,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DesktopProxy, RouteError> {
    let err = |message: String| RouteError::Desktop { desktop: name.into(), message };
    let keys = group(text, "Proxy Settings");
    let get = |k: &str| keys.get(k).map(|v| v.trim()).unwrap_or("");
    let mut d = DesktopProxy { desktop: name.into(), ..Default::default() };
    let manual = |values: [String; 3], bypass: &str, what: &str| -> Result<Option<Manual>, RouteError> {
        let origin = |key: &str| format!("KDE {what} {key}");
        let m = Manual {
            http: entry(&values[0], "http", &origin("httpProxy"))?,
            https: entry(&values[1], "http", &origin("httpsProxy"))?,
            socks: entry(&values[2], "socks5h", &origin("socksProxy"))?,
            bypass: Bypass {
                reversed: matches!(get("ReversedException").to_ascii_lowercase().as_str(), "true" | "1"),
                ..Bypass::new(bypass.split(','))
            },
        };
        Ok(Some(m).filter(|m| !m.is_empty()))
    };
    let keys3 = ["httpProxy", "httpsProxy", "socksProxy"];
    match get("ProxyType") {
        "" | "0" => {}
        "1" => d.manual = manual(keys3.map(|k| get(k).to_string()), get("NoProxyFor"), "setting")?,
        "2" => d.pac_url = Some(get("Proxy Config Script").to_string()).filter(|s| !s.is_empty()),
        "3" => d.auto_detect = true,
        "4" => {
            // Each key names a variable (several may be listed, comma-separated: first set wins).
            let lookup = |k: &str| {
                get(k).split(',').map(str::trim).filter(|v| !v.is_empty()).find_map(env).unwrap_or_default()
            };
            // `NoProxyFor` too names a variable (`NO_PROXY`), whose value is the bypass list,
            // as Chrome reads it; the literal names would bypass hosts called `NO_PROXY`.
            d.manual = manual(keys3.map(lookup), &lookup("NoProxyFor"), "environment setting")?;
        }
        other => return Err(err(format!("unknown ProxyType '{other}' (expected 0 to 4)"))),
    }
    Ok(d)
}

/// One proxy value: `http://host port`, `http://host:port`, `host:port` or `host port`.
fn entry(value: &str, default_scheme: &str, origin: &str) -> Result<Option<ProxySpec>, RouteError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    // KDE writes `socks://`: SOCKS5, and the proxy resolves names (as KDE's own clients do).
    let normalised = value.strip_prefix("socks://").map(|r| format!("socks5h://{r}"));
    let value = normalised.as_deref().unwrap_or(value);
    if let Some((host, port)) = value.rsplit_once(char::is_whitespace) {
        let port = port.trim().parse::<u16>().map_err(|_| crate::proxy_env::ProxyError::Invalid {
            origin: origin.into(),
            value: value.into(),
            reason: format!("'{}' is not a port number", port.trim()),
        })?;
        return Ok(host_port_spec(default_scheme, host.trim(), port, origin)?);
    }
    let with_scheme =
        if value.contains("://") { value.to_string() } else { format!("{default_scheme}://{value}") };
    Ok(Some(crate::proxy_env::parse_proxy_url(&with_scheme, origin)?))
}

/// The `key=value` pairs of `[name]` in a KDE/INI file (later duplicates win; `key[$e]` and
/// other KConfig flags are stripped from the key).
fn group(text: &str, name: &str) -> HashMap<String, String> {
    let mut inside = false;
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim) {
        if let Some(g) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = g == name;
        } else if inside && !line.starts_with('#') {
            if let Some((k, v)) = line.split_once('=') {
                let key = k.split('[').next().unwrap_or(k).trim();
                out.insert(key.to_string(), v.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::describe_list;
    use url::Url;

    fn parse(text: &str) -> DesktopProxy {
        from_text(text, "KDE (test)", &|k| match k {
            "MY_PROXY" => Some("http://env.example:8000".into()),
            "MY_NO_PROXY" => Some("intra.example,10.0.0.0/8".into()),
            _ => None,
        })
        .unwrap()
    }

    fn list(d: &DesktopProxy, u: &str) -> String {
        describe_list(&d.manual.as_ref().unwrap().route(&Url::parse(u).unwrap()))
    }

    #[test]
    fn manual_in_both_value_forms() {
        let d = parse(
            "[General]\nProxyType=2\n\n[Proxy Settings]\nProxyType=1\nhttpProxy=http://web.example 3128\n\
             httpsProxy=http://sec.example:8443\nsocksProxy=socks://sox.example 1080\n\
             NoProxyFor=localhost,.intra.example,10.0.0.0/8\nReversedException=false\n",
        );
        assert_eq!(list(&d, "http://a.example/"), "http://web.example:3128");
        assert_eq!(list(&d, "https://a.example/"), "http://sec.example:8443");
        assert_eq!(list(&d, "ftp://a.example/"), "socks5h://sox.example:1080");
        assert_eq!(list(&d, "http://b.intra.example/"), "DIRECT");
        let reversed = parse("[Proxy Settings]\nProxyType=1\nhttpProxy=web.example:3128\nNoProxyFor=*.out.example\nReversedException=true\n");
        assert_eq!(list(&reversed, "http://a.out.example/"), "http://web.example:3128");
        assert_eq!(list(&reversed, "http://elsewhere.example/"), "DIRECT");
    }

    #[test]
    fn pac_wpad_none_and_environment() {
        let pac = parse("[Proxy Settings]\nProxyType=2\nProxy Config Script=http://pac.example/p.pac\n");
        assert_eq!(pac.pac_url.as_deref(), Some("http://pac.example/p.pac"));
        assert!(parse("[Proxy Settings]\nProxyType=3\n").auto_detect);
        assert!(parse("[Proxy Settings]\nProxyType=0\nhttpProxy=http://x 1\n").is_none());
        assert!(parse("").is_none());
        let env = parse("[Proxy Settings]\nProxyType=4\nhttpProxy=UNSET_VAR,MY_PROXY\n");
        assert_eq!(list(&env, "http://a.example/"), "http://env.example:8000");
        assert_eq!(list(&env, "https://a.example/"), "DIRECT");
        // NoProxyFor names the bypass list's variable, as the proxy keys do (review W: the
        // names themselves were bypassed, and the hosts they listed went through the proxy).
        let env =
            parse("[Proxy Settings]\nProxyType=4\nhttpProxy=MY_PROXY\nNoProxyFor=UNSET_VAR,MY_NO_PROXY\n");
        assert_eq!(list(&env, "http://intra.example/"), "DIRECT");
        assert_eq!(list(&env, "http://10.1.2.3/"), "DIRECT");
        assert_eq!(list(&env, "http://my_no_proxy/"), "http://env.example:8000");
        let unset = parse("[Proxy Settings]\nProxyType=4\nhttpProxy=MY_PROXY\nNoProxyFor=UNSET_VAR\n");
        assert_eq!(list(&unset, "http://unset_var/"), "http://env.example:8000");
    }

    #[test]
    fn bad_values_are_errors_naming_kde() {
        let bad = |t: &str| from_text(t, "KDE (f)", &|_| None).unwrap_err().to_string();
        assert!(bad("[Proxy Settings]\nProxyType=9\n").contains("unknown ProxyType '9'"));
        let e = bad("[Proxy Settings]\nProxyType=1\nhttpProxy=http://web.example port\n");
        assert!(e.contains("KDE setting httpProxy") && e.contains("not a port"), "{e}");
    }

    #[test]
    fn a_missing_file_is_no_proxy() {
        let dir = tempfile::tempdir().unwrap();
        let d = read(&dir.path().join("kioslaverc"), &|_| None).unwrap();
        assert!(d.is_none() && d.desktop.contains("kioslaverc"));
        std::fs::write(dir.path().join("kioslaverc"), "[Proxy Settings]\nProxyType=3\n").unwrap();
        assert!(read(&dir.path().join("kioslaverc"), &|_| None).unwrap().auto_detect);
    }
}
