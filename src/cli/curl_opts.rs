//! clap arguments for the curl options added for issue 11 (`-w`, `-u` and the origin
//! authentication flags), flattened into `cli.rs`'s argument groups, and their conversion into
//! the plain `config` types. Kept apart so `cli.rs` stays small.

use super::ProxyUser;
use super::Seconds;
use crate::auth::{Scheme, SchemeSet};
use crate::config::{OriginAuth, RetryConfig, WriteOut};
use clap::Args;

/// Output options from curl (flattened into the Output group).
#[derive(Args, Debug, Clone, Default)]
pub struct CurlOutputArgs {
    /// After the transfer, print FORMAT: %{http_code}, %{url_effective}, %{time_total}, … as curl.
    ///
    /// @FILE reads the format from a file, @- from standard input. Variables: http_code
    /// (response_code), http_connect, http_version, method, scheme, url, url_effective,
    /// redirect_url, num_redirects, num_headers, content_type, remote_ip, remote_port,
    /// size_download, size_upload, size_header, speed_download, speed_upload, time_namelookup,
    /// time_connect, time_appconnect, time_pretransfer, time_starttransfer, time_redirect,
    /// time_total, filename_effective, referer, exitcode, errormsg, urlnum, ssl_verify_result;
    /// %header{NAME} a response header; %{json} all of them; %{stderr} and %{stdout} switch the
    /// stream; %{onerror} ends the output unless the transfer failed. \n, \r, \t and %% as in
    /// curl.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,
}

impl CurlOutputArgs {
    pub fn write_out(&self) -> Option<WriteOut> {
        self.write_out.as_deref().map(parse_write_out)
    }
}

/// `-w` values as curl reads them: `@-` standard input, `@FILE` a file, else the format.
pub fn parse_write_out(s: &str) -> WriteOut {
    match s.strip_prefix('@') {
        Some("-") => WriteOut::Stdin,
        Some(path) if !path.is_empty() => WriteOut::File(path.into()),
        _ => WriteOut::Inline(s.to_string()),
    }
}

/// Origin authentication options from curl (flattened into the Request group).
#[derive(Args, Debug, Clone, Default)]
pub struct CurlAuthArgs {
    /// User name and password for the server (not the proxy: that is -U).
    ///
    /// Split at the first ':'. Without ':PASSWORD' toll asks for it on the terminal, as curl
    /// does. Sent only to the URL's host (scheme, host and port): not after a redirect elsewhere
    /// unless --location-trusted.
    #[arg(short = 'u', long = "user", value_name = "USER[:PASSWORD]")]
    pub user: Option<ProxyUser>,

    /// Answer the server with Basic authentication, sent with the first request (the default).
    #[arg(long, overrides_with_all = ["digest", "ntlm", "negotiate", "anyauth"])]
    pub basic: bool,

    /// Answer the server's 401 with Digest authentication.
    #[arg(long, overrides_with_all = ["basic", "ntlm", "negotiate", "anyauth"])]
    pub digest: bool,

    /// Answer the server's 401 with NTLM (v2) authentication.
    #[arg(long, overrides_with_all = ["basic", "digest", "negotiate", "anyauth"])]
    pub ntlm: bool,

    /// Answer the server's 401 with Negotiate (Kerberos; use -u : to need no password).
    #[arg(long, overrides_with_all = ["basic", "digest", "ntlm", "anyauth"])]
    pub negotiate: bool,

    /// Answer the server's 401 with the strongest scheme it offers.
    #[arg(long, overrides_with_all = ["basic", "digest", "ntlm", "negotiate"])]
    pub anyauth: bool,

    /// With -L, send the -u credentials to every host redirected to (dangerous).
    #[arg(long)]
    pub location_trusted: bool,

    /// Retry a transient failure up to N times: a timeout, or HTTP 408, 429, 500, 502, 503, 504.
    ///
    /// Waits 1 s, then twice as long each time (or Retry-After, or --retry-delay). Rejected
    /// credentials are never retried.
    #[arg(long, value_name = "N")]
    pub retry: Option<u32>,

    /// Wait this long between retries instead of the backoff (0: the backoff).
    #[arg(long, value_name = "SECONDS")]
    pub retry_delay: Option<Seconds>,

