//! toll-loadgen: a small closed-loop load generator for forward proxies, for bench/serve.sh.
//!
//! N clients run at once, each in a loop, through one proxy on loopback:
//! - `http`: keep-alive `GET http://TARGET/PATH` in absolute form (one connection per client,
//!   reopened only when the proxy closes it);
//! - `connect`: a new connection per operation, `CONNECT TARGET`, read the `200`, close;
//! - `tls`: the same, then a TLS handshake with the origin inside the tunnel (certificate
//!   checked against `--ca`), `GET PATH`, read the whole response, close.
//!
//! wrk cannot send CONNECT and curl --parallel stops at 300 transfers; this one is a single
//! tokio thread by default and reports its own CPU use, so a run shows it was not the limit.
//!
//! Operations that start during the measurement window (after `--warmup`) are counted; those
//! still running when the window ends are waited for (at most `--timeout`) and count too. The
//! result is one line of `key=value` pairs on stdout.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Http,
    Connect,
    Tls,
}

struct Opts {
    proxy: String,
    mode: Mode,
    target: String,
    path: String,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    timeout: Duration,
    body: usize,
    ca: Option<String>,
    threads: usize,
    /// Sent as `Proxy-Authorization: Basic …` (toll serve's key, when it wants one).
    proxy_auth: Option<String>,
    /// Tunnels: the load generator itself answers an NTLM proxy (Squid with `ntlm_fake_auth`),
    /// two CONNECTs per tunnel like any NTLM client. With no local proxy in between, this is
    /// what a proxy that cost nothing would reach against the NTLM Squid.
    ntlm_fake: bool,
}

/// A type 1 (negotiate) message: NTLMSSP, type 1, flags UNICODE | OEM | REQUEST_TARGET | NTLM |
/// ALWAYS_SIGN | NTLM2.
const NTLM_TYPE1: &str = "TlRMTVNTUAABAAAAB4IIAA==";
/// A well-formed type 3 (authenticate) message for user `D\bench` with zeroed responses.
/// Squid's `ntlm_fake_auth` checks the form and takes the user name; nothing else accepts it,
/// and the bench needs nothing more: the point is Squid's cost of two requests per tunnel.
const NTLM_TYPE3: &str = "TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAIAAgBwAAAACgAKAHIAAAACAAIAfAAAAAAAAAB+AAAABYIIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEQAYgBlAG4AYwBoAFcA";

fn usage() -> ! {
    eprintln!(
        "usage: toll-loadgen --proxy HOST:PORT --mode http|connect|tls --target HOST:PORT \
         [--path /1k.bin] [--concurrency N] [--warmup SECS] [--duration SECS] [--timeout SECS] \
         [--body BYTES] [--ca PEM] [--threads N] [--proxy-basic B64] [--proxy-ntlm-fake]"
    );
    std::process::exit(2)
}

fn parse() -> Opts {
    let mut o = Opts {
        proxy: String::new(),
        mode: Mode::Http,
        target: String::new(),
        path: "/1k.bin".into(),
        concurrency: 10,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
        body: 1024,
        ca: None,
        threads: 1,
        proxy_auth: None,
        ntlm_fake: false,
    };
    let mut args = std::env::args().skip(1);
    let secs = |v: String| Duration::from_secs_f64(v.parse().unwrap_or_else(|_| usage()));
    while let Some(a) = args.next() {
        let mut v = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--proxy" => o.proxy = v(),
            "--mode" => {
                o.mode = match v().as_str() {
                    "http" => Mode::Http,
                    "connect" => Mode::Connect,
                    "tls" => Mode::Tls,
                    _ => usage(),
                }
            }
            "--target" => o.target = v(),
            "--path" => o.path = v(),
            "--concurrency" => o.concurrency = v().parse().unwrap_or_else(|_| usage()),
            "--warmup" => o.warmup = secs(v()),
            "--duration" => o.duration = secs(v()),
            "--timeout" => o.timeout = secs(v()),
            "--body" => o.body = v().parse().unwrap_or_else(|_| usage()),
            "--ca" => o.ca = Some(v()),
            "--threads" => o.threads = v().parse().unwrap_or_else(|_| usage()),
            "--proxy-basic" => o.proxy_auth = Some(v()),
            "--proxy-ntlm-fake" => o.ntlm_fake = true,
            _ => usage(),
        }
    }
    if o.proxy.is_empty() || o.target.is_empty() || o.concurrency == 0 || o.threads == 0 {
        usage()
    }
    if o.ntlm_fake && (o.mode == Mode::Http || o.proxy_auth.is_some()) {
        eprintln!("toll-loadgen: --proxy-ntlm-fake is for --mode connect|tls, without --proxy-basic");
        std::process::exit(2)
    }
    if o.mode == Mode::Tls && o.ca.is_none() {
        eprintln!("toll-loadgen: --mode tls needs --ca");
        std::process::exit(2)
    }
    o
}

