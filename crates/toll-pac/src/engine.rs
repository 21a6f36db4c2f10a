//! The sandbox: one QuickJS runtime per compiled PAC, with a memory limit (`alloc`), a stack
//! limit and a per-evaluation deadline enforced by QuickJS's interrupt handler (which a
//! `try`/`catch` in the script cannot swallow). QuickJS as embedded here has no file, network,
//! module or timer API: the only way out is the helpers, and the only one that touches the
//! network is name resolution through the injected [`PacEnv`].

use crate::alloc::{Meter, Metered};
use crate::args::PacArgs;
use crate::env::PacEnv;
use crate::result::{parse_result, ProxyEntry};
use crate::{helpers, Limits, PacError, PacErrorKind};
use rquickjs::context::EvalOptions;
use rquickjs::{qjs, CatchResultExt, CaughtError, Context, Ctx, Function, Runtime, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which function a PAC answers through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryPoint {
    FindProxyForURL,
    /// Microsoft's IPv6-aware entry point. When a PAC defines both, this one wins: an author who
    /// wrote both meant `FindProxyForURLEx` for clients that have the `*Ex` helpers (Microsoft's
    /// documented rule), and toll has them; browsers without them call the other.
    FindProxyForURLEx,
}

impl EntryPoint {
    pub fn name(self) -> &'static str {
        match self {
            EntryPoint::FindProxyForURL => "FindProxyForURL",
            EntryPoint::FindProxyForURLEx => "FindProxyForURLEx",
        }
    }
}

/// A PAC's answer for one URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Exactly the string the PAC returned.
    pub raw: String,
    /// `raw`, parsed and validated.
    pub entries: Vec<ProxyEntry>,
}

/// A compiled PAC, ready to answer. Evaluations are serialised (one runtime); the type is
/// `Send + Sync` so it can be shared between threads.
pub struct Script {
    name: String,
    limits: Limits,
    entry: EntryPoint,
    deadline: Arc<Deadline>,
    /// The runtime's memory and limit (`alloc`).
    meter: Arc<Meter>,
    // Field order: the context must be dropped before its runtime.
    context: Context,
    _runtime: Runtime,
}

/// Microseconds since `start` after which the interrupt handler stops the script (0 = none).
struct Deadline {
    start: Instant,
    at_us: AtomicU64,
    fired: AtomicBool,
}

impl Deadline {
    fn arm(&self, timeout: Duration) {
        let at = self.start.elapsed() + timeout;
        self.fired.store(false, Ordering::SeqCst);
        self.at_us.store((at.as_micros() as u64).max(1), Ordering::SeqCst);
    }

    fn disarm(&self) -> bool {
        self.at_us.store(0, Ordering::SeqCst);
        self.fired.load(Ordering::SeqCst)
    }

    fn expired(&self) -> bool {
        let at = self.at_us.load(Ordering::SeqCst);
        if at != 0 && self.start.elapsed().as_micros() as u64 >= at {
            self.fired.store(true, Ordering::SeqCst);
            return true;
        }
        false
    }
}

const PRELUDE: &str = include_str!("prelude.js");
const PRELUDE_NAME: &str = "<toll-pac-helpers>";

impl Script {
    /// Compiles and runs the PAC's top level (which may call helpers, e.g. `myIpAddress()`),
    /// then finds its entry point. `name` (a path or URL) names the PAC in errors. A leading
    /// byte-order mark is ignored.
    pub fn compile(
        source: &str,
        name: &str,
        limits: Limits,
        env: Arc<dyn PacEnv>,
    ) -> Result<Script, PacError> {
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        Script::build(source, name, limits, env, Code::Skip).map(|(script, _)| script)
    }

    /// [`Script::compile`] through a code cache: `code` is what an earlier call returned for this
    /// PAC (the crate's `code` module says what it holds); when it belongs to exactly this
    /// `source` and `name` and this engine, the PAC's bytecode is loaded instead of parsing the
    /// source. Returns the script and, when the source had to be compiled, its code for the
    /// caller to keep. Either way the PAC's top level runs, under the same limits.
    pub fn compile_cached(
        source: &str,
        name: &str,
        limits: Limits,
        env: Arc<dyn PacEnv>,
        code: Option<&[u8]>,
    ) -> Result<(Script, Option<Vec<u8>>), PacError> {
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let usable = code.and_then(|c| crate::code::open(c, name, source));
        let (script, written) = Script::build(source, name, limits, env, Code::Use(usable))?;
        Ok((script, written.map(|bytecode| crate::code::seal(name, source, &bytecode))))
    }

