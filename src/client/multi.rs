//! Several URLs on one command line, as curl runs them (in order, or with `-Z` at the same time,
//! at most `--parallel-max` at once): one [`Session`] for all — one relay, one HTTP client, one
//! cookie engine, and what was rejected stays rejected — each URL with its own output file and
//! its own `-w` output. `--parallel-max-host` limits how many of `-Z`'s transfers go to one
//! host at once. As in curl, a failed transfer does not stop the others (unless
//! `--fail-early`); its error is printed (unless `-s`) and the run's exit status is the last
//! transfer's — with `-Z`, as curl 7.88, the last failure's to finish ([`Failures`]).
//!
//! The response heads printed as received (`-i`, `-I`, `-D`, `-w`'s sizes, `--trace`) come from
//! the connection log, which tells heads apart by order only: with those, `-Z` runs the URLs one
//! after the other so every head goes with its own transfer.

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
    if let Some(max) = first.transfer.parallel.filter(|_| session.tap.is_none()) {
        return parallel(&session, reqs, style, format.as_deref(), max).await;
    }
    // `-Z` run one after the other (heads or reports to print): still `-Z`'s status.
    let zed = first.transfer.parallel.is_some();
    let mut failures = Failures::default();
    let mut last = Ok(());
    for (i, req) in reqs.iter().enumerate() {
        let started = tokio::time::Instant::now();
        let mut rec = Recorder::start(req);
        let result = attempts::run(&session, req, style, &mut rec).await;
        if let Some(format) = &format {
            rec.write_out(format, &result);
        }
        let stop = ends_the_line(req, &result);
        if zed {
            failures.add(result, style);
        } else {
            // The error returned is printed by `main`; earlier ones here, as curl prints each.
            if let (Err(e), true) = (&result, i + 1 < reqs.len() && !stop) {
                print_error(e, style);
            }
            last = result;
        }
        if stop {
            break;
        }
        // --rate: the next transfer starts no sooner than this long after this one did.
        if let Some(every) = req.transfer.rate.filter(|_| i + 1 < reqs.len()) {
            let took = started.elapsed();
            if took < every {
                if style.verbose {
                    eprintln!(
                        "toll: the transfer took {} ms; waiting {} ms as --rate says",
                        took.as_millis(),
                        (every - took).as_millis()
                    );
                }
                tokio::time::sleep_until(started + every).await;
            }
        }
    }
    if zed {
        return failures.into_result();
    }
    last
}

/// `-Z`'s exit status, as curl 7.88's: the last failure to finish (a success after it does not
/// clear it; a failure after it replaces it). The one returned is printed by `main`; each one it
/// replaces is printed here then, so every failure is printed, in the order they finished.
#[derive(Default)]
struct Failures(Option<crate::error::Error>);

impl Failures {
    fn add(&mut self, result: Result<()>, style: OutputStyle) {
        if let Err(e) = result {
            if let Some(earlier) = self.0.replace(e) {
                print_error(&earlier, style);
            }
        }
    }

    fn into_result(self) -> Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// A transfer's error that is not the run's (`main` prints that one), as curl prints each.
fn print_error(e: &crate::error::Error, style: OutputStyle) {
    if !style.silent || style.show_error {
        eprintln!("toll: error: {}", crate::term::sanitize(&e.message));
    }
}

/// `--parallel-max-host`: how many transfers may run at once to one scheme, host and port.
struct PerHost {
    max: Option<usize>,
    hosts: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>>,
}

impl PerHost {
    fn new(max: Option<usize>) -> PerHost {
        PerHost { max, hosts: Default::default() }
    }

    /// Waits for `url`'s host to have a free place; the place is held while the guard lives.
    async fn turn(&self, url: &url::Url) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let max = self.max?;
        let key = format!("{}://{}:{}", url.scheme(), url.host_str()?, url.port_or_known_default()?);
        let place = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts.entry(key).or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(max))).clone()
        };
        place.acquire_owned().await.ok()
    }
}

/// `-Z`: every request of `reqs`, at most `max` at once, started in order; each is reported
/// (its `-w`) as it finishes. The status is the last failure's to finish ([`Failures`]), else
/// success.
async fn parallel(
    session: &Session,
    reqs: &[RequestConfig],
    style: OutputStyle,
    format: Option<&str>,
    max: usize,
) -> Result<()> {
    use futures_util::stream::StreamExt;
    let per_host = PerHost::new(reqs.first().and_then(|r| r.transfer.parallel_max_host));
    let per_host = &per_host;
    let mut running = futures_util::stream::iter(reqs)
        .map(|req| async move {
            // As in curl, a transfer waiting for its host's turn holds its place among `max`.
            let _turn = per_host.turn(&req.url).await;
            let mut rec = Recorder::start(req);
            let result = attempts::run(session, req, style, &mut rec).await;
            (req, rec, result)
        })
        .buffer_unordered(max.max(1));
    let mut failures = Failures::default();
    while let Some((req, rec, result)) = running.next().await {
        if let Some(format) = format {
            rec.write_out(format, &result);
        }
        let stop = ends_the_line(req, &result);
        failures.add(result, style);
        if stop {
            // The others are dropped unfinished (their partial files are removed) and do not
            // count: with --fail-early the status is the failure that ended the line.
            break;
        }
    }
    failures.into_result()
}

/// Whether a transfer's failure ends the command line's other transfers: with `--fail-early`,
/// or when the file `-T` uploads cannot be read (curl's "Can't open": exit 26, nothing after it
/// is fetched), or `-O`'s URL names no file (curl's "Remote file name has no length!", 23).
fn ends_the_line(req: &RequestConfig, result: &Result<()>) -> bool {
    // As in curl, a transfer that could not be set up ends the line: an upload whose file
    // cannot be read, an -O whose URL names no file.
    let unset = |e: &crate::error::Error| match e.exit {
        crate::error::Exit::Read => req.upload,
        crate::error::Exit::Write => super::saving::check_remote_name(req).is_err(),
        _ => false,
    };
    result.as_ref().is_err_and(|e| req.transfer.fail_early || unset(e))
}
