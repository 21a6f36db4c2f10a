//! `toll serve`'s and `toll run`'s routing kept current: the one task that replaces the routing
//! in use. For `toll serve`, on SIGHUP it opens `--log FILE` again, has stored passwords looked
//! up again, reads the settings file and decides again; without a signal it decides again when
//! what `route::refresh` watches for the routing in use changes (a PAC's copy going stale, a
//! PAC file rewritten, the desktop's settings, this machine's network addresses or DNS
//! servers).
//!
//! A decision that comes to the same plan and PAC text keeps the routing in use — and the PAC's
//! running script with what it keeps — except after a network change, when a PAC is compiled
//! afresh so that its DNS answers from the old network go with it. A decision that fails keeps
//! the routing as it was and says why in the log, once per reason. Requests in flight go on
//! with the routing they picked their proxy with. A network change also forgets the proxies
//! fail-over marked dead, and — whatever the routing, `-x` too — has the connections kept open
//! from before closed before the next request picks one (`Routes::network_changed`).

use crate::cli::ServeConfig;
use crate::keyring::session::Session;
use crate::report::{Quiet, Reporter};
use crate::route::pac_fetch::{Obtained, Revalidate};
use crate::route::refresh::{FileStamp, Watch, PAC_RECHECK_FLOOR};
use crate::serve::log::AccessLog;
use crate::serve::Routes;
use crate::setup::routing::{self, Decided, PacLife, Unreachable};
use crate::store::Settings;
use crate::term::sanitize;
use std::time::Duration;
use tokio::time::Instant;

/// How often a watched PAC file and the network are looked at (a `stat`, a `getifaddrs` and a
/// read of the resolver's configuration).
const POLL: Duration = Duration::from_secs(2);

/// When a PAC that could not be had is asked for again, for the log.
pub(super) fn retried() -> String {
    format!(
        "a file when it changes, a URL every {} s and when the network changes",
        PAC_RECHECK_FLOOR.as_secs()
    )
}

/// What the task needs from `toll serve`.
pub(super) struct Keeper<'a> {
    pub cfg: &'a ServeConfig,
    pub routes: &'a Routes,
    pub session: &'a Session,
    pub log: &'a AccessLog,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `-v`'s reporter: SIGHUP's decision says what it found, as at start.
    pub reporter: &'a dyn Reporter,
    /// After each replacement, with what the routing now in use was built from (`toll
    /// doctor`'s record of this server).
    pub on_replace: &'a dyn Fn(&Decided),
    /// Whether SIGHUP is this task's (`toll serve`); `toll run` passes it on to its command.
    pub hangup: bool,
}

/// Why the routing is decided again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Hangup,
    Stale,
    FileChanged,
    NetworkChanged,
}

/// The resolver's configuration, where the C library reads it.
#[cfg(unix)]
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// What says which network this machine is on: its addresses (IPv6 ones by their /64 network),
/// in a stable order, and the resolver's configuration (its servers and search domains). The
/// second catches what the first misses: a VPN or a DHCP lease that changes only the DNS
/// servers, or another network that hands out the same address; a PAC's `dnsResolve` and
/// `isInNet` answer differently then.
#[derive(Debug, PartialEq, Eq)]
struct Network {
    addresses: Vec<std::net::IpAddr>,
    resolver: Option<Vec<u8>>,
}

/// `None` when it cannot be read now (out of file descriptors): that is no news of the network,
/// and taken as a change it dropped every kept connection and, with a PAC it could not read
/// either, sent URLs DIRECT.
fn network() -> Option<Network> {
    let mut addresses: Vec<_> = crate::netif::try_addresses()
        .ok()?
        .into_iter()
        .map(|(_, ip)| ip)
        .filter(|ip| !local_only(ip))
        .map(network_part)
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    #[cfg(unix)]
    let resolver = match std::fs::read(RESOLV_CONF) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => return None,
    };
    #[cfg(not(unix))]
    let resolver = None;
    Some(Network { addresses, resolver })
}

