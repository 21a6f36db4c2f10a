//! Windows: the WinINet ("Internet Options") proxy settings, as a tested seam taking the values
//! (`HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`); reading the registry is
//! not done here.
//!
//! `ProxyEnable` + `ProxyServer` (`host:port` for every scheme, or `http=a:1;https=b:2;socks=c:3`),
//! `ProxyOverride` (`;`-separated patterns, `<local>` = host names without a dot),
//! `AutoConfigURL` (a PAC, used whatever `ProxyEnable` says, as WinINet does) and the
//! "Automatically detect settings" flag (WPAD). `socks=` is SOCKS4, as WinINet speaks it.

use super::{host_port_spec, Bypass, DesktopProxy, Manual};
use crate::config::ProxySpec;
use crate::route::RouteError;

/// The registry values, as read (absent values are `None`/`false`).
#[derive(Clone, Debug, Default)]
pub struct WinInet {
    pub proxy_enable: bool,
    pub proxy_server: Option<String>,
    pub proxy_override: Option<String>,
    pub auto_config_url: Option<String>,
    pub auto_detect: bool,
}

const NAME: &str = "Windows (Internet Options)";

pub fn from_values(v: &WinInet) -> Result<DesktopProxy, RouteError> {
    let mut d = DesktopProxy {
        desktop: NAME.into(),
        auto_detect: v.auto_detect,
        pac_url: v.auto_config_url.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from),
        manual: None,
    };
    let server = v.proxy_server.as_deref().map(str::trim).unwrap_or("");
    if v.proxy_enable && !server.is_empty() {
        let mut m = Manual {
            bypass: Bypass::new(v.proxy_override.as_deref().unwrap_or("").split(';')),
            ..Default::default()
        };
        if server.contains('=') {
            for part in server.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let Some((scheme, addr)) = part.split_once('=') else { continue };
                match scheme.trim().to_ascii_lowercase().as_str() {
                    "http" => m.http = spec(addr, "http", "ProxyServer http=")?,
                    "https" => m.https = spec(addr, "http", "ProxyServer https=")?,
                    "socks" => m.socks = spec(addr, "socks4", "ProxyServer socks=")?,
                    _ => {} // ftp= and the like: not used by toll
                }
            }
        } else {
            let all = spec(server, "http", "ProxyServer")?;
            m.http = all.clone();
            m.https = all;
        }
        d.manual = Some(m).filter(|m| !m.is_empty());
    }
    Ok(d)
}

/// `host:port`, `[v6]:port` or `scheme://host:port` (WinINet's default port is 80).
fn spec(addr: &str, scheme: &str, key: &str) -> Result<Option<ProxySpec>, RouteError> {
    let addr = addr.trim();
    let origin = format!("Windows proxy setting {key}");
    if addr.is_empty() {
        return Ok(None);
    }
    let (scheme, rest) = match addr.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => (scheme.to_string(), addr),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
            (h, p.parse::<u16>().unwrap_or(0))
        }
        _ => (rest, 80),
    };
    let spec = host_port_spec(&scheme, host.trim_start_matches('[').trim_end_matches(']'), port, &origin)?;
    spec.map(Some).ok_or_else(|| RouteError::Desktop {
        desktop: NAME.into(),
        message: format!("{key}: '{addr}' has no usable host and port"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::describe_list;
    use url::Url;

    fn list(d: &DesktopProxy, u: &str) -> String {
        describe_list(&d.manual.as_ref().unwrap().route(&Url::parse(u).unwrap()))
    }

    #[test]
    fn one_proxy_for_all_with_local_override() {
        let d = from_values(&WinInet {
            proxy_enable: true,
            proxy_server: Some("proxy.corp:8080".into()),
            proxy_override: Some("<local>;*.intra.corp;10.*".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(list(&d, "http://a.example/"), "http://proxy.corp:8080");
        assert_eq!(list(&d, "https://a.example/"), "http://proxy.corp:8080");
        assert_eq!(list(&d, "http://intranet/"), "DIRECT");
        assert_eq!(list(&d, "http://x.intra.corp/"), "DIRECT");
        assert_eq!(list(&d, "http://10.2.3.4/"), "DIRECT");
    }

    #[test]
    fn per_scheme_servers_and_pac() {
        let d = from_values(&WinInet {
            proxy_enable: true,
            proxy_server: Some("http=a.corp:1;https=b.corp:2;ftp=f.corp:21;socks=s.corp:1080".into()),
            auto_config_url: Some("http://pac.corp/p.pac".into()),
            auto_detect: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(list(&d, "http://a.example/"), "http://a.corp:1");
        assert_eq!(list(&d, "https://a.example/"), "http://b.corp:2");
        assert_eq!(list(&d, "ftp://a.example/"), "socks4://s.corp:1080");
        assert_eq!(d.pac_url.as_deref(), Some("http://pac.corp/p.pac"));
        assert!(d.auto_detect);
    }

    #[test]
    fn disabled_default_port_and_errors() {
        let off = WinInet { proxy_enable: false, proxy_server: Some("p:1".into()), ..Default::default() };
        assert!(from_values(&off).unwrap().is_none());
        let no_port =
            WinInet { proxy_enable: true, proxy_server: Some("p.corp".into()), ..Default::default() };
        assert_eq!(list(&from_values(&no_port).unwrap(), "http://x/"), "http://p.corp:80");
        let bad = WinInet {
            proxy_enable: true,
            proxy_server: Some("http=bad host:1".into()),
            ..Default::default()
        };
        assert!(from_values(&bad).unwrap_err().to_string().contains("ProxyServer http="));
    }
}