    fn build(
        source: &str,
        name: &str,
        limits: Limits,
        env: Arc<dyn PacEnv>,
        code: Code<'_>,
    ) -> Result<(Script, Option<Vec<u8>>), PacError> {
        let err = |kind, message: String| PacError { kind, pac: name.to_string(), line: None, message };
        let meter = Meter::new(limits.memory);
        let runtime = Runtime::new_with_alloc(Metered(meter.clone()))
            .map_err(|e| err(PacErrorKind::Engine, format!("cannot start QuickJS: {e}")))?;
        runtime.set_max_stack_size(limits.stack);
        let deadline = Arc::new(Deadline {
            start: Instant::now(),
            at_us: AtomicU64::new(0),
            fired: AtomicBool::new(false),
        });
        let d = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || d.expired())));
        let context = Context::full(&runtime)
            .map_err(|e| err(PacErrorKind::Engine, format!("cannot start QuickJS: {e}")))?;

        let script = Script {
            name: name.to_string(),
            limits,
            entry: EntryPoint::FindProxyForURL,
            deadline,
            meter,
            context,
            _runtime: runtime,
        };
        let mut written = None;
        let entry = script.run(true, |ctx| {
            helpers::install(&ctx, env.clone())?;
            eval(&ctx, PRELUDE, PRELUDE_NAME)?;
            match code {
                Code::Skip => eval(&ctx, source, name)?,
                // A source with a NUL cannot be handed to QuickJS's compiler as C text; the
                // plain path reports it.
                Code::Use(_) if source.contains('\0') => eval(&ctx, source, name)?,
                Code::Use(Some(bytecode)) if run_bytecode(&ctx, bytecode)? => {}
                Code::Use(_) => written = Some(compile_and_run(&ctx, source, name)?),
            }
            Ok(find_entry(&ctx))
        })?;
        match entry {
            Ok(entry) => Ok((Script { entry, ..script }, written)),
            Err(message) => Err(err(PacErrorKind::NoEntryPoint, message)),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The function this PAC answers through.
    pub fn entry_point(&self) -> EntryPoint {
        self.entry
    }

    /// Calls the entry point; the result must be a string (not yet parsed: see
    /// [`Script::evaluate`]).
    pub fn find_proxy(&self, args: &PacArgs) -> Result<String, PacError> {
        let entry = self.entry;
        self.run(false, |ctx| {
            let f: Function = ctx.globals().get(entry.name())?;
            let v: Value = f.call((args.url.as_str(), args.host.as_str()))?;
            Ok(match v.as_string() {
                Some(s) => Ok(s.to_string()?),
                None => Err(describe(&v)),
            })
        })?
        .map_err(|what| PacError {
            kind: PacErrorKind::NotAString,
            pac: self.name.clone(),
            line: None,
            message: format!(
                "{} returned {what}, not a string such as \"PROXY host:port; DIRECT\"",
                entry.name()
            ),
        })
    }

    /// [`Script::find_proxy`], then the result parsed and validated.
    pub fn evaluate(&self, args: &PacArgs) -> Result<Answer, PacError> {
        let raw = self.find_proxy(args)?;
        let entries = parse_result(&raw).map_err(|e| PacError {
            kind: PacErrorKind::BadResult,
            pac: self.name.clone(),
            line: None,
            message: format!("{} returned an invalid result: {e}", self.entry.name()),
        })?;
        Ok(Answer { raw, entries })
    }

    /// Runs `f` in the context under the deadline, turning JavaScript errors into [`PacError`].
    /// `compiling`: a `SyntaxError` is the source's (later ones come from `new RegExp` & co).
    fn run<T>(
        &self,
        compiling: bool,
        f: impl for<'js> FnOnce(Ctx<'js>) -> rquickjs::Result<T>,
    ) -> Result<T, PacError> {
        self.context.with(|ctx| {
            // The runtime may be used from several threads: stack limits count from this one.
            // SAFETY: the runtime is locked by `with` for the duration of the call.
            unsafe { rquickjs::qjs::JS_UpdateStackTop(rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr())) };
            self.deadline.arm(self.limits.timeout);
            self.meter.take_refused();
            let result = f(ctx.clone()).catch(&ctx);
            let timed_out = self.deadline.disarm();
            result.map_err(|e| self.error(e, compiling, timed_out))
        })
    }

    fn error(&self, caught: CaughtError<'_>, compiling: bool, timed_out: bool) -> PacError {
        let mut e = PacError {
            kind: PacErrorKind::Exception,
            pac: self.name.clone(),
            line: None,
            message: String::new(),
        };
        if timed_out {
            e.kind = PacErrorKind::Timeout;
            e.message =
                format!("the script ran longer than {} ms and was stopped", self.limits.timeout.as_millis());
            return e;
        }
        // Out of memory, whatever QuickJS could still throw (`null` when nothing was left).
        if self.meter.take_refused() {
            e.kind = PacErrorKind::Memory;
            e.message = format!("out of memory (the limit is {} MiB)", self.limits.memory >> 20);
            if let CaughtError::Exception(ex) = &caught {
                e.line = ex.stack().and_then(|s| line_in(&s, &self.name));
            }
            return e;
        }
        match caught {
            CaughtError::Exception(ex) => {
                let kind_name: Option<String> = ex.get("name").ok();
                let message = ex.message().unwrap_or_default();
                let out_of_memory = message == "out of memory";
                e.line = ex.stack().and_then(|s| line_in(&s, &self.name));
                e.kind = match (kind_name.as_deref(), message.as_str()) {
                    (Some("SyntaxError"), _) if compiling => PacErrorKind::Syntax,
                    // QuickJS's longest string (2^30 characters) comes before the memory limit
                    // when a string is built by doubling: a huge value all the same.
                    (_, "out of memory") | (Some("InternalError"), "string too long") => PacErrorKind::Memory,
                    (Some("RangeError"), m) if m.contains("stack") => PacErrorKind::Stack,
                    _ => PacErrorKind::Exception,
                };
                e.message = match kind_name {
                    Some(k) if !k.is_empty() => format!("{k}: {message}"),
                    _ => message,
                };
                if out_of_memory {
                    e.message = format!("out of memory (the limit is {} MiB)", self.limits.memory >> 20);
                }
            }
            CaughtError::Value(v) => {
                // `throw "text"` or another non-Error value.
                let text = v.as_string().and_then(|s| s.to_string().ok()).unwrap_or_else(|| describe(&v));
                e.message = format!("uncaught exception: {text}");
            }
            CaughtError::Error(err) => {
                e.kind = PacErrorKind::Engine;
                e.message = err.to_string();
            }
        }
        e
    }
}

