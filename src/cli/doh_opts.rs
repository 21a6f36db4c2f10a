//! clap arguments for curl's DNS-over-HTTPS options (`--doh-url`, `--doh-insecure`,
//! `--doh-cert-status`), flattened into the curl connection options, and their conversion
//! into [`DohConfig`].

use crate::config::DohConfig;
use clap::Args;

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Connection")]
pub struct DohOpts {
    /// Look host names up through this DNS-over-HTTPS server (https://HOST/dns-query).
    ///
    /// Every name toll resolves itself goes to it instead of the system's resolver: the
    /// server's on a direct connection, a proxy's (HTTP or SOCKS), and the server's for
    /// socks4:// and socks5:// proxies. Through an HTTP proxy the proxy still resolves the
    /// server's name. IP addresses, localhost, --resolve and --connect-to are not asked. A name
    /// the DoH server does not know, or a DoH server that cannot be reached, is exit 6 (never a
    /// lookup by the system); --connect-timeout and -m bound the lookup (exit 28). The DoH
    /// server's own name is resolved by the system; its requests go direct (not through -x).
    /// --cacert, --capath and --crlfile apply to it, -k does not (see --doh-insecure). An empty
    /// URL turns DoH off.
    #[arg(long = "doh-url", value_name = "URL")]
    pub doh_url: Option<String>,

    /// Do not verify the DoH server's certificate (-k for --doh-url only).
    #[arg(long = "doh-insecure")]
    pub doh_insecure: bool,

    /// Require the DoH server's certificate status (OCSP stapling): toll cannot check it, so
    /// --doh-url with this option fails with exit 4.
    #[arg(long = "doh-cert-status")]
    pub doh_cert_status: bool,
}

impl DohOpts {
    /// The plain configuration; `None` without `--doh-url` or with an empty one (curl: off).
    pub fn config(&self) -> Option<DohConfig> {
        let url = self.doh_url.as_deref().filter(|u| !u.is_empty())?;
        Some(DohConfig {
            url: url.to_string(),
            insecure: self.doh_insecure,
            cert_status: self.doh_cert_status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        doh: DohOpts,
    }

    fn parse(args: &[&str]) -> Option<DohConfig> {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap().doh.config()
    }

    #[test]
    fn doh_options() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&["--doh-insecure"]), None, "without a URL nothing is looked up through DoH");
        assert_eq!(parse(&["--doh-url", ""]), None);
        assert_eq!(
            parse(&["--doh-url", "https://127.0.0.1:1/dns-query", "--doh-insecure", "--doh-cert-status"]),
            Some(DohConfig {
                url: "https://127.0.0.1:1/dns-query".into(),
                insecure: true,
                cert_status: true
            })
        );
        let plain = parse(&["--doh-url", "not a url"]).unwrap();
        assert_eq!((plain.url.as_str(), plain.insecure, plain.cert_status), ("not a url", false, false));
    }
}
