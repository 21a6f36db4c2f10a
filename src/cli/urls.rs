//! The URLs of a transfer command line: each URL argument (`--url` and the positional ones, in
//! the order given) paired with its `-o`/`-O` and its `-T`, expanded by curl's globbing into the
//! URLs (and upload files) it stands for, and each parsed as curl takes it (no `scheme://` means
//! `--proto-default`'s, else http).

use super::glob;
use super::transfer_opts::OutputChoice;
use super::UsageError;
use crate::proxy_env;
use std::path::PathBuf;

/// One URL to fetch: the URL as written (after globbing), its glob values for `#N` in `-o`, and
/// the output option that goes with its URL argument.
#[derive(Debug)]
pub struct UrlItem {
    pub raw: String,
    /// The URL argument it came from, counting from 0 (`-w %{urlnum}`).
    pub number: u64,
    pub glob_values: Vec<String>,
    pub output: Option<OutputChoice>,
    /// The file `-T` uploads to this URL, if any.
    pub upload: Option<PathBuf>,
}

/// Every URL of the command line, in curl's order: the URL arguments in turn, each one's glob
/// expansions in curl's order; all the URLs of one argument share its output option (so `-o`
/// needs `#N` to give each its own file, as in curl). The k-th `-T` goes with the k-th URL
/// argument (an empty one uploads nothing); a glob in it stands for several files, each
/// uploaded to every URL of the argument, the files in the outer loop as curl has them.
pub fn url_items(
    raw_urls: &[String],
    outputs: Vec<Option<OutputChoice>>,
    uploads: &[PathBuf],
    globoff: bool,
) -> Result<Vec<UrlItem>, UsageError> {
    let mut items = Vec::new();
    let pairs = raw_urls.iter().zip(outputs.into_iter().chain(std::iter::repeat(None)));
    for (number, (raw, output)) in (0u64..).zip(pairs) {
        let urls = glob::glob_urls(raw, globoff)?;
        let files = match uploads.get(number as usize).filter(|f| !f.as_os_str().is_empty()) {
            None => vec![None],
            Some(file) => upload_files(file, globoff)?.into_iter().map(Some).collect(),
        };
        for upload in files {
            for e in &urls {
                items.push(UrlItem {
                    raw: e.url.clone(),
                    number,
                    glob_values: e.values.clone(),
                    output: output.clone(),
                    upload: upload.clone(),
                });
                if items.len() as u64 > glob::MAX_URLS {
                    return Err(UsageError::Curl(format!(
                        "the command line's URLs expand to more than {} transfers: run toll several times",
                        glob::MAX_URLS
                    )));
                }
            }
        }
    }
    Ok(items)
}

/// The files a `-T` argument stands for: curl globs it as it globs URLs (unless `-g`); a name
/// that is not UTF-8 is taken as it is.
fn upload_files(file: &std::path::Path, globoff: bool) -> Result<Vec<PathBuf>, UsageError> {
    match file.to_str() {
        Some(name) if !globoff => match glob::expand(name) {
            Ok(all) => Ok(all.into_iter().map(|e| PathBuf::from(e.url)).collect()),
            Err(e) => Err(UsageError::Curl(format!("-T '{name}': {e}"))),
        },
        _ => Ok(vec![file.to_path_buf()]),
    }
}

/// A transfer's URL: as [`parse_request_url`], but a URL with a scheme toll does not fetch is
/// kept (when it parses) for the client to refuse when its turn comes (exit 1), as curl fails
/// only that transfer and goes on with the command line's other URLs.
pub(super) fn parse_transfer_url(raw: &str, default_scheme: &str) -> Result<url::Url, UsageError> {
    match parse_request_url(raw, default_scheme) {
        Err(e @ UsageError::UnsupportedScheme { .. }) => {
            let full =
                if scheme_of(raw).is_some() { raw.to_string() } else { format!("{default_scheme}://{raw}") };
            url::Url::parse(&full).map_err(|_| e)
        }
        other => other,
    }
}