    /// Retry only while less than this much time has passed since the first attempt (0: no limit).
    #[arg(long, value_name = "SECONDS")]
    pub retry_max_time: Option<Seconds>,

    /// With --retry, retry any error, not only transient ones (rejected credentials and usage
    /// errors excepted).
    #[arg(long)]
    pub retry_all_errors: bool,

    /// With --retry, a refused connection counts as transient.
    #[arg(long)]
    pub retry_connrefused: bool,
}

impl CurlAuthArgs {
    /// The origin credentials, if `-u` was given.
    pub fn origin_auth(&self) -> Option<OriginAuth> {
        let ProxyUser { user, password } = self.user.clone()?;
        let (schemes, preemptive_basic) = if self.digest {
            (SchemeSet::only(Scheme::Digest), false)
        } else if self.ntlm {
            (SchemeSet::only(Scheme::Ntlm), false)
        } else if self.negotiate {
            (SchemeSet::only(Scheme::Negotiate), false)
        } else if self.anyauth {
            (SchemeSet::ANY, false)
        } else {
            (SchemeSet::only(Scheme::Basic), true)
        };
        Some(OriginAuth { user, password, schemes, preemptive_basic, trusted: self.location_trusted })
    }

    pub fn retry(&self) -> RetryConfig {
        let nonzero = |s: Option<Seconds>| s.map(|s| s.0).filter(|d| !d.is_zero());
        RetryConfig {
            retries: self.retry.unwrap_or(0),
            delay: nonzero(self.retry_delay),
            max_time: nonzero(self.retry_max_time),
            all_errors: self.retry_all_errors,
            connrefused: self.retry_connrefused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        out: CurlOutputArgs,
        #[command(flatten)]
        auth: CurlAuthArgs,
    }

    fn parse(args: &[&str]) -> T {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn write_out_sources() {
        assert_eq!(
            parse(&["-w", "%{http_code}"]).out.write_out(),
            Some(WriteOut::Inline("%{http_code}".into()))
        );
        assert_eq!(parse(&["-w", "@fmt.txt"]).out.write_out(), Some(WriteOut::File("fmt.txt".into())));
        assert_eq!(parse(&["--write-out", "@-"]).out.write_out(), Some(WriteOut::Stdin));
        assert_eq!(parse(&["-w", "@"]).out.write_out(), Some(WriteOut::Inline("@".into())));
        assert_eq!(parse(&[]).out.write_out(), None);
    }

    #[test]
    fn user_and_schemes() {
        assert!(parse(&[]).auth.origin_auth().is_none());
        let a = parse(&["-u", "joe:p:w"]).auth.origin_auth().unwrap();
        assert_eq!((a.user.as_str(), a.password.as_ref().map(|p| p.expose())), ("joe", Some("p:w")));
        assert!(a.preemptive_basic && a.schemes == SchemeSet::only(Scheme::Basic) && !a.trusted);
        let a = parse(&["-u", "joe", "--digest"]).auth.origin_auth().unwrap();
        assert!(a.password.is_none() && !a.preemptive_basic && a.schemes == SchemeSet::only(Scheme::Digest));
        let a = parse(&["-u", "joe:x", "--digest", "--anyauth", "--location-trusted"])
            .auth
            .origin_auth()
            .unwrap();
        assert!(a.schemes == SchemeSet::ANY && a.trusted);
        let a = parse(&["-u", "joe:x", "--ntlm", "--basic"]).auth.origin_auth().unwrap();
        assert!(a.preemptive_basic);
        assert!(T::try_parse_from(["t", "-u", "a\nb"]).is_err());
    }

    #[test]
    fn retry_options() {
        assert_eq!(parse(&[]).auth.retry(), RetryConfig::default());
        let r =
            parse(&["--retry", "3", "--retry-delay", "0.5", "--retry-max-time", "0", "--retry-all-errors"])
                .auth
                .retry();
        assert_eq!(r.retries, 3);
        assert_eq!(r.delay, Some(std::time::Duration::from_millis(500)));
        assert_eq!(r.max_time, None);
        assert!(r.all_errors && !r.connrefused);
        assert!(T::try_parse_from(["t", "--retry", "-1"]).is_err());
        assert!(T::try_parse_from(["t", "--retry", "x"]).is_err());
    }
}
