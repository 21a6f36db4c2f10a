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
}

/// `-o` as curl: a new file gets 0666 less the umask, an existing one keeps its mode, and a file
/// with other hard links is written in place so the links see the new content.
#[test]
fn output_files_keep_modes_and_hard_links() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let origin = Origin::http();
    let dir = scratch();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;

    let new = dir.path().join("new.bin");
    let reference = dir.path().join("reference");
    std::fs::File::create(&reference).unwrap();
    toll(["-sS", "-o", new.to_str().unwrap(), &origin.url("/bytes/1000")]).run().assert_ok();
    assert_eq!(mode(&new), mode(&reference), "new file mode");

    let kept = dir.path().join("kept.bin");
    std::fs::write(&kept, b"old").unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
    toll(["-sS", "-o", kept.to_str().unwrap(), &origin.url("/bytes/1000")]).run().assert_ok();
    assert_eq!(mode(&kept), 0o640, "existing file mode");
    assert_eq!(std::fs::read(&kept).unwrap(), pattern_bytes(1000));

    let linked = dir.path().join("linked.bin");
    let other = dir.path().join("other-name.bin");
    std::fs::write(&linked, b"old").unwrap();
    std::fs::hard_link(&linked, &other).unwrap();
    toll(["-sS", "-o", linked.to_str().unwrap(), &origin.url("/bytes/5000")]).run().assert_ok();
    assert_eq!(std::fs::metadata(&linked).unwrap().nlink(), 2, "the hard link was broken");
    assert_eq!(std::fs::read(&other).unwrap(), pattern_bytes(5000));
    // A failed transfer leaves the linked file as it was.
    let out = toll(["-sS", "-o", linked.to_str().unwrap(), &origin.url("/truncated")]).run();
    assert_ne!(out.code, Some(0), "{}", out.describe());
    assert_eq!(std::fs::read(&other).unwrap(), pattern_bytes(5000));
}

/// A settings file that is a link to `/dev/zero` (or a huge file) is a usage error naming the
/// file, promptly, instead of a run that never ends or eats gigabytes.
#[test]
fn settings_file_linked_to_a_device_is_a_usage_error() {
    let cfg = scratch();
    std::fs::create_dir_all(cfg.path().join("toll")).unwrap();
    let settings = cfg.path().join("toll/config");
    std::fs::write(&settings, "# comment\n".repeat(200_000)).unwrap();
    let out = toll(["auth", "list"]).env("XDG_CONFIG_HOME", cfg.path().to_str().unwrap()).run();
    out.assert_code(2).assert_error_message();
    assert!(out.stderr.contains("larger than"), "{}", out.describe());

    std::fs::remove_file(&settings).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &settings).unwrap();
    let out = toll(["auth", "list"])
        .env("XDG_CONFIG_HOME", cfg.path().to_str().unwrap())
        .timeout(std::time::Duration::from_secs(20))
        .run();
    out.assert_code(2).assert_error_message();
    assert!(out.stderr.contains(&settings.display().to_string()), "{}", out.describe());
    assert!(out.stderr.contains("not a regular file"), "{}", out.describe());
}

