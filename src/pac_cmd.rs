//! `toll pac PAC URL`: load a PAC (a path, `file://` or `http(s)://`, the latter fetched
//! directly), evaluate it for URL in the sandbox (`crate::pac`) and print exactly the string it
//! returned. The tool for PAC authors: URL is passed as given (less user info and fragment)
//! unless `--transfer` asks for what a transfer would pass. Every PAC problem is exit 3.

use crate::cli::pac::PacArgs;
use crate::error::{Error, Exit, Result};
use crate::pac::{Limits, PacArgs as CallArgs, PacError, Script, SystemEnv, UrlMode};
use crate::term::sanitize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// PACs larger than a transfer takes are refused here too.
use crate::route::pac_fetch::MAX_PAC_BYTES;
/// The system resolver's time limit per name, inside the DNS helpers.
const DNS_TIMEOUT: Duration = Duration::from_secs(2);
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

pub fn run(args: PacArgs) -> Result<()> {
    let url = parse_url(&args.url)?;
    let t0 = Instant::now();
    let (source, name) = load(&args)?;
    let loaded = t0.elapsed();
    let verbose = args.verbose;
    let env = Arc::new(SystemEnv::new(DNS_TIMEOUT));
    let say = |line: &str| eprintln!("* {}", sanitize(line));
    if verbose {
        say(&format!("PAC {name}: {} bytes, loaded in {}", source.len(), ms(loaded)));
    }
    let t1 = Instant::now();
    let compiled = Script::compile(&source, &name, Limits::default(), env.clone());
    let compile_time = t1.elapsed();
    let alerts = |env: &SystemEnv| {
        if verbose {
            for a in env.take_alerts() {
                say(&format!("alert: {a}"));
            }
        }
    };
    alerts(&env);
    let script = compiled.map_err(pac_error)?;
    let mode = if args.transfer { UrlMode::Transfer } else { UrlMode::AsGiven };
    let call = CallArgs::new(&url, mode);
    if verbose {
        say(&format!("compiled and ran the top level in {}", ms(compile_time)));
        say(&format!("calling {}({:?}, {:?})", script.entry_point().name(), call.url, call.host));
    }
    let t2 = Instant::now();
    let answer = script.evaluate(&call);
    let eval_time = t2.elapsed();
    alerts(&env);
    let answer = answer.map_err(pac_error)?;
    if verbose {
        say(&format!("evaluated in {}", ms(eval_time)));
        for (i, entry) in answer.entries.iter().enumerate() {
            say(&format!("  {}. {entry}", i + 1));
        }
    }
    // Validated by `evaluate`: only keywords, host names, IP literals and ports, so it is safe on
    // a terminal as it is.
    crate::output::say(format_args!("{}", answer.raw))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn parse_url(raw: &str) -> Result<url::Url> {
    let parsed = match url::Url::parse(raw) {
        Err(url::ParseError::RelativeUrlWithoutBase) => url::Url::parse(&format!("http://{raw}")),
        other => other,
    };
    match parsed {
        Ok(u) if u.has_host() => Ok(u),
        Ok(_) => Err(Error::new(Exit::Usage, format!("'{raw}' has no host name"))
            .hint("give a URL such as https://example.com/")),
        Err(e) => Err(Error::new(Exit::Usage, format!("'{raw}' is not a valid URL: {e}"))),
    }
}

/// A PAC failure as a run-ending error: exit 3, the message naming the PAC and line, and a hint
/// per kind (shared with the routing code, which evaluates PACs for transfers).
pub fn pac_error(e: PacError) -> Error {
    use crate::pac::PacErrorKind as K;
    let hint = match e.kind {
        K::Syntax => "the file is not JavaScript (an HTML login page or an error page instead of the PAC?): check it in an editor",
        K::NoEntryPoint => "a PAC must define function FindProxyForURL(url, host) (names are case-sensitive)",
        K::NotAString | K::BadResult => {
            "FindProxyForURL must return a string such as \"PROXY proxy.corp:8080; DIRECT\" (keywords: PROXY, HTTP, HTTPS, SOCKS, SOCKS4, SOCKS5, DIRECT)"
        }
        K::Timeout => "the PAC loops or waits on slow name look-ups (dnsResolve, isInNet with a name, isResolvable)",
        K::Memory | K::Stack => "the PAC builds huge values or recurses without end: fix the script",
        K::Exception | K::Engine => "run 'toll pac -v PAC URL' to see the PAC's alert() output",
    };
    Error::new(Exit::Pac, e.to_string()).hint(hint)
}

/// The PAC's text and the name errors call it by (a URL without its user info).
/// The location is read as a transfer's `--pac` reads it (`PacLocation::parse`).
fn load(args: &PacArgs) -> Result<(String, String)> {
    use crate::route::pac_fetch::PacLocation;
    let loc = PacLocation::parse(&args.pac).map_err(|e| {
        Error::new(Exit::Usage, e).hint("give a path, file:///path/to/proxy.pac or an http(s):// URL")
    })?;
    let (bytes, name) = match &loc {
        PacLocation::Url(url) => {
            let name = redacted(url);
            (fetch(url, &name, args)?, name)
        }
        PacLocation::Path(path) => {
            let name = path.display().to_string();
            (read_file(path, &name)?, name)
        }
    };
    Ok((String::from_utf8_lossy(&bytes).into_owned(), name))
}

fn redacted(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

fn cannot(name: &str, verb: &str, detail: String) -> Error {
    Error::new(Exit::Pac, format!("cannot {verb} the PAC {name}: {detail}"))
}

fn read_file(path: &std::path::Path, name: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| cannot(name, "read", e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_PAC_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(name, "read", e.to_string()))?;
    if bytes.len() > MAX_PAC_BYTES {
        return Err(cannot(name, "use", format!("it is larger than {} MiB", MAX_PAC_BYTES >> 20))
            .hint("is this really a PAC file?"));
    }
    Ok(bytes)
}

/// Fetches an http(s):// PAC directly (never through a proxy: the PAC is what says which proxy
/// to use), following up to five redirects, within `--max-time`.
fn fetch(url: &url::Url, name: &str, args: &PacArgs) -> Result<Vec<u8>> {
    crate::client::install_crypto();
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(format!("toll/{}", env!("CARGO_PKG_VERSION")))
        .timeout(args.max_time.map(|s| s.0).filter(|d| !d.is_zero()).unwrap_or(FETCH_TIMEOUT))
        .tls_danger_accept_invalid_certs(args.insecure);
    if let Some(path) = &args.cacert {
        let certs = crate::client::read_certs(path)?
            .into_iter()
            .map(|c| reqwest::Certificate::from_der(&c))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::new(Exit::Usage, format!("{}: {e}", path.display())))?;
        b = b.tls_certs_only(certs);
    }
    let client =
        b.build().map_err(|e| Error::new(Exit::Internal, format!("cannot set up the HTTP client: {e}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(Exit::Internal, format!("cannot start the runtime: {e}")))?;
    let url = url.clone();
    rt.block_on(async move {
        let fail = |e: reqwest::Error| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            cannot(name, "fetch", text)
                .hint("check the URL; the PAC is fetched directly, never through a proxy")
        };
        let mut resp = client.get(url).send().await.map_err(fail)?;
        if !resp.status().is_success() {
            return Err(cannot(name, "fetch", format!("HTTP status {}", resp.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(fail)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_PAC_BYTES {
                return Err(cannot(name, "use", format!("it is larger than {} MiB", MAX_PAC_BYTES >> 20)));
            }
        }
        Ok(body)
    })
}