/// Whether [`Script::build`] may use or produce bytecode.
enum Code<'a> {
    Skip,
    /// Bytecode already checked by [`crate::code::open`], if any; else compile and return it.
    Use(Option<&'a [u8]>),
}

/// `v`, or the pending exception as an error (the caller's `catch` turns it into a [`PacError`]).
fn checked(v: qjs::JSValue) -> rquickjs::Result<qjs::JSValue> {
    // SAFETY: inspecting a value's tag.
    if unsafe { qjs::JS_IsException(v) } {
        return Err(rquickjs::Error::Exception);
    }
    Ok(v)
}

/// Runs a compiled top level (`JS_EvalFunction` takes `fun` over), dropping its result.
fn eval_function(ctx: &Ctx<'_>, fun: qjs::JSValue) -> rquickjs::Result<()> {
    // SAFETY: `fun` is a live function bytecode object owned by us; JS_EvalFunction frees it.
    let v = checked(unsafe { qjs::JS_EvalFunction(ctx.as_raw().as_ptr(), fun) })?;
    // SAFETY: `v` is a live value we own.
    drop(unsafe { Value::from_raw(ctx.clone(), v) });
    Ok(())
}

/// Loads `bytecode` (the body of an envelope [`crate::code::open`] accepted) and runs it.
/// `Ok(false)` when QuickJS refuses the bytecode itself (e.g. its own format version): the
/// caller compiles the source instead.
fn run_bytecode(ctx: &Ctx<'_>, bytecode: &[u8]) -> rquickjs::Result<bool> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: the envelope proved these bytes are what this engine's JS_WriteObject produced;
    // without JS_READ_OBJ_ROM_DATA QuickJS copies what it keeps, so `bytecode` may go.
    let fun = unsafe {
        qjs::JS_ReadObject(raw, bytecode.as_ptr(), bytecode.len() as _, qjs::JS_READ_OBJ_BYTECODE as i32)
    };
    if checked(fun).is_err() {
        drop(ctx.catch());
        return Ok(false);
    }
    eval_function(ctx, fun)?;
    Ok(true)
}