/// A keyring index that is a FIFO or a link to `/dev/zero` reads as empty, promptly.
#[test]
fn state_file_that_is_a_fifo_or_device_reads_as_empty() {
    let state = scratch();
    let dir = state.path().join("toll");
    std::fs::create_dir_all(&dir).unwrap();
    let index = dir.join("keyring-index.json");
    for make in ["fifo", "zero"] {
        let _ = std::fs::remove_file(&index);
        if make == "fifo" {
            let c = std::ffi::CString::new(index.as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        } else {
            std::os::unix::fs::symlink("/dev/zero", &index).unwrap();
        }
        let out = toll(["auth", "list"])
            .env("XDG_STATE_HOME", state.path().to_str().unwrap())
            .timeout(std::time::Duration::from_secs(20))
            .run();
        out.assert_ok();
        assert!(out.stdout_str().contains("No proxy passwords are stored"), "{}", out.describe());
    }
}

/// What the origin's `/upload` answers for `data`.
fn upload_answer(data: &[u8]) -> String {
    format!("{} {}\n", sha256_hex(data), data.len())
}

/// `--data-binary @FIFO` (what `<(…)` gives) sends what the pipe carries, not an empty body.
#[test]
fn data_binary_from_a_fifo_is_sent_whole() {
    let origin = Origin::http();
    let dir = scratch();
    let fifo = dir.path().join("body.fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let data = pattern_bytes(300_000);
    let (f, d) = (fifo.clone(), data.clone());
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut w = std::fs::OpenOptions::new().write(true).open(f).unwrap();
        w.write_all(&d).unwrap();
    });
    let body = format!("@{}", fifo.display());
    let out = toll(["-sS", "--data-binary", &body, &origin.url("/upload")])
        .timeout(std::time::Duration::from_secs(30))
        .run();
    writer.join().unwrap();
    out.assert_ok();
    assert_eq!(out.stdout_str(), upload_answer(&data), "{}", out.describe());
    let req = &origin.requests_to("/upload")[0];
    // Up to 1 MiB of a pipe is read first and sent with its length (curl does so for `-d @-`;
    // servers that refuse chunked uploads accept it): see client/body.rs.
    assert_eq!(req.header("content-length"), Some("300000"), "a short pipe is sent with its length");

    // --json too (a FIFO again, a small body).
    let (f, json) = (fifo.clone(), br#"{"name":"toll"}"#.to_vec());
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        std::fs::OpenOptions::new().write(true).open(f).unwrap().write_all(&json).unwrap();
    });
    let out = toll(["-sS", "--json", &body, &origin.url("/upload")])
        .timeout(std::time::Duration::from_secs(30))
        .run();
    writer.join().unwrap();
    out.assert_ok();
    assert_eq!(out.stdout_str(), upload_answer(br#"{"name":"toll"}"#), "{}", out.describe());
}

/// A /proc file claims to be empty: its content is sent all the same.
#[test]
fn data_binary_from_a_proc_file_is_sent_whole() {
    let proc_file = "/proc/version";
    let Ok(data) = std::fs::read(proc_file) else {
        crate::skip("SKIPPED data_binary_from_a_proc_file_is_sent_whole: no /proc/version");
        return;
    };
    assert!(!data.is_empty() && std::fs::metadata(proc_file).unwrap().len() == 0);
    let origin = Origin::http();
    let out = toll(["-sS", "--data-binary", &format!("@{proc_file}"), &origin.url("/upload")]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), upload_answer(&data), "{}", out.describe());

    // A regular file still announces its length.
    let dir = scratch();
    let file = dir.path().join("body.bin");
    std::fs::write(&file, pattern_bytes(1000)).unwrap();
    let out = toll(["-sS", "--data-binary", &format!("@{}", file.display()), &origin.url("/upload")]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), upload_answer(&pattern_bytes(1000)));
    assert_eq!(origin.requests_to("/upload")[1].header("content-length"), Some("1000"));
}

/// `-c FILE`, `--hsts FILE` and `--alt-svc FILE` are written whole (a temporary file renamed over
/// them): a link planted in their place is replaced, never followed, and a device is written as
/// it is (`-c /dev/null` keeps /dev/null a device).
#[test]
fn cookie_jar_and_caches_replace_a_planted_link() {
    let origin = Origin::start(false);
    let dir = scratch();
    let victim = dir.path().join("victim");
    let mut args: Vec<String> = vec!["-sS".into()];
    for (opt, name) in [("-c", "jar"), ("--hsts", "hsts"), ("--alt-svc", "altsvc")] {
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        args.extend([opt.into(), link.to_str().unwrap().into()]);
    }
    std::fs::write(&victim, "precious\n").unwrap();
    let out = toll(&args).arg(origin.url("/cookie/set?a=b")).run();
    out.assert_ok();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n", "a link was followed");
    let jar = dir.path().join("jar");
    assert!(std::fs::symlink_metadata(&jar).unwrap().is_file(), "the link is replaced by the jar");
    assert!(std::fs::read_to_string(&jar).unwrap().contains("\ta\tb"), "{}", out.describe());
    let left = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(left, 4, "victim, jar and the two caches; no temporary file left");

    toll(["-sS", "-c", "/dev/null"]).arg(origin.url("/cookie/set?a=b")).run().assert_ok();
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata("/dev/null").unwrap().file_type().is_char_device());
}

