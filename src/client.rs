//! The user's request, sent with reqwest (TLS, HTTP/2 by ALPN, redirects, decompression,
//! timeouts). reqwest's own environment-proxy handling is off: every URL is routed by
//! `proxy_env` — direct, a SOCKS proxy (reqwest handles it), or an HTTP(S) proxy through the
//! in-process `relay`, which alone talks to that proxy and answers its 407s. Proxy credentials
//! therefore exist only inside the relay's upstream connections: they cannot reach an origin,
//! another proxy, or a redirect target.

use crate::config::{BodySource, OutputStyle, OutputTarget, ProxyConfig, ProxySpec, RequestConfig};
use crate::creds::{CredentialBroker, CredentialSource};
use crate::error::{Error, Exit, Result};
use crate::output::{self, Sink};
use crate::proxy_env::ProxyError;
use crate::relay::{AuthMemory, Failure, FailureKind, Relay, UpstreamSetup};
use crate::report::{Direction, Reporter};
use crate::route::choice::Chooser;
use crate::route::{RouteEntry, RouteError};
use crate::secret::Secret;
use crate::term::{display_url, redact_userinfo, sanitize, Terminal};
use std::sync::{Arc, OnceLock};

mod attempts;
pub mod cookies;
mod extras;
pub mod netrc;
mod origin_auth;
mod retry;
mod transfer_info;
pub mod writeout;

/// Builds the credential sources for one proxy, in priority order (the app decides which exist).
pub type SourceFactory = Arc<dyn Fn(&ProxySpec) -> Vec<Box<dyn CredentialSource>> + Send + Sync>;

/// What the app hands the client besides the configuration.
pub struct Context {
    pub reporter: Arc<dyn Reporter>,
    pub term: Terminal,
    pub sources: SourceFactory,
    /// Where schemes that worked are remembered between runs, if anywhere.
    pub memory: Option<Arc<dyn AuthMemory>>,
}

/// TLS settings for `https://` proxies: the platform's roots, or only `--proxy-cacert`'s, or no
/// verification with `--proxy-insecure`.
fn proxy_tls(cfg: &ProxyConfig) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(Exit::Internal, format!("TLS setup: {e}")))?;
    let mut config = if cfg.proxy_insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AcceptAny(provider)))
            .with_no_client_auth()
    } else if let Some(path) = &cfg.proxy_cacert {
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| bad_ca(path, &e.to_string()))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = rustls_platform_verifier::Verifier::new(provider)
            .map_err(|e| Error::new(Exit::Internal, format!("TLS setup: {e}")))?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The certificates of a PEM file (`--cacert`, `--proxy-cacert`); an error names the file.
pub fn read_certs(path: &std::path::Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| bad_ca(path, &e.to_string()))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad_ca(path, &e.to_string()))?;
    if certs.is_empty() {
        return Err(bad_ca(path, "no PEM certificate in it"));
    }
    Ok(certs)
}

fn bad_ca(path: &std::path::Path, why: &str) -> Error {
    Error::new(Exit::Usage, format!("cannot use CA file {}: {why}", path.display()))
        .hint("give a PEM file with one or more CERTIFICATE blocks")
}

mod insecure {
    //! `--proxy-insecure`: the proxy's certificate is not checked (signatures still are, so
    //! the handshake itself is sound).
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::DigitallySignedStruct;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use std::sync::Arc;

