//! Getting a PAC's text: a plain path or `file://` URL is read; an `http(s)://` URL is fetched
//! DIRECT (never through a proxy: the PAC is what says which proxy), with a timeout, and kept in
//! the cache dir (`$XDG_CACHE_HOME/toll/pac/`) with its ETag and Last-Modified.
//!
//! A cached copy younger than its freshness (the server's `max-age`, at most a day; else
//! [`DEFAULT_FRESH`]; `no-cache`/`no-store` means always revalidate) is used without asking;
//! an older one is revalidated with `If-None-Match`/`If-Modified-Since` (a 304 keeps it). When
//! the PAC server cannot be reached or answers with an error, the cached copy is used with a
//! warning; without one, that is an error. The same directory keeps each PAC's compiled code
//! (`.code`), so a later run loads it instead of parsing the PAC again. The network is behind the [`Fetcher`] trait;
//! [`DirectFetcher`] (in `pac_http.rs`) is the real one.

use super::RouteError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

/// A PAC larger than this is refused (the largest test PAC is 1 MB).
pub const MAX_PAC_BYTES: usize = 8 << 20;
/// Freshness of a cached PAC whose server said nothing about it.
pub const DEFAULT_FRESH: Duration = Duration::from_secs(5 * 60);
/// The longest freshness toll accepts from a server.
pub const MAX_FRESH: Duration = Duration::from_secs(24 * 3600);
/// Compiled code larger than this is neither kept nor read (QuickJS's bytecode for the largest
/// PAC accepted is well below it).
const MAX_CODE_BYTES: usize = 4 * MAX_PAC_BYTES;
/// The transfers' default redirect limit (`--max-redirs`), used for PAC fetches too.
pub const MAX_REDIRECTS: usize = 50;

/// Where a PAC is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacLocation {
    Path(PathBuf),
    Url(Url),
}

impl PacLocation {
    /// `http://…`/`https://…` is a URL, `file://…` a path, anything without `scheme://` a path.
    pub fn parse(s: &str) -> Result<PacLocation, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the PAC location is empty".into());
        }
        // `file:/path` (one slash) is a URL too, as browsers and `toll pac` read it.
        let file_url = s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("file:"));
        if !s.contains("://") && !file_url {
            return Ok(PacLocation::Path(PathBuf::from(s)));
        }
        let url = Url::parse(s).map_err(|e| format!("'{s}' is not a valid URL: {e}"))?;
        match url.scheme() {
            "http" | "https" => Ok(PacLocation::Url(url)),
            "file" => url
                .to_file_path()
                .map(PacLocation::Path)
                .map_err(|_| format!("'{s}' is not a local file URL")),
            other => Err(format!("a PAC URL must be http, https or file, not {other}")),
        }
    }
}

impl fmt::Display for PacLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacLocation::Path(p) => write!(f, "{}", p.display()),
            PacLocation::Url(u) => f.write_str(&crate::term::sanitize(&redacted(u))),
        }
    }
}

/// The URL without a password, for messages and the cache's metadata.
fn redacted(u: &Url) -> String {
    let mut u = u.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    u.to_string()
}

/// Validators sent with a revalidation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a fetch brought back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    Body { bytes: Vec<u8>, validators: Validators, fresh_for: Option<Duration> },
    NotModified { fresh_for: Option<Duration> },
}

/// The network, for PAC fetches. `Err` is a message (unreachable, timeout, HTTP error status).
pub trait Fetcher {
    fn get(&self, url: &Url, validators: &Validators)
        -> impl Future<Output = Result<Fetched, String>> + Send;
}

/// How the text was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obtained {
    File,
    Fetched,
    /// From the cache, still fresh (no request).
    CachedFresh,
    /// From the cache after a 304.
    Revalidated,
    /// From the cache because the server could not be asked (see the warning).
    CachedStale,
}

