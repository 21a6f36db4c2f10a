//! `--create-file-mode` and `--xattr`, side by side with curl 7.88 where the differential suite
//! cannot look: a umask other than the test's own, an existing file's mode, a warning on
//! standard error, and a password that must not reach an attribute. (The attributes and modes
//! of ordinary runs, and `--form-escape`, are compared in `differential/corpus.txt`.)

use crate::origin::Origin;
use crate::run::{isolate, scratch, TOLL};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const CURL: &str = "/usr/bin/curl";

/// `program args…` in `dir` under `umask`, with no standard input.
fn run_in(dir: &Path, umask: &str, program: &str, args: &[&str]) -> Output {
    let home = scratch();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(format!("umask {umask} && exec \"$0\" \"$@\"")).arg(program).args(args);
    cmd.current_dir(dir).stdin(Stdio::null());
    isolate(&mut cmd, home.path());
    cmd.output().expect("run")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o7777
}

#[test]
fn create_file_mode_is_the_mode_of_new_output_files_less_the_umask() {
    let origin = Origin::http();
    let dir = scratch();
    let d = dir.path();
    std::fs::write(d.join("kept.txt"), b"old").unwrap();
    std::fs::set_permissions(d.join("kept.txt"), std::fs::Permissions::from_mode(0o604)).unwrap();
    let text = origin.url("/text");
    let out = run_in(
        d,
        "027",
        TOLL,
        &[
            "-s",
            "--create-file-mode",
            "0775",
            "-o",
            "out.txt",
            "-D",
            "head.txt",
            &text,
            "-o",
            "kept.txt",
            &text,
        ],
    );
    assert!(out.status.success(), "{out:?}");
    // 0775 less the umask 027; an existing file keeps its mode.
    assert_eq!(mode(&d.join("out.txt")), 0o750);
    assert_eq!(mode(&d.join("head.txt")), 0o750);
    assert_eq!(mode(&d.join("kept.txt")), 0o604);
    // -O (with --output-dir) and -C's new file too.
    let out = run_in(d, "077", TOLL, &["-s", "--create-file-mode", "0777", "--output-dir", ".", "-O", &text]);
    let out2 = run_in(
        d,
        "077",
        TOLL,
        &["-s", "--create-file-mode", "0777", "-C", "-", "-o", "resumed.bin", &origin.url("/bytes/100")],
    );
    assert!(out.status.success() && out2.status.success(), "{out:?} {out2:?}");
    assert_eq!(mode(&d.join("text")), 0o700);
    assert_eq!(mode(&d.join("resumed.bin")), 0o700);
    // Without the option: 0666 less the umask, as curl.
    run_in(d, "027", TOLL, &["-s", "-o", "plain.txt", &text]);
    assert_eq!(mode(&d.join("plain.txt")), 0o640);

    // curl 7.88 takes the option and leaves its local files at 0666 less the umask (it applies
    // the mode to files it creates remotely: SFTP, SCP, file:// uploads). If a later curl gives
    // it to -o files, the README's difference and this line are out of date.
    if crate::have("create_file_mode (curl's side)", &[CURL], "curl") {
        let out = run_in(
            d,
            "027",
            CURL,
            &["-s", "--create-file-mode", "0775", "-o", "curl.txt", "-D", "curlhead.txt", &text],
        );
        assert!(out.status.success(), "{out:?}");
        assert_eq!((mode(&d.join("curl.txt")), mode(&d.join("curlhead.txt"))), (0o640, 0o640));
    }
}

#[test]
fn bad_create_file_modes_are_usage_errors_as_in_curl() {
    let origin = Origin::http();
    let dir = scratch();
    for bad in ["abc", "0o644", "01000", "-1", ""] {
        let out = run_in(dir.path(), "022", TOLL, &["-s", "--create-file-mode", bad, &origin.url("/text")]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--create-file-mode") && (err.contains("0644") || err.contains("0777")),
            "{bad:?}: {err}"
        );
        if crate::have("bad_create_file_modes (curl's side)", &[CURL], "curl") {
            let curl =
                run_in(dir.path(), "022", CURL, &["-s", "--create-file-mode", bad, &origin.url("/text")]);
            assert_eq!(curl.status.code(), Some(2), "curl {bad:?}");
        }
    }
}

