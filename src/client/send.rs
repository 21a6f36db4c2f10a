//! The two ways a request leaves the session besides reqwest's path through the relay: toll's
//! own HTTP path (`send_raw`: a request target of its own, `-H 'Accept:'`, an origin that may
//! ask for NTLM) and reqwest's straight to the server, sent again where curl would
//! (`execute_direct`).

use super::{classify_sent, errors, Session};
use crate::error::{Error, Exit, Result};
use crate::report::{Direction, Reporter};
use crate::route::RouteEntry;

impl Session {
    /// A request sent with `target` as its request target, on toll's own HTTP path: directly,
    /// through an HTTP proxy's tunnel (`tunnel`: https, or `-p`), or forwarded by the relay.
    pub(super) async fn send_raw(
        &self,
        route: &RouteEntry,
        request: reqwest::Request,
        reporter: &dyn Reporter,
        target: Option<&str>,
        tunnel: bool,
    ) -> Result<reqwest::Response> {
        let refused = |why: &str| {
            Error::new(Exit::Usage, format!("--path-as-is and --request-target cannot be used {why}"))
                .hint("drop the option, or the one it cannot be combined with")
        };
        let Some(raw) = &self.raw else {
            return Err(refused(
                "with --http1.0, --http2-prior-knowledge, --unix-socket, \
                 --trace, TLS version options, --capath, -E, -6 or --interface",
            ));
        };
        match route {
            RouteEntry::Direct => raw.execute_to(&self.relay, None, None, request, reporter, target).await,
            RouteEntry::Proxy(spec) if spec.is_socks() => Err(refused("through a SOCKS proxy")),
            RouteEntry::Proxy(spec) if tunnel => {
                raw.execute_to(&self.relay, Some(spec), None, request, reporter, target).await
            }
            RouteEntry::Proxy(spec) => raw.forward(&self.relay, spec, request, target).await,
        }
    }

    /// Sends `request` to the origin, directly or through a SOCKS proxy. An origin may close a
    /// kept-alive connection just as a request goes out on it (its idle timeout), which leaves
    /// no answer at all: the request is sent once more, on a new connection, when its body can
    /// be sent again, within what is left of `-m`, as curl does ("Connection died, retrying a
    /// fresh connect"). Which connection a request took is not told. Before any connection was
    /// made it surely took a new one, and is not sent again (curl neither: a PUT or DELETE the
    /// server carried out before it died must not run twice). After that, an idempotent
    /// request (RFC 9112 §9.3.1) is sent again whatever it took, another (a POST) only if no
    /// connection was asked for since it was sent — when in doubt, it is not sent twice. No
    /// answer in the end is curl's "empty reply", exit 52. Through an HTTP proxy the relay
    /// does the same.
    pub(super) async fn execute_direct(
        &self,
        request: reqwest::Request,
        max_time: Option<std::time::Duration>,
        via_socks: bool,
    ) -> Result<reqwest::Response> {
        /// Requests a server's GOAWAY left unprocessed are sent again, up to this many times: each
        /// is safe (RFC 9113 §6.8), and a server that closes its connections after a few requests
        /// (nginx's `keepalive_requests`) turns a `-Z` batch away again on the next one.
        const GOAWAY_RESENDS: usize = 20;
        let idempotent = request.method().is_idempotent();
        let again = request.try_clone();
        let kept_before = self.clock.phases().connects > 0;
        let started = std::time::Instant::now();
        let (mut closed_resent, mut refused) = (false, 0);
        let mut sent = started;
        let mut e = match self.client.execute(request).await {
            Ok(resp) => return Ok(resp),
            Err(e) => e,
        };
        loop {
            // No new connection was asked for since: the request went out on a kept-alive one.
            // (One asked for may still not have been used: hyper's pool races a new connection
            // against a kept-alive one coming back.)
            let reused = self.clock.phases().connecting.is_none_or(|c| c < sent);
            let goaway = errors::refused_by_goaway(&e) && refused < GOAWAY_RESENDS;
            let closed =
                !closed_resent && errors::closed_before_answer(&e) && (reused || idempotent && kept_before);
            let left = max_time.map(|t| t.checked_sub(started.elapsed()));
            let next = again.as_ref().and_then(reqwest::Request::try_clone);
            let (Some(mut next), true, None | Some(Some(_))) = (next, goaway || closed, left) else {
                return Err(classify_sent(e, &self.relay, via_socks, false));
            };
            let reporter = self.ctx.reporter.as_ref();
            if reporter.verbose() {
                let why = match goaway {
                    true => "the server's GOAWAY left the request unprocessed",
                    false => "the connection closed before an answer came",
                };
                reporter.line(Direction::Info, &format!("{why}; sending the request again on a new one"));
            }
            if let Some(Some(left)) = left {
                *next.timeout_mut() = Some(left);
            }
            match goaway {
                true => refused += 1,
                false => closed_resent = true,
            }
            sent = std::time::Instant::now();
            e = match self.client.execute(next).await {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
        }
    }
}
