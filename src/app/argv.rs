//! Hiding passwords given on the command line from other local users, as curl does: once clap
//! has copied the arguments, the password's bytes in the process's original argument strings
//! (what `ps` and `/proc/PID/cmdline` show) are overwritten with `*`.
//!
//! Linux with glibc: glibc calls `.init_array` functions with `(argc, argv, envp)` (std relies on
//! the same to implement `std::env::args`), so a constructor keeps the `argv` pointer. Elsewhere
//! [`hide`] does nothing (the password stays visible until toll exits, as without it); the
//! warning about command-line passwords says so either way.
//!
//! Any option can use it: give the value as typed and where the secret is in it
//! (`-U/--proxy-user`, `-u/--user`, a password in `-x` or `--preproxy`).

use std::ops::Range;

/// Overwrites `value[secret]` with `*` in every argument (after the program name) that ends with
/// `value`: that covers `-U VALUE`, `-UVALUE`, `-sUVALUE` and `--proxy-user=VALUE` without
/// knowing clap's syntax. Returns how many arguments were changed (0 where unsupported).
/// Call it after the arguments were parsed, before any thread is started.
pub fn hide(value: &str, secret: Range<usize>) -> usize {
    if secret.is_empty() || secret.end > value.len() {
        return 0;
    }
    imp::overwrite(value.as_bytes(), secret)
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

    pub(super) fn overwrite(value: &[u8], secret: Range<usize>) -> usize {
        let argv = ARGV.load(Ordering::Relaxed);
        if argv.is_null() {
            return 0;
        }
        let mut changed = 0;
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
                if arg.ends_with(value) {
                    let start = len - value.len();
                    arg[start + secret.start..start + secret.end].fill(b'*');
                    changed += 1;
                }
            }
        }
        changed
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub(super) fn overwrite(_value: &[u8], _secret: std::ops::Range<usize>) -> usize {
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
        assert_eq!(super::hide("\u{1}no such argument\u{1}", 1..3), 0);
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
