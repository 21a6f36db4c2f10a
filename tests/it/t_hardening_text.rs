//! Hardening of what toll prints and parses (issue 9, text items): passwords in origin URLs
//! never printed, non-ASCII realms, non-UTF-8 proxy variables, ambiguous proxy URLs, clap errors
//! that would echo secrets, header values with CR/LF, the `-U` password hidden from
//! /proc/PID/cmdline.

use crate::fakeproxy::{self, FakeProxy};
use crate::origin::Origin;
use crate::run::toll;

const SECRET: &str = "s3cretPw";

/// `http://user:SECRET@host:port/path` on `origin`.
fn url_with_password(origin: &Origin, path: &str) -> String {
    format!("http://user:{SECRET}@{}{path}", origin.authority())
}

#[test]
fn origin_url_password_is_not_shown_by_verbose() {
    let origin = Origin::http();
    let out = toll(["-v", "-sS", &url_with_password(&origin, "/text")]).run();
    out.assert_ok().assert_not_leaked("the origin URL's password", SECRET);
    assert!(out.stderr.contains("user:***@"), "the URL is shown, masked:\n{}", out.describe());

    // Through a proxy too ("goes through proxy", the request line).
    let proxy = FakeProxy::start(fakeproxy::open());
    let out = toll(["-v", "-sS", "-x", &proxy.url(), &url_with_password(&origin, "/text")]).run();
    out.assert_ok().assert_not_leaked("the origin URL's password", SECRET);
}

#[test]
fn origin_url_password_is_not_in_the_redirect_limit_error() {
    let origin = Origin::http();
    let url = url_with_password(&origin, "/redirect?to=/text");
    let out = toll(["-sS", "-L", "--max-redirs", "0", &url]).run();
    out.assert_code(47).assert_error_message().assert_not_leaked("the origin URL's password", SECRET);
    let out = toll(["-v", "-sS", "-L", &url]).run();
    out.assert_ok().assert_not_leaked("the origin URL's password", SECRET);
    assert!(out.stderr.contains("following the redirect"), "{}", out.describe());
}
