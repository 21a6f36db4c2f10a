//! What the relay is given for each proxy it talks to ([`upstream_factory`]), for transfers,
//! `toll serve` and the doctor alike.

use super::tls::proxy_tls;
use super::Context;
use crate::config::{ProxyConfig, ProxySpec};
use crate::creds::CredentialBroker;
use crate::error::Result;
use crate::relay::UpstreamSetup;
use std::sync::{Arc, OnceLock};

/// What the relay gets for each proxy it talks to: TLS settings for an `https://` proxy (made
/// once, on first use), the allowed schemes, the credential sources (behind a broker that
/// enforces the lockout rule) and the memory of what worked. `toll serve` uses the same.
pub fn upstream_factory(proxy: &ProxyConfig, ctx: Arc<Context>) -> Result<crate::relay::UpstreamFactory> {
    // Made now when an option names a file, so a bad one is reported before anything is sent.
    let eager_tls = if proxy.proxy_cacert.is_some()
        || proxy.proxy_insecure
        || proxy.proxy_pinned_key.is_some()
        || proxy.proxy_tls.is_set()
        || proxy.proxy_capath.is_some()
        || proxy.proxy_client_cert.is_some()
    {
        Some(proxy_tls(proxy)?)
    } else {
        None
    };
    let tls_cell: Arc<OnceLock<Option<Arc<rustls::ClientConfig>>>> = Arc::new(OnceLock::new());
    // `--preproxy`: one SOCKS hop for every proxy, its credentials behind one broker (the
    // lockout rule), from the same sources as the proxies' (its URL, the keyring, a prompt).
    let preproxy = proxy.preproxy.clone().and_then(|spec| {
        let reporter = ctx.reporter.clone();
        let note = Box::new(move |t: &str| {
            if reporter.verbose() {
                reporter.line(crate::report::Direction::Info, t);
            }
        });
        let ways = Arc::new(crate::socks::Ways::new(ctx.sources.clone(), ctx.rejections.clone(), note));
        crate::socks::Hop::new(&ways, spec).map(Arc::new)
    });
    let pcfg = proxy.clone();
    Ok(Box::new(move |spec: &ProxySpec| {
        let tls = (spec.scheme == "https")
            .then(|| tls_cell.get_or_init(|| eager_tls.clone().or_else(|| proxy_tls(&pcfg).ok())).clone())
            .flatten();
        UpstreamSetup {
            tls,
            allowed: pcfg.allowed_schemes,
            creds: CredentialBroker::in_run((ctx.sources)(spec), &ctx.rejections, spec),
            memory: ctx.memory.clone(),
            service: pcfg.service_name.clone().unwrap_or_else(|| crate::auth::HTTP_SERVICE.into()),
            delegation: pcfg.delegation,
            // Only HTTP(S) proxies are reached through it; a SOCKS one is never the relay's.
            preproxy: preproxy.clone(),
            connect_http10: pcfg.connect_http10,
        }
    }))
}