/// Compiles `source` as a global script, keeps its bytecode, then runs it.
fn compile_and_run(ctx: &Ctx<'_>, source: &str, name: &str) -> rquickjs::Result<Vec<u8>> {
    let raw = ctx.as_raw().as_ptr();
    let text = std::ffi::CString::new(source)?;
    let file = std::ffi::CString::new(name.replace('\0', ""))?;
    let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    // SAFETY: NUL-terminated text of `source.len()` bytes, as JS_Eval requires.
    let fun = checked(unsafe { qjs::JS_Eval(raw, text.as_ptr(), source.len() as _, file.as_ptr(), flags) })?;
    let mut len = 0;
    // SAFETY: `fun` is live; the returned buffer is QuickJS's, freed with js_free below.
    let buf = unsafe { qjs::JS_WriteObject(raw, &mut len, fun, qjs::JS_WRITE_OBJ_BYTECODE as i32) };
    let bytecode = if buf.is_null() {
        // SAFETY: `fun` is still ours.
        unsafe { qjs::JS_FreeValue(raw, fun) };
        return Err(rquickjs::Error::Exception);
    } else {
        // SAFETY: QuickJS wrote `len` bytes at `buf`.
        let v = unsafe { std::slice::from_raw_parts(buf, len as usize) }.to_vec();
        unsafe { qjs::js_free(raw, buf.cast()) };
        v
    };
    eval_function(ctx, fun)?;
    Ok(bytecode)
}

fn eval(ctx: &Ctx<'_>, source: &str, name: &str) -> rquickjs::Result<()> {
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(name.to_string());
    ctx.eval_with_options::<(), _>(source, options)
}

/// `FindProxyForURLEx` if defined, else `FindProxyForURL`; else an error that names a
/// near-miss (`FindProxyForUrl`, `findProxyForURL`, …) when there is one.
fn find_entry(ctx: &Ctx<'_>) -> Result<EntryPoint, String> {
    let globals = ctx.globals();
    for entry in [EntryPoint::FindProxyForURLEx, EntryPoint::FindProxyForURL] {
        if let Ok(v) = globals.get::<_, Value>(entry.name()) {
            if v.is_function() {
                return Ok(entry);
            }
            if entry == EntryPoint::FindProxyForURL && !v.is_undefined() {
                return Err(format!("{} is defined but is not a function", entry.name()));
            }
        }
    }
    let near: Vec<String> = globals
        .keys::<String>()
        .filter_map(Result::ok)
        .filter(|k| k.to_ascii_lowercase().contains("findproxy") || k.eq_ignore_ascii_case("FindProxyForURL"))
        .collect();
    Err(match near.first() {
        Some(k) => format!("the PAC defines no function FindProxyForURL(url, host) (it defines {k:?}: names are case-sensitive)"),
        None => "the PAC defines no function FindProxyForURL(url, host)".to_string(),
    })
}

/// The line of the first stack frame in the PAC itself (`name:LINE:COL` in QuickJS stacks).
fn line_in(stack: &str, name: &str) -> Option<u32> {
    let needle = format!("{name}:");
    let at = stack.find(&needle)? + needle.len();
    let digits: String = stack[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A short description of a non-string value, for errors.
fn describe(v: &Value<'_>) -> String {
    if v.is_undefined() {
        "undefined".into()
    } else if v.is_null() {
        "null".into()
    } else if let Some(b) = v.as_bool() {
        format!("the boolean {b}")
    } else if let Some(n) = v.as_number() {
        format!("the number {n}")
    } else if v.is_array() {
        "an array".into()
    } else if v.is_function() {
        "a function".into()
    } else {
        format!("a value of type {}", v.type_name())
    }
}