/// A HOME that cannot be entered (`su user` without `-`, `sudo -u` keeping root's HOME): toll
/// cannot even look for its settings file. It goes on without it and says so, as curl goes on
/// without its `.curlrc` (review H: exit 2 for every command, with the advice to fix a file
/// that does not exist).
#[test]
fn a_home_that_cannot_be_entered_means_no_settings_file() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 || !std::path::Path::new("/usr/bin/setpriv").exists() {
        crate::skip("SKIPPED a_home_that_cannot_be_entered_means_no_settings_file: needs root and setpriv (util-linux)");
        return;
    }
    let origin = crate::origin::Origin::http();
    let locked = crate::run::scratch();
    std::fs::set_permissions(locked.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let home = format!("HOME={}", locked.path().display());
    let out = std::process::Command::new("/usr/bin/setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/env",
            "-i",
            "PATH=/usr/bin:/bin",
        ])
        .arg(&home)
        .args([crate::run::TOLL, "-sS", &origin.url("/text")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from the origin\n");
    assert!(
        stderr.contains("warning: cannot look for") && stderr.contains("going on without it"),
        "{stderr}"
    );
}

/// `-o FIFO` with nobody reading waits, as curl waits, but Ctrl-C and SIGTERM still end it
/// (review F: only SIGKILL did); with a reader the body goes through.
#[test]
fn a_fifo_with_no_reader_can_be_interrupted() {
    let origin = Origin::http();
    let dir = scratch();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo on a path in our own temporary directory.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut child = std::process::Command::new(crate::run::TOLL)
        .args(["-sS", "-o", fifo.to_str().unwrap(), &origin.url("/text")])
        .env("HOME", dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("toll -o FIFO did not end on SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGTERM));
    // With -Z beside a transfer to a file: the run's cleanup still runs (review S: the file's
    // partial download was left behind when the wait took the signal at its default action).
    let slow = origin.url("/bytes/3000000");
    let child = std::process::Command::new(crate::run::TOLL)
        .args(["-sS", "-Z", "--limit-rate", "200k", "-o", dir.path().join("out").to_str().unwrap(), &slow])
        .args(["-o", fifo.to_str().unwrap(), &origin.url("/text")])
        .env("HOME", dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&out.status), Some(libc::SIGINT));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().ends_with(".toll-part")), "{left:?}");
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read(fifo).unwrap()
    });
    toll(["-sS", "-o", fifo.to_str().unwrap(), &origin.url("/text")]).run().assert_ok();
    assert_eq!(reader.join().unwrap(), b"hello from the origin\n");
}

/// Standard output closed (`toll URL >&-`): exit 23 with a message, as curl, not exit 0 with
/// the body lost (review E: Rust's runtime puts /dev/null there before `main`).
#[test]
fn a_closed_standard_output_is_exit_23() {
    let origin = Origin::http();
    let script = format!("exec '{}' -sS '{}' >&-", crate::run::TOLL, origin.url("/text"));
    let out = std::process::Command::new("/bin/sh").args(["-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(23), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output: it is closed"));
    // Nothing was meant for it: fine.
    let script = format!("exec '{}' -sS -o /dev/null '{}' >&-", crate::run::TOLL, origin.url("/text"));
    let out = std::process::Command::new("/bin/sh").args(["-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A very low limit on open files: a clear error (review H: `ulimit -n 6` panicked in the
/// runtime, 10 failed with messages about the proxy or the CA file).
#[test]
fn too_few_open_files_is_said_plainly() {
    let origin = Origin::http();
    let out = toll(["-sS", "-o", "/dev/null", &origin.url("/text")]).nofile_limit(6).run();
    out.assert_code(2);
    assert!(out.stderr.contains("ulimit -n"), "{}", out.describe());
    toll(["-sS", "-o", "/dev/null", &origin.url("/text")]).nofile_limit(32).run().assert_ok();
}
