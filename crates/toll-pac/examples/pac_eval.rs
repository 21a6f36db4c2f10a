//! Times the engine on one PAC (used by bench/pac.sh): `pac_eval PAC URL [RUNS]` prints the
//! median compile time (parse + top level), the median first call and the median of later calls,
//! in milliseconds. Names resolve through an empty table (no DNS).

use std::sync::Arc;
use std::time::Instant;
use toll_pac::{Limits, PacArgs, Script, StaticEnv, UrlMode};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: pac_eval PAC URL [RUNS]");
        std::process::exit(2);
    }
    let source = std::fs::read_to_string(&args[1]).expect("read the PAC");
    let url = url::Url::parse(&args[2]).expect("a URL");
    let runs: usize = args.get(3).map(|r| r.parse().expect("RUNS")).unwrap_or(20);
    let call = PacArgs::new(&url, UrlMode::AsGiven);
    let (mut compile, mut first, mut later) = (Vec::new(), Vec::new(), Vec::new());
    let mut answer = String::new();
    for _ in 0..runs {
        let t = Instant::now();
        let script = Script::compile(&source, &args[1], Limits::default(), Arc::new(StaticEnv::new()))
            .expect("compile");
        compile.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        answer = script.find_proxy(&call).expect("evaluate");
        first.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        for _ in 0..10 {
            script.find_proxy(&call).expect("evaluate");
        }
        later.push(t.elapsed().as_secs_f64() * 1e3 / 10.0);
    }
    println!(
        "compile_ms={:.2} first_call_ms={:.2} later_call_ms={:.3} runs={runs} answer={answer:?}",
        median(compile),
        median(first),
        median(later)
    );
}
