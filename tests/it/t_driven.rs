//! The body's reader drives its proxy connection (`relay::driven`, issue 10): a redirect chain
//! followed through a real Squid reuses the one upstream connection for every hop, so after
//! each redirect's body the connection must go back to its own task. `-m` turns a hop that
//! waits forever into a failure (exit 28) instead of a stuck test. (The hand-back bug this
//! guards against showed in the differential corpus as 30 s stalls, not reliably here; its
//! regression test is `relay::driven`'s unit test of the hand-back.)

use crate::origin::Origin;
use crate::run::via_proxy;
use crate::squid::{self, Auth, ALICE};

#[test]
fn redirect_chain_through_squid_on_one_driven_connection() {
    crate::require_squid!("redirect_chain_through_squid_on_one_driven_connection");
    let sq = squid::shared(Auth::Basic);
    for tls in [false, true] {
        let origin = Origin::start(tls);
        let out = via_proxy(&sq.url(), Some(ALICE), &origin, "/chain/4", &["-L", "-m", "20"]).run();
        out.assert_ok();
        let text = out.stdout_str();
        assert!(text.contains("done"), "tls={tls}: the chain did not end:\n{}", out.describe());
        let out =
            via_proxy(&sq.url(), Some(ALICE), &origin, "/redirect?to=%2Fchain%2F0", &["-L", "-m", "20"])
                .run();
        out.assert_ok();
    }
}
