//! `toll serve` and `toll run`: their clap arguments and resolution into [`ServeConfig`].

use super::{proxy_config, truthy, ProxyArgs, Seconds, UsageError};
use crate::config::ProxyConfig;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub(super) const SERVE_AFTER_LONG_HELP: &str = "\
Only you may use it: a connection from loopback is served when its socket belongs to the user
running toll serve (Linux: asked of the kernel); anyone else must use the per-user key in the
proxy URL (http://toll:KEY@127.0.0.1:3128; the key is kept 0600 in the state dir), which
--print-env shows. --allow CIDR admits other hosts (containers, a VM), with the key only; they
never reach this machine's loopback through it (127.0.0.1, ::1, localhost: 403).

toll never prompts while serving: the password comes from -U, the proxy URL, TOLL_PROXY_USER and
TOLL_PROXY_PASSWORD, or the OS keyring ('toll auth login PROXY'). Started by hand on a terminal
(in the foreground, the terminal on stdin), it first requests --verify-url through the proxy,
before it accepts anyone, and asks for a password the proxy wants that is not stored (exit
status 41 when the proxy rejects every password typed there); --no-prompt skips that. A
password the proxy rejects is never sent again by any request; clients then get 502 with a
Proxy-Status header and a body that says what to run.

SIGHUP opens --log FILE again (after logrotate moved it) and re-reads the settings file, the
PAC and the stored passwords (requests in flight go on). Without a signal, a PAC file is read
again when it changes, a PAC URL when its copy goes stale or the network changes, and the
desktop's settings every 10 s; a PAC that cannot be had at start
means DIRECT until it can. SIGTERM stops accepting, closes the connections with nothing in flight, waits up to 10 s for
requests in flight, then closes the tunnels still open (each gets its log line). While it runs,
'toll doctor' says so.

Examples:
  toll serve -x proxy.corp:3128
  eval \"$(toll serve --print-env)\"
  git config --global http.proxy http://127.0.0.1:3128";

pub(super) const RUN_AFTER_LONG_HELP: &str = "\
CMD runs with http_proxy, https_proxy, HTTP_PROXY and HTTPS_PROXY (and ALL_PROXY when set)
pointing at a private toll serve on an ephemeral loopback port, with a fresh key; NO_PROXY is
kept, with localhost,127.0.0.1,::1 added. stdin, stdout, stderr and the terminal are CMD's;
signals sent to toll (TERM, HUP, INT, QUIT, USR1, USR2) are passed on to it, the terminal's
Ctrl-C reaches it directly. While CMD runs, its routing follows the PAC, the desktop's settings
and the network as toll serve's does (SIGHUP is CMD's, not a reload).

Exit status: CMD's; killed by the same signal when a signal ended it; 127 when CMD is not
found, 126 when it cannot be run (as in the shell); one of toll's own codes when it stops before CMD starts (e.g. 41: the
proxy rejected the password asked on the terminal).

Examples:
  toll run -x proxy.corp:3128 -- git clone https://github.com/org/repo
  toll run -- pip download requests";

