//! The subcommands' own arguments: `toll doctor`, `toll auth …` and `toll demo` (their help
//! texts too), and `toll doctor`'s arguments resolved into a [`Doctor`]. `toll serve`/`toll run`
//! are in `serve`, `toll pac` in `pac`.

use super::{
    parse_request_url, proxy_config, truthy, ConnectionArgs, ProxyArg, ProxyArgs, Seconds, UsageError,
};
use crate::auth::Scheme;
use crate::config::{ProxyConfig, RequestConfig};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

pub(super) const DOCTOR_AFTER_LONG_HELP: &str = "\
Steps: 1 configuration (which proxy, from where), 2 reachability (DNS, TCP, TLS to the proxy),
3 challenge (one unauthenticated request: the schemes offered, which toll can use here),
4 credentials (the sources; then ONE authenticated attempt, never more: accounts lock),
5 destination (the URL itself: 403 = policy, 407 after accepted credentials = restriction),
6 TLS interception (who issued the certificate for URL), 7 summary (the first problem, its fix).
Exit status: 0 when URL can be fetched, else the exit code of the first problem.

Examples:
  toll doctor
  toll doctor https://example.com/ -x proxy.corp:3128 -U alice
  toll doctor --report > ticket.txt";

#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {
    /// The URL to check (default https://example.com/).
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    /// Print the steps as JSON (for scripts and support tooling).
    #[arg(long, conflicts_with = "report")]
    pub json: bool,

    /// Print a report to paste into a ticket: versions, steps, timings, the proxy's raw status
    /// lines and challenges; no secrets.
    #[arg(long)]
    pub report: bool,

    /// The URL the one authenticated attempt is made for, before URL itself: if the proxy
    /// accepts the credentials there but answers 407 for URL, URL is restricted for this user
    /// (the password is fine).
    #[arg(long, value_name = "URL", default_value = "http://example.com/")]
    pub verify_url: String,

    #[command(flatten)]
    pub proxy: ProxyArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub(super) const AUTH_AFTER_LONG_HELP: &str = "\
Passwords go to the OS keyring: the Secret Service (GNOME Keyring, KWallet, KeePassXC) on Linux,
falling back to the kernel keyring (keyutils, kept until reboot) when none answers; the Keychain
on macOS; the Credential Manager on Windows. TOLL_KEYRING=secret-service|keyutils|none picks one.
toll never writes a password to a file: it keeps only the user name per proxy, in
$XDG_STATE_HOME/toll/keyring-index.json.

Examples:
  toll auth login proxy.corp:3128 --user alice
  printf '%s\\n' \"$PW\" | toll auth login proxy.corp:3128 --user alice --password-stdin
  toll auth status
  toll auth logout proxy.corp:3128";

#[derive(Subcommand, Debug, Clone)]
pub enum AuthCommand {
    /// Store the password for a proxy, after checking it against the proxy.
    Login(LoginArgs),
    /// Remove the stored password for a proxy.
    Logout(AuthProxyArg),
    /// List the proxies with a stored password (never the passwords).
    List,
    /// Show where a run would get the credentials for a proxy, and how fast the keyring answers.
    Status(AuthProxyArg),
}

#[derive(Args, Debug, Clone)]
pub struct AuthProxyArg {
    /// The proxy, [SCHEME://]HOST[:PORT] (default: the one https:// URLs use: https_proxy,
    /// all_proxy).
    #[arg(value_name = "PROXY")]
    pub proxy: Option<ProxyArg>,
}

#[derive(Args, Debug, Clone)]
pub struct LoginArgs {
    #[command(flatten)]
    pub proxy: AuthProxyArg,

    /// The user name (asked for when not given).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Read the password from the first line of standard input instead of asking (typed at a
    /// terminal, it is not echoed).
    #[arg(long)]
    pub password_stdin: bool,

    /// Store the password without checking it against the proxy.
    #[arg(long)]
    pub no_verify: bool,

    /// The URL requested through the proxy to check the password: any answer but 407 means the
    /// proxy accepted it.
    #[arg(long, value_name = "URL", default_value = "http://example.com/")]
    pub verify_url: String,

    /// Verify an https:// proxy's certificate against the CA certificates in FILE (PEM).
    #[arg(long, value_name = "FILE")]
    pub proxy_cacert: Option<PathBuf>,

    /// Do not verify an https:// proxy's certificate (dangerous).
    #[arg(long)]
    pub proxy_insecure: bool,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DemoArgs {
    /// The authentication scheme the demo proxy asks for.
    #[arg(long, value_enum, default_value_t = DemoScheme::Digest)]
    pub scheme: DemoScheme,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoScheme {
    Basic,
    Digest,
}

impl DemoScheme {
    pub fn scheme(self) -> Scheme {
        match self {
            DemoScheme::Basic => Scheme::Basic,
            DemoScheme::Digest => Scheme::Digest,
        }
    }
}

/// A resolved `toll doctor [URL] [OPTIONS]`.
#[derive(Debug)]
pub struct Doctor {
    /// The URL's request, as a run would send it (GET, no redirects followed).
    pub request: RequestConfig,
    pub proxy: ProxyConfig,
    /// The `-x` value as given (doctor checks it for a missing port).
    pub raw_proxy: Option<ProxyArg>,
    pub verify_url: url::Url,
    pub json: bool,
    pub report: bool,
    pub no_prompt: bool,
}

/// `toll doctor`'s arguments resolved: the URL (default `https://example.com/`) as a plain GET
/// with the connection options, and the proxy options as for a transfer.
pub(super) fn doctor_config(
    args: DoctorArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Doctor, UsageError> {
    let url = parse_request_url(args.url.as_deref().unwrap_or("https://example.com/"), "http")?;
    let verify_url = parse_request_url(&args.verify_url, "http")?;
    let conn = args.connection;
    let nonzero = |s: Option<Seconds>| s.map(|s| s.0).filter(|d| !d.is_zero());
    let request = RequestConfig {
        insecure: conn.insecure,
        cacert: conn.cacert,
        // A doctor must not hang: 30 s per request and 10 s to connect unless told otherwise.
        max_time: nonzero(conn.max_time).or(Some(Duration::from_secs(30))),
        connect_timeout: nonzero(conn.connect_timeout).or(Some(Duration::from_secs(10))),
        ..RequestConfig::get(url)
    };
    let no_prompt = args.proxy.no_prompt || env("TOLL_NO_PROMPT").is_some_and(|v| truthy(&v));
    let raw_proxy = args.proxy.named_proxy().map(|(p, _)| p);
    Ok(Doctor {
        request,
        proxy: proxy_config(args.proxy)?,
        raw_proxy,
        verify_url,
        json: args.json,
        report: args.report,
        no_prompt,
    })
}
