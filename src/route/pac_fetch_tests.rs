//! Unit tests for `crate::route::pac_fetch` with a fake server and clock (the real
//! [`DirectFetcher`] is tested against the test origin in `tests/it/t_route.rs`).

use super::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A fake PAC server: answers with `body` and an ETag of its version, 304 when the client's
/// ETag matches, or fails when `down`.
#[derive(Default)]
struct FakeServer {
    body: Mutex<String>,
    version: AtomicU64,
    down: Mutex<Option<String>>,
    max_age: Mutex<Option<Duration>>,
    seen: Mutex<Vec<Validators>>,
}

impl Fetcher for FakeServer {
    fn get(&self, _: &Url, v: &Validators) -> impl Future<Output = Result<Fetched, String>> + Send {
        self.seen.lock().unwrap().push(v.clone());
        let etag = format!("\"v{}\"", self.version.load(Ordering::SeqCst));
        let fresh_for = *self.max_age.lock().unwrap();
        let r = match self.down.lock().unwrap().clone() {
            Some(e) => Err(e),
            None if v.etag.as_deref() == Some(etag.as_str()) => Ok(Fetched::NotModified { fresh_for }),
            None => Ok(Fetched::Body {
                bytes: self.body.lock().unwrap().as_bytes().to_vec(),
                validators: Validators { etag: Some(etag), last_modified: None },
                fresh_for,
            }),
        };
        std::future::ready(r)
    }
}

fn block<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

fn setup() -> (tempfile::TempDir, Cache, Arc<AtomicU64>, FakeServer, PacLocation) {
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(AtomicU64::new(1_000_000));
    let t2 = t.clone();
    let cache = Cache::new(
        dir.path().join("pac"),
        Arc::new(move || UNIX_EPOCH + Duration::from_secs(t2.load(Ordering::SeqCst))),
    );
    let server = FakeServer::default();
    *server.body.lock().unwrap() = "function FindProxyForURL(u, h) { return \"DIRECT\"; }".into();
    (dir, cache, t, server, PacLocation::parse("http://pac.example/proxy.pac").unwrap())
}

#[test]
fn fetches_then_uses_the_fresh_copy_then_revalidates() {
    let (_d, cache, t, server, loc) = setup();
    let first = block(load(&loc, &server, Some(&cache))).unwrap();
    assert_eq!(first.obtained, Obtained::Fetched);
    assert!(first.text.contains("FindProxyForURL") && first.warning.is_none());
    // Fresh: no request at all.
    assert_eq!(block(load(&loc, &server, Some(&cache))).unwrap().obtained, Obtained::CachedFresh);
    assert_eq!(server.seen.lock().unwrap().len(), 1);
    // Stale: revalidated with the ETag, 304 keeps the copy.
    t.fetch_add(DEFAULT_FRESH.as_secs(), Ordering::SeqCst);
    assert_eq!(block(load(&loc, &server, Some(&cache))).unwrap().obtained, Obtained::Revalidated);
    assert_eq!(server.seen.lock().unwrap()[1].etag.as_deref(), Some("\"v0\""));
    // The revalidation restarted the freshness.
    assert_eq!(block(load(&loc, &server, Some(&cache))).unwrap().obtained, Obtained::CachedFresh);
    // A new version replaces the copy.
    t.fetch_add(DEFAULT_FRESH.as_secs(), Ordering::SeqCst);
    server.version.store(1, Ordering::SeqCst);
    *server.body.lock().unwrap() = "// v1".into();
    let new = block(load(&loc, &server, Some(&cache))).unwrap();
    assert_eq!((new.obtained, new.text.as_str()), (Obtained::Fetched, "// v1"));
}

#[test]
fn an_unreachable_server_uses_the_cache_with_a_warning_or_fails_without_one() {
    let (_d, cache, t, server, loc) = setup();
    *server.down.lock().unwrap() = Some("connection refused".into());
    let e = block(load(&loc, &server, Some(&cache))).unwrap_err().to_string();
    assert_eq!(e, "cannot get the PAC http://pac.example/proxy.pac: connection refused");
    *server.down.lock().unwrap() = None;
    block(load(&loc, &server, Some(&cache))).unwrap();
    t.fetch_add(3600, Ordering::SeqCst);
    *server.down.lock().unwrap() = Some("timed out".into());
    let stale = block(load(&loc, &server, Some(&cache))).unwrap();
    assert_eq!(stale.obtained, Obtained::CachedStale);
    assert!(stale.text.contains("FindProxyForURL"));
    let w = stale.warning.unwrap();
    assert!(w.contains("(timed out); using the cached copy checked 60 min ago"), "{w}");
    // Without a cache dir there is nothing to fall back on.
    assert!(block(load(&loc, &server, None)).is_err());
}

#[test]
fn max_age_and_no_cache_set_the_freshness() {
    let (_d, cache, t, server, loc) = setup();
    *server.max_age.lock().unwrap() = Some(Duration::ZERO);
    block(load(&loc, &server, Some(&cache))).unwrap();
    assert_eq!(block(load(&loc, &server, Some(&cache))).unwrap().obtained, Obtained::Revalidated);
    *server.max_age.lock().unwrap() = Some(Duration::from_secs(10 * 24 * 3600));
    block(load(&loc, &server, Some(&cache))).unwrap();
    t.fetch_add(MAX_FRESH.as_secs() - 1, Ordering::SeqCst);
    assert_eq!(block(load(&loc, &server, Some(&cache))).unwrap().obtained, Obtained::CachedFresh);
    t.fetch_add(2, Ordering::SeqCst);
    assert_eq!(
        block(load(&loc, &server, Some(&cache))).unwrap().obtained,
        Obtained::Revalidated,
        "capped at a day"
    );
    assert_eq!(freshness(Some("public, max-age=600")), Some(Duration::from_secs(600)));
    assert_eq!(freshness(Some("max-age=600, no-cache")), Some(Duration::ZERO));
    assert_eq!(freshness(Some("private")), None);
    assert_eq!(freshness(None), None);
}

