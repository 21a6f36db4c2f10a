//! Cookie jars (`-b FILE`, `-c`) and `Set-Cookie` values: a jar read, written and read again
//! holds the same cookies, and nothing a server sends puts a line break into the written jar;
//! a `-b` file of HTTP headers gives cookies that are written, when they have a domain, the same way.
//! (A cookie whose written line is longer than curl reads back, `JAR_LINE_MAX`, is written as
//! curl writes it and skipped when read, as curl skips it: those are left out of the comparison.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::client::cookies::{parse_cookie_file, parse_jar, parse_set_cookie, write_jar, Cookie, JAR_LINE_MAX};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (jar, set) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let key = |c: &Cookie| format!("{c:?}");
    let fits = |c: &Cookie| write_jar(std::slice::from_ref(c)).lines().all(|l| l.len() <= JAR_LINE_MAX);
    let mut cookies = parse_jar(jar);
    cookies.retain(fits);
    let written = write_jar(&cookies);
    // The writer orders the cookies as curl does; the set must be the same.
    let mut again = parse_jar(&written);
    cookies.sort_by_key(key);
    again.sort_by_key(key);
    assert_eq!(again, cookies, "a jar does not survive a write");
    // The same text as a `-b` file that may hold `Set-Cookie:` lines: the cookies with a domain
    // survive a write too; those without one are not written at all.
    let mut from_file: Vec<Cookie> = parse_cookie_file(jar, 1_700_000_000).into_iter().filter(fits).collect();
    let mut back = parse_jar(&write_jar(&from_file));
    from_file.retain(|c| !c.domain.is_empty());
    from_file.sort_by_key(key);
    back.sort_by_key(key);
    assert_eq!(back, from_file, "a -b file's cookies do not survive a write");
    let url = url::Url::parse("http://www.example.com/a/b").unwrap();
    for line in set.lines() {
        if let Some(c) = parse_set_cookie(line, &url, 1_700_000_000).filter(fits) {
            let w = write_jar(std::slice::from_ref(&c));
            assert_eq!(parse_jar(&w).len(), 1, "{c:?} written as {w:?}");
        }
    }
});
