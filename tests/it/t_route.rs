//! `toll::route` against real things: GNOME settings through a real `gsettings` (keyfile
//! backend in a temporary XDG_CONFIG_HOME), a KDE `kioslaverc`, PACs fetched from the test
//! origin (http and https, ETag/304, redirects, a server that went away), and WPAD discovery
//! with a test-only resolver table (no name ever reaches the real resolver).

use crate::origin::{pac_text, Origin};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use toll::route::desktop::{self, gnome, Runner, SystemRunner};
use toll::route::pac_fetch::{self, Cache, DirectFetcher, FetchOptions, Obtained, PacLocation};
use toll::route::wpad::{self, Resolver};
use toll::route::{describe_list, Inputs, Plan, Router, Step};
use url::Url;

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Decides with only a desktop (and optionally WPAD), as a run without flags, variables or
/// settings would.
fn plan_with(
    desktop: &dyn Fn() -> Result<Option<desktop::DesktopProxy>, toll::route::RouteError>,
    wpad_flag: bool,
    wpad: &dyn Fn() -> wpad::Discovery,
) -> Plan {
    let env = |_: &str| None;
    Plan::decide(&Inputs {
        explicit: None,
        pac_flag: None,
        noproxy_flag: None,
        wpad_flag,
        settings_pac: None,
        settings_wpad: None,
        settings_path: None,
        env: &env,
        desktop,
        wpad,
    })
    .unwrap()
}

fn no_wpad() -> wpad::Discovery {
    panic!("WPAD must not be asked")
}

fn route(plan: Plan, url: &str) -> String {
    describe_list(&Router::new(plan, None).unwrap().route(&Url::parse(url).unwrap()).unwrap().entries)
}

const SCHEMA_FILE: &str = "/usr/share/glib-2.0/schemas/gschemas.compiled";