    #[derive(Debug)]
    pub struct AcceptAny(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

/// `socks5h://user:pass@host:port` for reqwest, which speaks SOCKS itself.
fn socks_url(spec: &ProxySpec) -> Option<url::Url> {
    let mut u = url::Url::parse(&format!("{}://{}", spec.scheme, spec.host_port())).ok()?;
    if let Some(user) = &spec.user {
        u.set_username(user).ok()?;
        u.set_password(spec.password.as_ref().map(Secret::expose)).ok()?;
    }
    Some(u)
}

#[derive(Debug, thiserror::Error)]
#[error("more than {0} redirects")]
struct TooManyRedirects(usize);

/// Fetches `req.url` and writes the body where `req.output` says.
pub async fn run(
    req: &RequestConfig,
    proxy: &ProxyConfig,
    routes: Chooser,
    style: OutputStyle,
    ctx: Context,
) -> Result<()> {
    let format = req.write_out.as_ref().map(transfer_info::load_format).transpose()?;
    let mut rec = transfer_info::Recorder::start(req);
    let result = match Session::start(req, proxy, routes, ctx).await {
        Err(e) => Err(e),
        Ok(session) => attempts::run(&session, req, style, &mut rec).await,
    };
    if let Some(format) = format {
        rec.write_out(&format, &result);
    }
    result
}

/// The HTTP client and the relay behind it, set up once for a run.
pub struct Session {
    client: reqwest::Client,
    /// `-b`/`-c`: the cookies of this run.
    cookies: cookies::Engine,
    /// The origin rejected the `-u` credentials in an earlier attempt of this run.
    origin_rejected: std::sync::atomic::AtomicBool,
    relay: Arc<Relay>,
    routes: Arc<Chooser>,
    ctx: Arc<Context>,
}

impl Session {
    pub async fn start(
        req: &RequestConfig,
        proxy: &ProxyConfig,
        routes: Chooser,
        ctx: Context,
    ) -> Result<Session> {
        let ctx = Arc::new(ctx);
        let factory = upstream_factory(proxy, ctx.clone())?;
        let relay = Arc::new(
            Relay::start(factory, ctx.reporter.clone(), req.connect_timeout)
                .await
                .map_err(|e| Error::new(Exit::Internal, format!("cannot start the local relay: {e}")))?,
        );
        let routes = Arc::new(routes);
        let client = build_client(req, &relay, &routes)?;
        let cookies = cookies::Engine::start(&req.curl)?;
        Ok(Session { client, cookies, origin_rejected: Default::default(), relay, routes, ctx })
    }

    /// Sends `req` (following redirects with `-L`) and returns the final response, or the
    /// error that ended it — the proxy's own refusals included (`failure_error`).
    pub async fn send(&self, req: &RequestConfig) -> Result<reqwest::Response> {
        self.send_with_heads(req, &mut Vec::new()).await
    }

    /// [`send`](Self::send), also keeping the head of each redirect response it followed
    /// (`-i -L` prints them all, as curl does).
    pub async fn send_with_heads(
        &self,
        req: &RequestConfig,
        heads: &mut Vec<Vec<u8>>,
    ) -> Result<reqwest::Response> {
        let reporter = self.ctx.reporter.as_ref();
        let mut hop = Hop {
            url: req.url.clone(),
            method: initial_method(req)?,
            with_body: req.body.is_some(),
            cross_origin: false,
        };
        let mut redirects = 0usize;
        let rejected_before = self.origin_rejected.load(std::sync::atomic::Ordering::SeqCst);
        let mut origin = origin_auth::OriginAuthState::new(req).rejected_before(rejected_before);
        let mut referer = extras::AutoReferer::new(req);
        loop {
            // Every hop is routed anew (a redirect may leave the proxy's domain, or a PAC may
            // send it elsewhere), before anything is sent.
            let choice = self.routes.choose(&hop.url).await.map_err(route_error)?;
            if reporter.verbose() {
                trace_route(reporter, &hop.url, &choice);
            }
            let via_socks = matches!(&choice.entry, RouteEntry::Proxy(s) if s.is_socks());
            let via_relay = matches!(&choice.entry, RouteEntry::Proxy(s) if !s.is_socks());
            let request = build_request(&self.client, req, &hop, redirects > 0).await?;
            let request = self.cookies.apply(referer.apply(origin.authorize(request)?));
            if reporter.verbose() {
                trace_request(reporter, &request);
            }
            let resp = self
                .client
                .execute(request)
                .await
                .map_err(|e| classify_sent(e, &self.relay, via_socks, via_relay))?;
            if let Some(f) = self.relay.take_failure() {
                // The relay gave up (a 407 it could not answer, the proxy's own 403): that is
                // the proxy's answer, not the origin's.
                return Err(failure_error(f));
            }
            if let Some(e) = relay_refusal(&resp) {
                return Err(e);
            }
            if reporter.verbose() {
                trace_response(reporter, &resp);
            }
            self.cookies.learn(&resp);
            let retry = origin.wants_retry(&resp, hop.method.as_str())?;
            if origin.is_rejected() {
                self.origin_rejected.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            if retry {
                drain_small(resp).await;
                continue;
            }
            let Some(next) = next_hop(req, &hop, &resp) else { return Ok(resp) };
            if redirects >= req.max_redirects {
                return Err(Error::new(
                    Exit::TooManyRedirects,
                    format!("stopped after {redirects} redirects at {}", display_url(&next.url)),
                )
                .hint("raise --max-redirs if the redirects are expected"));
            }
            if reporter.verbose() {
                reporter
                    .line(Direction::Info, &format!("following the redirect to {}", display_url(&next.url)));
            }
            // Kept for -i (printed) and -w (counted).
            heads.push(head_text(&resp));
            drain_small(resp).await;
            redirects += 1;
            hop = next;
        }
    }

    /// Why the last request did not get through the proxy, if the relay knows.
    pub fn take_failure(&self) -> Option<Failure> {
        self.relay.take_failure()
    }

    /// The relay behind this session (`toll doctor` opens its own tunnel through it to look at
    /// the origin's certificate chain).
    pub fn relay(&self) -> &Relay {
        &self.relay
    }
}

/// What the relay gets for each proxy it talks to: TLS settings for an `https://` proxy (made
/// once, on first use), the allowed schemes, the credential sources (behind a broker that
/// enforces the lockout rule) and the memory of what worked. `toll serve` uses the same.
pub fn upstream_factory(proxy: &ProxyConfig, ctx: Arc<Context>) -> Result<crate::relay::UpstreamFactory> {
    let eager_tls =
        if proxy.proxy_cacert.is_some() || proxy.proxy_insecure { Some(proxy_tls(proxy)?) } else { None };
    let tls_cell: Arc<OnceLock<Option<Arc<rustls::ClientConfig>>>> = Arc::new(OnceLock::new());
    let pcfg = proxy.clone();
    Ok(Box::new(move |spec: &ProxySpec| {
        let tls = (spec.scheme == "https")
            .then(|| tls_cell.get_or_init(|| eager_tls.clone().or_else(|| proxy_tls(&pcfg).ok())).clone())
            .flatten();
        UpstreamSetup {
            tls,
            allowed: pcfg.allowed_schemes,
            creds: CredentialBroker::new((ctx.sources)(spec)),
            memory: ctx.memory.clone(),
        }
    }))
}

/// reqwest is built without a TLS crypto provider of its own (see Cargo.toml): it uses the
/// process default, which is ring. Installing it again changes nothing.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Keeps peak memory independent of the transfer size. reqwest's HTTP/1 read buffer grows to
/// ~400 KiB on a fast transfer and is replaced while a body chunk still holds the old one; with
/// glibc's dynamic mmap threshold, the first such buffer freed raises the threshold, so later
/// ones come from the heap, which fragments and grows over a long transfer (measured: peak RSS
/// +7% from 1 MiB to 200 MiB over http). A fixed threshold (glibc's default value, 128 KiB)
/// keeps large buffers in their own mappings, returned when freed. They are few (14 in a 200 MiB
/// download), so the extra mmap calls cost nothing measurable.
fn steady_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; glibc serialises it with allocations.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

fn build_client(req: &RequestConfig, relay: &Arc<Relay>, routes: &Arc<Chooser>) -> Result<reqwest::Client> {
    let (r, s) = (relay.clone(), routes.clone());
    let proxy = reqwest::Proxy::custom(move |url| match s.chosen(url) {
        // Every hop is routed (and a route error reported) before it is sent; see `run`.
        None | Some(RouteEntry::Direct) => None,
        Some(RouteEntry::Proxy(spec)) if spec.is_socks() => socks_url(&spec),
        Some(RouteEntry::Proxy(spec)) => Some(r.proxy_url_for(&spec)),
    });
    install_crypto();
    steady_heap();
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .proxy(proxy)
        // toll follows redirects itself (`next_hop`): reqwest adds the relay's credential only
        // when a request is first executed and strips it on a cross-host redirect, and toll
        // decides which of the user's headers may travel to another origin.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(req.user_agent.clone().unwrap_or_else(|| format!("toll/{}", env!("CARGO_PKG_VERSION"))))
        .tls_danger_accept_invalid_certs(req.insecure);
    if !req.compressed {
        b = b.no_gzip().no_brotli().no_deflate().no_zstd();
    }
    b = extras::configure(b, &req.curl);
    if let Some(t) = req.max_time {
        b = b.timeout(t);
    }
    if let Some(t) = req.connect_timeout {
        b = b.connect_timeout(t);
    }
    if let Some(path) = &req.cacert {
        let certs = read_certs(path)?
            .into_iter()
            .map(|c| reqwest::Certificate::from_der(&c))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad_ca(path, &e.to_string()))?;
        b = b.tls_certs_only(certs);
    }
    b.build().map_err(|e| Error::new(Exit::Internal, format!("cannot set up the HTTP client: {e}")))
}

/// One request of the chain that `-L` follows: where, how, and whether the body and the
/// user's credentials-bearing headers still go along.
struct Hop {
    url: url::Url,
    method: reqwest::Method,
    with_body: bool,
    /// The chain has left the first URL's origin: `Authorization` and `Cookie` stay behind.
    cross_origin: bool,
}

fn initial_method(req: &RequestConfig) -> Result<reqwest::Method> {
    let method = match (&req.method, req.head_only, &req.body) {
        (Some(m), _, _) => m.clone(),
        (None, true, _) => "HEAD".into(),
        (None, false, Some(_)) => "POST".into(),
        (None, false, None) => "GET".into(),
    };
    reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| Error::new(Exit::Usage, format!("invalid method {method:?}")))
}

/// Where `-L` goes after `resp`, as curl does: 303 turns into GET, 301 and 302 turn a POST into
/// a GET, 307 and 308 keep the method and the body.
fn next_hop(req: &RequestConfig, hop: &Hop, resp: &reqwest::Response) -> Option<Hop> {
    if !req.follow_redirects || !matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = resp.headers().get(reqwest::header::LOCATION)?.to_str().ok()?;
    let url = hop.url.join(location).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
    let method = match resp.status().as_u16() {
        303 if hop.method != reqwest::Method::HEAD => reqwest::Method::GET,
        301 | 302 if hop.method == reqwest::Method::POST => reqwest::Method::GET,
        _ => hop.method.clone(),
    };
    let with_body = hop.with_body && method == hop.method;
    let cross_origin = hop.cross_origin || url.origin() != req.url.origin();
    Some(Hop { url, method, with_body, cross_origin })
}

/// Reads a redirect's small body so its connection can be reused; a large one is dropped.
async fn drain_small(mut resp: reqwest::Response) {
    let mut left = 64 * 1024usize;
    while let Ok(Some(chunk)) = resp.chunk().await {
        match left.checked_sub(chunk.len()) {
            Some(l) => left = l,
            None => break,
        }
    }
}

/// Headers that carry the user's credentials for the first origin (curl keeps them from other
/// hosts too, unless --location-trusted).
const ORIGIN_BOUND: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

async fn build_request(
    client: &reqwest::Client,
    req: &RequestConfig,
    hop: &Hop,
    again: bool,
) -> Result<reqwest::Request> {
    let mut rb = client.request(hop.method.clone(), hop.url.clone());
    for (name, value) in &req.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "proxy-authorization" {
            // reqwest would send it instead of the relay's key (the relay then refuses the
            // request), or inside a tunnel to the origin: proxy credentials go through -U.
            return Err(Error::new(
                Exit::Usage,
                format!(
                    "-H {}: toll sends proxy credentials itself and does not take this header",
                    sanitize(name)
                ),
            )
            .hint("give the proxy credentials with -U/--proxy-user user:password (or in the proxy URL)"));
        }
        if hop.cross_origin && ORIGIN_BOUND.contains(&lower.as_str()) {
            continue;
        }
        if !hop.with_body && lower == "content-type" && req.body.is_some() {
            continue;
        }
        rb = rb.header(name.as_str(), value.as_str());
    }
    let body = if hop.with_body { req.body.as_ref() } else { None };
    if again && body.is_some_and(|b| b.source == BodySource::Stdin) {
        return Err(Error::new(Exit::Read, "cannot send standard input again to the redirect target")
            .hint("save the body to a file and use --data-binary @FILE, or drop -L"));
    }
    if let Some(body) = body {
        rb = match (&body.source, body.strip_newlines) {
            (BodySource::Bytes(b), _) => rb.body(b.clone()),
            (BodySource::File(path), strip) => {
                let what = path.display().to_string();
                let file = tokio::fs::File::open(path).await.map_err(|e| read_error(&what, &e))?;
                let meta = file.metadata().await.map_err(|e| read_error(&what, &e))?;
                match known_length(&meta) {
                    // Streamed in large reads (reqwest's own File body reads 4 KiB at a time),
                    // with the length announced so the upload is not chunked.
                    Some(len) if !strip => {
                        rb.header(reqwest::header::CONTENT_LENGTH, len).body(streamed(file, what, false))
                    }
                    // A pipe (`<(…)`), a device or a pseudo-file (/proc) has no length to
                    // announce: it is read to its end and sent chunked.
                    _ => rb.body(streamed(file, what, strip)),
                }
            }
            (BodySource::Stdin, strip) => {
                rb.body(streamed(tokio::io::stdin(), "standard input".into(), strip))
            }
        };
    }
    rb.build().map_err(|e| Error::new(Exit::Usage, format!("cannot build the request: {e}")))
}

