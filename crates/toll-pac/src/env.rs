//! What a PAC may learn about the world, injected: name resolution (with its own timeout), the
//! machine's addresses, the clock, and where `alert()` goes. [`SystemEnv`] is the real one;
//! [`StaticEnv`] is a table for tests (no test resolves a real name).

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A broken-down time, as the PAC date functions read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tm {
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Tm {
    /// The UTC time `secs` seconds after the Unix epoch.
    pub fn from_unix(secs: i64) -> Tm {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Tm {
            year,
            month,
            day,
            weekday: (days + 4).rem_euclid(7) as u8,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS` (UTC), for tests and `TOLL_PAC_NOW`-style overrides.
    pub fn parse(s: &str) -> Option<Tm> {
        let b = s.as_bytes();
        if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
        let (y, mo, d, h, mi, se) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
        if !(1..=12).contains(&mo)
            || d < 1
            || d > i64::from(days_in_month(y as i32, mo as u8))
            || h > 23
            || mi > 59
            || se > 59
        {
            return None;
        }
        Some(Tm::from_unix(days_from_civil(y as i32, mo as u8, d as u8) * 86_400 + h * 3600 + mi * 60 + se))
    }
}

/// The days in `month` (1–12) of `year`.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms (days since 1970-01-01 ⇄ proleptic Gregorian).
fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The current time, local and UTC (the date functions use UTC when given `"GMT"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub local: Tm,
    pub utc: Tm,
}

/// The world as a PAC sees it. Implementations must be cheap to call repeatedly; `resolve` must
/// return within its own timeout.
pub trait PacEnv: Send + Sync {
    /// The addresses of `host` (a name, never an IP literal: the engine answers those itself), or
    /// `None` when it does not resolve (or not in time).
    fn resolve(&self, host: &str) -> Option<Vec<IpAddr>>;
    /// This machine's addresses, the one used for outgoing traffic first.
    fn my_ip_addresses(&self) -> Vec<IpAddr>;
    fn now(&self) -> Now;
    /// A message from the PAC's `alert()`; untrusted text (sanitise before printing).
    fn alert(&self, message: &str);
}

/// The real world: the system resolver with a timeout and a cache, the interfaces' addresses,
/// the system clock and time zone. `alert()` messages are kept for [`SystemEnv::take_alerts`].
pub struct SystemEnv {
    pub dns_timeout: Duration,
    cache: Mutex<DnsCache>,
    in_flight: Arc<AtomicUsize>,
    alerts: Mutex<Vec<String>>,
}

/// How long a look-up's answer is used again: a minute, as Chrome keeps the system resolver's
/// answers. A PAC asks for the same names over and over (`dnsResolve`, then `isInNet` with the
/// name), but `toll serve` runs for days: a laptop that leaves the office network must not route
/// by the addresses it had there.
const DNS_KEPT: Duration = Duration::from_secs(60);
/// A failed look-up (no such name, or no answer within the timeout) is used again only this long,
/// so a dead resolver costs one timeout per name every few seconds, not one per evaluation.
const DNS_FAILURE_KEPT: Duration = Duration::from_secs(10);
/// Names kept at most (one `toll serve` is asked for any number of hosts).
const DNS_NAMES: usize = 4096;

/// The look-ups' answers, each until it expires.
#[derive(Default)]
struct DnsCache(HashMap<String, (Instant, Option<Vec<IpAddr>>)>);

impl DnsCache {
    fn get(&self, name: &str, now: Instant) -> Option<Option<Vec<IpAddr>>> {
        self.0.get(name).filter(|(until, _)| now < *until).map(|(_, addrs)| addrs.clone())
    }

    fn put(&mut self, name: String, addrs: Option<Vec<IpAddr>>, now: Instant) {
        if self.0.len() >= DNS_NAMES {
            self.0.retain(|_, (until, _)| now < *until);
            if self.0.len() >= DNS_NAMES {
                self.0.clear();
            }
        }
        let kept = if addrs.is_some() { DNS_KEPT } else { DNS_FAILURE_KEPT };
        self.0.insert(name, (now + kept, addrs));
    }
}

/// Look-ups still running (after their timeout) beyond which new ones fail at once, so a PAC
/// that resolves in a loop cannot pile up threads.
const MAX_IN_FLIGHT: usize = 8;
/// Alerts kept per environment (a PAC alerting in a loop must not fill the memory).
const MAX_ALERTS: usize = 1000;

impl SystemEnv {
    pub fn new(dns_timeout: Duration) -> SystemEnv {
        SystemEnv {
            dns_timeout,
            cache: Mutex::new(DnsCache::default()),
            in_flight: Arc::new(AtomicUsize::new(0)),
            alerts: Mutex::new(Vec::new()),
        }
    }

    /// The `alert()` messages so far, oldest first.
    pub fn take_alerts(&self) -> Vec<String> {
        std::mem::take(&mut *self.alerts.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn lookup(&self, host: &str) -> Option<Vec<IpAddr>> {
        if host.is_empty() || host.len() > 253 || host.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return None;
        }
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let (tx, rx) = mpsc::channel();
        let name = host.to_string();
        let in_flight = self.in_flight.clone();
        // getaddrinfo cannot be cancelled: it runs on its own thread and is abandoned on timeout.
        let spawned = std::thread::Builder::new().name("toll-pac-dns".into()).spawn(move || {
            let result = (name.as_str(), 0u16)
                .to_socket_addrs()
                .ok()
                .map(|addrs| addrs.map(|a| a.ip()).collect::<Vec<_>>());
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(result);
        });
        if spawned.is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let mut addrs = rx.recv_timeout(self.dns_timeout).ok().flatten()?;
        let mut seen = std::collections::HashSet::new();
        addrs.retain(|a| seen.insert(*a));
        (!addrs.is_empty()).then_some(addrs)
    }
}

impl PacEnv for SystemEnv {
    fn resolve(&self, host: &str) -> Option<Vec<IpAddr>> {
        let key = host.to_ascii_lowercase();
        if let Some(hit) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key, Instant::now()) {
            return hit;
        }
        let result = self.lookup(&key);
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).put(key, result.clone(), Instant::now());
        result
    }

    fn my_ip_addresses(&self) -> Vec<IpAddr> {
        let mut out = Vec::new();
        // The source address the routing table picks for the outside world. A UDP "connect"
        // sends nothing; it only asks the kernel for a route (Chrome does the same).
        for probe in ["198.51.100.1:9", "[2001:db8::1]:9"] {
            let bind = if probe.starts_with('[') { "[::]:0" } else { "0.0.0.0:0" };
            if let Ok(sock) = UdpSocket::bind(bind) {
                if sock.connect(probe).is_ok() {
                    if let Ok(local) = sock.local_addr() {
                        out.push(local.ip());
                    }
                }
            }
        }
        for ip in interface_addresses() {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
        out
    }

    fn now(&self) -> Now {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        Now { local: local_time(secs), utc: Tm::from_unix(secs) }
    }

    fn alert(&self, message: &str) {
        let mut alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        if alerts.len() < MAX_ALERTS {
            alerts.push(message.chars().take(4096).collect());
        }
    }
}

#[cfg(unix)]
fn local_time(secs: i64) -> Tm {
    let t = secs as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which outlives the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return Tm::from_unix(secs);
    }
    Tm {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u8,
        day: tm.tm_mday as u8,
        weekday: tm.tm_wday as u8,
        hour: tm.tm_hour as u8,
        minute: tm.tm_min as u8,
        second: tm.tm_sec.min(59) as u8,
    }
}

#[cfg(not(unix))]
fn local_time(secs: i64) -> Tm {
    Tm::from_unix(secs)
}

/// Every address of every interface that is up, loopback last.
#[cfg(unix)]
fn interface_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut loopback = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we walk read-only and free once.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_flags & (libc::IFF_UP as libc::c_uint) == 0 {
                continue;
            }
            let ip = match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    IpAddr::from(u32::from_be(sin.sin_addr.s_addr).to_be_bytes())
                }
                libc::AF_INET6 => {
                    let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    IpAddr::from(sin6.sin6_addr.s6_addr)
                }
                _ => continue,
            };
            if ip.is_loopback() {
                loopback.push(ip)
            } else {
                out.push(ip)
            }
        }
        libc::freeifaddrs(head);
    }
    out.extend(loopback);
    out
}

