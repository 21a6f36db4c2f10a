//! The native PAC helpers, installed as globals before the PAC runs: name resolution and
//! addresses (through [`crate::net`] and the injected [`PacEnv`]), the date functions (through
//! [`crate::time`] on the injected clock) and `alert`. The string helpers live in `prelude.js`.

use crate::env::PacEnv;
use crate::net;
use crate::time::{self, Arg};
use rquickjs::function::Rest;
use rquickjs::{Coerced, Ctx, Function, IntoJs, Value};
use std::sync::Arc;

/// A helper argument as a string, as JavaScript's `String(x)` would make it.
fn text<'js>(ctx: &Ctx<'js>, args: &[Value<'js>], i: usize) -> rquickjs::Result<String> {
    match args.get(i) {
        Some(v) => Ok(rquickjs::FromJs::from_js(ctx, v.clone()).map(|c: Coerced<String>| c.0)?),
        None => Ok("undefined".into()),
    }
}

fn date_args<'js>(args: &[Value<'js>]) -> Vec<Arg> {
    args.iter()
        .map(|v| {
            if let Some(n) = v.as_number() {
                Arg::Num(n)
            } else if let Some(s) = v.as_string().and_then(|s| s.to_string().ok()) {
                Arg::Str(s)
            } else {
                Arg::Other
            }
        })
        .collect()
}

/// Defines `name` as a global function of the PAC.
fn define<'js, F>(ctx: &Ctx<'js>, name: &str, f: F) -> rquickjs::Result<()>
where
    F: Fn(Ctx<'js>, Vec<Value<'js>>) -> rquickjs::Result<Value<'js>> + Send + 'static,
{
    let func = Function::new(ctx.clone(), move |ctx: Ctx<'js>, Rest(args): Rest<Value<'js>>| f(ctx, args))?
        .with_name(name)?;
    ctx.globals().set(name, func)
}

pub fn install(ctx: &Ctx<'_>, env: Arc<dyn PacEnv>) -> rquickjs::Result<()> {
    let e = env.clone();
    define(ctx, "dnsResolve", move |ctx, a| {
        let host = text(&ctx, &a, 0)?;
        match net::dns_resolve(&*e, &host) {
            Some(ip) => ip.into_js(&ctx),
            None => Ok(Value::new_null(ctx)),
        }
    })?;
    let e = env.clone();
    define(ctx, "isResolvable", move |ctx, a| {
        let host = text(&ctx, &a, 0)?;
        Ok(Value::new_bool(ctx, net::dns_resolve(&*e, &host).is_some()))
    })?;
    let e = env.clone();
    define(ctx, "dnsResolveEx", move |ctx, a| {
        let host = text(&ctx, &a, 0)?;
        net::dns_resolve_ex(&*e, &host).into_js(&ctx)
    })?;
    let e = env.clone();
    define(ctx, "isResolvableEx", move |ctx, a| {
        let host = text(&ctx, &a, 0)?;
        Ok(Value::new_bool(ctx, !net::resolve_all(&*e, &host).is_empty()))
    })?;
    let e = env.clone();
    define(ctx, "isInNet", move |ctx, a| {
        let (host, pattern, mask) = (text(&ctx, &a, 0)?, text(&ctx, &a, 1)?, text(&ctx, &a, 2)?);
        Ok(Value::new_bool(ctx, net::is_in_net(&*e, &host, &pattern, &mask)))
    })?;
    define(ctx, "isInNetEx", move |ctx, a| {
        let (ip, prefix) = (text(&ctx, &a, 0)?, text(&ctx, &a, 1)?);
        Ok(Value::new_bool(ctx, net::is_in_net_ex(&ip, &prefix)))
    })?;
    let e = env.clone();
    define(ctx, "myIpAddress", move |ctx, _| net::my_ip_address(&*e).into_js(&ctx))?;
    let e = env.clone();
    define(ctx, "myIpAddressEx", move |ctx, _| net::my_ip_address_ex(&*e).into_js(&ctx))?;
    define(ctx, "sortIpAddressList", move |ctx, a| {
        let list = text(&ctx, &a, 0)?;
        match net::sort_ip_address_list(&list) {
            Some(sorted) => sorted.into_js(&ctx),
            None => Ok(Value::new_bool(ctx, false)),
        }
    })?;
    let e = env.clone();
    define(ctx, "weekdayRange", move |ctx, a| {
        Ok(Value::new_bool(ctx, time::weekday_range(&date_args(&a), &e.now())))
    })?;
    let e = env.clone();
    define(ctx, "dateRange", move |ctx, a| {
        Ok(Value::new_bool(ctx, time::date_range(&date_args(&a), &e.now())))
    })?;
    let e = env.clone();
    define(ctx, "timeRange", move |ctx, a| {
        Ok(Value::new_bool(ctx, time::time_range(&date_args(&a), &e.now())))
    })?;
    define(ctx, "__tollGlob", move |ctx, a| {
        let (text, pattern) = (text(&ctx, &a, 0)?, text(&ctx, &a, 1)?);
        Ok(match crate::glob::sh_exp_match(&text, &pattern) {
            Some(b) => Value::new_bool(ctx, b),
            None => Value::new_undefined(ctx),
        })
    })?;
    let e = env;
    define(ctx, "alert", move |ctx, a| {
        let message = text(&ctx, &a, 0)?;
        e.alert(&message);
        Ok(Value::new_undefined(ctx))
    })?;
    Ok(())
}
