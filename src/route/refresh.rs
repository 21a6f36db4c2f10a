//! What a long-running `toll serve` watches to decide its routing again without a SIGHUP, for
//! the plan in use — as browsers do: they fetch a PAC again when their copy goes stale and
//! when the network changes, and take changed system settings without a restart.
//!
//! - routing from `-x` or the `*_proxy` variables: nothing (neither changes under a process);
//! - a PAC file: its size, modification time and inode;
//! - a PAC URL: the copy's freshness (its `max-age`, else five minutes; at least
//!   [`PAC_RECHECK_FLOOR`], so a `no-cache` PAC is not asked for in a loop; a copy used because
//!   the server failed is asked for again after the floor);
//! - routing from the desktop's settings, or from nothing (the desktop may get a proxy):
//!   every [`SETTINGS_EVERY`], or [`UNANSWERED_EVERY`] when a source did not answer (WPAD: with
//!   its PAC's freshness);
//! - for everything but the first: a change of this machine's network addresses (a laptop
//!   that leaves the office network) or of its resolver's configuration (a VPN that changes
//!   only the DNS servers), after which a PAC URL is asked for even when fresh.
//!
//! A decision by time in which the desktop's settings could not be read, or WPAD found nothing
//! ([`Plan::unanswered`]), does not replace a routing that had its answer: that waits for a
//! network change.
//!
//! The loop that acts on it is `toll serve`'s (and `toll run`'s, while its command runs); this
//! file only says what to watch. That loop also closes the connections kept open when the
//! network changes, whatever the routing, `-x`'s too.

use super::pac_fetch::{PacLocation, DEFAULT_FRESH};
use super::sources::{How, Plan, Step};
use std::path::PathBuf;
use std::time::Duration;

/// The shortest time between two fetches of a PAC URL.
pub const PAC_RECHECK_FLOOR: Duration = Duration::from_secs(30);
/// How often the desktop's settings are read again while they decide (or could): a
/// `gsettings` run (10 ms) or a file read, so that a proxy changed in the desktop's settings
/// reaches every client within seconds, as it reaches a browser.
pub const SETTINGS_EVERY: Duration = Duration::from_secs(10);
/// The same when a source did not answer last time ([`Plan::unanswered`]): a desktop whose
/// settings cannot be read, WPAD look-ups that find nothing.
pub const UNANSWERED_EVERY: Duration = Duration::from_secs(60);

/// What to watch for the routing in use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    /// Decide again after this long; `None`: not because of time.
    pub after: Option<Duration>,
    /// A PAC file whose change means deciding again.
    pub file: Option<PathBuf>,
    /// Decide again when this machine's network addresses or DNS servers change.
    pub network: bool,
}

impl Watch {
    /// For `plan`, whose PAC (if any) stays fresh for `pac_fresh_for` (`PacText::fresh_for`).
    pub fn of(plan: &Plan, pac_fresh_for: Option<Duration>) -> Watch {
        let mut watch = Watch { network: true, ..Watch::default() };
        match &plan.how {
            How::Fixed(_) if matches!(plan.source.step, Step::CommandLine | Step::Environment) => {
                return Watch::default();
            }
            How::Pac(PacLocation::Path(p)) => watch.file = Some(p.clone()),
            How::Pac(PacLocation::Url(_)) => {
                watch.after = Some(pac_fresh_for.unwrap_or(DEFAULT_FRESH).max(PAC_RECHECK_FLOOR));
            }
            How::Fixed(_) | How::Manual(_) | How::Direct => {}
        }
        // Steps before the desktop's are read from flags, variables and the settings file,
        // which only SIGHUP reads again. WPAD's look-ups are repeated with its PAC's freshness
        // and on a network change, as browsers do, not every minute.
        if matches!(plan.source.step, Step::Desktop | Step::Default) {
            let every = if plan.unanswered() { UNANSWERED_EVERY } else { SETTINGS_EVERY };
            watch.after = Some(watch.after.map_or(every, |a| a.min(every)));
        }
        watch
    }
}

/// What identifies a file's version without reading it: a rewrite in place changes its size or
/// modification time, an editor's save-by-rename its inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

