//! Several URLs on one command line, as curl runs them (serially, in order): one [`Session`] for
//! all — one relay, one HTTP client, one cookie engine, and what was rejected stays rejected —
//! each URL with its own output file and its own `-w` output. As in curl, a failed transfer
//! does not stop the next one (unless `--fail-early`); its error is printed (unless `-s`) and
//! the run's exit status is the last transfer's.

use super::transfer_info::{self, Recorder};
use super::{attempts, Context, Session};
use crate::config::{OutputStyle, ProxyConfig, RequestConfig};
use crate::error::Result;
use crate::route::choice::Chooser;

/// Fetches every request of `reqs` in turn (one request: exactly [`super::run`]).
pub async fn run_all(
    reqs: &[RequestConfig],
    proxy: &ProxyConfig,
    routes: Chooser,
    style: OutputStyle,
    ctx: Context,
) -> Result<()> {
    let [first, rest @ ..] = reqs else { return Ok(()) };
    if rest.is_empty() {
        return super::run(first, proxy, routes, style, ctx).await;
    }
    let format = first.write_out.as_ref().map(transfer_info::load_format).transpose()?;
    let session = match Session::start(first, proxy, routes, ctx).await {
        Ok(s) => s,
        Err(e) => {
            let result = Err(e);
            if let Some(format) = &format {
                Recorder::start(first).write_out(format, &result);
            }
            return result;
        }
    };
    let mut last = Ok(());
    for (i, req) in reqs.iter().enumerate() {
        let mut rec = Recorder::start(req);
        let result = attempts::run(&session, req, style, &mut rec).await;
        if let Some(format) = &format {
            rec.write_out(format, &result);
        }
        // The last error is printed by `main`; earlier ones here, as curl prints each.
        if let (Err(e), true) = (&result, i + 1 < reqs.len()) {
            if !style.silent || style.show_error {
                eprintln!("toll: error: {}", crate::term::sanitize(&e.message));
            }
        }
        let stop = result.is_err() && req.transfer.fail_early;
        last = result;
        if stop {
            break;
        }
    }
    last
}
