//! Trailer fields after a chunked (or HTTP/2) body, as curl 7.88 shows them: `-i` prints them
//! after the body, `-D` writes them after the head, each as a `Name: value` line with no blank
//! line after (and `%{size_header}` does not count them). reqwest hands out a body's data and
//! drops its trailers, so the body is wrapped ([`keep`]) to keep them as they pass. Names are
//! written in their usual spelling (`header_case::canonical`; HTTP/2 ones lowercase, as curl).

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// The trailer fields of one response, once its body has passed.
#[derive(Clone, Default)]
pub(super) struct Kept(Arc<Mutex<Option<http::HeaderMap>>>);

impl Kept {
    /// The fields as curl writes them, empty for none (or a body not read to its end).
    pub(super) fn text(&self, version: http::Version) -> Vec<u8> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (name, value) in kept.iter().flatten() {
            match version >= http::Version::HTTP_2 {
                true => out.extend_from_slice(name.as_str().as_bytes()),
                false => out.extend_from_slice(super::header_case::canonical(name.as_str()).as_bytes()),
            }
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// `resp` with its body wrapped so that its trailer fields are kept; everything else (its URL,
/// extensions, timeouts) stays as it was.
pub(super) fn keep(resp: reqwest::Response) -> (reqwest::Response, Kept) {
    use reqwest::ResponseBuilderExt as _;
    let url = resp.url().clone();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(resp).into_parts();
    // The conversion leaves the URL out; the way back reads it from the extensions.
    if let Ok(with_url) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(with_url.into_parts().0.extensions);
    }
    let kept = Kept::default();
    let body = reqwest::Body::wrap(Tap { body, kept: kept.clone() });
    (reqwest::Response::from(http::Response::from_parts(parts, body)), kept)
}

struct Tap {
    body: reqwest::Body,
    kept: Kept,
}

impl Body for Tap {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(f))) = &frame {
            if let Some(t) = f.trailers_ref() {
                let mut kept = self.kept.0.lock().unwrap_or_else(|e| e.into_inner());
                kept.get_or_insert_with(Default::default).extend(t.clone());
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body of one data frame and then trailers, as hyper gives a chunked one.
    struct WithTrailers(Vec<Frame<Bytes>>);

    impl Body for WithTrailers {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready((!self.0.is_empty()).then(|| Ok(self.0.remove(0))))
        }
    }

    #[tokio::test]
    async fn trailers_are_kept_and_the_url_and_data_pass_untouched() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-sum", "abc".parse().unwrap());
        trailers.append("etag", "\"1\"".parse().unwrap());
        let body = WithTrailers(vec![Frame::data(Bytes::from_static(b"hello")), Frame::trailers(trailers)]);
        let url = url::Url::parse("http://example.invalid/p").unwrap();
        let resp: reqwest::Response = {
            use reqwest::ResponseBuilderExt as _;
            http::Response::builder().url(url.clone()).body(reqwest::Body::wrap(body)).unwrap().into()
        };
        let (mut resp, kept) = keep(resp);
        assert_eq!(resp.url(), &url);
        assert!(kept.text(http::Version::HTTP_11).is_empty(), "nothing before the body has passed");
        assert_eq!(resp.chunk().await.unwrap().unwrap(), "hello");
        assert!(resp.chunk().await.unwrap().is_none());
        assert_eq!(kept.text(http::Version::HTTP_11), b"X-Sum: abc\r\nETag: \"1\"\r\n");
        assert_eq!(kept.text(http::Version::HTTP_2), b"x-sum: abc\r\netag: \"1\"\r\n");
    }
}