impl FileStamp {
    /// `None` when the file cannot be looked at (removed, say): a change too, when it was there.
    pub fn of(path: &std::path::Path) -> Option<FileStamp> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp { len: m.len(), modified: m.modified().ok(), inode })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::desktop::DesktopProxy;
    use crate::route::RouteError;

    fn plan(
        explicit: Option<&str>,
        pac_flag: Option<&str>,
        vars: &[(&str, &str)],
        desktop: Option<DesktopProxy>,
    ) -> Plan {
        Plan::for_test(explicit, pac_flag, vars, Ok(desktop))
    }

    #[test]
    fn flags_and_variables_are_not_watched() {
        assert_eq!(Watch::of(&plan(Some("http://p:3128"), None, &[], None), None), Watch::default());
        let env = plan(None, None, &[("https_proxy", "http://p:3128")], None);
        assert_eq!(Watch::of(&env, None), Watch::default());
    }

    #[test]
    fn a_pac_file_is_watched_and_a_pac_url_rechecked_when_stale_but_not_in_a_loop() {
        let file = plan(None, Some("/etc/proxy.pac"), &[], None);
        let w = Watch::of(&file, None);
        assert_eq!((w.file, w.after, w.network), (Some(PathBuf::from("/etc/proxy.pac")), None, true));
        let url = plan(None, Some("http://192.0.2.1/proxy.pac"), &[], None);
        let after = |fresh| Watch::of(&url, fresh).after;
        assert_eq!(after(Some(Duration::from_secs(600))), Some(Duration::from_secs(600)));
        assert_eq!(after(None), Some(DEFAULT_FRESH));
        assert_eq!(after(Some(Duration::ZERO)), Some(PAC_RECHECK_FLOOR), "no-cache, or a failed fetch");
        assert!(Watch::of(&url, None).network && Watch::of(&url, None).file.is_none());
    }

    #[test]
    fn the_desktop_and_no_setting_at_all_are_read_again_within_seconds() {
        let manual = DesktopProxy {
            desktop: "GNOME".into(),
            manual: Some(crate::route::desktop::Manual {
                http: Some(crate::proxy_env::parse_proxy_url("http://p:3128", "GNOME").unwrap()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let w = Watch::of(&plan(None, None, &[], Some(manual)), None);
        assert_eq!((w.after, w.network), (Some(SETTINGS_EVERY), true));
        let pac = DesktopProxy {
            desktop: "GNOME".into(),
            pac_url: Some("http://192.0.2.1/proxy.pac".into()),
            ..Default::default()
        };
        let desktop_pac = plan(None, None, &[], Some(pac));
        assert_eq!(Watch::of(&desktop_pac, Some(Duration::from_secs(3600))).after, Some(SETTINGS_EVERY));
        let nothing = Watch::of(&plan(None, None, &[], None), None);
        assert_eq!((nothing.after, nothing.network), (Some(SETTINGS_EVERY), true));
        // A desktop that cannot be read is not asked every few seconds.
        let timed_out = RouteError::Desktop { desktop: "GNOME".into(), message: "timed out".into() };
        let unread = Plan::for_test(None, None, &[], Err(timed_out));
        assert_eq!(Watch::of(&unread, None).after, Some(UNANSWERED_EVERY));
        // WPAD's look-ups are not repeated every minute: with its PAC's freshness.
        let mut wpad = plan(None, Some("http://192.0.2.1/wpad.dat"), &[], None);
        wpad.source.step = Step::Wpad;
        assert_eq!(Watch::of(&wpad, Some(Duration::from_secs(600))).after, Some(Duration::from_secs(600)));
    }

    #[test]
    fn a_file_stamp_changes_with_a_rewrite_and_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("proxy.pac");
        assert_eq!(FileStamp::of(&p), None);
        std::fs::write(&p, "a").unwrap();
        let first = FileStamp::of(&p).unwrap();
        assert_eq!(FileStamp::of(&p), Some(first.clone()));
        std::fs::write(&p, "ab").unwrap();
        let second = FileStamp::of(&p).unwrap();
        assert_ne!(first, second);
        // Same size, same second: an editor's rename still shows.
        let tmp = dir.path().join("proxy.pac.new");
        std::fs::write(&tmp, "cd").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        assert_ne!(FileStamp::of(&p).unwrap().inode, second.inode);
    }
}
