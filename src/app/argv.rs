//! Hiding passwords given on the command line from other local users, as curl does: once clap
//! has copied the arguments, the password's bytes in the process's original argument strings
//! (what `ps` and `/proc/PID/cmdline` show) are overwritten with `*`.
//!
//! Linux with glibc: glibc calls `.init_array` functions with `(argc, argv, envp)` (std relies on
//! the same to implement `std::env::args`), so a constructor keeps the `argv` pointer. Elsewhere
//! [`hide`] does nothing (the password stays visible until toll exits, as without it); the
//! warning about command-line passwords says so either way.
//!
//! Any option can use it: give its spellings, the value as typed and where the secret is in it
//! (`-U/--proxy-user`, `-u/--user`, a password in `-x` or `--preproxy`, `--oauth2-bearer`,
//! key passphrases). Only the arguments that carry that option's value are changed, so another
//! argument that happens to end with the same text (a URL ending in `1` when the passphrase is
//! `1`) is left alone.

use std::ops::Range;

/// Overwrites `value[secret]` with `*` in the arguments that give `value` to the option spelt
/// one of `spellings` (`["-U", "--proxy-user"]`): `-U VALUE`, `-UVALUE`, `-sUVALUE`,
/// `--proxy-user VALUE` and `--proxy-user=VALUE`. No spellings: a positional argument, every
/// argument equal to `value`. Returns how many arguments were changed (0 where unsupported).
/// Call it after the arguments were parsed, before any thread is started.
pub fn hide(spellings: &[&str], value: &str, secret: Range<usize>) -> usize {
    if secret.is_empty() || secret.end > value.len() {
        return 0;
    }
    let value = value.as_bytes();
    imp::overwrite(value, secret, |prev: Option<&[u8]>, arg: &[u8]| carries(spellings, prev, arg, value))
}

/// Whether `arg` (which ends with `value`; `prev` is the argument before it) gives `value` to
/// one of `spellings`.
fn carries(spellings: &[&str], prev: Option<&[u8]>, arg: &[u8], value: &[u8]) -> bool {
    let head = &arg[..arg.len() - value.len()];
    if spellings.is_empty() {
        return head.is_empty();
    }
    // curl 8's `--expand-X VALUE` gives VALUE to `--X` when it names no variable: the secret
    // is then on the command line as typed.
    let expanded: Vec<String> =
        spellings.iter().filter_map(|s| s.strip_prefix("--")).map(|l| format!("--expand-{l}")).collect();
    spellings.iter().copied().chain(expanded.iter().map(String::as_str)).any(|s| {
        let s = s.as_bytes();
        if head.is_empty() {
            // The value on its own: the option is the argument before it.
            prev == Some(s)
        } else if s.starts_with(b"--") {
            head.len() == s.len() + 1 && head.starts_with(s) && head.ends_with(b"=")
        } else {
            // A short option with the value attached, maybe after flags: `-sU…`.
            s.len() == 2 && head.len() >= 2 && head[0] == b'-' && head[1] != b'-' && head.ends_with(&s[1..])
        }
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use std::ffi::{c_char, c_int, CStr};
    use std::ops::Range;
    use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

    pub(super) static ARGC: AtomicUsize = AtomicUsize::new(0);
    pub(super) static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());

    extern "C" fn capture(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
        ARGC.store(usize::try_from(argc).unwrap_or(0), Ordering::Relaxed);
        ARGV.store(argv, Ordering::Relaxed);
    }

    /// Runs before `main`, in the binary and in test binaries alike.
    #[used]
    #[link_section = ".init_array"]
    static CAPTURE: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = capture;

    pub(super) fn overwrite(
        value: &[u8],
        secret: Range<usize>,
        carries: impl Fn(Option<&[u8]>, &[u8]) -> bool,
    ) -> usize {
        let argv = ARGV.load(Ordering::Relaxed);
        if argv.is_null() {
            return 0;
        }
        let mut changed = 0;
        let mut prev: Option<Vec<u8>> = None;
        for i in 1..ARGC.load(Ordering::Relaxed) {
            // SAFETY: glibc passed `argc` valid pointers to NUL-terminated strings in the
            // process's argument block, which is writable and lives as long as the process;
            // std only reads them when `std::env::args` is called, not concurrently with this.
            unsafe {
                let p = *argv.add(i);
                if p.is_null() {
                    break;
                }
                let len = CStr::from_ptr(p).to_bytes().len();
                let arg = std::slice::from_raw_parts_mut(p.cast::<u8>(), len);
                let this = arg.to_vec();
                if arg.ends_with(value) && carries(prev.as_deref(), arg) {
                    let start = len - value.len();
                    arg[start + secret.start..start + secret.end].fill(b'*');
                    changed += 1;
                }
                prev = Some(this);
            }
        }
        changed
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub(super) fn overwrite(
        _value: &[u8],
        _secret: std::ops::Range<usize>,
        _carries: impl Fn(Option<&[u8]>, &[u8]) -> bool,
    ) -> usize {
        0
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn the_argv_block_was_captured() {
        // The test binary's own arguments: the constructor ran, and the pointer reads back
        // what std::env::args saw (nothing is overwritten: no argument ends with this value).
        let argv = super::imp_argv_for_test();
        assert_eq!(argv, std::env::args().collect::<Vec<_>>());
        assert_eq!(super::hide(&["--x"], "\u{1}no such argument\u{1}", 1..3), 0);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
fn imp_argv_for_test() -> Vec<String> {
    use std::ffi::CStr;
    use std::sync::atomic::Ordering;
    let argv = imp::ARGV.load(Ordering::Relaxed);
    (0..imp::ARGC.load(Ordering::Relaxed))
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) }.to_string_lossy().into_owned())
        .collect()
}

#[cfg(test)]
mod carries {
    use super::carries;

    fn gives(spellings: &[&str], prev: Option<&str>, arg: &str, value: &str) -> bool {
        carries(spellings, prev.map(str::as_bytes), arg.as_bytes(), value.as_bytes())
    }

    #[test]
    fn only_the_options_own_arguments_carry_its_value() {
        let pass = ["--pass"];
        assert!(gives(&pass, Some("--pass"), "1", "1"));
        assert!(gives(&pass, Some("-s"), "--pass=1", "1"));
        assert!(!gives(&pass, Some("-s"), "http://h/1", "1"), "another argument ending alike");
        assert!(!gives(&pass, Some("-o"), "1", "1"), "another option's equal value");
        assert!(!gives(&pass, None, "--passs=1", "1"));
        let user = ["-U", "--proxy-user"];
        assert!(gives(&user, Some("-x"), "-Ua:b", "a:b"));
        assert!(gives(&user, None, "-sUa:b", "a:b"));
        assert!(gives(&user, Some("-U"), "a:b", "a:b"));
        assert!(gives(&user, None, "--proxy-user=a:b", "a:b"));
        assert!(!gives(&user, None, "--proxy-Ua:b", "a:b"), "a long option is not a flag cluster");
        assert!(!gives(&user, None, "x-Ua:b", "a:b"));
        // curl 8's --expand- forms (the value was typed as it is, no variable in it).
        assert!(gives(&user, Some("--expand-proxy-user"), "a:b", "a:b"));
        assert!(gives(&user, None, "--expand-proxy-user=a:b", "a:b"));
        assert!(!gives(&user, Some("--expand-data"), "a:b", "a:b"));
        // A positional value: the whole argument.
        assert!(gives(&[], Some("login"), "http://u:p@h", "http://u:p@h"));
        assert!(!gives(&[], None, "xhttp://u:p@h", "http://u:p@h"));
    }
}
