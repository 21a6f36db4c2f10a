//! `toll demo`: the whole 407 story offline. It starts, inside this process, a loopback origin
//! and a loopback proxy that demands Digest (RFC 7616, SHA-256) or Basic (RFC 7617) and really
//! checks the answer, then fetches through it with the real client path (relay, auth engine,
//! credential broker), printing each step. On a terminal the user types the demo password it
//! shows; without one it answers by itself.

use crate::auth::{parse_challenges, Scheme, SchemeSet};
use crate::client::{self, Context};
use crate::config::{OutputStyle, ProxyConfig, ProxySpec, RequestConfig};
use crate::creds::{CredentialRequest, CredentialSource, Lookup};
use crate::error::{Error, Exit, Result};
use crate::proxy_env::ProxySettings;
use crate::report::{Direction, Reporter};
use crate::secret::Credentials;
use crate::term::{sanitize, Terminal};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

const USER: &str = "demo";
const PASSWORD: &str = "open sesame";
const REALM: &str = "toll demo proxy";
const BODY: &str = "Hello from the origin: you got through the authenticating proxy.\n";

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, text: &str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(text.to_owned())));
    *r.status_mut() = status;
    r
}

async fn serve<F, Fut>(handler: F) -> std::io::Result<SocketAddr>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let h = handler.clone();
            let svc = hyper::service::service_fn(move |req| {
                let h = h.clone();
                async move { Ok::<_, Infallible>(h(req).await) }
            });
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc));
        }
    });
    Ok(addr)
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The demo proxy's check of a `Proxy-Authorization` value. Digest credentials share the
/// challenge syntax (RFC 7235 §2.1), so the challenge parser reads them too.
fn verify(scheme: Scheme, nonce: &str, method: &str, value: &str) -> bool {
    match scheme {
        Scheme::Basic => {
            use base64::Engine;
            let want = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
            value.strip_prefix("Basic ").is_some_and(|v| v.trim() == want)
        }
        _ => {
            let Some(c) = parse_challenges([value]).into_iter().next() else { return false };
            let p = |k: &str| c.param(k).unwrap_or("").to_string();
            if c.scheme != Some(Scheme::Digest)
                || p("username") != USER
                || p("nonce") != nonce
                || p("realm") != REALM
            {
                return false;
            }
            let ha1 = sha256_hex(&format!("{USER}:{REALM}:{PASSWORD}"));
            let ha2 = sha256_hex(&format!("{method}:{}", p("uri")));
            let want = sha256_hex(&format!("{ha1}:{nonce}:{}:{}:{}:{ha2}", p("nc"), p("cnonce"), p("qop")));
            p("response") == want
        }
    }
}

