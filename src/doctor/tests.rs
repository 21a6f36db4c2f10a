//! Unit tests for the doctor's pure parts (the steps against real proxies are in tests/it).

use super::*;

#[test]
fn summary_takes_the_first_problem_and_links_a_step_1_warning() {
    let url = url::Url::parse("https://example.com/").unwrap();
    let mut s1 = Step::new(1, "configuration").ok("goes through a proxy");
    s1.note(Status::Warning, "https_proxy and HTTPS_PROXY differ", Some("unset HTTPS_PROXY".into()));
    s1.settle();
    let s2 = Step::new(2, "reachability").problem("refused", Exit::ProxyUnreachable, "check the port");
    let s4 = Step::new(4, "credentials").problem("rejected", Exit::AuthRejected, "toll auth login p:1");
    let sum = summarize(&[s1, s2, s4], &url);
    assert_eq!(sum.exit_code, 5);
    assert_eq!(sum.fix.as_deref(), Some("check the port"));
    assert_eq!(sum.also.as_deref(), Some("unset HTTPS_PROXY"));
    assert!(!sum.fetched);
}

#[test]
fn no_problem_means_exit_0_even_with_warnings() {
    let url = url::Url::parse("https://example.com/").unwrap();
    let s = Step::new(1, "configuration").warning("no proxy is set", Some("export https_proxy=…".into()));
    let sum = summarize(&[s, Step::new(5, "destination").ok("200")], &url);
    assert_eq!((sum.exit_code, sum.fetched, sum.status), (0, true, Status::Warning));
    assert_eq!(sum.fix.as_deref(), Some("export https_proxy=…"));
}

#[test]
fn urls_lose_their_password() {
    let url = url::Url::parse("https://alice:s3cret@example.com:8443/x?y=1").unwrap();
    assert_eq!(safe_url(&url), "https://alice:***@example.com:8443/x?y=1");
    assert_eq!(destination(&url), "example.com:8443");
    assert_eq!(destination(&url::Url::parse("https://example.com/").unwrap()), "example.com");
}

#[test]
fn durations_have_one_form() {
    assert_eq!(show_ms(Duration::from_micros(1234)), "1.2 ms");
    assert_eq!(show_ms(Duration::from_secs(2)), "2000.0 ms");
}
