//! `toll pac PAC URL`: the arguments (the command itself is `crate::pac_cmd`).

use super::Seconds;
use clap::Args;
use std::path::PathBuf;

pub const PAC_AFTER_LONG_HELP: &str = "\
toll calls the PAC's FindProxyForURL(url, host) — or FindProxyForURLEx when the PAC defines it —
and prints exactly the string it returned, like pacparser's pactester. host is the URL's host,
lower-cased, an IPv6 literal without brackets. url is URL as given, less user name, password and
fragment. A transfer ('toll URL' with a PAC) passes less: for https:// URLs only
https://host[:port]/, as Chrome and Firefox do, so a PAC never sees the path or query of an
encrypted request; --transfer shows that.

The PAC runs sandboxed: at most 5 s and 256 MiB per evaluation, no file or network access
except the DNS helpers (dnsResolve, isResolvable, isInNet with a name, …), which use the
system resolver with a 2 s timeout. An http(s):// PAC is fetched directly, never through a
proxy.
Exit status: 0 with the answer on stdout; 3 when the PAC cannot be read or fetched, does not
compile, throws, runs out of time or memory, or returns something that is not a valid proxy
list; 2 for a bad URL.

Examples:
  toll pac proxy.pac https://example.com/
  toll pac http://wpad.corp/wpad.dat http://intranet/ -v
  toll pac file:///etc/proxy.pac https://example.com/login --transfer";

#[derive(Args, Debug, Clone)]
pub struct PacArgs {
    /// The PAC: a file path, a file:// URL, or an http(s):// URL (fetched directly).
    #[arg(value_name = "PAC")]
    pub pac: String,

    /// The URL to evaluate the PAC for (http:// when no scheme is given).
    #[arg(value_name = "URL")]
    pub url: String,

    /// Also show alert() output, the entry point, the arguments passed, the parsed proxy list
    /// and timings (on stderr).
    #[arg(short, long)]
    pub verbose: bool,

    /// Pass the URL as a transfer would (https:// path and query stripped).
    #[arg(long)]
    pub transfer: bool,

    /// Give up fetching an http(s):// PAC after this many seconds (default 30).
    #[arg(short = 'm', long = "max-time", value_name = "SECONDS")]
    pub max_time: Option<Seconds>,

    /// Do not verify the certificate of an https:// PAC server (dangerous).
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// Verify an https:// PAC server against the CA certificates in FILE (PEM).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
}
