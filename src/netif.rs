//! This machine's network interfaces and their addresses (`getifaddrs`): `toll serve` tells
//! its own addresses from other hosts' with them, and `--interface NAME` binds to the named
//! interface's address.

use std::net::IpAddr;

/// Each interface address as (interface name, address), in the system's order; empty where
/// they cannot be listed.
pub fn addresses() -> Vec<(String, IpAddr)> {
    try_addresses().unwrap_or_default()
}

/// [`addresses`], or why they cannot be listed (out of file descriptors: getifaddrs opens a
/// netlink socket), which is not "no addresses".
#[cfg(unix)]
pub fn try_addresses() -> std::io::Result<Vec<(String, IpAddr)>> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list`, freed below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut at = list;
    while !at.is_null() {
        // SAFETY: `at` is a node of the list getifaddrs returned, not yet freed.
        let node = unsafe { &*at };
        if !node.ifa_addr.is_null() && !node.ifa_name.is_null() {
            // SAFETY: ifa_name is a NUL-terminated string owned by the list.
            let name = unsafe { std::ffi::CStr::from_ptr(node.ifa_name) }.to_string_lossy().into_owned();
            // SAFETY: ifa_addr points to a sockaddr of the family it names.
            match i32::from(unsafe { (*node.ifa_addr).sa_family }) {
                libc::AF_INET => {
                    let a = unsafe { &*(node.ifa_addr as *const libc::sockaddr_in) };
                    out.push((name, IpAddr::from(u32::from_be(a.sin_addr.s_addr).to_be_bytes())));
                }
                libc::AF_INET6 => {
                    let a = unsafe { &*(node.ifa_addr as *const libc::sockaddr_in6) };
                    out.push((name, IpAddr::from(a.sin6_addr.s6_addr)));
                }
                _ => {}
            }
        }
        at = node.ifa_next;
    }
    // SAFETY: the list getifaddrs allocated, freed once.
    unsafe { libc::freeifaddrs(list) };
    Ok(out)
}

#[cfg(not(unix))]
pub fn try_addresses() -> std::io::Result<Vec<(String, IpAddr)>> {
    Ok(Vec::new())
}

/// The address `--interface NAME` binds to: the interface's first IPv4 address, else its first
/// IPv6 one (a link-local IPv6 address needs its scope, which a bind by address cannot give).
pub fn address_of(name: &str) -> Option<IpAddr> {
    let all: Vec<IpAddr> = addresses().into_iter().filter(|(n, _)| n == name).map(|(_, a)| a).collect();
    all.iter().find(|a| a.is_ipv4()).or_else(|| all.iter().find(|a| !is_link_local(a))).copied()
}

/// A link-local address (169.254.0.0/16, fe80::/10): every interface that comes up gets one.
pub fn is_link_local(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed_with_its_address() {
        let all = addresses();
        assert!(all.iter().any(|(n, a)| n == "lo" && *a == IpAddr::from([127, 0, 0, 1])), "{all:?}");
        assert_eq!(address_of("lo"), Some(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(address_of("nosuchif0"), None);
    }
}