/// What `toll serve` and `toll run` share: the upstream proxy, how to reach it, the log.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Print the proxy conversation on stderr.
    #[arg(short, long)]
    pub verbose: bool,

    /// Append the access log to FILE: toll serve's instead of on stderr, toll run's instead of
    /// nowhere (its command keeps the terminal).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    #[command(flatten)]
    pub proxy: ProxyArgs,

    /// Give up connecting to the proxy (TLS with an https:// proxy included) or a direct origin
    /// after this many seconds (default 30; the client gets 504).
    #[arg(long = "connect-timeout", value_name = "SECONDS")]
    pub connect_timeout: Option<Seconds>,

    /// Give up waiting for the proxy's (or a direct origin's) answer to a CONNECT or a request
    /// after this many seconds (the client gets 504), counted from the last byte of the request
    /// body however long the upload took, or from when the proxy stopped taking the upload;
    /// 0: wait as long as the client does.
    #[arg(long = "answer-timeout", value_name = "SECONDS", default_value = "60")]
    pub answer_timeout: Seconds,

    /// Close a tunnel (CONNECT) that has carried no data either way for this many seconds
    /// (checked at that interval: closed after one to two of them); 0: never.
    #[arg(long = "idle-timeout", value_name = "SECONDS", default_value = "900")]
    pub idle_timeout: Seconds,

    /// Keep N connections to each proxy opened ahead (an NTLM handshake started) so that a
    /// new tunnel costs one round trip; 0 turns it off.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=64))]
    pub spare_tunnels: u16,

    /// Serve with N threads. One goes a long way (a tunnel costs about 0.2 ms of CPU, a request
    /// on a kept-alive connection under 0.1 ms) and leaves the other cores to the programs it
    /// serves; more help only when one core is saturated.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,

    /// Started by hand on a terminal, before serving (toll serve) or before CMD starts (toll
    /// run): request this URL through the proxy chosen for it (none: no request), asking for the
    /// password if the proxy wants one that is not stored (so toll's prompt never meets a
    /// client's output or CMD's).
    #[arg(long, value_name = "URL", default_value = "http://example.com/")]
    pub verify_url: url::Url,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Listen on this address; localhost:PORT listens on 127.0.0.1 and ::1, so that a client
    /// told "localhost" reaches it whichever it tries first (Node.js: ::1).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:3128")]
    pub listen: Listen,

    /// Also admit clients from this range (gateway mode: containers, a VM); they must show the
    /// key, and never reach this machine's loopback. May be repeated.
    #[arg(long, value_name = "CIDR", value_parser = parse_allow)]
    pub allow: Vec<ipnet::IpNet>,

    /// Print the environment settings for programs to use this server (with the key), then exit.
    #[arg(long)]
    pub print_env: bool,

    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub server: ServerArgs,

    /// The command to run, and its arguments.
    #[arg(value_name = "CMD", required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<std::ffi::OsString>,
}

/// `--listen`: one address, or `localhost:PORT`: 127.0.0.1 and, where this machine has IPv6,
/// ::1 on the same port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    Addr(SocketAddr),
    Localhost(u16),
}

impl Listen {
    /// The address clients are told (`--print-env`): 127.0.0.1 for `localhost`.
    pub fn primary(self) -> SocketAddr {
        match self {
            Listen::Addr(a) => a,
            Listen::Localhost(port) => SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

impl std::str::FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Listen, String> {
        let localhost = s.get(..10).filter(|h| h.eq_ignore_ascii_case("localhost:")).map(|_| &s[10..]);
        match localhost {
            Some(port) => port.parse().map(Listen::Localhost).map_err(|_| format!("{port:?} is not a port")),
            None => s.parse().map(Listen::Addr).map_err(|_| {
                "expected ADDR:PORT (127.0.0.1:3128, [::1]:3128, 0.0.0.0:3128) or localhost:PORT".to_string()
            }),
        }
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Addr(a) => a.fmt(f),
            Listen::Localhost(port) => write!(f, "localhost:{port}"),
        }
    }
}

/// A resolved `toll serve` or `toll run`.
#[derive(Debug)]
pub struct ServeConfig {
    pub proxy: ProxyConfig,
    pub listen: Listen,
    pub allow: Vec<ipnet::IpNet>,
    pub log: Option<PathBuf>,
    pub print_env: bool,
    pub verbose: bool,
    pub connect_timeout: Option<Duration>,
    pub answer_timeout: Option<Duration>,
    /// `--idle-timeout`: tunnels without traffic this long are closed; `None`: never.
    pub idle_timeout: Option<Duration>,
    pub spare_tunnels: usize,
    /// `--threads`: the async runtime's worker threads.
    pub threads: usize,
    /// What to request through the proxy before serving, when a person can answer a prompt
    /// (see [`ServerArgs::verify_url`]).
    pub verify_url: url::Url,
    /// `--no-prompt` or `TOLL_NO_PROMPT`: not even that one prompt.
    pub no_prompt: bool,
    /// `toll run`: the command; `toll serve`: empty.
    pub command: Vec<std::ffi::OsString>,
}

/// `--allow`: a CIDR range or one address (`/32`, `/128`). An IPv4-mapped IPv6 range
/// (`::ffff:192.0.2.0/120`, the form a dual-stack listener's log shows a client in) is taken as
/// the IPv4 range it maps, which is how a peer is compared (`serve::admission`).
fn parse_allow(s: &str) -> Result<ipnet::IpNet, String> {
    let net = match s.parse::<ipnet::IpNet>() {
        Ok(net) => net,
        Err(_) => match s.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
            Ok(ip) => ipnet::IpNet::from(ip),
            Err(_) => {
                return Err(format!(
                    "'{s}' is neither a CIDR range (10.0.0.0/8, fd00::/64) nor an IP address"
                ))
            }
        },
    };
    Ok(match net {
        ipnet::IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => {
                ipnet::IpNet::V4(ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_err(|e| e.to_string())?)
            }
            None => net,
        },
        _ => net,
    })
}