/// The length to announce for a file body: only a regular file's, and only when its size can be
/// believed. /proc files say 0 and /sys files say 4096 whatever they hold; both occupy no disk
/// blocks (unix), which is how they are told apart (a fully sparse file is sent chunked too:
/// harmless). An empty file is sent chunked with no data.
fn known_length(meta: &std::fs::Metadata) -> Option<u64> {
    #[cfg(unix)]
    let on_disk = std::os::unix::fs::MetadataExt::blocks(meta) > 0;
    #[cfg(not(unix))]
    let on_disk = true;
    (meta.is_file() && meta.len() > 0 && on_disk).then_some(meta.len())
}

/// A body read as it is sent, never whole in memory (sent chunked: its length is unknown).
/// `strip` drops CR and LF, as curl's `-d @file` does.
fn streamed<R: tokio::io::AsyncRead + Send + Unpin + 'static>(
    reader: R,
    what: String,
    strip: bool,
) -> reqwest::Body {
    use tokio::io::AsyncReadExt;
    const CHUNK: usize = 256 * 1024;
    let stream = futures_util::stream::unfold(Some((reader, what)), move |state| async move {
        let (mut reader, what) = state?;
        let mut buf = vec![0u8; CHUNK];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                if strip {
                    buf.retain(|b| *b != b'\r' && *b != b'\n');
                }
                Some((Ok(bytes::Bytes::from(buf)), Some((reader, what))))
            }
            Err(e) => Some((Err(ReadFailed(format!("cannot read {what}: {e}"))), None)),
        }
    });
    reqwest::Body::wrap_stream(stream)
}

