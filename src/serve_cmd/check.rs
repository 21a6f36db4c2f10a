//! The one password check `toll serve` and `toll run` make on a terminal before anyone else is
//! served: a request through the server as any client would make it, with the prompt open only
//! for that request ([`gated`]), so that a proxy wanting a password that is not stored gets it
//! asked while a person is there, and never later.

use crate::client::SourceFactory;
use crate::config::ProxySpec;
use crate::creds::{CredentialRequest, CredentialSource, Lookup};
use crate::error::{Error, Exit, Result};
use crate::keyring::session::Session;
use crate::secret::Secret;
use crate::serve::admission::KEY_USER;
use crate::serve::Server;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long the start-up check waits for an answer when no prompt was shown.
const CHECK_QUIET: Duration = Duration::from_secs(15);

/// The credential sources with the prompt (always the last source when the terminal can
/// prompt, see `setup::credential_sources`) answering only while `open` is set.
pub(super) fn gated(inner: SourceFactory, open: Arc<AtomicBool>) -> SourceFactory {
    Arc::new(move |spec: &ProxySpec| {
        let mut v = inner(spec);
        if let Some(prompt) = v.pop() {
            v.push(Box::new(Gated { inner: prompt, open: open.clone() }));
        }
        v
    })
}

struct Gated {
    inner: Box<dyn CredentialSource>,
    open: Arc<AtomicBool>,
}

impl CredentialSource for Gated {
    fn label(&self) -> String {
        self.inner.label()
    }

    fn lookup(&self, req: &CredentialRequest) -> Lookup {
        if self.open.load(Ordering::Acquire) {
            self.inner.lookup(req)
        } else {
            Lookup::Nothing
        }
    }

    fn accepted(&self, req: &CredentialRequest, creds: &crate::secret::Credentials) {
        self.inner.accepted(req, creds)
    }

    fn rejected(&self, req: &CredentialRequest, creds: &crate::secret::Credentials) {
        self.inner.rejected(req, creds)
    }
}

/// `toll serve` on a terminal, before it accepts anyone: [`check_through`] a server of its own on
/// an ephemeral loopback port that shares `server`'s relay (so the credential the check got
/// accepted, or had rejected, is the real server's from the start), routes, log and limits.
pub(super) async fn check_first(
    server: &Server,
    key: &Secret,
    check: &url::Url,
    session: &Session,
) -> Result<()> {
    let Ok(private) = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await else {
        return Ok(());
    };
    let Ok(at) = private.local_addr() else { return Ok(()) };
    let twin = server.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(crate::serve::serve(twin, vec![private], async {
        let _ = stopped.await;
    }));
    let checked = check_through(at, key, check, session, ("toll serve", "at start-up")).await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(2), serving).await;
    checked
}

/// On a terminal, before the command starts (`toll run`) or before serving (`toll serve`): one
/// request for `check` through the server at `listen` (as any client would make it), so that a
/// proxy wanting a password that is not stored gets it asked now. The credential it accepted is
/// then used for every later request. When the proxy still wants credentials after the prompt
/// was shown (every password typed was rejected, or none was typed) or the prompt was
/// interrupted, toll stops here with that exit status: a person is there to try again. Any other
/// failure is said on stderr and serving goes on (the proxy may not be needed, may come back, or
/// wants a scheme toll cannot answer, which the command may not need either).
pub(super) async fn check_through(
    listen: SocketAddr,
    key: &Secret,
    check: &url::Url,
    session: &Session,
    (who, when): (&str, &str),
) -> Result<()> {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = check.host_str().unwrap_or("");
    let port = check.port_or_known_default().unwrap_or(80);
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{KEY_USER}:{}", key.expose()));
    let head = if check.scheme() == "https" {
        format!(
            "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nProxy-Authorization: Basic {token}\r\n\r\n"
        )
    } else {
        format!(
            "GET {check} HTTP/1.1\r\nHost: {authority}\r\nProxy-Authorization: Basic {token}\r\nConnection: close\r\n\r\n"
        )
    };
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(listen).await.ok()?;
        tcp.write_all(head.as_bytes()).await.ok()?;
        // The status line and the start of the body (toll serve's own explanation on a failure).
        let mut buf = vec![0u8; 4096];
        let mut got = 0;
        while got < buf.len() {
            let n = tcp.read(&mut buf[got..]).await.ok()?;
            if n == 0 {
                break;
            }
            got += n;
            let text = String::from_utf8_lossy(&buf[..got]);
            if text.contains("\r\n\r\n") && (text.starts_with("HTTP/1.1 200") || text.contains("\n\n")) {
                break;
            }
        }
        Some(String::from_utf8_lossy(&buf[..got]).to_string())
    };
    // A proxy that wants a password answers at once; one that does not may take long (Squid's
    // DNS for --verify-url): without a prompt in 15 s the check is given up, said, and the command
    // (or serving) goes on instead of waiting in silence. With a prompt, long enough for a person
    // to type a password (the prompt has its own limits).
    let mut exchange = std::pin::pin!(exchange);
    let answer = match tokio::time::timeout(CHECK_QUIET, &mut exchange).await {
        Ok(answer) => answer,
        Err(_) if session.prompted() => {
            tokio::time::timeout(Duration::from_secs(600), exchange).await.ok().flatten()
        }
        Err(_) => {
            eprintln!(
                "{who}: the check through the proxy {when} got no answer within {} s; going on without it",
                CHECK_QUIET.as_secs()
            );
            return Ok(());
        }
    };
    let Some(answer) = answer else {
        return Ok(());
    };
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let head = head.to_ascii_lowercase();
    let Some(status) = head.lines().find_map(|l| l.strip_prefix("proxy-status: toll;")) else {
        return Ok(());
    };
    let why = crate::term::sanitize(body.lines().next().unwrap_or("").trim_start_matches("toll serve: "));
    let failed = format!("the check through the proxy {when} failed: {why}");
    if crate::prompt::interrupted() {
        return Err(Error::new(Exit::Interrupted, "the password prompt was interrupted (Ctrl-C)"));
    }
    // toll serve's own answer names the proxy's 407 (RFC 9209 `received-status`), or says what
    // to log in with (a SOCKS proxy, which has no 407); the prompt was shown, so a person typed
    // a password the proxy rejected, or none.
    let wants_login = status.split(';').any(|p| p.trim() == "received-status=407")
        || body.lines().any(|l| l.starts_with(crate::serve::LOGIN_LINE));
    if session.prompted() && wants_login {
        let exit = if session.prompted_rejected() { Exit::AuthRejected } else { Exit::AuthNoCredentials };
        return Err(Error::new(exit, failed)
            .hint("run it again to retype the password, or store it: toll auth login"));
    }
    eprintln!("{who}: {failed}");
    Ok(())
}