#[derive(Clone, Debug)]
pub struct PacText {
    pub text: String,
    pub location: PacLocation,
    pub obtained: Obtained,
    /// For stderr: the server failed and a cached copy is used, or the cache cannot be written.
    pub warning: Option<String>,
    /// A fetched PAC: how long this copy stays fresh from now (zero for a stale copy used
    /// because the server failed); `None` for a file.
    pub fresh_for: Option<Duration>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Meta {
    url: String,
    validators: Validators,
    /// Seconds since the Unix epoch: when it was last fetched or revalidated, and until when fresh.
    checked: u64,
    fresh_until: u64,
}

pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The PAC cache: `<sha256 of the URL>.pac` and `.json` (metadata) in one directory.
#[derive(Clone)]
pub struct Cache {
    dir: PathBuf,
    clock: Clock,
}

impl Cache {
    pub fn new(dir: PathBuf, clock: Clock) -> Cache {
        Cache { dir, clock }
    }

    /// `$XDG_CACHE_HOME/toll/pac` (else `~/.cache/toll/pac`; the platform cache dir on macOS
    /// and Windows), with the system clock.
    pub fn default_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        let base = if cfg!(any(target_os = "macos", windows)) {
            dirs::cache_dir()
        } else {
            env("XDG_CACHE_HOME")
                .filter(|v| Path::new(v).is_absolute())
                .map(PathBuf::from)
                .or_else(|| Some(crate::store::home(env)?.join(".cache")))
        };
        base.map(|b| b.join("toll").join("pac"))
    }

