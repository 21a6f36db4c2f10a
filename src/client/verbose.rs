//! `-v`'s lines about a hop: where it goes and why, the request as sent and the response's
//! head as received (credentials-bearing fields redacted).

use crate::report::{Direction, Reporter};
use crate::route::RouteEntry;
use crate::term::display_url;

/// `-v`: where the URL goes, from which setting, and which proxies fail-over skipped.
pub(super) fn trace_route(r: &dyn Reporter, url: &url::Url, c: &crate::route::choice::Choice) {
    let how = match &c.entry {
        RouteEntry::Direct => "goes direct".to_string(),
        RouteEntry::Proxy(s) => format!("goes through proxy {}", s.display_url()),
    };
    let why = c.routed.because.as_deref().map(|b| format!("; {b}")).unwrap_or_default();
    r.line(Direction::Info, &format!("{} {how} (from {}{why})", display_url(url), c.routed.source));
    if c.routed.entries.len() > 1 {
        r.line(
            Direction::Info,
            &format!("the list for it: {}", crate::route::describe_list(&c.routed.entries)),
        );
    }
    for s in &c.skipped {
        r.line(Direction::Info, &format!("skipped {s}; it is remembered as dead for a few minutes"));
    }
}

const SENSITIVE: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

pub(super) fn trace_request(r: &dyn Reporter, req: &reqwest::Request) {
    r.line(Direction::Sent, &format!("{} {}", req.method(), display_url(req.url())));
    for (k, v) in req.headers() {
        let v = if SENSITIVE.contains(&k.as_str()) {
            "<redacted>".into()
        } else {
            String::from_utf8_lossy(v.as_bytes())
        };
        r.line(Direction::Sent, &format!("{k}: {v}"));
    }
}

pub(super) fn trace_response(r: &dyn Reporter, resp: &reqwest::Response) {
    r.line(Direction::Received, &format!("{:?} {}", resp.version(), resp.status()));
    for (k, v) in resp.headers() {
        let v = if SENSITIVE.contains(&k.as_str()) {
            "<redacted>".into()
        } else {
            String::from_utf8_lossy(v.as_bytes())
        };
        r.line(Direction::Received, &format!("{k}: {v}"));
    }
}