/// `(name, quoted value)` of the file's `user.*` attributes, sorted.
fn user_attrs(p: &Path) -> Vec<(String, String)> {
    let (_, attrs) = crate::t_differential::file_meta(p);
    attrs
        .split(" user.")
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (n, v) = s.split_once('=').unwrap();
            (format!("user.{n}"), v.to_string())
        })
        .collect()
}

/// A scratch directory that keeps user attributes, or a loud skip.
fn xattr_dir() -> Option<tempfile::TempDir> {
    let dir = crate::run::scratch_with_xattrs("toll-it-");
    if dir.is_none() {
        crate::skip("SKIPPED an --xattr test: no temporary directory here keeps user attributes");
    }
    dir
}

#[test]
fn xattr_stores_no_password_and_no_redirect_target_as_curl() {
    let origin = Origin::http();
    let Some(dir) = xattr_dir() else { return };
    let url = format!("http://joe:s3cret@127.0.0.1:{}/redirect?to=/json", origin.port);
    let out = run_in(dir.path(), "022", TOLL, &["-sL", "--xattr", "-o", "toll.json", &url]);
    assert!(out.status.success(), "{out:?}");
    let attrs = user_attrs(&dir.path().join("toll.json"));
    let want_url = format!("\"http://127.0.0.1:{}/redirect?to=/json\"", origin.port);
    assert_eq!(
        attrs,
        [
            ("user.mime_type".to_string(), "\"application/json\"".to_string()),
            ("user.xdg.origin.url".to_string(), want_url)
        ]
    );
    if crate::have("xattr (curl's side)", &[CURL], "curl") {
        let out = run_in(dir.path(), "022", CURL, &["-sL", "--xattr", "-o", "curl.json", &url]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(user_attrs(&dir.path().join("curl.json")), attrs, "curl stores otherwise");
    }
}

#[test]
fn xattr_refused_is_a_warning_not_a_failure_as_in_curl() {
    let origin = Origin::http();
    let dir = scratch();
    for program in [TOLL, CURL] {
        if program == CURL && !crate::have("xattr warning (curl's side)", &[CURL], "curl") {
            continue;
        }
        // A device takes no user attributes: the download still succeeds.
        let out = run_in(
            dir.path(),
            "022",
            program,
            &["--no-progress-meter", "--xattr", "-o", "/dev/null", &origin.url("/text")],
        );
        assert_eq!(out.status.code(), Some(0), "{program}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("extended attributes") && err.contains("/dev/null"), "{program}: {err}");
        // -s silences it.
        let out =
            run_in(dir.path(), "022", program, &["-s", "--xattr", "-o", "/dev/null", &origin.url("/text")]);
        assert_eq!((out.status.code(), out.stderr.as_slice()), (Some(0), &b""[..]), "{program}");
        // Standard output gets nothing and says nothing.
        let out =
            run_in(dir.path(), "022", program, &["--no-progress-meter", "--xattr", &origin.url("/text")]);
        assert_eq!((out.status.code(), out.stderr.as_slice()), (Some(0), &b""[..]), "{program}");
        assert_eq!(out.stdout, b"hello from the origin\n");
    }
}

#[test]
fn create_dirs_makes_directories_0750_less_the_umask_as_curl() {
    let origin = Origin::http();
    for umask in ["000", "022", "077"] {
        let dir = scratch();
        let (toll, curl) = (dir.path().join("t"), dir.path().join("c"));
        std::fs::create_dir_all(&toll).unwrap();
        std::fs::create_dir_all(&curl).unwrap();
        let url = origin.url("/text");
        for (d, program) in [(&toll, TOLL), (&curl, CURL)] {
            let out = run_in(d, umask, program, &["-s", "--create-dirs", "-o", "a/b/f.txt", &url]);
            assert!(out.status.success(), "{program}: {}", String::from_utf8_lossy(&out.stderr));
        }
        for sub in ["a", "a/b"] {
            assert_eq!(mode(&toll.join(sub)), mode(&curl.join(sub)), "umask {umask}: {sub}");
        }
        assert_eq!(mode(&toll.join("a")) & 0o007, 0, "umask {umask}: others get nothing");
    }
}