/// What every client adds to when it finishes an operation inside the window.
#[derive(Default)]
struct Tally {
    ok: u64,
    fail: u64,
    /// Microseconds, successful operations only.
    lat: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

struct Shared {
    o: Opts,
    window_start: Instant,
    window_end: Instant,
    tls: Option<TlsConnector>,
    request: Vec<u8>,
    connect: Vec<u8>,
    /// With --proxy-ntlm-fake: the CONNECT that answers the 407 (`connect` carries type 1).
    connect_ntlm: Option<Vec<u8>>,
    tls_request: Vec<u8>,
    conns: AtomicU64,
    /// Successful operations over the whole run, warm-up included (for CPU per operation).
    all_ok: AtomicU64,
    tally: Mutex<Tally>,
}

type Res<T> = Result<T, String>;

/// Set once the first failed response has been shown on stderr.
static SHOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn raise_nofile() {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    }
}

fn main() {
    let o = parse();
    raise_nofile();
    let rt = if o.threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(o.threads).enable_all().build()
    }
    .expect("runtime");
    rt.block_on(run(o));
}

async fn run(o: Opts) {
    let tls = o.ca.as_ref().map(|ca| {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).expect("--ca: cannot read") {
            roots.add(c.expect("--ca: bad PEM")).expect("--ca: bad certificate");
        }
        let cfg =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("tls versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        TlsConnector::from(Arc::new(cfg))
    });
    let auth =
        o.proxy_auth.as_ref().map(|b| format!("Proxy-Authorization: Basic {b}\r\n")).unwrap_or_default();
    let host = o.target.clone();
    let request = format!(
        "GET http://{host}{} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: toll-loadgen\r\nAccept: */*\r\n\
         Proxy-Connection: Keep-Alive\r\n{auth}\r\n",
        o.path
    )
    .into_bytes();
    let connect_with = |auth: &str| {
        format!(
            "CONNECT {host} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: toll-loadgen\r\nProxy-Connection: Keep-Alive\r\n{auth}\r\n"
        )
        .into_bytes()
    };
    let (connect, connect_ntlm) = if o.ntlm_fake {
        (
            connect_with(&format!("Proxy-Authorization: NTLM {NTLM_TYPE1}\r\n")),
            Some(connect_with(&format!("Proxy-Authorization: NTLM {NTLM_TYPE3}\r\n"))),
        )
    } else {
        (connect_with(&auth), None)
    };
    let tls_request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: toll-loadgen\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        o.path
    )
    .into_bytes();
    let start = Instant::now();
    let window_start = start + o.warmup;
    let window_end = window_start + o.duration;
    let n = o.concurrency;
    let s = Arc::new(Shared {
        o,
        window_start,
        window_end,
        tls,
        request,
        connect,
        connect_ntlm,
        tls_request,
        conns: AtomicU64::new(0),
        all_ok: AtomicU64::new(0),
        tally: Mutex::new(Tally::default()),
    });
    let cpu_probe = {
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(s.window_start.into()).await;
            let c0 = cpu_seconds();
            let k0 = s.conns.load(Ordering::Relaxed);
            tokio::time::sleep_until(s.window_end.into()).await;
            (cpu_seconds() - c0, s.conns.load(Ordering::Relaxed) - k0)
        })
    };
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let s = s.clone();
        clients.push(tokio::spawn(async move { client(s).await }));
    }
    for c in clients {
        let _ = c.await;
    }
    let (cpu, conns) = cpu_probe.await.unwrap_or((0.0, 0));
    let mut t = std::mem::take(&mut *s.tally.lock().unwrap());
    t.lat.sort_unstable();
    let pct = |p: f64| -> String {
        if t.lat.is_empty() {
            return "nan".into();
        }
        let i = ((t.lat.len() as f64 * p).ceil() as usize).clamp(1, t.lat.len()) - 1;
        format!("{:.2}", t.lat[i] as f64 / 1000.0)
    };
    let secs = s.o.duration.as_secs_f64();
    let total = t.ok + t.fail;
    let errors = if t.errors.is_empty() {
        "-".to_string()
    } else {
        t.errors
            .iter()
            .map(|(k, v)| format!("{}:{v}", k.replace([' ', ','], "_")))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "ok={} all_ok={} fail={} rps={:.1} success={:.2} p50_ms={} p99_ms={} max_ms={} cpu_pct={:.1} conns={} errors={}",
        t.ok,
        s.all_ok.load(Ordering::Relaxed),
        t.fail,
        t.ok as f64 / secs,
        if total == 0 { 0.0 } else { 100.0 * t.ok as f64 / total as f64 },
        pct(0.50),
        pct(0.99),
        t.lat.last().map(|v| format!("{:.2}", *v as f64 / 1000.0)).unwrap_or_else(|| "nan".into()),
        100.0 * cpu / secs,
        conns,
        errors
    );
}

