//! The address helpers that need parsing or name resolution: `dnsResolve`, `isInNet`,
//! `myIpAddress` and Microsoft's IPv6-aware `*Ex` family. Names are resolved only through the
//! injected [`PacEnv`]; IP literals are answered here without it.

use crate::env::PacEnv;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 literal as the Netscape helpers accept it: exactly four dot-separated decimal parts.
pub fn strict_ipv4(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4
        || parts.iter().any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        *o = p.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

/// An IP literal, IPv6 with or without brackets.
pub fn ip_literal(s: &str) -> Option<IpAddr> {
    if let Some(v4) = strict_ipv4(s) {
        return Some(IpAddr::V4(v4));
    }
    let inner = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
    inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// All addresses of `host` (itself when it is a literal).
pub fn resolve_all(env: &dyn PacEnv, host: &str) -> Vec<IpAddr> {
    if let Some(ip) = ip_literal(host) {
        return vec![ip];
    }
    if host.is_empty() {
        return Vec::new();
    }
    env.resolve(host).unwrap_or_default()
}

/// `dnsResolve(host)`: the first IPv4 address (the Netscape helpers are IPv4-only), or `null`.
pub fn dns_resolve(env: &dyn PacEnv, host: &str) -> Option<String> {
    resolve_all(env, host).into_iter().find(IpAddr::is_ipv4).map(|ip| ip.to_string())
}

/// `dnsResolveEx(host)`: every address, `;`-separated, or `""`.
pub fn dns_resolve_ex(env: &dyn PacEnv, host: &str) -> String {
    join(&resolve_all(env, host))
}

/// The machine's addresses a PAC is told about, as Chrome's `MyIpAddressImpl` picks them:
/// never a loopback address, and a link-local one (169.254/16, fe80::/10) only when there is
/// nothing else — and then only one, IPv4 first. A PAC that tests `isInNetEx(ip, "fe80::/10")`
/// would otherwise match on every machine with IPv6.
fn usable_addresses(env: &dyn PacEnv) -> Vec<IpAddr> {
    let link_local = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    };
    let ips: Vec<IpAddr> = env.my_ip_addresses().into_iter().filter(|ip| !ip.is_loopback()).collect();
    let (link_locals, others): (Vec<IpAddr>, Vec<IpAddr>) = ips.into_iter().partition(link_local);
    if !others.is_empty() {
        return others;
    }
    favouring_ipv4(&link_locals).into_iter().collect()
}

fn favouring_ipv4(ips: &[IpAddr]) -> Option<IpAddr> {
    ips.iter().find(|ip| ip.is_ipv4()).or_else(|| ips.first()).copied()
}

/// `myIpAddress()`: one of [`usable_addresses`], IPv4 first, else `127.0.0.1`.
pub fn my_ip_address(env: &dyn PacEnv) -> String {
    favouring_ipv4(&usable_addresses(env)).map(|ip| ip.to_string()).unwrap_or_else(|| "127.0.0.1".into())
}

/// `myIpAddressEx()`: every one of [`usable_addresses`], `;`-separated (`""` when none).
pub fn my_ip_address_ex(env: &dyn PacEnv) -> String {
    join(&usable_addresses(env))
}

fn join(ips: &[IpAddr]) -> String {
    ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>().join(";")
}

/// `isInNet(host, pattern, mask)`: pattern and mask must be IPv4 literals; a host that is not
/// one is resolved (IPv4).
pub fn is_in_net(env: &dyn PacEnv, host: &str, pattern: &str, mask: &str) -> bool {
    let (Some(pattern), Some(mask)) = (strict_ipv4(pattern), strict_ipv4(mask)) else {
        return false;
    };
    let ip = match strict_ipv4(host) {
        Some(ip) => ip,
        None => match dns_resolve(env, host).and_then(|s| strict_ipv4(&s)) {
            Some(ip) => ip,
            None => return false,
        },
    };
    let (ip, pattern, mask) = (u32::from(ip), u32::from(pattern), u32::from(mask));
    ip & mask == pattern & mask
}

/// `isInNetEx(ipAddress, "prefix/len")`: CIDR match for IPv4 or IPv6. The address must be a
/// literal (Microsoft's and Chrome's rule: no resolution here), of the prefix's family.
pub fn is_in_net_ex(address: &str, prefix: &str) -> bool {
    let Some(ip) = ip_literal(address) else { return false };
    let Some((net, len)) = prefix.split_once('/') else { return false };
    let Ok(len) = len.parse::<u32>() else { return false };
    if len.to_string() != prefix.split_once('/').map(|x| x.1).unwrap_or_default() {
        return false;
    }
    match (ip, ip_literal(net)) {
        (IpAddr::V4(ip), Some(IpAddr::V4(net))) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), Some(IpAddr::V6(net))) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// `sortIpAddressList("a;b;…")`: IPv6 addresses first, then IPv4, each in ascending order;
/// `None` (JavaScript `false`) when the list is empty or holds something else.
pub fn sort_ip_address_list(list: &str) -> Option<String> {
    let mut ips = Vec::new();
    for part in list.split(';') {
        ips.push(ip_literal(part.trim())?);
    }
    ips.sort_by_key(|ip| match ip {
        IpAddr::V6(v6) => (0u8, u128::from(*v6)),
        IpAddr::V4(v4) => (1u8, u128::from(u32::from(*v4))),
    });
    Some(join(&ips))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::StaticEnv;

    fn env() -> StaticEnv {
        StaticEnv::new().host("intranet.corp", &["10.1.2.3", "fd00::3"]).host("v6only.corp", &["2001:db8::7"])
    }

    #[test]
    fn literals() {
        assert_eq!(strict_ipv4("10.0.0.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        for bad in ["10.0.0", "10.0.0.256", "10.0.0.1.", "1e1.0.0.1", "0x10.0.0.1", " 10.0.0.1", "10..0.1"] {
            assert_eq!(strict_ipv4(bad), None, "{bad}");
        }
        assert!(ip_literal("[::1]").is_some() && ip_literal("::1").is_some() && ip_literal("x").is_none());
    }

    #[test]
    fn resolution_is_ipv4_for_netscape_and_all_for_ex() {
        let e = env();
        assert_eq!(dns_resolve(&e, "intranet.corp").as_deref(), Some("10.1.2.3"));
        assert_eq!(dns_resolve(&e, "v6only.corp"), None);
        assert_eq!(dns_resolve(&e, "nowhere.corp"), None);
        assert_eq!(dns_resolve(&e, "192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(dns_resolve_ex(&e, "intranet.corp"), "10.1.2.3;fd00::3");
        assert_eq!(dns_resolve_ex(&e, "nowhere.corp"), "");
        assert_eq!(dns_resolve_ex(&e, "::1"), "::1");
        // Literals never reach the resolver.
        assert_eq!(
            *e.lookups.lock().unwrap(),
            vec!["intranet.corp", "v6only.corp", "nowhere.corp", "intranet.corp", "nowhere.corp"]
        );
    }

    #[test]
    fn in_net() {
        let e = env();
        assert!(is_in_net(&e, "10.1.2.3", "10.0.0.0", "255.0.0.0"));
        assert!(is_in_net(&e, "intranet.corp", "10.1.0.0", "255.255.0.0"));
        assert!(!is_in_net(&e, "intranet.corp", "10.2.0.0", "255.255.0.0"));
        assert!(!is_in_net(&e, "nowhere.corp", "0.0.0.0", "0.0.0.0"));
        assert!(!is_in_net(&e, "10.1.2.3", "10.0.0.0", "255.0.0"));
        assert!(is_in_net(&e, "192.168.1.1", "0.0.0.0", "0.0.0.0"));
    }

    #[test]
    fn in_net_ex() {
        assert!(is_in_net_ex("10.1.2.3", "10.0.0.0/8"));
        assert!(!is_in_net_ex("11.1.2.3", "10.0.0.0/8"));
        assert!(is_in_net_ex("11.1.2.3", "0.0.0.0/0"), "/0 matches everything (pacparser gets this wrong)");
        assert!(is_in_net_ex("10.1.2.3", "10.1.2.3/32"));
        assert!(!is_in_net_ex("10.1.2.3", "10.1.2.3/33"));
        assert!(is_in_net_ex("2001:db8::1", "2001:db8::/32"));
        assert!(!is_in_net_ex("2001:db9::1", "2001:db8::/32"));
        assert!(is_in_net_ex("::1", "::/0"));
        assert!(!is_in_net_ex("10.1.2.3", "::/0"), "families differ");
        assert!(!is_in_net_ex("10.1.2.3", "10.0.0.0"));
        assert!(!is_in_net_ex("10.1.2.3", "10.0.0.0/+8"));
        assert!(!is_in_net_ex("intranet.corp", "10.0.0.0/8"), "no resolution");
    }

    #[test]
    fn sorting() {
        assert_eq!(
            sort_ip_address_list("10.0.0.2;::1;10.0.0.1;2001:db8::1").as_deref(),
            Some("::1;2001:db8::1;10.0.0.1;10.0.0.2")
        );
        assert_eq!(sort_ip_address_list(""), None);
        assert_eq!(sort_ip_address_list("10.0.0.1;x"), None);
    }

    #[test]
    fn my_address() {
        let mut e = StaticEnv::new();
        let ips = |list: &[&str]| list.iter().map(|s| s.parse().unwrap()).collect::<Vec<IpAddr>>();
        e.my_ips = ips(&["::1", "127.0.0.1", "fe80::1", "169.254.3.4", "2001:db8::7", "10.9.8.7"]);
        assert_eq!(my_ip_address(&e), "10.9.8.7");
        assert_eq!(my_ip_address_ex(&e), "2001:db8::7;10.9.8.7");
        // IPv6 alone: that address, for both.
        e.my_ips = ips(&["::1", "2001:db8::7"]);
        assert_eq!(my_ip_address(&e), "2001:db8::7");
        // Link-local only as the last resort, one of them, IPv4 first.
        e.my_ips = ips(&["::1", "fe80::1", "169.254.3.4", "127.0.0.1"]);
        assert_eq!(my_ip_address(&e), "169.254.3.4");
        assert_eq!(my_ip_address_ex(&e), "169.254.3.4");
        e.my_ips = ips(&["::1", "127.0.0.1"]);
        assert_eq!(my_ip_address(&e), "127.0.0.1");
        assert_eq!(my_ip_address_ex(&e), "");
        e.my_ips.clear();
        assert_eq!(my_ip_address(&e), "127.0.0.1");
    }
}