fn nonzero(s: Option<Seconds>) -> Option<Duration> {
    s.map(|s| s.0).filter(|d| !d.is_zero())
}

pub(super) fn serve_config(
    args: ServeArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServeConfig, UsageError> {
    let ServerArgs {
        verbose,
        log,
        proxy,
        connect_timeout,
        answer_timeout,
        idle_timeout,
        spare_tunnels,
        threads,
        verify_url,
    } = args.server;
    Ok(ServeConfig {
        no_prompt: proxy.no_prompt || env("TOLL_NO_PROMPT").is_some_and(|v| truthy(&v)),
        proxy: proxy_config(proxy)?,
        listen: args.listen,
        allow: args.allow,
        log,
        print_env: args.print_env,
        verbose,
        connect_timeout: nonzero(connect_timeout),
        answer_timeout: nonzero(Some(answer_timeout)),
        idle_timeout: nonzero(Some(idle_timeout)),
        spare_tunnels: spare_tunnels.into(),
        threads: threads.into(),
        verify_url,
        command: Vec::new(),
    })
}

/// `toll run`: a private server on an ephemeral loopback port, for one command.
pub(super) fn run_config(
    args: RunArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServeConfig, UsageError> {
    let serve = ServeArgs {
        listen: Listen::Addr(SocketAddr::from(([127, 0, 0, 1], 0))),
        allow: Vec::new(),
        print_env: false,
        server: args.server,
    };
    Ok(ServeConfig { command: args.command, ..serve_config(serve, env)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_an_address_or_localhost_and_a_port() {
        let addr = |s: &str| Listen::Addr(s.parse().unwrap());
        assert_eq!("127.0.0.1:3128".parse(), Ok(addr("127.0.0.1:3128")));
        assert_eq!("[::1]:3128".parse(), Ok(addr("[::1]:3128")));
        assert_eq!("localhost:3128".parse(), Ok(Listen::Localhost(3128)));
        assert_eq!("LocalHost:0".parse(), Ok(Listen::Localhost(0)));
        assert_eq!(Listen::Localhost(3128).primary(), "127.0.0.1:3128".parse().unwrap());
        assert_eq!(Listen::Localhost(3128).to_string(), "localhost:3128");
        for bad in ["localhost", "localhost:", "localhost:99999", "example.com:3128", "3128", "127.0.0.1"] {
            assert!(bad.parse::<Listen>().is_err(), "{bad}");
        }
    }

    #[test]
    fn allow_takes_a_range_or_an_address_and_a_mapped_range_is_its_ipv4_one() {
        let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
        assert_eq!(parse_allow("172.17.0.0/16"), Ok(net("172.17.0.0/16")));
        assert_eq!(parse_allow("fd00::2"), Ok(net("fd00::2/128")));
        assert_eq!(parse_allow("[fd00::2]"), Ok(net("fd00::2/128")));
        assert_eq!(parse_allow("192.0.2.7"), Ok(net("192.0.2.7/32")));
        assert_eq!(parse_allow("::ffff:192.0.2.0/120"), Ok(net("192.0.2.0/24")));
        assert_eq!(parse_allow("::ffff:0:0/96"), Ok(net("0.0.0.0/0")));
        assert_eq!(parse_allow("fd00::/8"), Ok(net("fd00::/8")));
        for bad in ["", "10.0.0.0/33", "host.example", "10.0.0"] {
            assert!(parse_allow(bad).is_err(), "{bad}");
        }
    }
}