/// The scheme a URL names, as curl's tool finds one (`Curl_is_absolute_url` with a guessed
/// scheme): letters, digits, `+-.` and then `:/` — so `http:/h/x` and `http:///h/x` are http
/// URLs as in curl (toll took `http:` for a host name), while `h:8080/x` has none.
fn scheme_of(raw: &str) -> Option<&str> {
    let i = raw.find(":/")?;
    let s = &raw[..i];
    (s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
    .then_some(s)
}

/// The first ASCII control character of `text` (a line break, a tab, DEL, …), named for a
/// message, if it holds one: no URL can (curl refuses it, exit 3), and the URL parser would drop
/// a tab or a line break without a word. Also for what `-G` and `--url-query` put in the query.
pub(super) fn control_character(text: &str) -> Option<String> {
    text.chars().find(char::is_ascii_control).map(|c| match c {
        '\r' => "a carriage return (a Windows line end?)".to_string(),
        '\n' => "a line break".to_string(),
        '\t' => "a tab".to_string(),
        c => format!("the control character {:#04x}", u32::from(c)),
    })
}

/// The URL as curl takes it: without `scheme://`, `default_scheme://` (http, or
/// `--proto-default`'s) is assumed.
pub(super) fn parse_request_url(raw: &str, default_scheme: &str) -> Result<url::Url, UsageError> {
    // The URL parser would drop a tab or a line break and trim the ends without a word (a URL
    // read from a file with Windows line ends keeps its `\r`), so another URL than the one
    // given would be fetched: refused, as curl refuses them (exit 3 there).
    let refused = |reason: &str| UsageError::InvalidUrl {
        url: proxy_env::redact_userinfo(raw),
        reason: reason.to_string(),
    };
    if let Some(what) = control_character(raw) {
        return Err(refused(&format!("it holds {what}, which a URL cannot hold")));
    }
    if raw.starts_with(' ') || raw.ends_with(' ') {
        return Err(refused("it starts or ends with a space (a URL holds one as %20)"));
    }
    let scheme = scheme_of(raw);
    if let Some(s) = scheme {
        if !s.eq_ignore_ascii_case("http") && !s.eq_ignore_ascii_case("https") {
            return Err(UsageError::UnsupportedScheme {
                url: proxy_env::redact_userinfo(raw),
                scheme: s.to_ascii_lowercase(),
            });
        }
    }
    if scheme.is_none() && default_scheme != "http" && default_scheme != "https" {
        return Err(UsageError::UnsupportedScheme {
            url: proxy_env::redact_userinfo(raw),
            scheme: default_scheme.to_string(),
        });
    }
    let full = if scheme.is_some() { raw.to_string() } else { format!("{default_scheme}://{raw}") };
    let invalid = |reason: String| UsageError::InvalidUrl { url: proxy_env::redact_userinfo(raw), reason };
    let url = url::Url::parse(&full).map_err(|e| invalid(e.to_string()))?;
    if let Some(c) = crate::request_target::refused_host_char(&url) {
        return Err(invalid(format!("a host name cannot contain {c:?}")));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(p: &str) -> Option<OutputChoice> {
        Some(OutputChoice::File(PathBuf::from(p)))
    }

    #[test]
    fn each_url_argument_keeps_its_output_for_all_its_expansions() {
        let raw = vec!["h/{a,b}".to_string(), "h/c".to_string(), "h/[1-2]".to_string()];
        let items = url_items(&raw, vec![file("x_#1"), Some(OutputChoice::Remote)], &[], false).unwrap();
        let got: Vec<_> = items.iter().map(|i| (i.raw.as_str(), i.output.clone())).collect();
        assert_eq!(
            got,
            [
                ("h/a", file("x_#1")),
                ("h/b", file("x_#1")),
                ("h/c", Some(OutputChoice::Remote)),
                ("h/1", None),
                ("h/2", None)
            ]
        );
        assert_eq!(items[1].glob_values, ["b"]);
        assert!(items[2].glob_values.is_empty());
    }

    /// The URL parser would drop them or trim them without a word (and fetch another URL than
    /// the one given); curl 7.88 refuses them all (exit 3), a space inside it too (toll sends
    /// that one as `%20`, as browsers do).
    #[test]
    fn control_characters_and_spaces_at_the_ends_are_refused() {
        for bad in
            ["http://h/x\r", "http://h/x\n", "http://h/a\nb", "http://h/a\tb", "h/a\u{1}b", "http://h/\u{7f}"]
        {
            let err = parse_request_url(bad, "http").unwrap_err();
            assert!(
                matches!(&err, UsageError::InvalidUrl { reason, .. } if reason.starts_with("it holds ")),
                "{bad:?}: {err}"
            );
        }
        for bad in [" http://h/", "http://h/ ", " h/x"] {
            let err = parse_request_url(bad, "http").unwrap_err();
            assert!(err.to_string().contains("starts or ends with a space"), "{bad:?}: {err}");
        }
        let e = parse_request_url("http://u:hunter2@h/\r", "http").unwrap_err().to_string();
        assert!(!e.contains("hunter2") && e.contains("carriage return"), "{e}");
        assert_eq!(parse_request_url("http://h/a b", "http").unwrap().path(), "/a%20b");
    }

    #[test]
    fn host_names_curl_refuses_are_refused() {
        for bad in ["ht!tp://x", "http://a!b/", "http://a%21b/", "a*b.example", "http://a(b)/", "http://a$b/"]
        {
            let err = parse_request_url(bad, "http").unwrap_err();
            assert!(
                matches!(&err, UsageError::InvalidUrl { reason, .. } if reason.starts_with("a host name cannot")),
                "{bad}: {err:?}"
            );
        }
        for good in ["http://a_b.example/", "http://xn--bcher-kva.example/", "http://B\u{fc}cher.example/x!y"]
        {
            parse_request_url(good, "http").unwrap();
        }
    }

    #[test]
    fn globoff_takes_the_url_literally() {
        let uploads = [PathBuf::from("f{1,2}")];
        let items = url_items(&["h/{a,b}[1-2]".to_string()], vec![], &uploads, true).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].raw, "h/{a,b}[1-2]");
        assert_eq!(items[0].upload, Some(PathBuf::from("f{1,2}")));
    }

    #[test]
    fn each_upload_goes_with_its_url_argument_and_its_files_are_globbed() {
        let raw: Vec<String> = ["h/{x,y}/", "h/b", "h/c", "h/d"].map(String::from).to_vec();
        let uploads = ["f{1,2}", "g[1-1]", ""].map(PathBuf::from);
        let items = url_items(&raw, vec![], &uploads, false).unwrap();
        let got: Vec<_> = items
            .iter()
            .map(|i| (i.raw.as_str(), i.number, i.upload.as_ref().and_then(|p| p.to_str())))
            .collect();
        assert_eq!(
            got,
            [
                ("h/x/", 0, Some("f1")),
                ("h/y/", 0, Some("f1")),
                ("h/x/", 0, Some("f2")),
                ("h/y/", 0, Some("f2")),
                ("h/b", 1, Some("g1")),
                ("h/c", 2, None),
                ("h/d", 3, None)
            ]
        );
        assert!(url_items(&raw, vec![], &[PathBuf::from("f[1-")], false).is_err());
    }

    #[test]
    fn the_whole_command_line_is_capped() {
        let raw = vec!["h/[1-60000]".to_string(), "h/[1-60000]".to_string()];
        assert!(url_items(&raw, vec![], &[], false).is_err());
        let one = vec!["h/[1-1000]".to_string()];
        assert!(url_items(&one, vec![], &[PathBuf::from("f[1-1000]")], false).is_err(), "files × URLs");
    }

    #[test]
    fn schemes_as_curl_takes_them() {
        assert_eq!(parse_request_url("h:1/x", "http").unwrap().as_str(), "http://h:1/x");
        assert_eq!(parse_request_url("h/x", "https").unwrap().as_str(), "https://h/x");
        for one_to_three in ["http:/h/x", "HTTP:/h/x", "http:///h/x"] {
            assert_eq!(
                parse_request_url(one_to_three, "http").unwrap().as_str(),
                "http://h/x",
                "{one_to_three}"
            );
        }
        assert_eq!(parse_request_url("h:8080/x", "http").unwrap().as_str(), "http://h:8080/x");
        assert!(matches!(parse_request_url("h:/x", "http"), Err(UsageError::UnsupportedScheme { .. })));
        assert!(matches!(parse_request_url("ftp://h/", "http"), Err(UsageError::UnsupportedScheme { .. })));
        assert!(matches!(parse_request_url("h/", "ftp"), Err(UsageError::UnsupportedScheme { .. })));
        // A transfer keeps it for the client to refuse in its turn.
        assert_eq!(parse_transfer_url("ftp://h/x", "http").unwrap().scheme(), "ftp");
        assert_eq!(parse_transfer_url("h/x", "gopher").unwrap().as_str(), "gopher://h/x");
        assert!(matches!(parse_transfer_url("ftp://[x/", "http"), Err(UsageError::UnsupportedScheme { .. })));
        assert_eq!(
            UsageError::UnsupportedScheme { url: "x".into(), scheme: "ftp".into() }.exit(),
            crate::error::Exit::Unsupported
        );
        assert_eq!(UsageError::MissingUrl.exit(), crate::error::Exit::Usage);
    }
}
