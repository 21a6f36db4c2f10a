//! The user name and password of a SOCKS `-x` proxy for toll's own transfers (reqwest speaks
//! SOCKS there: `-x socks5://user:pw@…`, `ALL_PROXY`, a PAC's `SOCKS5`), held to the rule the
//! relay keeps for HTTP proxies: a credential not yet accepted goes with one transfer at a time;
//! one the proxy rejected is not sent again in this run (a later transfer — another URL,
//! `--next`, `--retry`, `-Z` — fails at once, exit 41); one it accepted goes freely. Rejections
//! are the run's [`Rejections`], which `--preproxy`'s SOCKS client reads and adds to as well: one
//! record of what each proxy refused.
//!
//! Which credential: the proxy URL's, else `-U` (as curl uses `-U` for a SOCKS5 proxy).
//! (`toll serve` and `--preproxy` speak SOCKS themselves, with the credential brokers of
//! `crate::socks`.)

use crate::config::ProxySpec;
use crate::creds::Rejections;
use crate::error::{Error, Exit, Result};
use crate::secret::{Credentials, Secret};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A proxy and a credential: the proxy's URL without credentials, the credential's fingerprint.
type Key = (String, [u8; 32]);

#[derive(Default)]
struct State {
    /// The credentials each proxy accepted (rejections are the run's `Rejections`).
    accepted: std::collections::HashSet<Key>,
    /// One transfer at a time tries a credential not judged yet.
    trials: HashMap<Key, Arc<tokio::sync::Mutex<()>>>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Default::default)
}

fn accepted(key: &Key) -> bool {
    state().lock().unwrap_or_else(|e| e.into_inner()).accepted.contains(key)
}

/// The credential a transfer through `spec` sends: the URL's, else `-U`'s (`flag`).
pub fn login(spec: &ProxySpec, flag: Option<&(String, Option<Secret>)>) -> Option<Credentials> {
    match (&spec.user, flag) {
        (Some(user), _) => {
            Some(Credentials { user: user.clone(), password: spec.password.clone().unwrap_or_default() })
        }
        (None, Some((user, password))) => {
            Some(Credentials { user: user.clone(), password: password.clone().unwrap_or_default() })
        }
        (None, None) => None,
    }
}

/// One transfer's use of a SOCKS credential, settled by [`Trial::settle`] when its answer (or
/// failure) is known.
pub struct Trial {
    key: Key,
    rejections: Arc<Rejections>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// Before a transfer through `spec` with `creds`: refused (exit 41) when the proxy rejected them
/// earlier in this process; else waits while another transfer tries them first.
pub async fn begin(spec: &ProxySpec, creds: &Credentials, rejections: &Arc<Rejections>) -> Result<Trial> {
    let key = (spec.display_url(), creds.fingerprint());
    let rejected = || rejections.holds(&key.0, &key.1);
    let trial = |turn| Trial { key: key.clone(), rejections: rejections.clone(), _turn: turn };
    let refused = || {
        Error::new(
            Exit::AuthRejected,
            format!(
                "the SOCKS proxy {} rejected the credentials for user {:?} earlier in this run; \
                 they are not sent again",
                spec.display_url(),
                crate::term::sanitize(&creds.user)
            ),
        )
        .hint("give the right password in the proxy URL or with -U")
    };
    if rejected() {
        return Err(refused());
    }
    let turn = match accepted(&key) {
        true => return Ok(trial(None)),
        false => {
            let lock = state()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .trials
                .entry(key.clone())
                .or_default()
                .clone();
            lock.lock_owned().await
        }
    };
    match (rejected(), accepted(&key)) {
        (true, _) => Err(refused()),
        (false, true) => Ok(trial(None)),
        (false, false) => Ok(trial(Some(turn))),
    }
}

impl Trial {
    /// The transfer got an answer through the proxy (`Some(true)`: the credential worked), or
    /// the proxy refused the credential (`Some(false)`), or nothing was learnt (`None`: another
    /// failure). The next transfer waiting for its turn goes on either way.
    pub fn settle(self, accepted: Option<bool>) {
        match accepted {
            // A rejection stands, whatever a transfer that was already under way says.
            Some(true) if !self.rejections.holds(&self.key.0, &self.key.1) => {
                state().lock().unwrap_or_else(|e| e.into_inner()).accepted.insert(self.key.clone());
            }
            Some(false) => {
                state().lock().unwrap_or_else(|e| e.into_inner()).accepted.remove(&self.key);
                self.rejections.record(&self.key.0, self.key.1, "the SOCKS proxy URL or -U");
            }
            _ => {}
        }
    }
}

/// Whether `text` (an error's chain) is a SOCKS proxy's refusal of the credential (RFC 1929's
/// failure status, as hyper-util words it).
pub fn is_rejection(text: &str) -> bool {
    text.contains("credentials not accepted")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> ProxySpec {
        crate::proxy_env::parse_proxy_url(url, "-x").unwrap()
    }

    #[test]
    fn the_urls_credential_then_dash_u() {
        let flag = ("bob".to_string(), Some(Secret::new("pw2")));
        let with = login(&spec("socks5h://alice:pw1@127.0.0.1:1080"), Some(&flag)).unwrap();
        assert_eq!(with.user, "alice");
        assert_eq!(login(&spec("socks5h://127.0.0.1:1080"), Some(&flag)).unwrap().user, "bob");
        assert!(login(&spec("socks5h://127.0.0.1:1080"), None).is_none());
    }

    #[test]
    fn a_rejected_credential_is_refused_before_it_is_sent_again() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let s = spec("socks5h://127.0.0.1:1");
        let wrong = Credentials::new("carol", "wrong-socks-pw");
        let right = Credentials::new("carol", "right-socks-pw");
        let run = Arc::new(Rejections::default());
        rt.block_on(async {
            let t = begin(&s, &wrong, &run).await.unwrap();
            t.settle(Some(false));
            let e = begin(&s, &wrong, &run).await.err().expect("not sent again");
            assert_eq!(e.exit, Exit::AuthRejected);
            // The run's one record: --preproxy's SOCKS client sees it too.
            assert!(run.holds(&s.display_url(), &wrong.fingerprint()));
            // Another password is tried; once accepted it goes without waiting.
            begin(&s, &right, &run).await.unwrap().settle(Some(true));
            let a = begin(&s, &right, &run).await.unwrap();
            let b = begin(&s, &right, &run).await.unwrap();
            drop((a, b));
        });
    }

    #[test]
    fn an_untried_credential_goes_with_one_transfer_at_a_time() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let s = spec("socks5h://127.0.0.1:2");
        let c = Credentials::new("dave", "pw");
        let run = Arc::new(Rejections::default());
        rt.block_on(async {
            let first = begin(&s, &c, &run).await.unwrap();
            let second =
                tokio::time::timeout(std::time::Duration::from_millis(100), begin(&s, &c, &run)).await;
            assert!(second.is_err(), "the second waits for the first's verdict");
            first.settle(Some(false));
            assert!(begin(&s, &c, &run).await.is_err());
        });
    }
}
