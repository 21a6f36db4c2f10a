//! Files toll reads and writes (hardening issue): `-O` names, output file modes and hard links,
//! request bodies from pipes and pseudo-files, and state and settings files that are links,
//! devices or huge.

use crate::origin::Origin;
use crate::pct;
use crate::run::{scratch, toll};
use crate::{pattern_bytes, sha256_hex};

/// `-O -L`: the name comes from the URL on the command line, never from where the server
/// redirected to (a redirect to `/.bashrc` must not write `./.bashrc`).
#[test]
fn remote_name_ignores_the_redirect_target() {
    let origin = Origin::http();
    let dir = scratch();
    let to = pct(&origin.url("/.bashrc"));
    let out = toll(["-sS", "-L", "-O", &origin.url(&format!("/redirect?to={to}"))]).cwd(dir.path()).run();
    out.assert_ok();
    assert!(!dir.path().join(".bashrc").exists(), "the redirect target named the file:\n{}", out.describe());
    // `/.bashrc` is a 404 on the test origin: its body went to the name the user asked for.
    assert_eq!(std::fs::read(dir.path().join("redirect")).unwrap(), b"no such route\n");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["redirect"]);

    // And with a real file at the end of the chain.
    let to = pct(&origin.url("/bytes/100"));
    let out = toll(["-sS", "-L", "-O", &origin.url(&format!("/redirect?to={to}"))]).cwd(dir.path()).run();
    out.assert_ok();
    assert_eq!(std::fs::read(dir.path().join("redirect")).unwrap(), pattern_bytes(100));
    assert!(!dir.path().join("100").exists());
    let _ = sha256_hex;
}