/// One client: operations back to back until the window closes.
async fn client(s: Arc<Shared>) {
    let mut conn: Option<Conn> = None;
    let mut local = Tally::default();
    loop {
        let begin = Instant::now();
        if begin >= s.window_end {
            break;
        }
        let r = tokio::time::timeout(s.o.timeout, op(&s, &mut conn)).await;
        let r = r.unwrap_or_else(|_| Err("timeout".into()));
        let counted = begin >= s.window_start;
        match r {
            Ok(()) => {
                s.all_ok.fetch_add(1, Ordering::Relaxed);
                if counted {
                    local.ok += 1;
                    local.lat.push(begin.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
            }
            Err(e) => {
                conn = None;
                if counted {
                    local.fail += 1;
                    *local.errors.entry(e).or_insert(0) += 1;
                }
                // A proxy that refuses at once must not turn this client into a busy loop.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    let mut t = s.tally.lock().unwrap();
    t.ok += local.ok;
    t.fail += local.fail;
    t.lat.extend_from_slice(&local.lat);
    for (k, v) in local.errors {
        *t.errors.entry(k).or_insert(0) += v;
    }
}

/// A keep-alive connection to the proxy with what was read past the last response.
struct Conn {
    tcp: TcpStream,
    buf: Vec<u8>,
}

async fn dial(s: &Shared) -> Res<TcpStream> {
    let tcp = TcpStream::connect(&s.o.proxy).await.map_err(|e| format!("connect {}", kind(&e)))?;
    let _ = tcp.set_nodelay(true);
    s.conns.fetch_add(1, Ordering::Relaxed);
    Ok(tcp)
}

fn kind(e: &std::io::Error) -> String {
    format!("{:?}", e.kind())
}

async fn op(s: &Shared, conn: &mut Option<Conn>) -> Res<()> {
    match s.o.mode {
        Mode::Http => {
            let reused = conn.is_some();
            if conn.is_none() {
                *conn = Some(Conn { tcp: dial(s).await?, buf: Vec::with_capacity(4096) });
            }
            let c = conn.as_mut().unwrap();
            let sent = c.tcp.write_all(&s.request).await.map_err(|e| format!("write {}", kind(&e)));
            let head = match sent {
                Ok(()) => read_head(&mut c.tcp, &mut c.buf).await,
                Err(e) => Err(e),
            };
            // A kept-alive connection the proxy closed meanwhile (without saying so): like
            // curl and every HTTP client, send the request again once on a new connection.
            let head = match head {
                Err(_) if reused && c.buf.is_empty() => {
                    *conn = Some(Conn { tcp: dial(s).await?, buf: Vec::with_capacity(4096) });
                    let c = conn.as_mut().unwrap();
                    c.tcp.write_all(&s.request).await.map_err(|e| format!("write {}", kind(&e)))?;
                    read_head(&mut c.tcp, &mut c.buf).await?
                }
                h => h?,
            };
            let c = conn.as_mut().unwrap();
            if head.status != 200 {
                // The first failure's body on stderr: the proxy's own explanation.
                if !SHOWN.swap(true, Ordering::Relaxed) {
                    let body = match head.length {
                        Some(n) if n <= 64 * 1024 => {
                            while c.buf.len() < n && fill(&mut c.tcp, &mut c.buf).await.is_ok() {}
                            String::from_utf8_lossy(&c.buf[..n.min(c.buf.len())]).into_owned()
                        }
                        _ => String::new(),
                    };
                    let shown: String = body
                        .chars()
                        .take(600)
                        .map(|ch| if ch.is_control() && ch != '\n' { ' ' } else { ch })
                        .collect();
                    eprintln!("toll-loadgen: first failure: status {}: {}", head.status, shown.trim());
                }
                return Err(format!("status {}", head.status));
            }
            let got = read_body(&mut c.tcp, &mut c.buf, &head).await?;
            if got != s.o.body {
                return Err("short body".into());
            }
            if head.close {
                *conn = None;
            }
            Ok(())
        }
        Mode::Connect | Mode::Tls => {
            let mut tcp = dial(s).await?;
            let mut buf = Vec::with_capacity(1024);
            tcp.write_all(&s.connect).await.map_err(|e| format!("write {}", kind(&e)))?;
            let mut head = read_head(&mut tcp, &mut buf).await?;
            if let Some(answer) = &s.connect_ntlm {
                if head.status != 407 || head.close {
                    return Err(format!(
                        "ntlm type 1: status {}{}",
                        head.status,
                        if head.close { " close" } else { "" }
                    ));
                }
                read_body(&mut tcp, &mut buf, &head).await?;
                tcp.write_all(answer).await.map_err(|e| format!("write {}", kind(&e)))?;
                head = read_head(&mut tcp, &mut buf).await?;
            }
            if head.status != 200 {
                return Err(format!("status {}", head.status));
            }
            if s.o.mode == Mode::Connect {
                return Ok(());
            }
            if !buf.is_empty() {
                return Err("bytes after 200".into());
            }
            let name =
                ServerName::try_from(s.o.target.rsplit_once(':').map(|(h, _)| h).unwrap_or(&s.o.target))
                    .map_err(|_| "bad target name".to_string())?
                    .to_owned();
            let mut tls =
                s.tls.as_ref().unwrap().connect(name, tcp).await.map_err(|e| format!("tls {}", kind(&e)))?;
            tls.write_all(&s.tls_request).await.map_err(|e| format!("tls write {}", kind(&e)))?;
            let head = read_head(&mut tls, &mut buf).await?;
            if head.status != 200 {
                return Err(format!("origin status {}", head.status));
            }
            let got = read_body(&mut tls, &mut buf, &head).await?;
            if got != s.o.body {
                return Err("short body".into());
            }
            Ok(())
        }
    }
}

struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    close: bool,
}

/// Reads until a whole response head is in `buf`; leaves what follows it there.
async fn read_head<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> Res<Head> {
    loop {
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut hs);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                let status = resp.code.unwrap_or(0);
                let mut h = Head { status, length: None, chunked: false, close: resp.version == Some(0) };
                for x in resp.headers.iter() {
                    let v = std::str::from_utf8(x.value).unwrap_or("").trim().to_ascii_lowercase();
                    if x.name.eq_ignore_ascii_case("content-length") {
                        h.length = v.parse().ok();
                    } else if x.name.eq_ignore_ascii_case("transfer-encoding") {
                        h.chunked = v.contains("chunked");
                    } else if x.name.eq_ignore_ascii_case("connection")
                        || x.name.eq_ignore_ascii_case("proxy-connection")
                    {
                        if v.contains("close") {
                            h.close = true;
                        } else if v.contains("keep-alive") {
                            h.close = false;
                        }
                    }
                }
                buf.drain(..n);
                return Ok(h);
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return Err("bad response".into()),
        }
        if buf.len() > 64 * 1024 {
            return Err("huge head".into());
        }
        fill(r, buf).await?;
    }
}

async fn fill<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> Res<usize> {
    let mut chunk = [0u8; 8192];
    let n = r.read(&mut chunk).await.map_err(|e| format!("read {}", kind(&e)))?;
    if n == 0 {
        return Err("eof".into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Reads the body the head announces; returns its length (bytes after it stay in `buf`).
async fn read_body<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>, h: &Head) -> Res<usize> {
    if h.chunked {
        let mut total = 0;
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                fill(r, buf).await?;
            };
            let size_str = std::str::from_utf8(&buf[..line_end]).map_err(|_| "bad chunk".to_string())?;
            let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| "bad chunk".to_string())?;
            buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                loop {
                    if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                        buf.drain(..i + 2);
                        if i == 0 {
                            return Ok(total);
                        }
                        continue;
                    }
                    fill(r, buf).await?;
                }
            }
            while buf.len() < size + 2 {
                fill(r, buf).await?;
            }
            buf.drain(..size + 2);
            total += size;
        }
    }
    match h.length {
        Some(n) => {
            while buf.len() < n {
                fill(r, buf).await?;
            }
            buf.drain(..n);
            Ok(n)
        }
        None => {
            // Body until close.
            let mut total = buf.len();
            buf.clear();
            loop {
                match fill(r, buf).await {
                    Ok(n) => {
                        total += n;
                        buf.clear();
                    }
                    Err(e) if e == "eof" => return Ok(total),
                    Err(e) => return Err(e),
                }
            }
        }
    }
}