#[cfg(not(unix))]
fn interface_addresses() -> Vec<IpAddr> {
    Vec::new()
}

/// A fixed world for tests: a host table, fixed own addresses, a fixed clock; records every
/// name looked up and every alert.
pub struct StaticEnv {
    pub hosts: HashMap<String, Vec<IpAddr>>,
    pub my_ips: Vec<IpAddr>,
    pub now: Now,
    pub lookups: Mutex<Vec<String>>,
    pub alerts: Mutex<Vec<String>>,
}

impl StaticEnv {
    /// An empty table, `my_ips` = 192.0.2.10, the clock at 2026-12-01T10:30:00 (a Tuesday) both
    /// local and UTC.
    pub fn new() -> StaticEnv {
        let t = Tm::parse("2026-12-01T10:30:00").expect("valid time");
        StaticEnv {
            hosts: HashMap::new(),
            my_ips: vec![IpAddr::from([192, 0, 2, 10])],
            now: Now { local: t, utc: t },
            lookups: Mutex::new(Vec::new()),
            alerts: Mutex::new(Vec::new()),
        }
    }

    pub fn host(mut self, name: &str, addrs: &[&str]) -> StaticEnv {
        self.hosts
            .insert(name.to_ascii_lowercase(), addrs.iter().map(|a| a.parse().expect("an IP")).collect());
        self
    }
}