/// An IPv6 address's /64 network: the temporary (privacy) addresses a host makes anew about
/// daily on the same network (RFC 8981) differ only in the other half. IPv4 addresses whole.
fn network_part(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => std::net::IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

/// An address that says nothing of the network this machine is on: loopback, and link-local
/// ones, which every interface that comes up gets — a container started (its veth's `fe80::`
/// address) is not a network change.
fn local_only(ip: &std::net::IpAddr) -> bool {
    ip.is_loopback() || crate::netif::is_link_local(ip)
}

/// Keeps the routing current; never ends. `settings` and `decided` are what the routing in use
/// was built from.
pub(super) async fn keep_current(k: Keeper<'_>, mut settings: Settings, mut decided: Decided) {
    #[cfg(unix)]
    let mut hup = if k.hangup {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    } else {
        None
    };
    #[cfg(not(unix))]
    let mut hup = {
        let _ = k.hangup;
    };
    let mut watch = watch_of(&decided);
    let mut due = watch.after.map(|a| Instant::now() + a);
    let mut stamp = watch.file.as_deref().and_then(FileStamp::of);
    let mut net = network();
    let mut poll = tokio::time::interval_at(Instant::now() + POLL, POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The last failure said in the log, so that a PAC server down for an hour is one line.
    let mut said: Option<String> = None;
    loop {
        let why = tokio::select! {
            _ = hangup(&mut hup) => Why::Hangup,
            _ = sleep_until(due) => Why::Stale,
            _ = poll.tick() => {
                let mut why = None;
                if let Some(p) = &watch.file {
                    let now = FileStamp::of(p);
                    if now != stamp {
                        stamp = now;
                        why = Some(Why::FileChanged);
                    }
                }
                // Looked at whatever the routing: connections kept open from before are closed
                // on a change (`Routes::network_changed`), -x's as much as a PAC's.
                // One that cannot be read now is no news: the last one read stands.
                let now = network();
                let changed = matches!((&net, &now), (Some(was), Some(is)) if was != is);
                if now.is_some() {
                    net = now;
                }
                if changed {
                    k.routes.network_changed();
                    k.log.note("the network changed: connections kept open from before are not used again");
                    if watch.network {
                        why = Some(Why::NetworkChanged);
                    }
                }
                match why {
                    Some(w) => w,
                    None => continue,
                }
            }
        };
        // SIGHUP's settings are kept only if a routing can be made of them.
        let mut read_again = None;
        if why == Why::Hangup {
            // First, so that this reload's own lines land in the new file.
            match k.log.reopen() {
                Ok(true) => k.log.note("SIGHUP: the log file opened again"),
                Ok(false) => {}
                Err(e) => k.log.note(&format!(
                    "SIGHUP: cannot open the log file again ({e}); going on with the old one"
                )),
            }
            k.session.relook();
            match crate::setup::load_settings() {
                Ok(s) => read_again = Some(s),
                Err(e) => {
                    k.log.note(&format!(
                        "SIGHUP: {}; going on with the settings as they were",
                        sanitize(&e.message)
                    ));
                    continue;
                }
            }
        }
        let reporter: &dyn Reporter = if why == Why::Hangup { k.reporter } else { &Quiet };
        let revalidate = if why == Why::NetworkChanged { Revalidate::Always } else { Revalidate::WhenStale };
        let from = read_again.as_ref().unwrap_or(&settings);
        // SIGHUP's new settings must load as they did at start; a PAC that was there and is
        // not now keeps the copy in use (`verdict`).
        let unreachable = if why == Why::Hangup && decided.unreachable.is_none() {
            Unreachable::Fail
        } else {
            Unreachable::GoDirect
        };
        let outcome =
            match routing::decide(&k.cfg.proxy, from, k.env, reporter, None, revalidate, unreachable).await {
                Ok(new) => match verdict(why, &decided, &new) {
                    Verdict::Keep => Ok((new, None)),
                    Verdict::Replace => {
                        routing::build(&new, k.cfg.connect_timeout, k.env, reporter, PacLife::Chooser, None)
                            .map(|chooser| (new, Some(chooser)))
                    }
                    Verdict::Refuse => Err(crate::error::Error::new(
                        crate::error::Exit::Usage,
                        new.unreachable.clone().unwrap_or_else(|| new.plan.notes.join("; ")),
                    )),
                },
                Err(e) => Err(e),
            };
        if why == Why::NetworkChanged {
            // A proxy that did not answer on the old network may on this one (as browsers,
            // which forget their bad proxies when the network changes).
            if let Err(e) = k.routes.current().forget_dead() {
                k.log.note(&format!("cannot forget the proxies marked dead: {e}"));
            }
        }
        match outcome {
            Ok((new, chooser)) => {
                if let Some(w) = new.pac.as_ref().filter(|p| p.obtained == Obtained::CachedStale) {
                    // Said when the server starts failing, not at every recheck after.
                    let was_stale = decided.pac.as_ref().is_some_and(|p| p.obtained == Obtained::CachedStale);
                    if let (Some(w), false) = (&w.warning, was_stale) {
                        k.log.note(&sanitize(w));
                    }
                }
                if let Some(chooser) = chooser {
                    let line = describe(why, &decided, &new);
                    k.routes.replace(chooser);
                    (k.on_replace)(&new);
                    k.log.note(&line);
                }
                if let Some(s) = read_again {
                    settings = s;
                }
                decided = new;
                said = None;
                let before = std::mem::replace(&mut watch, watch_of(&decided));
                due = watch.after.map(|a| Instant::now() + a);
                if watch.file != before.file {
                    stamp = watch.file.as_deref().and_then(FileStamp::of);
                }
            }
            Err(e) => {
                let line = match why {
                    Why::Hangup => {
                        format!("SIGHUP: {}; going on with the settings as they were", sanitize(&e.message))
                    }
                    _ => format!(
                        "the routing cannot be decided again ({}); going on with it as it was",
                        sanitize(&e.message)
                    ),
                };
                if why == Why::Hangup || said.as_deref() != Some(line.as_str()) {
                    k.log.note(&line);
                    said = Some(line);
                }
                // Asked again when a watched file or the network changes next, and, where time
                // is watched, after a while (not in a loop).
                if watch.after.is_some() {
                    due = Some(Instant::now() + PAC_RECHECK_FLOOR);
                }
            }
        }
    }
}

/// What to do with a decision made again.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Keep the routing in use (and its PAC's running script): nothing changed.
    Keep,
    Replace,
    /// Keep the routing in use although the decision differs: a desktop that did not answer
    /// this once, or a WPAD look-up that failed, is not taken for "no proxy" while the network
    /// is the same.
    Refuse,
}

fn verdict(why: Why, old: &Decided, new: &Decided) -> Verdict {
    match why {
        Why::Hangup => Verdict::Replace,
        // After a network change a PAC starts afresh: its DNS answers were the old network's.
        Why::NetworkChanged if new.pac.is_some() => Verdict::Replace,
        _ if new.same_as(old) => Verdict::Keep,
        Why::Stale | Why::FileChanged if new.plan.unanswered() && !old.plan.unanswered() => Verdict::Refuse,
        // A PAC that was loaded and cannot be had now (its server down and the cached copy
        // gone, its file removed) is kept; after a network change, DIRECT (browsers do so).
        Why::Stale | Why::FileChanged
            if new.unreachable.is_some() && old.pac.is_some() && new.plan.same_decision(&old.plan) =>
        {
            Verdict::Refuse
        }
        _ => Verdict::Replace,
    }
}

fn watch_of(d: &Decided) -> Watch {
    // A PAC that could not be had is asked for again as a copy already stale would be.
    let fresh_for =
        if d.unreachable.is_some() { Some(Duration::ZERO) } else { d.pac.as_ref().and_then(|p| p.fresh_for) };
    Watch::of(&d.plan, fresh_for)
}

/// The log line for a replaced routing.
fn describe(why: Why, old: &Decided, new: &Decided) -> String {
    let source = &new.plan.source;
    match why {
        Why::Hangup => "SIGHUP: settings, PAC and stored passwords read again".to_string(),
        Why::NetworkChanged => match &new.unreachable {
            Some(why) => format!("the network changed: {why}: URLs go DIRECT until it can be had"),
            None => format!("the network changed: routing decided again; {}", source.clause()),
        },
        _ if old.plan.same_decision(&new.plan) => match &new.pac {
            Some(p) if old.unreachable.is_some() => {
                format!("the PAC {} is loaded: new requests use it", p.location)
            }
            Some(p) => format!("the PAC {} changed: new requests use it", p.location),
            None => format!("routing decided again; {}", source.clause()),
        },
        _ if old.plan.source == new.plan.source => format!("{source} changed: new requests use them"),
        _ => format!("proxies now come from {source} (before: {})", old.plan.source),
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(unix)]
async fn hangup(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            if s.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn hangup(_: &mut ()) {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::desktop::DesktopProxy;
    use crate::route::pac_fetch::{PacLocation, PacText};
    use crate::route::sources::Plan;
    use crate::route::RouteError;

    /// A decision with the desktop's answer `desktop` (`Err`: it could not be read) and, for a
    /// desktop PAC, the PAC's `text`.
    fn decided(desktop: Result<Option<DesktopProxy>, ()>, text: Option<&str>) -> Decided {
        let desktop =
            desktop.map_err(|_| RouteError::Desktop { desktop: "GNOME".into(), message: "timed out".into() });
        let plan = Plan::for_test(None, None, &[], desktop);
        let pac = text.map(|t| PacText {
            text: t.into(),
            location: PacLocation::parse("http://192.0.2.1/proxy.pac").unwrap(),
            obtained: Obtained::Fetched,
            warning: None,
            fresh_for: None,
        });
        Decided { plan, pac, unreachable: None, behind_hop: false }
    }

    fn gnome(pac: bool) -> Result<Option<DesktopProxy>, ()> {
        Ok(Some(DesktopProxy {
            desktop: "GNOME".into(),
            pac_url: pac.then(|| "http://192.0.2.1/proxy.pac".into()),
            ..Default::default()
        }))
    }

    #[test]
    fn the_same_decision_keeps_the_routing_and_a_new_pac_text_replaces_it() {
        let old = decided(gnome(true), Some("v1"));
        assert_eq!(verdict(Why::Stale, &old, &decided(gnome(true), Some("v1"))), Verdict::Keep);
        assert_eq!(verdict(Why::Stale, &old, &decided(gnome(true), Some("v2"))), Verdict::Replace);
        assert_eq!(verdict(Why::FileChanged, &old, &decided(gnome(true), Some("v2"))), Verdict::Replace);
        // SIGHUP replaces whatever it finds; a network change starts a PAC afresh.
        assert_eq!(verdict(Why::Hangup, &old, &decided(gnome(true), Some("v1"))), Verdict::Replace);
        assert_eq!(verdict(Why::NetworkChanged, &old, &decided(gnome(true), Some("v1"))), Verdict::Replace);
        let direct = decided(gnome(false), None);
        assert_eq!(verdict(Why::NetworkChanged, &direct, &decided(gnome(false), None)), Verdict::Keep);
    }

    /// A PAC that cannot be had: DIRECT meanwhile at start; a loaded one is kept while the
    /// network is the same, and taken over when it can be had.
    #[test]
    fn a_pac_that_cannot_be_had_keeps_the_one_loaded_until_the_network_changes() {
        let unreachable = || {
            let mut d = decided(gnome(true), None);
            d.unreachable = Some("cannot get the PAC http://192.0.2.1/proxy.pac: timed out".into());
            d
        };
        let loaded = decided(gnome(true), Some("v1"));
        assert_eq!(verdict(Why::Stale, &loaded, &unreachable()), Verdict::Refuse);
        assert_eq!(verdict(Why::FileChanged, &loaded, &unreachable()), Verdict::Refuse);
        assert_eq!(verdict(Why::NetworkChanged, &loaded, &unreachable()), Verdict::Replace);
        assert_eq!(verdict(Why::Stale, &unreachable(), &unreachable()), Verdict::Keep);
        assert_eq!(verdict(Why::Stale, &unreachable(), &loaded), Verdict::Replace);
        assert!(describe(Why::Stale, &unreachable(), &loaded).contains("is loaded: new requests use it"));
        assert!(describe(Why::NetworkChanged, &loaded, &unreachable())
            .ends_with("URLs go DIRECT until it can be had"));
        // Asked for again as a stale copy is.
        assert_eq!(watch_of(&unreachable()).after, Some(crate::route::refresh::SETTINGS_EVERY));
        assert_eq!(watch_of(&loaded).after, Some(crate::route::refresh::SETTINGS_EVERY));
    }

    #[test]
    fn a_new_temporary_ipv6_address_is_the_same_network() {
        let part = |s: &str| network_part(s.parse().unwrap());
        assert_eq!(part("2001:db8:1:2:a1b2:c3d4:e5f6:1"), part("2001:db8:1:2:9999:8888:7777:6666"));
        assert_ne!(part("2001:db8:1:2::1"), part("2001:db8:1:3::1"), "another /64, another network");
        assert_eq!(part("2001:db8:1:2:ffff::1"), "2001:db8:1:2::".parse::<std::net::IpAddr>().unwrap());
        assert_eq!(part("192.168.1.20"), "192.168.1.20".parse::<std::net::IpAddr>().unwrap());
    }

    #[test]
    fn loopback_and_link_local_addresses_say_nothing_of_the_network() {
        for local in ["127.0.0.1", "127.1.2.3", "169.254.1.1", "::1", "fe80::1", "febf::1"] {
            assert!(local_only(&local.parse().unwrap()), "{local}");
        }
        for other in ["10.0.0.2", "192.168.1.20", "172.17.0.1", "2001:db8::1", "fd00::1", "fec0::1"] {
            assert!(!local_only(&other.parse().unwrap()), "{other}");
        }
    }

    #[test]
    fn a_desktop_that_does_not_answer_once_is_not_taken_for_no_proxy() {
        let old = decided(gnome(true), Some("v1"));
        let glitch = decided(Err(()), None);
        assert_eq!(verdict(Why::Stale, &old, &glitch), Verdict::Refuse);
        // A desktop that answers "no proxy" is taken; so is a glitch after a network change.
        assert_eq!(verdict(Why::Stale, &old, &decided(Ok(None), None)), Verdict::Replace);
        assert_eq!(verdict(Why::Stale, &old, &decided(gnome(false), None)), Verdict::Replace);
        assert_eq!(verdict(Why::NetworkChanged, &old, &glitch), Verdict::Replace);
        // A routing that had no answer either takes the next.
        assert_eq!(verdict(Why::Stale, &glitch, &decided(gnome(true), Some("v1"))), Verdict::Replace);
    }
}