#[test]
fn gnome_settings_through_a_real_gsettings() {
    if !crate::have(
        "gnome_settings_through_a_real_gsettings",
        &[
            "/usr/bin/gsettings",
            SCHEMA_FILE,
            "/usr/share/glib-2.0/schemas/org.gnome.system.proxy.gschema.xml",
        ],
        "libglib2.0-bin gsettings-desktop-schemas",
    ) {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let runner = SystemRunner {
        extra_env: vec![
            ("GSETTINGS_BACKEND".into(), "keyfile".into()),
            ("XDG_CONFIG_HOME".into(), home.path().display().to_string()),
        ],
        timeout: Duration::from_secs(10),
    };
    let set = |schema: &str, key: &str, value: &str| {
        runner
            .run("gsettings", &["set", schema, key, value])
            .unwrap_or_else(|e| panic!("gsettings set: {e}"));
    };
    // Defaults: mode none.
    assert!(gnome::read(&runner).unwrap().is_none());

    set("org.gnome.system.proxy", "mode", "manual");
    set("org.gnome.system.proxy", "use-same-proxy", "false");
    set(
        "org.gnome.system.proxy",
        "ignore-hosts",
        "['localhost', '*.intra.example', '10.0.0.0/8', \"it's.example\"]",
    );
    set("org.gnome.system.proxy.http", "host", "web-proxy.example");
    set("org.gnome.system.proxy.http", "port", "3128");
    set("org.gnome.system.proxy.https", "host", "tls-proxy.example");
    set("org.gnome.system.proxy.https", "port", "3129");
    set("org.gnome.system.proxy.socks", "host", "socks.example");
    set("org.gnome.system.proxy.socks", "port", "1080");
    set("org.gnome.system.proxy.http", "use-authentication", "true");
    set("org.gnome.system.proxy.http", "authentication-user", "alice");
    set("org.gnome.system.proxy.http", "authentication-password", "pa'ss word");
    // The settings really went to the keyfile backend in our temporary config dir.
    let keyfile = std::fs::read_to_string(home.path().join("glib-2.0/settings/keyfile")).unwrap();
    assert!(keyfile.contains("web-proxy.example"), "{keyfile}");

    let read = || gnome::read(&runner).map(Some);
    let plan = plan_with(&read, false, &no_wpad);
    assert_eq!(plan.source.step, Step::Desktop);
    assert_eq!(
        plan.source.to_string(),
        "the manual proxies of GNOME (org.gnome.system.proxy) (desktop settings)"
    );
    assert_eq!(route(plan.clone(), "http://a.example/"), "http://web-proxy.example:3128");
    assert_eq!(route(plan.clone(), "https://a.example/"), "http://tls-proxy.example:3129");
    assert_eq!(route(plan.clone(), "ftp://a.example/"), "socks5h://socks.example:1080");
    assert_eq!(route(plan.clone(), "http://x.intra.example/"), "DIRECT");
    assert_eq!(route(plan.clone(), "http://10.9.8.7/"), "DIRECT");
    assert_eq!(route(plan, "http://it's.example/"), "DIRECT");
    // use-same-proxy (its default): the http proxy for every URL, as in Chrome.
    set("org.gnome.system.proxy", "use-same-proxy", "true");
    let plan = plan_with(&read, false, &no_wpad);
    assert_eq!(route(plan.clone(), "https://a.example/"), "http://web-proxy.example:3128");
    assert_eq!(route(plan, "http://x.intra.example/"), "DIRECT");
    let http = gnome::read(&runner).unwrap().manual.unwrap().http.unwrap();
    assert_eq!(http.user.as_deref(), Some("alice"));
    assert_eq!(http.password.unwrap().expose(), "pa'ss word");

    // Auto with a PAC URL, then auto without one (= WPAD, which needs the opt-in).
    set("org.gnome.system.proxy", "mode", "auto");
    set("org.gnome.system.proxy", "autoconfig-url", "http://pac.corp.example/proxy.pac");
    let plan = plan_with(&read, false, &no_wpad);
    assert_eq!(plan.pac(), Some(&PacLocation::Url(Url::parse("http://pac.corp.example/proxy.pac").unwrap())));
    set("org.gnome.system.proxy", "autoconfig-url", "");
    let plan = plan_with(&read, false, &no_wpad);
    assert_eq!(plan.source.step, Step::Default);
    assert!(plan.notes[0].contains("asks for automatic proxy detection"), "{:?}", plan.notes);
}

#[test]
fn gsettings_missing_is_a_note_not_a_failure() {
    let runner = SystemRunner {
        extra_env: vec![("PATH".into(), "/nonexistent".into())],
        timeout: Duration::from_secs(5),
    };
    let env = |k: &str| (k == "XDG_CURRENT_DESKTOP").then(|| "GNOME".to_string());
    let read = || desktop::read_current(&env, &runner);
    let plan = plan_with(&read, false, &no_wpad);
    assert_eq!(plan.source.step, Step::Default);
    assert!(plan.notes[0].contains("cannot run gsettings"), "{:?}", plan.notes);
}

#[test]
fn kde_kioslaverc_from_xdg_config_home() {
    struct NoCommands;
    impl Runner for NoCommands {
        fn run(&self, program: &str, _: &[&str]) -> Result<String, String> {
            panic!("KDE settings must not run {program}")
        }
    }
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("kioslaverc"),
        "[Proxy Settings]\nProxyType=1\nhttpProxy=http://kde-proxy.example 8080\n\
         httpsProxy=http://kde-proxy.example:8443\nNoProxyFor=.lan.example,192.168.0.0/16\n",
    )
    .unwrap();
    let vars: HashMap<String, String> =
        [("XDG_CURRENT_DESKTOP", "KDE".to_string()), ("XDG_CONFIG_HOME", home.path().display().to_string())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    let env = move |k: &str| vars.get(k).cloned();
    let read = || desktop::read_current(&env, &NoCommands);
    let plan = plan_with(&read, false, &no_wpad);
    assert!(plan.source.what.contains("kioslaverc"), "{}", plan.source);
    assert_eq!(route(plan.clone(), "http://a.example/"), "http://kde-proxy.example:8080");
    assert_eq!(route(plan.clone(), "https://a.example/"), "http://kde-proxy.example:8443");
    assert_eq!(route(plan.clone(), "http://nas.lan.example/"), "DIRECT");
    assert_eq!(route(plan, "http://192.168.1.1/"), "DIRECT");
}

/// A cache with a clock the test moves.
fn cache(dir: &Path) -> (Cache, Arc<AtomicU64>) {
    let t = Arc::new(AtomicU64::new(2_000_000_000));
    let t2 = t.clone();
    (
        Cache::new(
            dir.join("pac"),
            Arc::new(move || UNIX_EPOCH + Duration::from_secs(t2.load(Ordering::SeqCst))),
        ),
        t,
    )
}

fn fetcher(roots: bool, resolve: Vec<(String, SocketAddr)>) -> DirectFetcher {
    let roots = roots.then(|| {
        let pem = std::fs::read(crate::tls::pki().ca_arg()).unwrap();
        vec![reqwest::Certificate::from_pem(&pem).unwrap()]
    });
    DirectFetcher::new(FetchOptions { timeout: Duration::from_secs(5), roots, resolve, doh: None })
}

fn pac_fetch_case(tls: bool) {
    let origin = Origin::start(tls);
    let dir = tempfile::tempdir().unwrap();
    let (cache, clock) = cache(dir.path());
    let f = fetcher(tls, Vec::new());
    let loc = PacLocation::parse(&origin.url("/pac/corp")).unwrap();
    let load = || block(pac_fetch::load(&loc, &f, Some(&cache))).unwrap();

    let first = load();
    assert_eq!((first.obtained, first.text.as_str()), (Obtained::Fetched, pac_text("corp").as_str()));
    assert_eq!(load().obtained, Obtained::CachedFresh);
    assert_eq!(origin.requests_to("/pac/").len(), 1, "a fresh copy is used without asking");
    clock.fetch_add(pac_fetch::DEFAULT_FRESH.as_secs() + 1, Ordering::SeqCst);
    let again = load();
    assert_eq!((again.obtained, again.text.as_str()), (Obtained::Revalidated, pac_text("corp").as_str()));
    let reqs = origin.requests_to("/pac/");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("if-none-match"), Some("\"corp\""));
    assert_eq!(reqs[1].header("if-modified-since"), Some("Tue, 01 Dec 2026 00:00:00 GMT"));

    // Redirects are followed (http(s) only).
    let moved = PacLocation::parse(&origin.url("/redirect?to=/pac/moved")).unwrap();
    assert_eq!(block(pac_fetch::load(&moved, &f, Some(&cache))).unwrap().text, pac_text("moved"));
    // An error status with no cached copy is an error naming the PAC.
    let missing = PacLocation::parse(&origin.url("/status/404")).unwrap();
    let e = block(pac_fetch::load(&missing, &f, Some(&cache))).unwrap_err().to_string();
    assert!(e.contains("/status/404") && e.contains("answered 404"), "{e}");

    // The server goes away: the cached copy, with a warning.
    let port = origin.port;
    drop(origin);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the origin did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    clock.fetch_add(pac_fetch::DEFAULT_FRESH.as_secs() + 1, Ordering::SeqCst);
    let stale = load();
    assert_eq!((stale.obtained, stale.text.as_str()), (Obtained::CachedStale, pac_text("corp").as_str()));
    let w = stale.warning.unwrap();
    assert!(w.contains("cannot fetch the PAC") && w.contains("using the cached copy"), "{w}");
}