/// A forward proxy for absolute-form requests that demands `scheme` before forwarding.
async fn proxy(scheme: Scheme, nonce: Arc<String>, req: Request<Incoming>) -> Reply {
    let auth = req.headers().get(http::header::PROXY_AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !auth.is_some_and(|v| verify(scheme, &nonce, req.method().as_str(), v)) {
        let challenge = match scheme {
            Scheme::Basic => format!("Basic realm=\"{REALM}\""),
            _ => format!("Digest realm=\"{REALM}\", qop=\"auth\", algorithm=SHA-256, nonce=\"{nonce}\", opaque=\"demo\""),
        };
        let mut r = reply(StatusCode::PROXY_AUTHENTICATION_REQUIRED, "407: who are you?\n");
        r.headers_mut().insert(http::header::PROXY_AUTHENTICATE, challenge.parse().expect("ASCII challenge"));
        return r;
    }
    let Some(authority) = req.uri().authority().map(|a| a.to_string()) else {
        return reply(StatusCode::BAD_REQUEST, "absolute-form requests only\n");
    };
    let forwarded = async {
        let tcp = TcpStream::connect(&authority).await.ok()?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.ok()?;
        tokio::spawn(conn);
        let mut out = Request::new(Full::new(Bytes::new()));
        *out.uri_mut() = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").parse().ok()?;
        out.headers_mut().insert(http::header::HOST, authority.parse().ok()?);
        let resp = send.send_request(out).await.ok()?;
        let status = resp.status();
        let body = resp.into_body().collect().await.ok()?.to_bytes();
        Response::builder().status(status).body(Full::new(body)).ok()
    };
    forwarded.await.unwrap_or_else(|| reply(StatusCode::BAD_GATEWAY, "origin unreachable\n"))
}

/// Where the demo's credential comes from: the person at the terminal, or the demo itself.
struct DemoPassword {
    term: Terminal,
    asked: AtomicU32,
}

impl CredentialSource for DemoPassword {
    fn label(&self) -> String {
        if self.term.can_prompt {
            "the demo prompt".into()
        } else {
            "the demo (no terminal to ask on)".into()
        }
    }

    fn lookup(&self, req: &CredentialRequest) -> Lookup {
        if !self.term.can_prompt {
            return Lookup::Found(Credentials::new(USER, PASSWORD));
        }
        if self.asked.fetch_add(1, Ordering::SeqCst) >= 3 {
            return Lookup::Nothing;
        }
        let realm = req.realm.as_deref().map(|r| format!(", realm \"{}\"", sanitize(r))).unwrap_or_default();
        eprintln!("Proxy {} requires authentication ({}{realm})", req.proxy.host_port(), req.scheme);
        let prompt = format!("Password for {USER} (type: {PASSWORD}): ");
        // The prompt's own terminal handling (echo off before the prompt shows, Ctrl-C).
        match crate::prompt::Tty::open().ok().map(|mut tty| tty.ask_password(&prompt)) {
            Some(Ok(password)) => Lookup::Found(Credentials { user: USER.into(), password }),
            _ => Lookup::Nothing,
        }
    }
}

struct DemoTrace;

impl Reporter for DemoTrace {
    fn verbose(&self) -> bool {
        true
    }
    fn line(&self, direction: Direction, text: &str) {
        let mark = match direction {
            Direction::Info => "   *",
            Direction::Sent => "   >",
            Direction::Received => "   <",
        };
        eprintln!("{mark} {}", sanitize(text));
    }
}

pub async fn run(scheme: Scheme, term: Terminal) -> Result<()> {
    let io = |e: std::io::Error| Error::new(Exit::Internal, format!("demo: cannot listen on loopback: {e}"));
    let origin = serve(|_req| async { reply(StatusCode::OK, BODY) }).await.map_err(io)?;
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| Error::new(Exit::Internal, e.to_string()))?;
    let nonce = Arc::new(raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let proxy_addr = serve(move |req| proxy(scheme, nonce.clone(), req)).await.map_err(io)?;

    eprintln!("toll demo: everything below happens on this machine, offline.");
    eprintln!("1. An origin serves http://{origin}/hello");
    eprintln!("2. A proxy on {proxy_addr} lets nobody through without {scheme} credentials (user {USER:?}).");
    eprintln!("3. toll fetches the page through that proxy; the conversation (secrets redacted):");
    let spec = ProxySpec {
        scheme: "http".into(),
        host: proxy_addr.ip().to_string(),
        port: proxy_addr.port(),
        user: None,
        password: None,
        origin: "toll demo".into(),
    };
    let url = url::Url::parse(&format!("http://{origin}/hello"))
        .map_err(|e| Error::new(Exit::Internal, e.to_string()))?;
    let request = RequestConfig {
        fail_on_http_error: true,
        max_time: Some(std::time::Duration::from_secs(120)),
        ..RequestConfig::get(url)
    };
    let proxy_cfg = ProxyConfig {
        explicit: Some(spec.clone()),
        noproxy: Some(String::new()),
        user: None,
        password: None,
        allowed_schemes: SchemeSet::ANY,
        proxy_cacert: None,
        proxy_insecure: false,
        proxy_pinned_key: None,
        proxy_tls: Default::default(),
        proxy_capath: None,
        proxy_client_cert: None,
        pac: None,
        wpad: false,
        service_name: None,
        delegation: Default::default(),
        no_sessionid: false,
        preproxy: None,
        connect_http10: false,
    };
    let settings = ProxySettings::new(Some(spec), Some(""), &|_| None);
    let source_term = term;
    let ctx = Context {
        // Nothing remembered: the demo shows the 407 exchange every time.
        memory: None,
        doh: None,
        rejections: Default::default(),
        reporter: Arc::new(DemoTrace),
        term,
        sources: Arc::new(move |_: &ProxySpec| -> Vec<Box<dyn CredentialSource>> {
            vec![Box::new(DemoPassword { term: source_term, asked: AtomicU32::new(0) })]
        }),
    };
    let style = OutputStyle { silent: false, show_error: true, verbose: true };
    client::run(&request, &proxy_cfg, crate::route::choice::Chooser::fixed(settings), style, ctx).await?;
    eprintln!("4. Done: the body above came through the proxy after one 407. Try it against your own proxy:");
    eprintln!("   toll -v -x http://proxy.example:3128 -U alice https://example.com/");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_proxy_checks_digest_answers() {
        use crate::auth::{authenticator, Entropy, RequestTarget};
        struct Fixed;
        impl Entropy for Fixed {
            fn fill(&mut self, buf: &mut [u8]) {
                buf.fill(7);
            }
        }
        let header = format!(
            "Digest realm=\"{REALM}\", qop=\"auth\", algorithm=SHA-256, nonce=\"abc\", opaque=\"demo\""
        );
        let challenge = parse_challenges([header.as_str()]).remove(0);
        let target = RequestTarget {
            method: "GET",
            uri: "http://127.0.0.1:1/hello",
            body: None,
            proxy_host: "127.0.0.1",
            service: "HTTP",
            delegation: crate::auth::Delegation::None,
        };
        let mut a = authenticator(Scheme::Digest).unwrap();
        let good = a.respond(&challenge, &Credentials::new(USER, PASSWORD), &target, &mut Fixed).unwrap();
        assert!(verify(Scheme::Digest, "abc", "GET", good.expose()));
        assert!(!verify(Scheme::Digest, "other-nonce", "GET", good.expose()));
        let bad = a.respond(&challenge, &Credentials::new(USER, "wrong"), &target, &mut Fixed).unwrap();
        assert!(!verify(Scheme::Digest, "abc", "GET", bad.expose()));
    }
}