impl Default for StaticEnv {
    fn default() -> Self {
        StaticEnv::new()
    }
}

impl PacEnv for StaticEnv {
    fn resolve(&self, host: &str) -> Option<Vec<IpAddr>> {
        self.lookups.lock().unwrap_or_else(|e| e.into_inner()).push(host.to_string());
        self.hosts.get(&host.to_ascii_lowercase()).cloned()
    }
    fn my_ip_addresses(&self) -> Vec<IpAddr> {
        self.my_ips.clone()
    }
    fn now(&self) -> Now {
        self.now
    }
    fn alert(&self, message: &str) {
        self.alerts.lock().unwrap_or_else(|e| e.into_inner()).push(message.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(
            Tm::from_unix(0),
            Tm { year: 1970, month: 1, day: 1, weekday: 4, hour: 0, minute: 0, second: 0 }
        );
        let t = Tm::parse("2024-02-29T23:59:59").unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.weekday, t.hour, t.minute, t.second),
            (2024, 2, 29, 4, 23, 59, 59)
        );
        assert_eq!(Tm::parse("2026-12-01T10:30:00").unwrap().weekday, 2);
        assert!(Tm::parse("2023-02-29T00:00:00").is_none());
        assert!(Tm::parse("2023-13-01T00:00:00").is_none());
        for d in [-800_000i64, -1, 0, 59, 60, 365, 10_957, 20_000, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn answers_are_kept_a_minute_failures_ten_seconds_and_names_are_bounded() {
        let mut cache = DnsCache::default();
        let t0 = Instant::now();
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        cache.put("intranet.corp".into(), Some(vec![ip]), t0);
        cache.put("gone.corp".into(), None, t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(cache.get("intranet.corp", at(59)), Some(Some(vec![ip])));
        assert_eq!(cache.get("intranet.corp", at(60)), None, "asked again after a minute");
        assert_eq!(cache.get("gone.corp", at(9)), Some(None), "a failure is kept");
        assert_eq!(cache.get("gone.corp", at(10)), None, "and asked again after ten seconds");
        for i in 0..DNS_NAMES {
            cache.put(format!("h{i}.corp"), None, at(20));
        }
        assert!(cache.0.len() <= DNS_NAMES, "{}", cache.0.len());
        cache.put("one-more.corp".into(), None, at(21));
        assert!(cache.0.len() <= DNS_NAMES && cache.get("one-more.corp", at(21)).is_some());
    }

    #[test]
    fn system_env_answers_without_the_network() {
        let env = SystemEnv::new(Duration::from_secs(2));
        let now = env.now();
        assert!(now.utc.year >= 2024);
        assert!(env.resolve("bad name with spaces").is_none());
        assert!(env.resolve("localhost").is_some_and(|a| a.iter().all(|ip| ip.is_loopback())));
        env.alert("hello");
        assert_eq!(env.take_alerts(), vec!["hello".to_string()]);
    }
}