#[test]
fn pac_over_http_with_etag_304_and_a_cached_copy_when_the_server_is_gone() {
    pac_fetch_case(false);
}

#[test]
fn pac_over_https_with_etag_304_and_a_cached_copy_when_the_server_is_gone() {
    pac_fetch_case(true);
}

/// Test-only DNS: only the names in the table exist.
struct Table(Vec<&'static str>);
impl Resolver for Table {
    fn resolves(&self, host: &str) -> bool {
        self.0.contains(&host)
    }
}

#[test]
fn wpad_with_a_test_only_resolver_fetches_the_pac_on_loopback() {
    let origin = Origin::http();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("resolv.conf");
    std::fs::write(&conf, "nameserver 192.0.2.1\nsearch eng.corp.example\n").unwrap();
    let table = Table(vec!["wpad.corp.example", "wpad.example"]);
    let discover = || wpad::discover(&conf, &table);
    let found = discover();
    assert_eq!(found.tried, ["http://wpad.eng.corp.example/wpad.dat", "http://wpad.corp.example/wpad.dat"]);

    let none = || Ok(None);
    let plan = plan_with(&none, true, &discover);
    assert_eq!(plan.source.step, Step::Wpad);
    let Some(PacLocation::Url(url)) = plan.pac().cloned() else { panic!("{plan:?}") };
    assert_eq!(url.as_str(), "http://wpad.corp.example/wpad.dat");
    // The test-only name table maps the WPAD host to the loopback origin.
    let f =
        fetcher(false, vec![("wpad.corp.example".into(), SocketAddr::from(([127, 0, 0, 1], origin.port)))]);
    let text = block(pac_fetch::load(&PacLocation::Url(url), &f, None)).unwrap();
    assert_eq!(text.text, pac_text("wpad"));
    let req = &origin.requests_to("/wpad.dat")[0];
    assert_eq!(req.header("host"), Some("wpad.corp.example"));
    // Without the opt-in, nothing is looked up.
    let plan = plan_with(&none, false, &no_wpad);
    assert_eq!(plan.source.step, Step::Default);
}
