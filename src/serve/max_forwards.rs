//! `Max-Forwards` on what toll serve forwards (RFC 9110 §7.6.2: each intermediary MUST check and
//! update it on TRACE and OPTIONS, and answer as the final recipient when it is 0). It is how a
//! client asks one hop of a chain about itself (`curl -X OPTIONS -H 'Max-Forwards: 0' -x …`),
//! and how a TRACE sent round a loop ends. Other methods carry the field on untouched.
//! `OPTIONS *` (RFC 9110 §9.3.7: the server itself, not a resource) gets the same answer.

use super::{OwnAnswer, RelayBody};
use crate::relay::body;
use http::header::{HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE, COOKIE, MAX_FORWARDS};
use http::request::Parts;
use http::{Method, Response, StatusCode, Version};

/// What toll serve forwards: any method (the upstream or the origin says what it allows).
const ALLOWED: &str = "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH";

/// Decrements `Max-Forwards` on a TRACE or OPTIONS, or, when it is 0, gives the answer toll
/// serve owes as the final recipient: for OPTIONS what it forwards (`Allow`), for TRACE the
/// request as it arrived (`message/http`) without the fields that hold secrets. A value that is
/// not a number is passed on as it came: which hop should stop cannot be known from it.
pub fn check(req: &mut Parts) -> Option<Response<RelayBody>> {
    if req.method != Method::TRACE && req.method != Method::OPTIONS {
        return None;
    }
    if req.method == Method::OPTIONS && req.uri == "*" {
        return Some(answer(req));
    }
    let left = req.headers.get(MAX_FORWARDS)?.to_str().ok()?.trim();
    if left.is_empty() || !left.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // 1*DIGIT of any length: a value past u64 is "many hops left" (the lesser of that and ours).
    let left: u64 = left.parse().unwrap_or(u64::MAX);
    if left > 0 {
        req.headers.insert(MAX_FORWARDS, HeaderValue::from(left - 1));
        return None;
    }
    Some(answer(req))
}

/// toll serve's answer as the final recipient.
fn answer(req: &Parts) -> Response<RelayBody> {
    let mut r = if req.method == Method::OPTIONS {
        let mut r = Response::new(body::empty());
        r.headers_mut().insert(ALLOW, HeaderValue::from_static(ALLOWED));
        r
    } else {
        let mut r = Response::new(body::full(bytes::Bytes::from(echo(req))));
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("message/http"));
        r
    };
    *r.status_mut() = StatusCode::OK;
    r.extensions_mut().insert(OwnAnswer);
    r
}

/// The request head as toll serve received it (its own hop-by-hop fields already gone), for
/// TRACE: what the client's credentials for the origin and its cookies were is not echoed (RFC
/// 9110 §9.3.8: the final recipient SHOULD exclude fields likely to hold sensitive data; the
/// `Proxy-Authorization` with the key was removed at admission).
fn echo(req: &Parts) -> Vec<u8> {
    let version = match req.version {
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let mut out = format!("{} {} {version}\r\n", req.method, req.uri).into_bytes();
    for (name, value) in &req.headers {
        if name == AUTHORIZATION || name == COOKIE || name == http::header::PROXY_AUTHORIZATION {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn parts(method: Method, fields: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method(method).uri("http://origin.test/x");
        for (n, v) in fields {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn body_of(r: Response<RelayBody>) -> String {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let bytes = rt.block_on(r.into_body().collect()).unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn trace_and_options_count_down_and_stop_at_zero() {
        let mut p = parts(Method::OPTIONS, &[("max-forwards", "3")]);
        assert!(check(&mut p).is_none());
        assert_eq!(p.headers[MAX_FORWARDS], "2");
        let mut p = parts(Method::TRACE, &[("max-forwards", "1")]);
        assert!(check(&mut p).is_none());
        assert_eq!(p.headers[MAX_FORWARDS], "0");
        let mut p = parts(Method::TRACE, &[("max-forwards", "99999999999999999999999")]);
        assert!(check(&mut p).is_none());
        assert_eq!(p.headers[MAX_FORWARDS], (u64::MAX - 1).to_string().as_str());

        let mut p = parts(Method::OPTIONS, &[("max-forwards", " 0 ")]);
        let r = check(&mut p).expect("answered here");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.extensions().get::<OwnAnswer>().is_some());
        assert!(r.headers()[ALLOW].to_str().unwrap().contains("CONNECT"));
        assert_eq!(body_of(r), "");

        let mut p = http::Request::options("*").body(()).unwrap().into_parts().0;
        let r = check(&mut p).expect("OPTIONS * is asked of toll serve itself");
        assert!(r.headers()[ALLOW].to_str().unwrap().contains("TRACE"));
    }

    #[test]
    fn other_methods_and_values_that_are_not_numbers_pass_on_as_they_came() {
        for (method, value) in [
            (Method::GET, "0"),
            (Method::POST, "5"),
            (Method::TRACE, "-1"),
            (Method::OPTIONS, "two"),
            (Method::TRACE, ""),
        ] {
            let mut p = parts(method.clone(), &[("max-forwards", value)]);
            assert!(check(&mut p).is_none(), "{method} {value:?}");
            assert_eq!(p.headers[MAX_FORWARDS], value, "{method} {value:?}");
        }
        let mut p = parts(Method::TRACE, &[]);
        assert!(check(&mut p).is_none());
        assert!(!p.headers.contains_key(MAX_FORWARDS));
    }

    #[test]
    fn a_trace_answered_here_echoes_the_request_without_its_secrets() {
        let mut p = parts(
            Method::TRACE,
            &[
                ("max-forwards", "0"),
                ("authorization", "Basic b3JpZ2luOnNlY3JldA=="),
                ("cookie", "session=s3cret"),
                ("x-kept", "yes"),
            ],
        );
        let r = check(&mut p).expect("answered here");
        assert_eq!(r.headers()[CONTENT_TYPE], "message/http");
        let echoed = body_of(r);
        assert!(echoed.starts_with("TRACE http://origin.test/x HTTP/1.1\r\n"), "{echoed}");
        assert!(echoed.contains("max-forwards: 0\r\n") && echoed.contains("x-kept: yes\r\n"), "{echoed}");
        assert!(!echoed.contains("b3JpZ2lu") && !echoed.contains("s3cret"), "{echoed}");
        assert!(echoed.ends_with("\r\n\r\n"), "{echoed}");
    }
}
