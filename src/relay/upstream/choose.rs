//! Which scheme answers a proxy's 407: the strongest one offered that toll can answer, the user
//! allows, and that has not failed here, with the credential it needs from the broker. A
//! scheme that cannot work here (no GSSAPI library, no Kerberos ticket, refused by the proxy)
//! is left out of the choice: for good, except Negotiate, which comes back after
//! [`NEGOTIATE_AGAIN`] (`kinit` mends it without a word to toll).

use super::super::{Inner, Upstream};
use super::{none_creds, respond, Answer, Exchange, Outgoing};
use crate::auth::{self, Challenge, OsEntropy, Scheme, SchemeSet};
use crate::creds::Exhausted;
use crate::relay::{Failure, FailureKind};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long Negotiate stays out of the choice after it failed (see `Upstream::drop_scheme`).
const NEGOTIATE_AGAIN: Duration = Duration::from_secs(30);

impl Upstream {
    /// Picks the strongest usable scheme among `challenges`, gets what it needs, and sets the
    /// header for the next leg. A scheme that cannot work here (no GSSAPI library, no ticket)
    /// is dropped (Negotiate for a while, see `drop_scheme`) and the next one is tried, without
    /// another request.
    pub(super) async fn answer_challenge(
        self: &Arc<Self>,
        inner: &Inner,
        ex: &mut Exchange,
        challenges: &[Challenge],
        out: &Outgoing,
        after_rejection: bool,
    ) -> Result<Answer, Failure> {
        let mut rng = OsEntropy;
        loop {
            let allowed = self.usable_schemes();
            let Some(chosen) = auth::choose(challenges, allowed) else {
                let kind = if challenges.is_empty() {
                    FailureKind::NoChallenge
                } else {
                    FailureKind::NoUsableScheme { unusable: ex.unusable.clone() }
                };
                return Err(self.fail(ex, kind, Some(407)));
            };
            let scheme = chosen.scheme.expect("choose returns known schemes");
            if inner.reporter.verbose() {
                let offered =
                    challenges.iter().map(|c| c.scheme_name.as_str()).collect::<Vec<_>>().join(", ");
                inner.info(format_args!(
                    "proxy offers {offered}; using {scheme}, the strongest toll can answer"
                ));
            }
            let Some(mut a) = auth::authenticator(scheme) else {
                self.drop_scheme(scheme);
                continue;
            };
            let issued = if a.needs_credentials() {
                let req = self.credential_request(scheme, chosen.realm(), after_rejection);
                let got = self.lookup(req, ex.id, Some(&ex.target)).await.map_err(|e| {
                    self.fail(
                        ex,
                        FailureKind::ProxyError(format!("credential lookup failed: {e}")),
                        Some(407),
                    )
                })?;
                match got {
                    Ok(i) => {
                        inner.info(format_args!("credentials for user {:?} from {}", i.creds.user, i.source));
                        Some(i)
                    }
                    Err(Exhausted { refused_here: Some(user), .. }) => {
                        return Err(self.fail(ex, FailureKind::RestrictedDestination { user }, Some(407)));
                    }
                    Err(gone) => {
                        let kind = if gone.rejected.is_empty() {
                            // What failed before (no Kerberos ticket) is part of the story.
                            let mut incomplete = ex.unusable.clone();
                            incomplete.extend(gone.incomplete);
                            FailureKind::NoCredentials { incomplete }
                        } else {
                            FailureKind::Rejected { sources: gone.rejected }
                        };
                        return Err(self.fail(ex, kind, Some(407)));
                    }
                }
            } else {
                None
            };
            let creds = issued.as_ref().map_or_else(none_creds, |i| i.creds.clone());
            let answered = match a.needs_credentials() {
                true => {
                    let target = self.target(out, &ex.target);
                    let v = respond(a.as_mut(), chosen, &creds, &target, &mut rng);
                    (a, v)
                }
                // Negotiate asks the Kerberos library, which may wait for a KDC that does not
                // answer (MIT's default: 27 s): on a thread of its own, so that `-m` (which
                // drops this future) ends the run on time.
                false => self.respond_elsewhere(a, chosen.clone(), creds.clone(), out, &ex.target).await,
            };
            let (a, answer) = answered;
            match answer {
                Ok(v) => {
                    ex.header = Some(v);
                    let a = Answer { auth: a, issued, realm: chosen.realm().map(str::to_owned) };
                    if a.auth.sequenced() {
                        self.active.hold(&mut ex.held, &a);
                    }
                    return Ok(a);
                }
                Err(e) => {
                    inner.info(format_args!("{e}; trying the next offered scheme"));
                    ex.unusable.push(format!("{scheme}: {e}"));
                    self.drop_scheme(scheme);
                }
            }
        }
    }

    /// [`respond`] on a blocking thread, for a scheme that asks a library that may block
    /// (Negotiate); the authenticator comes back with the answer.
    async fn respond_elsewhere(
        &self,
        mut a: Box<dyn auth::Authenticator>,
        chosen: Challenge,
        creds: crate::secret::Credentials,
        out: &Outgoing,
        uri: &str,
    ) -> (Box<dyn auth::Authenticator>, Result<crate::secret::Secret, auth::AuthError>) {
        let (method, uri) = (out.method.as_str().to_owned(), uri.to_owned());
        let (host, service, delegation) = (self.spec.host.clone(), self.service.clone(), self.delegation);
        let asked = tokio::task::spawn_blocking(move || {
            let target = auth::RequestTarget {
                method: &method,
                uri: &uri,
                body: None,
                proxy_host: &host,
                service: &service,
                delegation,
            };
            let v = a.respond(&chosen, &creds, &target, &mut OsEntropy);
            (a, v)
        });
        match asked.await {
            Ok(answered) => answered,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    pub(in crate::relay) fn usable_schemes(&self) -> SchemeSet {
        let mut usable = self.usable.lock().unwrap_or_else(|e| e.into_inner());
        if usable.1.is_some_and(|at| Instant::now() >= at) {
            *usable = (usable.0.with(Scheme::Negotiate), None);
        }
        usable.0
    }

    /// Whether Negotiate failed with this proxy a short while ago (see [`Self::drop_scheme`]).
    pub(in crate::relay) fn negotiate_failed(&self) -> bool {
        self.usable.lock().unwrap_or_else(|e| e.into_inner()).1.is_some()
    }

    /// Leaves `scheme` out of the choice. For good, except Negotiate: what failed there is the
    /// user's Kerberos ticket more often than not (none yet, expired, the KDC out of reach),
    /// and `kinit` mends it without a word to toll, so a long run (`toll serve`) tries it again
    /// after [`NEGOTIATE_AGAIN`]. No password is involved (the ticket is the credential, and a
    /// proxy refusing it locks nothing), so trying again cannot lock an account.
    pub(super) fn drop_scheme(&self, scheme: Scheme) {
        let mut usable = self.usable.lock().unwrap_or_else(|e| e.into_inner());
        let back = match scheme {
            Scheme::Negotiate => Some(Instant::now() + NEGOTIATE_AGAIN),
            _ => usable.1,
        };
        *usable = (usable.0.without(scheme), back);
    }
}