    fn now(&self) -> u64 {
        (self.clock)().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    fn paths(&self, url: &Url) -> (PathBuf, PathBuf) {
        let key: String =
            Sha256::digest(url.as_str().as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect();
        (self.dir.join(format!("{key}.pac")), self.dir.join(format!("{key}.json")))
    }

    /// `<sha256 of the location>.code`: the compiled code of the PAC at `loc`, whatever its
    /// source (`toll_pac::Script::compile_cached` checks it belongs to the text it is given).
    fn code_path(&self, loc: &PacLocation) -> PathBuf {
        let key: String =
            Sha256::digest(loc.to_string().as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{key}.code"))
    }

    /// The code kept for the PAC at `loc`, if any.
    pub fn code(&self, loc: &PacLocation) -> Option<Vec<u8>> {
        use std::io::Read;
        let mut bytes = Vec::new();
        let f = std::fs::File::open(self.code_path(loc)).ok()?;
        f.take(MAX_CODE_BYTES as u64 + 1).read_to_end(&mut bytes).ok()?;
        (bytes.len() <= MAX_CODE_BYTES).then_some(bytes)
    }

    /// Keeps `code` for the PAC at `loc` (replacing what was kept), for the next process.
    pub fn keep_code(&self, loc: &PacLocation, code: &[u8]) -> std::io::Result<()> {
        if code.len() > MAX_CODE_BYTES {
            return Ok(());
        }
        crate::statefile::private_dir(&self.dir)?;
        write_atomic(&self.dir, &self.code_path(loc), code)
    }

    fn get(&self, url: &Url) -> Option<(Vec<u8>, Meta)> {
        let (body, meta) = self.paths(url);
        let meta: Meta = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
        Some((std::fs::read(body).ok()?, meta))
    }

    fn put(
        &self,
        url: &Url,
        bytes: Option<&[u8]>,
        validators: Validators,
        fresh_for: Duration,
    ) -> std::io::Result<()> {
        crate::statefile::private_dir(&self.dir)?;
        let (body, meta_path) = self.paths(url);
        if let Some(bytes) = bytes {
            write_atomic(&self.dir, &body, bytes)?;
        }
        let now = self.now();
        let meta =
            Meta { url: redacted(url), validators, checked: now, fresh_until: now + fresh_for.as_secs() };
        write_atomic(&self.dir, &meta_path, &serde_json::to_vec_pretty(&meta)?)
    }
}

fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = tempfile::Builder::new().prefix(".toll-pac.").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// PAC bytes as text: UTF-8, else Latin-1 (what browsers assume without a charset).
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Reads or fetches the PAC at `loc` (see the module docs). `cache` is `None` when there is no
/// cache dir.
pub async fn load(
    loc: &PacLocation,
    fetcher: &impl Fetcher,
    cache: Option<&Cache>,
) -> Result<PacText, RouteError> {
    load_as(loc, fetcher, cache, Revalidate::WhenStale).await
}

/// Whether a cached copy still fresh is asked about anyway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revalidate {
    WhenStale,
    /// The network changed (`toll serve`): the same URL may now give another network's PAC.
    Always,
}

/// [`load`], saying whether a fresh cached copy is revalidated all the same.
pub async fn load_as(
    loc: &PacLocation,
    fetcher: &impl Fetcher,
    cache: Option<&Cache>,
    revalidate: Revalidate,
) -> Result<PacText, RouteError> {
    let fail = |message: String| RouteError::PacFetch { location: loc.to_string(), message };
    let url = match loc {
        PacLocation::Path(p) => {
            let bytes = read_capped(p).map_err(fail)?;
            return Ok(PacText {
                text: text_of(&bytes),
                location: loc.clone(),
                obtained: Obtained::File,
                warning: None,
                fresh_for: None,
            });
        }
        PacLocation::Url(u) => u,
    };
    let done = |bytes: &[u8], obtained, warning, fresh_for| PacText {
        text: text_of(bytes),
        location: loc.clone(),
        obtained,
        warning,
        fresh_for: Some(fresh_for),
    };
    let cached = cache.and_then(|c| c.get(url));
    if let (Some(c), Some((bytes, meta)), Revalidate::WhenStale) = (cache, &cached, revalidate) {
        if meta.fresh_until > c.now() {
            let left = Duration::from_secs(meta.fresh_until - c.now());
            return Ok(done(bytes, Obtained::CachedFresh, None, left));
        }
    }
    let validators = cached.as_ref().map(|(_, m)| m.validators.clone()).unwrap_or_default();
    let fresh = |f: Option<Duration>| f.unwrap_or(DEFAULT_FRESH).min(MAX_FRESH);
    let cache_warning = |r: std::io::Result<()>| {
        r.err().map(|e| {
            format!(
                "cannot write the PAC cache in {}: {e}",
                cache.map(|c| c.dir.display().to_string()).unwrap_or_default()
            )
        })
    };
    match fetcher.get(url, &validators).await {
        Ok(Fetched::Body { bytes, validators, fresh_for }) => {
            if bytes.len() > MAX_PAC_BYTES {
                return Err(fail(format!("it is larger than {} MiB", MAX_PAC_BYTES >> 20)));
            }
            let fresh_for = fresh(fresh_for);
            let warning = cache.and_then(|c| cache_warning(c.put(url, Some(&bytes), validators, fresh_for)));
            Ok(done(&bytes, Obtained::Fetched, warning, fresh_for))
        }
        Ok(Fetched::NotModified { fresh_for }) => match (cache, cached) {
            (Some(c), Some((bytes, meta))) => {
                let fresh_for = fresh(fresh_for);
                let warning = cache_warning(c.put(url, None, meta.validators, fresh_for));
                Ok(done(&bytes, Obtained::Revalidated, warning, fresh_for))
            }
            _ => Err(fail("the server answered 304 Not Modified but there is no cached copy".into())),
        },
        Err(message) => match cached {
            Some((bytes, meta)) => {
                let age = cache.map(|c| c.now().saturating_sub(meta.checked)).unwrap_or(0);
                let warning = format!(
                    "cannot fetch the PAC {loc} ({message}); using the cached copy checked {} ago",
                    ago(age)
                );
                let warning = Some(crate::term::sanitize(&warning));
                Ok(done(&bytes, Obtained::CachedStale, warning, Duration::ZERO))
            }
            None => Err(fail(message)),
        },
    }
}

fn ago(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}

fn read_capped(p: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(p).map_err(|e| format!("cannot read it: {e}"))?;
    let mut bytes = Vec::new();
    f.take(MAX_PAC_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() > MAX_PAC_BYTES {
        return Err(format!("it is larger than {} MiB", MAX_PAC_BYTES >> 20));
    }
    Ok(bytes)
}

/// `max-age=N` → N seconds; `no-cache`/`no-store` → 0; nothing → `None` (the default applies).
pub fn freshness(cache_control: Option<&str>) -> Option<Duration> {
    let cc = cache_control?.to_ascii_lowercase();
    let mut max_age = None;
    for d in cc.split(',').map(str::trim) {
        if d == "no-cache" || d == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(n) = d.strip_prefix("max-age=") {
            max_age = n.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        }
    }
    max_age
}

pub use super::pac_http::{DirectFetcher, FetchOptions};

#[cfg(test)]
#[path = "pac_fetch_tests.rs"]
mod tests;