/// What the copy's remaining freshness is (when `toll serve` asks again), and that a network
/// change asks about a copy still fresh.
#[test]
fn each_copy_says_how_long_it_stays_fresh_and_always_revalidates_when_told() {
    let (_d, cache, t, server, loc) = setup();
    *server.max_age.lock().unwrap() = Some(Duration::from_secs(600));
    let first = block(load(&loc, &server, Some(&cache))).unwrap();
    assert_eq!(first.fresh_for, Some(Duration::from_secs(600)));
    t.fetch_add(200, Ordering::SeqCst);
    let cached = block(load(&loc, &server, Some(&cache))).unwrap();
    assert_eq!((cached.obtained, cached.fresh_for), (Obtained::CachedFresh, Some(Duration::from_secs(400))));
    let asked = block(load_as(&loc, &server, Some(&cache), Revalidate::Always)).unwrap();
    assert_eq!((asked.obtained, asked.fresh_for), (Obtained::Revalidated, Some(Duration::from_secs(600))));
    assert_eq!(server.seen.lock().unwrap().len(), 2);
    // Without a max-age, the default; a copy used because the server failed is stale already.
    *server.max_age.lock().unwrap() = None;
    *server.down.lock().unwrap() = Some("timed out".into());
    let stale = block(load_as(&loc, &server, Some(&cache), Revalidate::Always)).unwrap();
    assert_eq!((stale.obtained, stale.fresh_for), (Obtained::CachedStale, Some(Duration::ZERO)));
    *server.down.lock().unwrap() = None;
    let again = block(load_as(&loc, &server, Some(&cache), Revalidate::Always)).unwrap();
    assert_eq!(again.fresh_for, Some(DEFAULT_FRESH));
    let file = tempfile::NamedTempFile::new().unwrap();
    let text = block(load(&PacLocation::Path(file.path().into()), &server, None)).unwrap();
    assert_eq!(text.fresh_for, None);
}

#[test]
fn files_paths_and_locations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.pac");
    std::fs::write(&path, b"// caf\xe9 in Latin-1\n").unwrap();
    let server = FakeServer::default();
    let by_path = block(load(&PacLocation::parse(path.to_str().unwrap()).unwrap(), &server, None)).unwrap();
    assert_eq!((by_path.obtained, by_path.text.as_str()), (Obtained::File, "// café in Latin-1\n"));
    let file_url = format!("file://{}", path.display());
    assert_eq!(PacLocation::parse(&file_url).unwrap(), PacLocation::Path(path.clone()));
    assert!(server.seen.lock().unwrap().is_empty(), "files never touch the network");
    let missing = block(load(&PacLocation::Path(dir.path().join("nope.pac")), &server, None)).unwrap_err();
    assert!(missing.to_string().contains("nope.pac: cannot read it"), "{missing}");
    assert!(PacLocation::parse("ftp://x/p.pac").is_err());
    let one_slash = format!("file:{}", path.display());
    assert_eq!(PacLocation::parse(&one_slash).unwrap(), PacLocation::Path(path.clone()), "file:/path");
    assert!(PacLocation::parse("  ").is_err());
    let secret = PacLocation::parse("http://u:hunter2@pac.example/p.pac").unwrap();
    assert_eq!(secret.to_string(), "http://u:***@pac.example/p.pac");
    let big = dir.path().join("big.pac");
    std::fs::write(&big, vec![b'/'; MAX_PAC_BYTES + 1]).unwrap();
    assert!(block(load(&PacLocation::Path(big), &server, None))
        .unwrap_err()
        .to_string()
        .contains("larger than 8 MiB"));
}

#[test]
fn cache_dir_follows_xdg() {
    if cfg!(any(target_os = "macos", windows)) {
        return;
    }
    let env = |k: &str| match k {
        "XDG_CACHE_HOME" => Some("relative".to_string()),
        "HOME" => Some("/".to_string()),
        _ => None,
    };
    assert_eq!(Cache::default_dir(&env).unwrap(), Path::new("/.cache/toll/pac"));
    let abs = |k: &str| (k == "XDG_CACHE_HOME").then(|| "/xdg/cache".to_string());
    assert_eq!(Cache::default_dir(&abs).unwrap(), Path::new("/xdg/cache/toll/pac"));
}

#[test]
fn compiled_code_is_kept_per_location_private_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("pac"), Arc::new(SystemTime::now));
    let a = PacLocation::parse("http://wpad.corp/proxy.pac").unwrap();
    let b = PacLocation::parse("/etc/proxy.pac").unwrap();
    assert_eq!(cache.code(&a), None);
    cache.keep_code(&a, b"first").unwrap();
    cache.keep_code(&b, b"other").unwrap();
    cache.keep_code(&a, b"second").unwrap();
    assert_eq!(cache.code(&a).as_deref(), Some(&b"second"[..]));
    assert_eq!(cache.code(&b).as_deref(), Some(&b"other"[..]));
    let files: Vec<_> = std::fs::read_dir(dir.path().join("pac")).unwrap().map(|e| e.unwrap()).collect();
    assert_eq!(files.len(), 2, "one file per PAC, no temporary left");
    #[cfg(unix)]
    for f in files {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o077, 0, "{:?}", f.path());
    }
}
