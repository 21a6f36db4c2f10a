//! What a failure on toll's own path is, as the reqwest path's `errors::classify_sent` would
//! say it: exit codes, messages and hints.

use super::super::errors::{chain_text, find, is_tls, read_failed};
use super::super::ReadFailed;
use crate::error::{Error, Exit};
use crate::term::{display_url, sanitize};

/// The tunnel is open but TLS with the origin did not come up: a certificate or protocol
/// problem (exit 60 for the certificate, else 35), or a tunnel the proxy closed or filled with something else (exit 97), as
/// `errors::classify_sent` tells them apart on the reqwest path.
pub(super) fn handshake_error(url: &url::Url, e: &std::io::Error) -> Error {
    let text = chain_text(e);
    let shown = display_url(url);
    // Bytes that are not TLS at all (a proxy's error page after its 200) are the tunnel's
    // fault, not a TLS problem with the origin.
    let not_tls = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::InvalidMessage(_)));
    let tls = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    if tls.is_some_and(super::super::tls::is_pin_mismatch) {
        return super::super::tls::pin_mismatch(&shown);
    }
    if let Some(cert @ (rustls::Error::InvalidCertificate(_) | rustls::Error::InvalidCertRevocationList(_))) =
        tls
    {
        return super::super::tls::bad_certificate(&shown, &text, cert);
    }
    if is_tls(e) && !not_tls {
        return Error::new(Exit::Tls, format!("TLS failure with {shown}: {text}"))
            .hint(super::super::tls::failure_hint(tls));
    }
    Error::new(
        Exit::ProxyFailed,
        format!("the tunnel through the proxy broke before the TLS handshake with {} completed: {text}", sanitize(url.as_str())),
    )
    .hint("the proxy accepted the CONNECT, then closed it or sent something that is not TLS; retry with -v, or ask the proxy administrator")
}

/// The request could not be sent or answered on the tunnel's connection.
pub(super) fn send_error(url: &url::Url, e: &(dyn std::error::Error + 'static)) -> Error {
    if let Some(r) = find::<ReadFailed>(e) {
        return read_failed(r.0.clone());
    }
    if let Some(err) = super::super::errors::not_http(e, &display_url(url)) {
        return err;
    }
    if let Some(err) = super::super::errors::http2_error(e, &display_url(url)) {
        return err;
    }
    let text = chain_text(e);
    Error::new(Exit::Receive, format!("request to {} failed: {text}", display_url(url)))
        .hint("retry with -v to see the conversation")
}
