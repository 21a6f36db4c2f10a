//! `toll doctor` notices a running `toll serve` (from the state file it keeps, see
//! `crate::serve::state`) and says where it listens and where its proxies come from: a note in
//! step 1, since programs pointed at it share its configuration.

use super::{Env, Status, Step};
use crate::term::sanitize;

/// Adds a note to `step` for each `toll serve` of this user that is running.
pub(super) fn note(step: &mut Step, env: Env) {
    let Some(dir) = crate::store::toll_state_dir(env) else { return };
    for s in crate::serve::state::running(&dir) {
        step.note(
            Status::Ok,
            format!(
                "a toll serve is running on {} (pid {}) using {}",
                sanitize(&s.listen),
                s.pid,
                sanitize(&s.proxies)
            ),
            None,
        );
    }
}
