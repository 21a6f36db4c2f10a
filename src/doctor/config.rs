//! Step 1, configuration: which proxy toll would use for URL and where that came from, and
//! what is wrong or suspicious about the settings — upper- and lower-case variables that
//! differ, an http:// proxy without a port, a password in a variable, `NO_PROXY` sending URL
//! direct. Pure: the environment comes in through the lookup closure.

use super::{Env, Status, Step};
use crate::cli::Doctor;
use crate::error::Exit;
use crate::proxy_env::{redact_userinfo, ProxyError, ProxySettings, Route};
use crate::term::sanitize;

/// Variables whose lower- and upper-case forms should agree.
const PAIRS: [(&str, &str); 4] = [
    ("https_proxy", "HTTPS_PROXY"),
    ("http_proxy", "HTTP_PROXY"),
    ("all_proxy", "ALL_PROXY"),
    ("no_proxy", "NO_PROXY"),
];

/// The step, and the route for URL when the setting is usable.
pub fn check(d: &Doctor, env: Env) -> (Step, Option<Route>) {
    let url = &d.request.url;
    let shown = super::safe_url(url);
    let step = Step::new(1, "configuration");
    let settings = ProxySettings::from_config(&d.proxy, env);
    let route = match settings.route(url) {
        Ok(r) => r,
        Err(e) => {
            let origin = match &e {
                ProxyError::UnsupportedScheme { origin, .. } | ProxyError::Invalid { origin, .. } => {
                    origin.clone()
                }
            };
            let fix = format!("fix {origin}: it should look like http://proxy.example:3128");
            return (step.problem(e.to_string(), Exit::Usage, fix), None);
        }
    };
    let mut step = match &route {
        Route::Proxy(spec) => {
            let mut step =
                step.ok(format!("{shown} goes through proxy {} (from {})", spec.display_url(), spec.origin));
            let raw = if spec.origin == "-x/--proxy" {
                d.raw_proxy.as_ref().map(|r| r.expose().to_string())
            } else {
                env(&spec.origin)
            };
            if spec.scheme == "http" && raw.as_deref().is_some_and(|r| !has_port(r)) {
                step.note(
                    Status::Warning,
                    format!(
                        "{} gives no port ({}): toll uses {}, as curl does, but HTTP proxies usually listen on 3128 or 8080",
                        spec.origin,
                        sanitize(&redact_userinfo(raw.as_deref().unwrap_or_default().trim())),
                        spec.port
                    ),
                    Some(format!("add the proxy's port to {}, e.g. http://{}:3128", spec.origin, bracketed(&spec.host))),
                );
            }
            if spec.password.is_some() {
                if spec.origin == "-x/--proxy" {
                    step.detail(
                        "-x holds a password: other local users can see it (ps, /proc, shell history)",
                    );
                } else {
                    step.note(
                        Status::Warning,
                        format!(
                            "{} contains a password: every program you start can read it, and it ends up in logs",
                            spec.origin
                        ),
                        Some(format!(
                            "store it with 'toll auth login {}' and remove it from {}",
                            spec.host_port(),
                            spec.origin
                        )),
                    );
                }
            }
            if spec.is_socks() {
                step.detail(format!(
                    "{} is a SOCKS proxy: there is no HTTP challenge (steps 3 and 4 do not apply)",
                    spec.display_url()
                ));
            }
            match settings.no_proxy() {
                (list, Some(origin)) if !list.is_empty() => {
                    step.detail(format!("{origin} does not match {}", super::destination(url)))
                }
                _ => {}
            }
            step
        }
        Route::Direct => direct(d, &settings, env),
    };
    if d.proxy.password.is_some() {
        step.detail("-U holds a password: other local users can see it (ps, /proc, shell history)");
    }
    if env("REQUEST_METHOD").is_some() && env("HTTP_PROXY").is_some() && url.scheme() == "http" {
        step.note(
            Status::Warning,
            "HTTP_PROXY is ignored because REQUEST_METHOD is set (the CGI \"httpoxy\" guard)",
            Some("set http_proxy instead of HTTP_PROXY".into()),
        );
    }
    // The pair that applies to URL first.
    let mut pairs = PAIRS.to_vec();
    pairs.sort_by_key(|(lower, _)| !lower.starts_with(&format!("{}_", url.scheme())));
    for (lower, upper) in pairs {
        let get = |n: &str| env(n).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if let (Some(l), Some(u)) = (get(lower), get(upper)) {
            if l != u {
                step.note(
                    Status::Warning,
                    format!(
                        "{lower} and {upper} differ: toll (like curl) uses {lower} ({}); {upper} ({}) is what some other programs use",
                        sanitize(&redact_userinfo(&l)),
                        sanitize(&redact_userinfo(&u))
                    ),
                    Some(format!("unset {upper} or make it match {lower}")),
                );
            }
        }
    }
    (step, Some(route))
}

