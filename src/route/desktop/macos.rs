//! macOS: the SystemConfiguration proxy dictionary, read from the text `scutil --proxy` prints
//! (a seam tested with fixtures of that output; on a Mac the [`Runner`] runs the real command).
//!
//! Keys used: `ProxyAutoDiscoveryEnable` (WPAD), `ProxyAutoConfigEnable` +
//! `ProxyAutoConfigURLString`, `HTTPEnable`/`HTTPProxy`/`HTTPPort`, the same for `HTTPS` and
//! `SOCKS` (SOCKS5), `ExceptionsList` (bypass patterns) and `ExcludeSimpleHostnames`.

use super::{host_port_spec, Bypass, DesktopProxy, Manual, Runner};
use crate::route::RouteError;
use std::collections::HashMap;

const NAME: &str = "macOS (scutil --proxy)";

pub fn read(runner: &dyn Runner) -> Result<DesktopProxy, RouteError> {
    let out = runner
        .run("scutil", &["--proxy"])
        .map_err(|message| RouteError::Desktop { desktop: NAME.into(), message })?;
    from_scutil(&out)
}

/// The settings from `scutil --proxy` output:
///
/// ```text
/// <dictionary> {
///   ExceptionsList : <array> {
///     0 : *.local
///   }
///   HTTPEnable : 1
///   HTTPPort : 8080
///   HTTPProxy : proxy.example.com
/// }
/// ```
pub fn from_scutil(text: &str) -> Result<DesktopProxy, RouteError> {
    let mut scalars: HashMap<String, String> = HashMap::new();
    let mut exceptions: Vec<String> = Vec::new();
    let mut in_exceptions = false;
    for line in text.lines().map(str::trim) {
        if in_exceptions {
            if line == "}" {
                in_exceptions = false;
            } else if let Some((_, v)) = line.split_once(" : ") {
                exceptions.push(v.trim().to_string());
            }
            continue;
        }
        let Some((k, v)) = line.split_once(" : ") else { continue };
        let (k, v) = (k.trim(), v.trim());
        if k == "ExceptionsList" && v.starts_with("<array>") {
            in_exceptions = !v.ends_with('}');
        } else if !v.starts_with('<') {
            scalars.insert(k.to_string(), v.to_string());
        }
    }
    let on = |k: &str| scalars.get(k).is_some_and(|v| v == "1");
    let mut d = DesktopProxy {
        desktop: NAME.into(),
        auto_detect: on("ProxyAutoDiscoveryEnable"),
        ..Default::default()
    };
    if on("ProxyAutoConfigEnable") {
        d.pac_url = scalars.get("ProxyAutoConfigURLString").filter(|s| !s.is_empty()).cloned();
    }
    let spec = |prefix: &str, scheme: &str| {
        if !on(&format!("{prefix}Enable")) {
            return Ok(None);
        }
        let host = scalars.get(&format!("{prefix}Proxy")).map(String::as_str).unwrap_or("");
        let port = scalars.get(&format!("{prefix}Port")).and_then(|p| p.parse().ok()).unwrap_or(0);
        host_port_spec(scheme, host, port, &format!("macOS proxy setting {prefix}Proxy"))
    };
    let m = Manual {
        http: spec("HTTP", "http")?,
        https: spec("HTTPS", "http")?,
        socks: spec("SOCKS", "socks5h")?,
        bypass: Bypass {
            simple_hosts: on("ExcludeSimpleHostnames"),
            ..Bypass::new(
                exceptions.iter().map(|e| expand_short_net(e)).collect::<Vec<_>>().iter().map(String::as_str),
            )
        },
    };
    d.manual = Some(m).filter(|m| !m.is_empty());
    Ok(d)
}

/// macOS writes networks short: `169.254/16`, `10/8`. Pads them to four octets.
fn expand_short_net(entry: &str) -> String {
    let Some((addr, len)) = entry.split_once('/') else { return entry.to_string() };
    let octets: Vec<&str> = addr.split('.').collect();
    if octets.len() < 4 && octets.iter().all(|o| o.parse::<u8>().is_ok()) {
        let mut full = octets.clone();
        full.resize(4, "0");
        return format!("{}/{len}", full.join("."));
    }
    entry.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::describe_list;
    use url::Url;

    /// Shaped like a real `scutil --proxy` on macOS 14 with manual proxies and a PAC.
    const FULL: &str = "<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
    2 : intra.example.com
  }
  ExcludeSimpleHostnames : 1
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 8080
  HTTPProxy : proxy.example.com
  HTTPSEnable : 1
  HTTPSPort : 8443
  HTTPSProxy : secure.example.com
  ProxyAutoConfigEnable : 1
  ProxyAutoConfigURLString : http://pac.example.com/proxy.pac
  ProxyAutoDiscoveryEnable : 0
  SOCKSEnable : 0
  SOCKSPort : 1080
  SOCKSProxy : sox.example.com
}
";

    #[test]
    fn full_dictionary() {
        let d = from_scutil(FULL).unwrap();
        assert_eq!(d.pac_url.as_deref(), Some("http://pac.example.com/proxy.pac"));
        assert!(!d.auto_detect);
        let m = d.manual.unwrap();
        let list = |u: &str| describe_list(&m.route(&Url::parse(u).unwrap()));
        assert_eq!(list("http://a.example/"), "http://proxy.example.com:8080");
        assert_eq!(list("https://a.example/"), "http://secure.example.com:8443");
        assert_eq!(list("http://printer.local/"), "DIRECT");
        assert_eq!(list("http://169.254.3.3/"), "DIRECT");
        assert_eq!(list("http://intranet/"), "DIRECT");
        assert_eq!(list("http://x.intra.example.com/"), "DIRECT");
        // SOCKS disabled: its host is ignored.
        assert!(m.socks.is_none());
    }

    #[test]
    fn empty_and_auto_discovery_only() {
        assert!(from_scutil("<dictionary> {\n  HTTPEnable : 0\n}\n").unwrap().is_none());
        let d = from_scutil(
            "<dictionary> {\n  ExceptionsList : <array> {\n  }\n  ProxyAutoDiscoveryEnable : 1\n}\n",
        )
        .unwrap();
        assert!(d.auto_detect && d.manual.is_none() && d.pac_url.is_none());
        assert_eq!(expand_short_net("10/8"), "10.0.0.0/8");
        assert_eq!(expand_short_net("*.local"), "*.local");
    }
}
