//! Whose 407 is it? Before a 407 to a forwarded request is answered with proxy credentials,
//! the relay makes sure the proxy itself asks for them (an open proxy may relay the origin's
//! 407, and would relay the credentials to that origin too).

use super::super::body;
use super::super::{Inner, Upstream};
use super::{Demand, Outgoing};
use http::header::HeaderValue;
use http::{Method, Request};

/// How long the probe of [`Upstream::proxy_demands_auth`] may take (no answer: the 407 is taken as the proxy's).
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Upstream {
    /// Whether this proxy itself asks for credentials, before a 407 to a forwarded request is
    /// answered with them. Known from this run (a 407 to a CONNECT — only the proxy answers a
    /// CONNECT —, or a credential it accepted) or an earlier one (remembered auth); otherwise
    /// a probe: `CONNECT host:443` without credentials on a fresh connection. A proxy that
    /// opens that tunnel, or tries to and fails (a 5xx: the origin does not listen on 443),
    /// let it through without asking, so it does not demand authentication: then the 407 came
    /// from the origin, relayed by an open proxy, and is not answered. Any other answer (407;
    /// a 403 or 400 from a proxy whose CONNECT policy is checked before authentication, as in
    /// many Squid configurations; no answer) leaves the proxy's own 407 the likely one, and it
    /// is answered: refusing there would break authentication on such proxies, while the leak
    /// needs an open, header-passing proxy that also refuses CONNECT by policy. The probe is
    /// made even when the proxy let an unauthenticated request through earlier in this run,
    /// since proxies commonly exempt some destinations from authentication.
    pub(super) async fn proxy_demands_auth(&self, inner: &Inner, out: &Outgoing) -> bool {
        if self.demand() != Demand::Unknown {
            return true;
        }
        // One probe at a time: a request that waited for another's answer takes it when that
        // was "it demands" (the usual case); an open proxy is asked again, one request at a time.
        let _probing = self.probing.lock().await;
        if self.demand() != Demand::Unknown {
            return true;
        }
        let host = out.uri.host().unwrap_or(&self.spec.host);
        let host =
            if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
        let authority = format!("{host}:443");
        inner.info(format_args!(
            "a 407 to a forwarded request: asking the proxy whether it demands authentication itself (CONNECT {authority} without credentials)"
        ));
        let probe = async {
            let mut c = self.connect(inner).await.ok()?;
            let mut req = Request::new(body::empty());
            *req.method_mut() = Method::CONNECT;
            *req.uri_mut() = http::Uri::try_from(authority.as_str()).ok()?;
            req.headers_mut().insert(http::header::HOST, HeaderValue::from_str(&authority).ok()?);
            self.connect_version(&mut req);
            c.send.ready().await.ok()?;
            let resp = c.send.send_request(req).await.ok()?;
            inner.info(format_args!("the proxy answered the probe with {}", resp.status().as_u16()));
            Some(resp.status())
            // The probe's connection (and a tunnel, if one was opened) is dropped here.
        };
        let answer = tokio::time::timeout(PROBE_WAIT, probe).await.ok().flatten();
        // A tunnel (2xx) or a failure to reach host:443 (5xx) means the proxy let the CONNECT
        // through its access checks without credentials: it does not demand them.
        let demands = !answer.is_some_and(|s| s.is_success() || s.is_server_error());
        if answer == Some(http::StatusCode::PROXY_AUTHENTICATION_REQUIRED) {
            self.set_demand(Demand::Known);
        } else if demands {
            // Refused by policy, or no answer: the 407 is answered, but nothing it leads to is
            // trusted as the proxy's (`Demand::Assumed`).
            self.set_demand(Demand::Assumed);
        }
        demands
    }
}
