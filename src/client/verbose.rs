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
    for k in &c.passed_over {
        r.line(
            Direction::Info,
            &format!("passed over {k}: it failed within the last few minutes (remembered as dead)"),
        );
    }
    for s in &c.skipped {
        r.line(Direction::Info, &format!("skipped {s}; it is remembered as dead for a few minutes"));
    }
}

const SENSITIVE: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

pub(super) fn trace_request(r: &dyn Reporter, req: &reqwest::Request) {
    r.line(Direction::Sent, &format!("{} {}", req.method(), display_url(req.url())));
    trace_fields(r, Direction::Sent, req.headers());
}

pub(super) fn trace_response(r: &dyn Reporter, resp: &reqwest::Response) {
    r.line(Direction::Received, &format!("{:?} {}", resp.version(), resp.status()));
    trace_fields(r, Direction::Received, resp.headers());
}

/// One line per field, the name in its usual spelling (`User-Agent`, as curl shows it and as
/// toll writes it over HTTP/1), credentials redacted.
fn trace_fields(r: &dyn Reporter, direction: Direction, headers: &http::HeaderMap) {
    for (k, v) in headers {
        let v = match SENSITIVE.contains(&k.as_str()) {
            true => crate::secret::shown_secret_field(k.as_str(), v.as_bytes()).into(),
            false => String::from_utf8_lossy(v.as_bytes()),
        };
        r.line(direction, &format!("{}: {v}", super::header_case::canonical(k.as_str())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Lines(Mutex<Vec<String>>);

    impl Reporter for Lines {
        fn verbose(&self) -> bool {
            true
        }
        fn line(&self, direction: Direction, text: &str) {
            self.0.lock().unwrap().push(format!("{direction:?} {text}"));
        }
    }

    #[test]
    fn fields_are_shown_in_their_usual_spelling_with_credentials_redacted() {
        let mut req = reqwest::Request::new(reqwest::Method::GET, "http://h.test/x".parse().unwrap());
        for (n, v) in
            [("host", "h.test"), ("user-agent", "t"), ("authorization", "Basic YTpi"), ("etag", "1")]
        {
            req.headers_mut().append(n, v.parse().unwrap());
        }
        let lines = Lines(Mutex::new(Vec::new()));
        trace_request(&lines, &req);
        let got = lines.0.into_inner().unwrap();
        assert_eq!(
            got,
            [
                "Sent GET http://h.test/x",
                "Sent Host: h.test",
                "Sent User-Agent: t",
                "Sent Authorization: Basic <redacted>",
                "Sent ETag: 1"
            ]
        );
    }
}