/// URL goes direct: because of an exception, or because no proxy is set.
fn direct(d: &Doctor, settings: &ProxySettings, env: Env) -> Step {
    let url = &d.request.url;
    let step = Step::new(1, "configuration");
    let host = super::destination(url);
    if d.raw_proxy.as_ref().is_some_and(|r| r.expose().trim().is_empty()) {
        return step.ok(format!("-x \"\" turns proxies off: toll connects to {host} directly"));
    }
    let without_exceptions = ProxySettings::new(d.proxy.explicit.clone(), Some(""), env).route(url);
    let (no_proxy, origin) = settings.no_proxy();
    let origin = origin.unwrap_or("no_proxy");
    let entry = match no_proxy.matched_by(url) {
        Some(e) => format!("the entry '{}'", crate::term::sanitize(e)),
        None => host.clone(),
    };
    match without_exceptions {
        Ok(Route::Proxy(spec)) => step.warning(
            format!(
                "{origin} sends {host} direct: the proxy {} (from {}) is not used for it",
                spec.display_url(),
                spec.origin
            ),
            Some(format!("if {host} must go through the proxy, remove {entry} from {origin}")),
        ),
        _ => {
            let vars = match url.scheme() {
                "https" => "https_proxy, HTTPS_PROXY",
                _ => "http_proxy, HTTP_PROXY",
            };
            let var = if url.scheme() == "https" { "https_proxy" } else { "http_proxy" };
            step.warning(
                format!("no proxy is set for {}:// URLs (no -x, {vars}, all_proxy): toll connects to {host} directly", url.scheme()),
                Some(format!("if your network needs a proxy: export {var}=http://proxy.example:3128 (or pass -x)")),
            )
        }
    }
}

/// An IPv6 literal in brackets, a name as it is.
fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Does `[scheme://][userinfo@]host[:port][/…]` name a port?
fn has_port(raw: &str) -> bool {
    let raw = raw.trim();
    let rest = raw.find("://").map_or(raw, |i| &raw[i + 3..]);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let after_host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, after)| after),
        None => host_port.split_once(':').map_or("", |(_, p)| p),
    };
    let port = after_host.strip_prefix(':').unwrap_or(after_host);
    !port.is_empty()
}

/// The proxy-related environment for the report, passwords removed.
pub fn environment(env: Env) -> Vec<super::EnvEntry> {
    let mut out = Vec::new();
    for (lower, upper) in PAIRS {
        for name in [lower, upper] {
            out.push(super::EnvEntry {
                name: name.to_string(),
                value: env(name).map(|v| sanitize(&redact_userinfo(&v))),
            });
        }
    }
    for name in
        ["REQUEST_METHOD", "TOLL_PROXY_USER", "TOLL_KEYRING", "TOLL_REMEMBER", "TOLL_NO_PROMPT", "KRB5CCNAME"]
    {
        out.push(super::EnvEntry { name: name.to_string(), value: env(name).map(|v| sanitize(&v)) });
    }
    out.push(super::EnvEntry {
        name: "TOLL_PROXY_PASSWORD".into(),
        value: env("TOLL_PROXY_PASSWORD").map(|_| "(set; value removed)".into()),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert!(has_port("http://proxy:3128"));
        assert!(has_port("proxy:8080/"));
        assert!(has_port("http://a:b@proxy:3128"));
        assert!(has_port("http://[::1]:3128"));
        assert!(!has_port("http://proxy"));
        assert!(!has_port("http://proxy/"));
        assert!(!has_port("http://al:ice@proxy"));
        assert!(!has_port("http://[::1]"));
        assert!(!has_port("http://proxy:"));
    }
}