/// A request body source failed mid-transfer (reported with exit code 26).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReadFailed(String);

fn read_error(what: &str, e: &std::io::Error) -> Error {
    Error::new(Exit::Read, format!("cannot read {what}: {e}")).hint("check the file name after '@'")
}

/// Why a URL could not be routed: a bad proxy setting (usage) or a PAC problem (exit 3).
fn route_error(e: RouteError) -> Error {
    match e {
        RouteError::Proxy(p) => usage_proxy(p),
        RouteError::Pac { .. } | RouteError::PacFetch { .. } => {
            Error::new(Exit::Pac, sanitize(&e.to_string()))
                .hint("check the PAC with 'toll pac PAC URL -v', or bypass it with -x PROXY")
        }
        RouteError::Setting { .. } | RouteError::Desktop { .. } => {
            Error::new(Exit::Usage, sanitize(&e.to_string())).hint("fix the setting, or give -x PROXY")
        }
    }
}

/// `-v`: where the URL goes, from which setting, and which proxies fail-over skipped.
fn trace_route(r: &dyn Reporter, url: &url::Url, c: &crate::route::choice::Choice) {
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

fn usage_proxy(e: ProxyError) -> Error {
    Error::new(Exit::Usage, e.to_string()).hint("fix the proxy setting, e.g. -x http://proxy.example:3128")
}

const SENSITIVE: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

fn trace_request(r: &dyn Reporter, req: &reqwest::Request) {
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

fn trace_response(r: &dyn Reporter, resp: &reqwest::Response) {
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

fn head_text(resp: &reqwest::Response) -> Vec<u8> {
    let mut out = format!("{:?} {}\r\n", resp.version(), resp.status()).into_bytes();
    for (k, v) in resp.headers() {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

async fn write_response(
    req: &RequestConfig,
    style: OutputStyle,
    term: &Terminal,
    mut resp: reqwest::Response,
    redirect_heads: &[Vec<u8>],
    relay: &Relay,
    downloaded: &mut u64,
) -> Result<()> {
    let status = resp.status();
    if req.fail_on_http_error && status.as_u16() >= 400 {
        return Err(Error::new(Exit::HttpStatus, format!("the server answered {status} for {}", resp.url()))
            .hint("drop -f/--fail to see the response body"));
    }
    let mut sink = match &req.output {
        OutputTarget::Stdout => Sink::stdout(),
        OutputTarget::File(p) => Sink::file(p)?,
        // The name comes from the URL the user gave, never from a redirect target (curl too).
        OutputTarget::RemoteName => Sink::file(&output::remote_name(&req.url)?)?,
    };
    for head in redirect_heads.iter().map(Vec::as_slice).chain([head_text(&resp).as_slice()]) {
        if (req.include_headers || req.head_only) && sink.write(head)?.is_err() {
            return Ok(());
        }
    }
    let bar = (term.stderr && !style.silent && !matches!(req.output, OutputTarget::Stdout)).then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            resp.content_length(),
            indicatif::ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bytes}/{total_bytes} {bar:30} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                return Err(classify(e, relay, false));
            }
        };
        if sink.write(&chunk)?.is_err() {
            return Ok(());
        }
        *downloaded += chunk.len() as u64;
        if let Some(bar) = &bar {
            bar.inc(chunk.len() as u64);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    sink.finish()
}

/// Walks an error's sources for a TLS failure. `io::Error::source` skips the error it wraps,
/// so the walk also descends into `get_ref`.
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if is_tls(inner) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

fn find<'a, T: std::error::Error + 'static>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// [`classify`] for a request that may have gone through the relay: there, a connect error
/// the relay did not explain is not "could not connect to the origin (direct connections)"
/// but a tunnel that the proxy opened (200) and that then broke before the origin's TLS
/// handshake completed (closed, or bytes that are not TLS): the proxy conversation failed.
fn classify_sent(e: reqwest::Error, relay: &Relay, via_socks: bool, via_relay: bool) -> Error {
    if let Some(f) = relay.take_failure() {
        return failure_error(f);
    }
    let https = e.url().is_some_and(|u| u.scheme() == "https");
    if via_relay && https && e.is_connect() && !e.is_timeout() && !is_tls(&e) {
        let url = e.url().map(|u| sanitize(u.as_str())).unwrap_or_default();
        return Error::new(
            Exit::ProxyFailed,
            format!("the tunnel through the proxy broke before the TLS handshake with {url} completed: {}", chain_text(&e)),
        )
        .hint("the proxy accepted the CONNECT, then closed it or sent something that is not TLS; retry with -v, or ask the proxy administrator");
    }
    classify(e, relay, via_socks)
}

fn classify(e: reqwest::Error, relay: &Relay, via_socks: bool) -> Error {
    if let Some(f) = relay.take_failure() {
        return failure_error(f);
    }
    let text = chain_text(&e);
    let url = e.url().map(display_url).unwrap_or_default();
    if let Some(r) = find::<ReadFailed>(&e) {
        return Error::new(Exit::Read, r.0.clone())
            .hint("check the file or the program feeding standard input");
    }
    if e.is_timeout() {
        return Error::new(Exit::Timeout, format!("timed out: {text}"))
            .hint("raise --max-time / --connect-timeout, or check the network");
    }
    if e.is_redirect() {
        if let Some(p) = find::<ProxyError>(&e) {
            return usage_proxy(p.clone());
        }
        if let Some(t) = find::<TooManyRedirects>(&e) {
            return Error::new(Exit::TooManyRedirects, format!("stopped after {} redirects at {url}", t.0))
                .hint("raise --max-redirs if the redirects are expected");
        }
    }
    if is_tls(&e) {
        return Error::new(Exit::Tls, format!("TLS failure with {url}: {text}"))
            .hint("if the server uses a private CA, pass it with --cacert FILE (or -k to skip the check)");
    }
    if e.is_connect() {
        if via_socks {
            return Error::new(Exit::ProxyUnreachable, format!("cannot reach the SOCKS proxy: {text}"))
                .hint("check -x / ALL_PROXY");
        }
        if text.contains("dns error") || text.contains("failed to lookup") {
            return Error::new(Exit::ResolveHost, format!("cannot resolve the host of {url}: {text}"))
                .hint("check the URL; behind a proxy, set -x or https_proxy");
        }
        return Error::new(Exit::Connect, format!("cannot connect to {url}: {text}"))
            .hint("check the URL and port; behind a proxy, set -x or https_proxy");
    }
    if e.is_body() || e.is_decode() {
        return Error::new(Exit::Receive, format!("the transfer broke off: {text}"))
            .hint("retry; nothing partial was kept for -o");
    }
    Error::new(Exit::Receive, format!("request to {url} failed: {text}"))
        .hint("retry with -v to see the conversation")
}

/// The relay's own refusal (a request that did not carry this run's key, see
/// `relay::REFUSAL_MARKER`) is toll's error, never the origin's response.
fn relay_refusal(resp: &reqwest::Response) -> Option<Error> {
    resp.headers().contains_key(crate::relay::REFUSAL_MARKER.as_str()).then(|| {
        Error::new(Exit::Internal, "the local relay refused the request: it did not carry this run's key")
            .hint("this is a bug in toll: please report it with the command line (without passwords)")
    })
}

/// The message for a request the relay could not get through the proxy: which proxy, what it
/// offered, which credential source was tried, and what most likely went wrong.
pub fn failure_error(f: Failure) -> Error {
    let proxy = format!("{} (from {})", f.proxy, f.origin);
    let offered = if f.offered.is_empty() {
        "no scheme".to_string()
    } else {
        f.offered.iter().map(|o| sanitize(o)).collect::<Vec<_>>().join(", ")
    };
    let target = sanitize(&redact_userinfo(&f.target));
    match f.kind {
        FailureKind::Unreachable(why) if why.contains("TLS") => {
            Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}"))
                .hint("if the proxy's certificate comes from a private CA, pass it with --proxy-cacert FILE")
        }
        FailureKind::Unreachable(why) => Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}"))
            .hint("check the proxy host and port (-x, https_proxy, http_proxy) and that it is running"),
        FailureKind::NoChallenge => Error::new(
            Exit::AuthNoUsableScheme,
            format!("proxy {proxy} answered 407 for {target} without a Proxy-Authenticate challenge"),
        )
        .hint("the proxy is misconfigured: ask its administrator which authentication it expects"),
        FailureKind::NoUsableScheme { unusable } => Error::new(
            Exit::AuthNoUsableScheme,
            format!(
                "proxy {proxy} requires authentication toll cannot answer here (offered: {offered}){}",
                if unusable.is_empty() { String::new() } else { format!("; {}", sanitize(&unusable.join("; "))) }
            ),
        )
        .hint(
            "toll answers Negotiate (with a Kerberos ticket: run kinit), NTLM, Digest and Basic; check that \
             --proxy-basic/--proxy-digest/--proxy-ntlm/--proxy-negotiate do not exclude what is offered",
        ),
        FailureKind::NoCredentials { incomplete } => {
            let extra = if incomplete.is_empty() { String::new() } else { format!(" ({})", incomplete.join("; ")) };
            Error::new(
                Exit::AuthNoCredentials,
                format!("proxy {proxy} requires authentication (offered: {offered}) and no credentials are available{extra}"),
            )
            .hint("pass -U user:password, set TOLL_PROXY_USER and TOLL_PROXY_PASSWORD, or use http://user:password@proxy:port")
        }
        FailureKind::Rejected { sources } => Error::new(
            Exit::AuthRejected,
            format!(
                "proxy {proxy} rejected the credentials from {} (offered: {offered}); each was sent once and not retried",
                sources.join(", then ")
            ),
        )
        .hint(format!(
            "likely causes, most likely first: a wrong or expired password; the proxy denies {target} to this user \
             even with valid credentials (Squid reports that with the same 407); a wrong proxy setting ({})",
            f.origin
        )),
        FailureKind::RestrictedDestination { user } => Error::new(
            Exit::ProxyDenied,
            format!("proxy {proxy} refused {target} for user {user:?}, whose credentials it accepted earlier in this run"),
        )
        .hint("this is an access restriction for this destination, not a wrong password: ask your proxy administrator"),
        FailureKind::Denied => Error::new(Exit::ProxyDenied, format!("proxy {proxy} denied access to {target} (403 Forbidden)"))
            .hint("the proxy's policy blocks this destination: ask your proxy administrator"),
        FailureKind::Timeout(why) => Error::new(Exit::Timeout, format!("cannot reach proxy {proxy}: {why}"))
            .hint("raise --connect-timeout, or check the proxy host and port (-x, https_proxy, http_proxy)"),
        FailureKind::ProxyError(why) => Error::new(Exit::ProxyFailed, format!("proxy {proxy} failed for {target}: {}", sanitize(&why)))
            .hint("retry; if it persists, check the proxy setting or ask the proxy administrator"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Body;

    fn request(url: &str, body: bool) -> RequestConfig {
        RequestConfig {
            headers: vec![("Authorization".into(), "Bearer x".into()), ("X-Trace".into(), "1".into())],
            body: body.then(|| Body { source: BodySource::Bytes(b"a=1".to_vec()), strip_newlines: false }),
            follow_redirects: true,
            max_redirects: 50,
            ..RequestConfig::get(url::Url::parse(url).unwrap())
        }
    }

    fn redirect(status: u16, to: &str) -> reqwest::Response {
        http::Response::builder().status(status).header("location", to).body("").unwrap().into()
    }

    fn first(req: &RequestConfig) -> Hop {
        Hop {
            url: req.url.clone(),
            method: initial_method(req).unwrap(),
            with_body: req.body.is_some(),
            cross_origin: false,
        }
    }

    #[test]
    fn redirects_change_method_and_body_as_curl_does() {
        let req = request("http://a.example/form", true);
        let hop = first(&req);
        for (status, method, body) in [
            (301, "GET", false),
            (302, "GET", false),
            (303, "GET", false),
            (307, "POST", true),
            (308, "POST", true),
        ] {
            let next = next_hop(&req, &hop, &redirect(status, "/next")).unwrap();
            assert_eq!((next.method.as_str(), next.with_body), (method, body), "{status}");
            assert_eq!(next.url.as_str(), "http://a.example/next");
            assert!(!next.cross_origin);
        }
        assert!(next_hop(&req, &hop, &redirect(200, "/x")).is_none());
        assert!(next_hop(&req, &hop, &redirect(302, "ftp://a.example/x")).is_none());
        let no_follow = RequestConfig { follow_redirects: false, ..request("http://a.example/", false) };
        assert!(next_hop(&no_follow, &first(&no_follow), &redirect(302, "/x")).is_none());
    }

    #[test]
    fn another_origin_gets_no_authorization_ever_after() {
        let req = request("http://a.example/", false);
        let away = next_hop(&req, &first(&req), &redirect(302, "https://b.example/")).unwrap();
        assert!(away.cross_origin);
        let back = next_hop(&req, &away, &redirect(302, "http://a.example/again")).unwrap();
        assert!(back.cross_origin, "once the chain left the origin, it stays untrusted");
        install_crypto();
        let client = reqwest::Client::new();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let built = rt.block_on(build_request(&client, &req, &back, true)).unwrap();
        assert!(built.headers().get("authorization").is_none());
        assert_eq!(built.headers().get("x-trace").unwrap(), "1");
        let home = rt.block_on(build_request(&client, &req, &first(&req), false)).unwrap();
        assert!(home.headers().get("authorization").is_some());
    }
}
