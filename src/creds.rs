//! Where proxy credentials come from, behind one trait, and the per-proxy broker that enforces
//! the lockout rule: a credential the proxy rejected is never sent again in this run.
//!
//! Sources are consulted in order (flag, proxy URL, environment; the keyring and the prompt plug
//! in here later). The relay and the auth engine never know which source a credential came from
//! beyond its label for messages.

use crate::auth::Scheme;
use crate::config::ProxySpec;
use crate::secret::Credentials;
use std::collections::HashSet;
use std::sync::Mutex;

/// What the proxy asked for, given to sources so a prompt can say who asks and why.
#[derive(Clone, Debug)]
pub struct CredentialRequest {
    pub proxy: ProxySpec,
    pub scheme: Scheme,
    pub realm: Option<String>,
    /// Some credential for this proxy was already rejected in this run.
    pub after_rejection: bool,
}

/// A source's answer.
#[derive(Debug)]
pub enum Lookup {
    Found(Credentials),
    /// Nothing here.
    Nothing,
    /// Something is configured but unusable (e.g. `-U alice` with no password): said in messages.
    Incomplete(String),
}

pub trait CredentialSource: Send + Sync {
    /// Where the credential comes from, for messages: `-U`, `the proxy URL`, `TOLL_PROXY_USER`…
    fn label(&self) -> String;

    /// May block (keyring, prompt): the relay calls it off the async workers.
    fn lookup(&self, req: &CredentialRequest) -> Lookup;

    /// The proxy accepted `creds` from this source (a keyring source may store them).
    fn accepted(&self, _req: &CredentialRequest, _creds: &Credentials) {}

    /// The proxy rejected `creds` from this source.
    fn rejected(&self, _req: &CredentialRequest, _creds: &Credentials) {}
}

/// A fixed credential: `-U user:password`, the proxy URL's userinfo, or the environment.
pub struct FixedSource {
    label: String,
    user: String,
    password: Option<crate::secret::Secret>,
}

impl FixedSource {
    pub fn new(
        label: impl Into<String>,
        user: impl Into<String>,
        password: Option<crate::secret::Secret>,
    ) -> Self {
        FixedSource { label: label.into(), user: user.into(), password }
    }
}

impl CredentialSource for FixedSource {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn lookup(&self, _req: &CredentialRequest) -> Lookup {
        match &self.password {
            Some(p) => Lookup::Found(Credentials { user: self.user.clone(), password: p.clone() }),
            None => {
                Lookup::Incomplete(format!("{} names user {:?} but gives no password", self.label, self.user))
            }
        }
    }
}

/// A credential handed out by the broker, with where it came from.
#[derive(Clone, Debug)]
pub struct Issued {
    pub creds: Credentials,
    pub source: String,
    index: usize,
}

/// Why the broker has nothing (more) to offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exhausted {
    /// Labels of sources whose credential the proxy rejected in this run.
    pub rejected: Vec<String>,
    /// Sources that are configured but unusable, with why.
    pub incomplete: Vec<String>,
}

#[derive(Default)]
struct BrokerState {
    current: Option<Issued>,
    /// Fingerprints of credentials that worked in this run (a later 407 for them is a
    /// destination restriction, not a wrong password).
    accepted: HashSet<[u8; 32]>,
    rejected: HashSet<[u8; 32]>,
    rejected_labels: Vec<String>,
}

/// The credentials for one proxy during one run.
pub struct CredentialBroker {
    sources: Vec<Box<dyn CredentialSource>>,
    state: Mutex<BrokerState>,
}

impl CredentialBroker {
    pub fn new(sources: Vec<Box<dyn CredentialSource>>) -> Self {
        CredentialBroker { sources, state: Mutex::new(BrokerState::default()) }
    }

    /// The credential to answer a challenge with: the one in use, else the first source's that
    /// has not been rejected. Holding the lock through the lookup keeps concurrent connections
    /// from prompting twice; they get the credential the first one found.
    pub fn get(&self, req: &CredentialRequest) -> Result<Issued, Exhausted> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cur) = &st.current {
            return Ok(cur.clone());
        }
        let mut incomplete = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            match source.lookup(req) {
                Lookup::Found(creds) if !st.rejected.contains(&creds.fingerprint()) => {
                    let issued = Issued { creds, source: source.label(), index };
                    st.current = Some(issued.clone());
                    return Ok(issued);
                }
                Lookup::Found(_) | Lookup::Nothing => {}
                Lookup::Incomplete(why) => incomplete.push(why),
            }
        }
        Err(Exhausted { rejected: st.rejected_labels.clone(), incomplete })
    }

    pub fn accept(&self, req: &CredentialRequest, issued: &Issued) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.accepted.insert(issued.creds.fingerprint()) {
            self.sources[issued.index].accepted(req, &issued.creds);
        }
    }

    /// True when this exact credential already worked on this proxy in this run.
    pub fn was_accepted(&self, issued: &Issued) -> bool {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.accepted.contains(&issued.creds.fingerprint())
    }

    pub fn reject(&self, req: &CredentialRequest, issued: &Issued) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let fp = issued.creds.fingerprint();
        if st.current.as_ref().is_some_and(|c| c.creds.fingerprint() == fp) {
            st.current = None;
        }
        if st.rejected.insert(fp) {
            st.rejected_labels.push(issued.source.clone());
            self.sources[issued.index].rejected(req, &issued.creds);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn req() -> CredentialRequest {
        CredentialRequest {
            proxy: ProxySpec {
                scheme: "http".into(),
                host: "proxy".into(),
                port: 3128,
                user: None,
                password: None,
                origin: "-x".into(),
            },
            scheme: Scheme::Basic,
            realm: None,
            after_rejection: false,
        }
    }

    #[test]
    fn a_rejected_credential_is_never_issued_again_even_from_another_source() {
        let b = CredentialBroker::new(vec![
            Box::new(FixedSource::new("-U", "alice", Some(Secret::new("pw")))),
            Box::new(FixedSource::new("env", "alice", Some(Secret::new("pw")))),
            Box::new(FixedSource::new("url", "alice", Some(Secret::new("other")))),
        ]);
        let first = b.get(&req()).unwrap();
        assert_eq!(first.source, "-U");
        b.reject(&req(), &first);
        let second = b.get(&req()).unwrap();
        assert_eq!(second.source, "url", "env offers the same rejected pair");
        b.reject(&req(), &second);
        let gone = b.get(&req()).unwrap_err();
        assert_eq!(gone.rejected, vec!["-U".to_string(), "url".to_string()]);
    }

    #[test]
    fn incomplete_sources_are_reported() {
        let b = CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "alice", None))]);
        let e = b.get(&req()).unwrap_err();
        assert!(e.rejected.is_empty());
        assert!(e.incomplete[0].contains("alice"), "{:?}", e.incomplete);
    }

    #[test]
    fn accepted_credentials_are_remembered() {
        let b = CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "a", Some(Secret::new("p"))))]);
        let i = b.get(&req()).unwrap();
        assert!(!b.was_accepted(&i));
        b.accept(&req(), &i);
        assert!(b.was_accepted(&i));
    }
}
