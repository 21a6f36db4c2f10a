//! Real clients nobody here wrote, through `toll serve` and `toll run` and real Squid with each
//! scheme (Basic, Digest, NTLM, Negotiate with the test KDC; issue 13's test list): `git clone`
//! of a repository served over https (git's "dumb" HTTP protocol: plain files after `git
//! update-server-info`), `pip download` of a wheel from a simple index over https, `npm pack` of
//! a package from a registry over https, `cargo fetch` of a crate from a sparse registry over
//! https, `apt-get update` and `apt-get download` from a one-package repository over https (apt
//! fetches as its own user, so with the key), ssh to a real sshd with OpenBSD's `nc -X connect`
//! as its ProxyCommand, and a 10 MiB upload. The https files come from [`FileOrigin`], a static
//! file server behind the test CA.
//!
//! git, pip, npm, ssh, nc and sshd are found on PATH or in /usr/sbin (CI installs the Debian
//! packages git, python3-pip, openssh-client, openssh-server and netcat-openbsd; npm comes with
//! the machine's Node.js, or from Debian's package npm); without them the tests skip loudly,
//! and fail under `TOLL_REQUIRE_SYSTEM_DEPS=1`. The apt test needs root (apt drops to `_apt`
//! only then).

use crate::kdc::{self, ChosenSquid, Offer};
use crate::origin::Origin;
use crate::run::{isolate, TOLL};
use crate::squid::{self, Auth, ALICE};
use crate::t_serve::{run, Serve, CURL};
use crate::tls::pki;
use crate::{pattern_bytes, sha256_hex, TEN_MIB};
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

/// Serves the files under a directory over https (test CA), `GET` and `HEAD`, keep-alive;
/// the query is ignored (so git's `info/refs?service=…` gets the plain file: dumb protocol), a
/// path ending in `/` serves its `index.html`, anything else is 404. Records the paths asked.
pub struct FileOrigin {
    pub port: u16,
    asked: Arc<Mutex<Vec<String>>>,
}

impl FileOrigin {
    pub fn start(root: &Path) -> FileOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        crate::origin::claimed(port);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (root, log) = (root.to_path_buf(), asked.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (root, log) = (root.clone(), log.clone());
                std::thread::spawn(move || {
                    let Ok(sc) = rustls::ServerConnection::new(pki().server_config.clone()) else { return };
                    let mut tls = rustls::StreamOwned::new(sc, conn);
                    serve_files(&mut tls, &root, &log);
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                    let _ = tls.sock.shutdown(Shutdown::Both);
                });
            }
        });
        FileOrigin { port, asked }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

fn serve_files<S: std::io::Read + Write>(stream: &mut S, root: &Path, log: &Mutex<Vec<String>>) {
    let mut conn = BufReader::new(stream);
    while let Ok(Some(head)) = crate::http::read_head(&mut conn) {
        if crate::http::read_request_body(&mut conn, &head).is_err() {
            return;
        }
        let (method, target) = head.parts();
        let (path, _) = crate::http::path_and_query(&target);
        log.lock().unwrap().push(path.clone());
        let mut rel = path.trim_start_matches('/').to_string();
        if rel.is_empty() || rel.ends_with('/') {
            rel.push_str("index.html");
        }
        let file = (!rel.split('/').any(|s| s == ".." || s.is_empty()))
            .then(|| root.join(&rel))
            .and_then(|p| std::fs::read(p).ok());
        let (status, body) = match file {
            Some(b) => (200, b),
            None => (404, b"not here\n".to_vec()),
        };
        let kind = if rel.ends_with(".html") { "text/html" } else { "application/octet-stream" };
        let headers = vec![
            ("Content-Type".to_string(), kind.to_string()),
            ("Content-Length".to_string(), body.len().to_string()),
        ];
        let payload: &[u8] = if method == "HEAD" { b"" } else { &body };
        let line = format!("HTTP/1.1 {status} {}", crate::http::reason(status));
        if crate::http::write_message(conn.get_mut(), &line, &headers, payload, false).is_err() {
            return;
        }
        if head.has_token("connection", "close") {
            return;
        }
    }
}

/// A program on PATH, or a loud skip (a panic under `TOLL_REQUIRE_SYSTEM_DEPS=1`).
fn on_path(test: &str, program: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(program)).find(|f| f.is_file()));
    if found.is_none() {
        crate::skip(&format!(
            "SKIPPED {test}: needs {program} (apt-get install --no-install-recommends {package})"
        ));
    }
    found
}

/// The real interpreter behind `python3` (not a version manager's shim, which would look for
/// its own settings in the test's HOME), when it has pip.
fn python_with_pip(test: &str) -> Option<PathBuf> {
    let python = on_path(test, "python3", "python3-pip")?;
    let out = Command::new(&python)
        .args(["-c", "import sys, pip; print(sys.executable)"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        crate::skip(&format!(
            "SKIPPED {test}: python3 has no pip (apt-get install --no-install-recommends python3-pip)"
        ));
        return None;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A client's environment: no proxy settings of the test runner's, a private HOME, no git or
/// pip configuration of the machine's, no prompts.
fn client_env(cmd: &mut Command, home: &Path) {
    // The runner's CA bundle settings (REQUESTS_CA_BUNDLE beats pip's --cert in requests) and
    // pip settings (PIP_FIND_LINKS, …) are not the test's.
    const CLEARED: &[&str] = &["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"];
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| {
            k.to_ascii_lowercase().ends_with("_proxy") || k.starts_with("PIP_") || CLEARED.contains(&k)
        }) {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_SSL_CAINFO", pki().ca_arg())
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PYTHONNOUSERSITE", "1")
        // npm: no calls home (update check, audit, funding), no user settings of the runner's.
        .env("NPM_CONFIG_UPDATE_NOTIFIER", "false")
        .env("NPM_CONFIG_AUDIT", "false")
        .env("NPM_CONFIG_FUND", "false")
        .env("NPM_CONFIG_USERCONFIG", home.join(".npmrc"))
        .stdin(Stdio::null());
}

fn output(mut cmd: Command, what: &str) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("run {what}: {e}"))
}

fn ok(out: &Output, what: &str, log: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}\n{}\n--- server log:\n{log}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bare repository with one commit (`README` holding `text`), ready for dumb HTTP, at
/// `root/repo.git`.
fn make_repo(git: &Path, root: &Path, home: &Path, text: &str) {
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("README"), text).unwrap();
    let git_in = |dir: &Path, args: &[&str]| {
        let mut cmd = Command::new(git);
        cmd.current_dir(dir).args(["-c", "user.name=toll", "-c", "user.email=toll@localhost"]).args(args);
        client_env(&mut cmd, home);
        let out = output(cmd, "git");
        ok(&out, &format!("git {args:?}"), "");
    };
    git_in(&work, &["init", "-q", "-b", "main"]);
    git_in(&work, &["add", "README"]);
    git_in(&work, &["commit", "-q", "-m", "first"]);
    git_in(root, &["clone", "-q", "--bare", "work", "repo.git"]);
    git_in(&root.join("repo.git"), &["update-server-info"]);
}

/// A wheel of package `tollpkg` 1.0 and a PEP 503 simple index for it under `root`; returns
/// the wheel's bytes.
fn make_index(python: &Path, root: &Path) -> Vec<u8> {
    let files = root.join("files");
    std::fs::create_dir_all(&files).unwrap();
    let wheel = files.join("tollpkg-1.0-py3-none-any.whl");
    let script = r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("tollpkg/__init__.py", "VALUE = 'from the local index'\n")
    z.writestr("tollpkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tollpkg\nVersion: 1.0\n")
    z.writestr("tollpkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: toll-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("tollpkg-1.0.dist-info/RECORD", "")
"#;
    let out = Command::new(python).arg("-c").arg(script).arg(&wheel).output().unwrap();
    ok(&out, "building the wheel", "");
    let bytes = std::fs::read(&wheel).unwrap();
    let index = root.join("simple/tollpkg");
    std::fs::create_dir_all(&index).unwrap();
    std::fs::write(
        index.join("index.html"),
        format!(
            "<!DOCTYPE html>\n<html><body>\n<a href=\"../../files/tollpkg-1.0-py3-none-any.whl#sha256={}\">tollpkg-1.0-py3-none-any.whl</a>\n</body></html>\n",
            sha256_hex(&bytes)
        ),
    )
    .unwrap();
    std::fs::write(root.join("simple/index.html"), "<a href=\"tollpkg/\">tollpkg</a>\n").unwrap();
    bytes
}

/// An npm package `tollpkg` 1.0.0 (made by `npm pack`) and its registry document at
/// `root/npm/tollpkg`, naming the tarball's URL on `files`; returns the tarball's bytes.
fn make_npm_registry(npm: &Path, root: &Path, home: &Path, files: &FileOrigin) -> Vec<u8> {
    let src = home.join("npm-src");
    let tarballs = root.join("npm/tarballs");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&tarballs).unwrap();
    std::fs::write(src.join("package.json"), r#"{"name":"tollpkg","version":"1.0.0","main":"index.js"}"#)
        .unwrap();
    std::fs::write(src.join("index.js"), "module.exports = 'from the local registry';\n").unwrap();
    let mut cmd = Command::new(npm);
    cmd.current_dir(&src).args(["pack", "--json", "--pack-destination"]).arg(&tarballs);
    client_env(&mut cmd, home);
    let out = output(cmd, "npm pack");
    ok(&out, "npm pack (making the package)", "");
    let packed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("npm pack --json");
    let (filename, integrity) =
        (packed[0]["filename"].as_str().unwrap(), packed[0]["integrity"].as_str().unwrap());
    let bytes = std::fs::read(tarballs.join(filename)).unwrap();
    let document = serde_json::json!({
        "name": "tollpkg",
        "dist-tags": { "latest": "1.0.0" },
        "versions": { "1.0.0": {
            "name": "tollpkg",
            "version": "1.0.0",
            "dist": { "tarball": files.url(&format!("/npm/tarballs/{filename}")), "integrity": integrity },
        } },
    });
    std::fs::write(root.join("npm/tollpkg"), document.to_string()).unwrap();
    bytes
}

/// The variables cargo needs under another HOME: rustup's own directory (where the toolchain
/// and its default are), and the toolchain the tests run with, when rustup chose one.
fn rustup_env() -> Vec<(String, String)> {
    let mut vars = Vec::new();
    let rustup_home = std::env::var("RUSTUP_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.rustup")))
        .filter(|d| Path::new(d).is_dir());
    if let Some(d) = rustup_home {
        vars.push(("RUSTUP_HOME".to_string(), d));
    }
    if let Ok(t) = std::env::var("RUSTUP_TOOLCHAIN") {
        vars.push(("RUSTUP_TOOLCHAIN".to_string(), t));
    }
    vars
}

/// A crate `tollpkg` 1.0.0 (made by `cargo package`) in a sparse registry under `root/cargo`
/// (`config.json` naming the download URL on `files`, the index entry with the crate's
/// checksum), and a project that depends on it (from the registry `local`: [`cargo_registry`]); returns the project's directory and the
/// crate's bytes.
fn make_cargo_registry(cargo: &Path, root: &Path, home: &Path, files: &FileOrigin) -> (PathBuf, Vec<u8>) {
    let src = home.join("cargo-src");
    std::fs::create_dir_all(src.join("src")).unwrap();
    std::fs::write(
        src.join("Cargo.toml"),
        "[package]\nname = \"tollpkg\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\
         description = \"through toll\"\nlicense = \"MIT\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(src.join("src/lib.rs"), "pub const FROM: &str = \"the local registry\";\n").unwrap();
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&src).args(["package", "--offline", "--allow-dirty", "--no-verify", "-q"]);
    client_env(&mut cmd, home);
    cmd.env("CARGO_HOME", home.join("cargo-home-package")).env("CARGO_TARGET_DIR", src.join("target"));
    cmd.envs(rustup_env());
    ok(&output(cmd, "cargo package"), "cargo package (making the crate)", "");
    let bytes = std::fs::read(src.join("target/package/tollpkg-1.0.0.crate")).unwrap();
    let index = root.join("cargo/index");
    std::fs::create_dir_all(index.join("to/ll")).unwrap();
    let config = serde_json::json!({ "dl": files.url("/cargo/crates/{crate}-{version}.crate") });
    std::fs::write(index.join("config.json"), config.to_string()).unwrap();
    let entry = serde_json::json!({
        "name": "tollpkg", "vers": "1.0.0", "deps": [], "cksum": sha256_hex(&bytes),
        "features": {}, "yanked": false,
    });
    std::fs::write(index.join("to/ll/tollpkg"), format!("{entry}\n")).unwrap();
    std::fs::create_dir_all(root.join("cargo/crates")).unwrap();
    std::fs::write(root.join("cargo/crates/tollpkg-1.0.0.crate"), &bytes).unwrap();
    let project = home.join("cargo-project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"uses-tollpkg\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\ntollpkg = { version = \"1\", registry = \"local\" }\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() { println!(\"{}\", tollpkg::FROM); }\n").unwrap();
    (project, bytes)
}

/// How a client reaches the server in one test: `toll serve` (the client is given its URL) or
/// `toll run` (the client inherits the environment toll run sets).
enum Via<'a> {
    Serve(&'a Serve),
    Run { upstream: &'a Upstream<'a> },
}

/// Runs `program args…` through `via`. Under `toll run` the loopback origin would be kept
/// direct by the NO_PROXY that toll run adds, so the command is started by a shell that unsets
/// it (the only way to send loopback traffic through the server, which is what is tested).
fn client(via: &Via<'_>, home: &Path, program: &Path, args: &[String]) -> Output {
    match via {
        Via::Serve(serve) => {
            let mut cmd = Command::new(program);
            cmd.args(args);
            client_env(&mut cmd, home);
            cmd.env("https_proxy", serve.url()).env("http_proxy", serve.url());
            output(cmd, &program.display().to_string())
        }
        Via::Run { upstream } => {
            let mut cmd = Command::new(TOLL);
            cmd.args(["run", "-x", &upstream.squid.url()])
                .args(&upstream.args)
                .args(["--", "sh", "-c"])
                .arg("unset NO_PROXY no_proxy; exec \"$@\"")
                .arg("sh")
                .arg(program)
                .args(args);
            let toll_home = home.join("toll-home");
            std::fs::create_dir_all(&toll_home).unwrap();
            isolate(&mut cmd, &toll_home);
            cmd.env("TOLL_TERMINAL", "none");
            client_env(&mut cmd, home);
            cmd.envs(upstream.env.iter().map(|(k, v)| (k, v)));
            output(cmd, "toll run")
        }
    }
}

fn git_clone(
    git: &Path,
    via: &Via<'_>,
    files: &FileOrigin,
    home: &Path,
    text: &str,
    log: &dyn Fn() -> String,
) {
    let dest = home.join(format!("clone-{}", files.asked().len()));
    let args = vec!["clone".to_string(), "-q".into(), files.url("/repo.git"), dest.display().to_string()];
    let out = client(via, home, git, &args);
    ok(&out, "git clone", &log());
    assert_eq!(std::fs::read_to_string(dest.join("README")).unwrap(), text);
}

fn pip_download(
    python: &Path,
    via: &Via<'_>,
    files: &FileOrigin,
    home: &Path,
    wheel: &[u8],
    log: &dyn Fn() -> String,
) {
    let dest = home.join(format!("pip-{}", files.asked().len()));
    let mut args: Vec<String> = [
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--isolated",
        "--cert",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(pki().ca_arg());
    args.extend(["--index-url".to_string(), files.url("/simple/")]);
    if let Via::Serve(serve) = via {
        // pip's --isolated ignores the environment's proxy; the server is named instead.
        args.extend(["--proxy".to_string(), serve.url()]);
    } else {
        // Under toll run the proxy comes from the environment toll run sets.
        args.retain(|a| a != "--isolated");
    }
    args.extend(["-d".to_string(), dest.display().to_string(), "tollpkg==1.0".into()]);
    let out = client(via, home, python, &args);
    ok(&out, "pip download", &log());
    assert_eq!(
        std::fs::read(dest.join("tollpkg-1.0-py3-none-any.whl")).unwrap(),
        wheel,
        "the wheel, byte for byte"
    );
}

/// How many tunnels to `files` the server's log holds, when `via` is `toll serve` (`toll run`'s
/// log is not kept: Squid's tells of its tunnels).
fn tunnels_to(files: &FileOrigin, via: &Via<'_>) -> usize {
    let tunnel = format!("CONNECT 127.0.0.1:{} via", files.port);
    match via {
        Via::Serve(serve) => serve.log().lines().filter(|l| l.contains(&tunnel)).count(),
        Via::Run { .. } => 0,
    }
}

/// Through `toll serve`: `who` made a tunnel of its own to `files` (the log had `before`), so
/// it did not go around the server.
fn made_a_tunnel(files: &FileOrigin, via: &Via<'_>, before: usize, who: &str) {
    if let Via::Serve(serve) = via {
        let tunnel = format!("CONNECT 127.0.0.1:{} via", files.port);
        let log = serve.log_with_n(&tunnel, before + 1);
        assert!(tunnels_to(files, via) > before, "{who} went around toll serve:\n{log}");
    }
}

/// `npm pack tollpkg@1.0.0` from the test registry over https (the registry document, then the
/// tarball, checked against its integrity by npm), with an empty cache so both are fetched.
fn npm_pack(
    npm: &Path,
    via: &Via<'_>,
    files: &FileOrigin,
    home: &Path,
    tarball: &[u8],
    log: &dyn Fn() -> String,
) {
    let n = files.asked().len();
    let (dest, cache) = (home.join(format!("npm-{n}")), home.join(format!("npm-cache-{n}")));
    std::fs::create_dir_all(&dest).unwrap();
    let mut args: Vec<String> =
        vec!["pack".into(), "tollpkg@1.0.0".into(), "--registry".into(), files.url("/npm/")];
    args.extend(["--cafile".into(), pki().ca_arg(), "--cache".into(), cache.display().to_string()]);
    args.extend(["--pack-destination".into(), dest.display().to_string()]);
    if let Via::Serve(serve) = via {
        args.extend(["--proxy".into(), serve.url(), "--https-proxy".into(), serve.url()]);
    }
    let before = tunnels_to(files, via);
    let out = client(via, home, npm, &args);
    ok(&out, "npm pack tollpkg@1.0.0", &log());
    made_a_tunnel(files, via, before, "npm");
    assert_eq!(std::fs::read(dest.join("tollpkg-1.0.0.tgz")).unwrap(), tarball, "the tarball, byte for byte");
}

/// The registry `local` of the project, for cargo (`CARGO_REGISTRIES_LOCAL_INDEX`).
fn cargo_registry(files: &FileOrigin) -> String {
    format!("sparse+{}", files.url("/cargo/index/"))
}

/// `cargo fetch` of the project that depends on `tollpkg` from the sparse registry over https,
/// with an empty CARGO_HOME so the index and the crate are fetched (cargo checks the crate's
/// checksum); the crate lands unpacked in CARGO_HOME's registry source.
fn cargo_fetch(
    cargo: &Path,
    via: &Via<'_>,
    project: &Path,
    files: &FileOrigin,
    home: &Path,
    log: &dyn Fn() -> String,
) {
    let cargo_home = home.join(format!("cargo-home-{}", files.asked().len()));
    let before = tunnels_to(files, via);
    let manifest = project.join("Cargo.toml").display().to_string();
    let args = vec!["fetch".to_string(), "--manifest-path".into(), manifest];
    let out = match via {
        Via::Serve(serve) => {
            let mut cmd = Command::new(cargo);
            cmd.args(&args).current_dir(project);
            client_env(&mut cmd, home);
            cmd.env("CARGO_HOME", &cargo_home).env("CARGO_HTTP_CAINFO", pki().ca_arg());
            cmd.env("CARGO_REGISTRIES_LOCAL_INDEX", cargo_registry(files));
            cmd.env("CARGO_HTTP_PROXY", serve.url()).env("CARGO_NET_RETRY", "0").envs(rustup_env());
            output(cmd, "cargo fetch")
        }
        Via::Run { .. } => {
            // cargo's own settings travel through `client`'s shell as variables of the command.
            let mut with_env = vec![
                format!("CARGO_HOME={}", cargo_home.display()),
                format!("CARGO_HTTP_CAINFO={}", pki().ca_arg()),
                "CARGO_NET_RETRY=0".into(),
                format!("CARGO_REGISTRIES_LOCAL_INDEX={}", cargo_registry(files)),
            ];
            with_env.extend(rustup_env().into_iter().map(|(k, v)| format!("{k}={v}")));
            with_env.push(cargo.display().to_string());
            with_env.extend(args);
            client(via, home, Path::new("/usr/bin/env"), &with_env)
        }
    };
    ok(&out, "cargo fetch", &log());
    let unpacked = std::fs::read_dir(cargo_home.join("registry/src"))
        .unwrap()
        .map(|d| d.unwrap().path().join("tollpkg-1.0.0/src/lib.rs"))
        .find(|p| p.exists());
    assert!(unpacked.is_some(), "cargo fetch left no tollpkg-1.0.0 in {}", cargo_home.display());
    made_a_tunnel(files, via, before, "cargo");
}

/// A Squid and what toll needs for it (`-U`, or a Kerberos ticket's environment).
pub struct Upstream<'a> {
    pub squid: &'a squid::Squid,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl<'a> Upstream<'a> {
    fn alice(squid: &'a squid::Squid) -> Upstream<'a> {
        Upstream { squid, args: vec!["-U".into(), format!("{}:{}", ALICE.0, ALICE.1)], env: Vec::new() }
    }

    fn serve(&self) -> Serve {
        let mut args: Vec<&str> = vec!["-x"];
        let url = self.squid.url();
        args.push(&url);
        args.extend(self.args.iter().map(String::as_str));
        Serve::start_env(&args, &self.env)
    }
}

/// The NTLM and Negotiate Squids (with Alice's ticket) where this machine has them, beside the
/// shared Basic and Digest ones: one upstream per scheme for a client test.
struct EveryScheme {
    ntlm: Option<ChosenSquid>,
    negotiate: Option<(ChosenSquid, Vec<(String, String)>)>,
}

impl EveryScheme {
    fn start(test: &str) -> EveryScheme {
        let ntlm = kdc::have_squid_ntlm(test).then(|| ChosenSquid::start(&[Offer::Ntlm]));
        let negotiate = (kdc::have_squid_ntlm(test) && kdc::have_kerberos(test)).then(|| {
            let ticket = kdc::realm().ticket();
            ticket.kinit();
            (ChosenSquid::start(&[Offer::Negotiate]), ticket.env())
        });
        EveryScheme { ntlm, negotiate }
    }

    fn upstreams(&self) -> Vec<(&'static str, Upstream<'_>)> {
        let mut all = vec![
            ("Basic", Upstream::alice(squid::shared(Auth::Basic))),
            ("Digest", Upstream::alice(squid::shared(Auth::Digest))),
        ];
        if let Some(sq) = &self.ntlm {
            all.push(("NTLM", Upstream::alice(sq)));
        }
        if let Some((sq, env)) = &self.negotiate {
            all.push(("Negotiate", Upstream { squid: sq, args: Vec::new(), env: env.clone() }));
        }
        all
    }
}

/// What the client tests need: git, python3 with pip, and the repository and index they fetch.
struct Clients {
    git: PathBuf,
    python: PathBuf,
    home: tempfile::TempDir,
    text: &'static str,
    wheel: Vec<u8>,
    /// npm and the package's tarball (npm comes with the machine's Node.js, not from Debian).
    npm: Option<(PathBuf, Vec<u8>)>,
    /// cargo (the one running the tests) and the project that depends on the registry's crate.
    cargo: (PathBuf, PathBuf),
    files: FileOrigin,
}

impl Clients {
    fn set_up(test: &str) -> Option<Clients> {
        let (git, python) = (on_path(test, "git", "git")?, python_with_pip(test)?);
        let home = tempfile::Builder::new().prefix("toll-it-clients-").tempdir().unwrap();
        let root = home.path().join("www");
        std::fs::create_dir_all(&root).unwrap();
        let text = "a repository served over https by the test origin\n";
        make_repo(&git, &root, home.path(), text);
        let wheel = make_index(&python, &root);
        let files = FileOrigin::start(&root);
        let npm = on_path(test, "npm", "npm")
            .map(|npm| (npm.clone(), make_npm_registry(&npm, &root, home.path(), &files)));
        let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        let (project, _) = make_cargo_registry(&cargo, &root, home.path(), &files);
        Some(Clients { git, python, home, text, wheel, npm, cargo: (cargo, project), files })
    }

    /// git clone, pip download, npm pack and cargo fetch through `toll serve`, then through
    /// `toll run`, in front of `up`; each went through Squid as an authenticated user, in
    /// tunnels.
    fn through(&self, up: &Upstream<'_>, label: &str) {
        let (files, home) = (&self.files, self.home.path());
        let serve = up.serve();
        let log = || serve.log();
        let via = Via::Serve(&serve);
        git_clone(&self.git, &via, files, home, self.text, &log);
        pip_download(&self.python, &via, files, home, &self.wheel, &log);
        if let Some((npm, tarball)) = &self.npm {
            npm_pack(npm, &via, files, home, tarball, &log);
        }
        cargo_fetch(&self.cargo.0, &via, &self.cargo.1, files, home, &log);
        let squid_url = up.squid.url();
        let tunnel = format!("CONNECT 127.0.0.1:{} via {}", files.port, squid_url);
        assert!(serve.log_with(&tunnel).contains(&tunnel), "{label}: {}", serve.log());
        let authority = format!("127.0.0.1:{}", files.port);
        let tunnels = || {
            let lines = up.squid.log_for(&authority);
            (lines.iter().filter(|l| l.code == 200 && l.user != "-").count(), squid::show(&lines))
        };
        let before = {
            // Squid logs a tunnel when it closes: let serve's settle first.
            std::thread::sleep(std::time::Duration::from_millis(300));
            tunnels().0
        };
        let via = Via::Run { upstream: up };
        let none = String::new;
        git_clone(&self.git, &via, files, home, self.text, &none);
        pip_download(&self.python, &via, files, home, &self.wheel, &none);
        if let Some((npm, tarball)) = &self.npm {
            npm_pack(npm, &via, files, home, tarball, &none);
        }
        cargo_fetch(&self.cargo.0, &via, &self.cargo.1, files, home, &none);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // git's, pip's, cargo's and npm's tunnels through toll run.
        let expected = before + 3 + usize::from(self.npm.is_some());
        while tunnels().0 < expected && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let (after, shown) = tunnels();
        assert!(after >= expected, "{label}: {before} then {after}:\n{shown}");
        let asked = files.asked();
        assert!(asked.iter().any(|p| p == "/repo.git/info/refs"), "{asked:?}");
        assert!(asked.iter().any(|p| p == "/simple/tollpkg/"), "{asked:?}");
        if self.npm.is_some() {
            assert!(asked.iter().any(|p| p == "/npm/tarballs/tollpkg-1.0.0.tgz"), "{asked:?}");
        }
        assert!(asked.iter().any(|p| p == "/cargo/crates/tollpkg-1.0.0.crate"), "{asked:?}");
    }
}

#[test]
fn git_clone_and_pip_download_over_https_through_serve_and_run_and_squid() {
    let test = "git_clone_and_pip_download_over_https_through_serve_and_run_and_squid";
    crate::require_squid!(test);
    let Some(clients) = Clients::set_up(test) else { return };
    for auth in [Auth::Basic, Auth::Digest] {
        clients.through(&Upstream::alice(squid::shared(auth)), &format!("{auth:?}"));
    }
}

#[test]
fn git_clone_and_pip_download_through_serve_and_run_to_ntlm_and_negotiate_squid() {
    let test = "git_clone_and_pip_download_through_serve_and_run_to_ntlm_and_negotiate_squid";
    if !kdc::have_squid_ntlm(test) || !kdc::have_kerberos(test) {
        return;
    }
    let Some(clients) = Clients::set_up(test) else { return };
    let ntlm = ChosenSquid::start(&[Offer::Ntlm]);
    clients.through(&Upstream::alice(&ntlm), "NTLM");
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let negotiate = ChosenSquid::start(&[Offer::Negotiate]);
    clients.through(&Upstream { squid: &negotiate, args: Vec::new(), env: ticket.env() }, "Negotiate");
}

#[test]
fn a_10_mib_upload_goes_through_serve_once() {
    let test = "a_10_mib_upload_goes_through_serve_once";
    crate::require_squid!(test);
    if !crate::have(test, &[CURL], "curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = pattern_bytes(TEN_MIB + 17);
    let file = dir.path().join("upload.bin");
    std::fs::write(&file, &data).unwrap();
    let at = format!("@{}", file.display());
    let want = format!("{} {}\n", sha256_hex(&data), data.len());
    let ca = pki().ca_arg();
    // NTLM and Negotiate too (the body waits while the handshake runs, and goes once).
    let every = EveryScheme::start(test);
    for (auth, up) in &every.upstreams() {
        let serve = up.serve();
        for origin in [Origin::http(), Origin::https()] {
            let url = origin.url("/upload");
            let out = run(CURL, &["-sS", "--cacert", &ca, "-x", &serve.url(), "--data-binary", &at, &url]);
            assert!(
                out.status.success(),
                "{auth}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                serve.log()
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{auth} {url}");
            assert_eq!(origin.requests_to("/upload").len(), 1, "the origin saw the upload exactly once");
        }
    }
}

/// A real sshd on a loopback port, for ssh through the proxy. It runs as this user and lets in
/// only the test's key; host key and configuration live in `dir`.
struct Sshd {
    child: std::process::Child,
    port: u16,
    key: PathBuf,
    user: String,
}

impl Sshd {
    const SSHD: &'static str = "/usr/sbin/sshd";

    fn start(test: &str, dir: &Path) -> Option<Sshd> {
        if !crate::have(test, &[Self::SSHD, "/usr/bin/ssh-keygen"], "openssh-server openssh-client") {
            return None;
        }
        // sshd started by root wants its privilege-separation directory, which the package
        // leaves to the service manager to create; sshd started by another user needs none.
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        for name in ["host", "id"] {
            let path = dir.join(name);
            let out = Command::new("/usr/bin/ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::copy(dir.join("id.pub"), dir.join("authorized_keys")).unwrap();
        let port = crate::free_port();
        let conf = dir.join("sshd_config");
        std::fs::write(
            &conf,
            format!(
                "ListenAddress 127.0.0.1:{port}\nHostKey {d}/host\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\nLogLevel ERROR\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new(Self::SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        crate::origin::claimed(port);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "sshd did not listen on {port}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        Some(Sshd { child, port, key: dir.join("id"), user: user.trim().to_string() })
    }

    /// `ssh … USER@127.0.0.1 echo WORD`, its connection made by `proxy_command` (ssh's
    /// ProxyCommand, run by /bin/sh).
    fn args(&self, proxy_command: &str, word: &str) -> Vec<String> {
        let mut a: Vec<String> = ["-F", "/dev/null", "-i"].map(String::from).into();
        a.push(self.key.display().to_string());
        for o in [
            "IdentitiesOnly=yes",
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "BatchMode=yes",
            "LogLevel=ERROR",
        ] {
            a.extend(["-o".to_string(), o.to_string()]);
        }
        a.extend(["-o".to_string(), format!("ProxyCommand={proxy_command}")]);
        a.extend(["-p".to_string(), self.port.to_string(), format!("{}@127.0.0.1", self.user)]);
        a.extend(["echo".to_string(), word.to_string()]);
        a
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ssh has no proxy support of its own: its ProxyCommand runs a program that makes the
/// connection, and OpenBSD's `nc -X connect` asks an HTTP proxy for a CONNECT tunnel, but can
/// do no proxy authentication beyond Basic (and asks for that password on the terminal). Through
/// `toll serve` (and `toll run`, whose `http_proxy` names the server) it needs none: toll
/// answers the proxy's 407 with each scheme (README: "ssh" in the client settings).
#[test]
fn ssh_through_serve_and_run_with_nc_as_its_proxy_command() {
    let test = "ssh_through_serve_and_run_with_nc_as_its_proxy_command";
    crate::require_squid!(test);
    let Some(ssh) = on_path(test, "ssh", "openssh-client") else { return };
    let Some(nc) = on_path(test, "nc", "netcat-openbsd") else { return };
    let dir = tempfile::Builder::new().prefix("toll-it-ssh-").tempdir().unwrap();
    let Some(sshd) = Sshd::start(test, dir.path()) else { return };
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let every = EveryScheme::start(test);
    let authority = format!("127.0.0.1:{}", sshd.port);
    for (label, up) in &every.upstreams() {
        let serve = up.serve();
        let through = format!("{} -X connect -x 127.0.0.1:{} %h %p", nc.display(), serve.port);
        let mut cmd = Command::new(&ssh);
        cmd.args(sshd.args(&through, "through-toll-serve"));
        client_env(&mut cmd, &home);
        cmd.env("SHELL", "/bin/sh");
        let out = output(cmd, "ssh");
        ok(&out, &format!("ssh through toll serve, {label}"), &serve.log());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "through-toll-serve\n", "{label}");
        let tunnel = format!("CONNECT {authority} via {}", up.squid.url());
        assert!(serve.log_with(&tunnel).contains(&tunnel), "{label}: {}", serve.log());

        // Under toll run, the server's address is the end of $http_proxy (after the key).
        let through = format!("{} -X connect -x ${{http_proxy##*@}} %h %p", nc.display());
        let via = Via::Run { upstream: up };
        let out = {
            let mut args = sshd.args(&through, "through-toll-run");
            args.insert(0, ssh.display().to_string());
            // `client` runs the program through sh; SHELL is what ssh runs ProxyCommand with.
            client(
                &via,
                &home,
                Path::new("/usr/bin/env"),
                &[vec!["SHELL=/bin/sh".to_string()], args].concat(),
            )
        };
        ok(&out, &format!("ssh through toll run, {label}"), "");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "through-toll-run\n", "{label}");
        // Both tunnels reached sshd through Squid as the authenticated user.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let lines = up.squid.log_for(&authority);
            let n = lines.iter().filter(|l| l.code == 200 && l.user != "-").count();
            if n >= 2 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{label}: {n} tunnels\n{}", squid::show(&lines));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// A one-package apt repository (`deb [trusted=yes] URL/apt/ ./`: a flat `Packages` index and
/// one `.deb` made with dpkg-deb) under `root/apt`; returns the package's bytes.
fn make_apt_repo(root: &Path, work: &Path) -> Vec<u8> {
    let pkg = work.join("pkg");
    std::fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(pkg.join("usr/share/doc/tollpkg")).unwrap();
    std::fs::write(
        pkg.join("DEBIAN/control"),
        "Package: tollpkg\nVersion: 1.0\nArchitecture: all\nMaintainer: toll tests <tests@toll.invalid>\n\
         Description: a package fetched through toll serve\n",
    )
    .unwrap();
    std::fs::write(pkg.join("usr/share/doc/tollpkg/README"), "through the proxy\n").unwrap();
    let repo = root.join("apt");
    std::fs::create_dir_all(&repo).unwrap();
    let deb = repo.join("tollpkg_1.0_all.deb");
    let out = Command::new("dpkg-deb").arg("--build").arg(&pkg).arg(&deb).output().unwrap();
    assert!(out.status.success(), "dpkg-deb: {}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&deb).unwrap();
    let index = format!(
        "Package: tollpkg\nVersion: 1.0\nArchitecture: all\nMaintainer: toll tests <tests@toll.invalid>\n\
         Filename: ./tollpkg_1.0_all.deb\nSize: {}\nSHA256: {}\nDescription: a package fetched through toll serve\n",
        bytes.len(),
        crate::sha256_hex(&bytes)
    );
    std::fs::write(repo.join("Packages"), index).unwrap();
    bytes
}

/// `apt-get OPTIONS… ARGS…` with its state, cache and sources in `dir` (nothing of the
/// system's apt is read or written), for the repository at `repo_url`.
fn apt_get(dir: &Path, repo_url: &str, options: &[String], args: &[&str]) -> Command {
    std::fs::write(dir.join("sources.list"), format!("deb [trusted=yes] {repo_url} ./\n")).unwrap();
    for d in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let d = dir.display();
    let mut cmd = Command::new("apt-get");
    for o in [
        format!("Dir::Etc::SourceList={d}/sources.list"),
        "Dir::Etc::SourceParts=/dev/null".into(),
        "Dir::Etc::Parts=/dev/null".into(),
        format!("Dir::State::Lists={d}/lists"),
        "Dir::State::status=/dev/null".into(),
        format!("Dir::Cache={d}/cache"),
        "Acquire::Languages=none".into(),
        format!("Acquire::https::CaInfo={d}/ca.pem"),
        "Acquire::Retries=0".into(),
    ]
    .iter()
    .chain(options)
    {
        cmd.args(["-o", o]);
    }
    cmd.args(["-q", "-y"]).args(args).current_dir(dir.join("download"));
    cmd
}

/// apt through `toll serve` and `toll run`, as the README sets it up. apt fetches as its own
/// user (`_apt`), not the one toll serve runs as, so it must show the key: without it toll
/// serve refuses it (403); with the key in an apt auth.conf file (apt_auth.conf(5), logins for
/// repositories and proxies) the index and the package come through Squid with each scheme
/// (apt itself can answer none but Basic). Under `toll run` the key comes in `https_proxy`'s
/// URL, which apt reads.
#[test]
fn apt_fetches_through_serve_with_the_key_and_through_run() {
    let test = "apt_fetches_through_serve_with_the_key_and_through_run";
    crate::require_squid!(test);
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        crate::skip(&format!("SKIPPED {test}: apt fetches as _apt only when run as root"));
        return;
    }
    if !crate::have(test, &["/usr/bin/apt-get", "/usr/bin/dpkg-deb"], "apt dpkg") {
        return;
    }
    let dir = tempfile::Builder::new().prefix("toll-it-apt-").tempdir().unwrap();
    // apt's downloads run as _apt: it must reach the lists, the cache, the CA and the directory
    // it downloads into.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::copy(pki().ca_arg(), dir.path().join("ca.pem")).unwrap();
    std::fs::set_permissions(dir.path().join("ca.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let download = dir.path().join("download");
    std::fs::create_dir_all(&download).unwrap();
    std::fs::set_permissions(&download, std::fs::Permissions::from_mode(0o777)).unwrap();
    let www = dir.path().join("www");
    let deb = make_apt_repo(&www, dir.path());
    let files = FileOrigin::start(&www);
    let repo = files.url("/apt/");
    let got = download.join("tollpkg_1.0_all.deb");
    let run = |mut cmd: Command, what: &str| -> Output {
        cmd.stdin(Stdio::null());
        cmd.env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY");
        output(cmd, what)
    };

    let every = EveryScheme::start(test);
    for (label, up) in &every.upstreams() {
        let serve = up.serve();
        let proxy = vec![format!("Acquire::https::Proxy={}", serve.url())];
        // Without the key: refused, and the log says why.
        let auth = dir.path().join("auth.conf");
        std::fs::write(&auth, "").unwrap();
        let netrc = |p: &Path| {
            vec![format!("Dir::Etc::netrc={}", p.display()), "Dir::Etc::netrcparts=/dev/null".into()]
        };
        let out = run(
            apt_get(dir.path(), &repo, &[proxy.clone(), netrc(&auth)].concat(), &["update"]),
            "apt-get update",
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("403"), "{label}: apt without the key:\n{text}\n{}", serve.log());
        let refused = "another user, without the key";
        assert!(serve.log_with(refused).contains(refused), "{label}: {}", serve.log());

        // With the key in apt's auth.conf (0600, as the README says): the index and the package.
        std::fs::write(&auth, format!("machine {}\nlogin toll\npassword {}\n", serve.url(), serve.key()))
            .unwrap();
        std::fs::set_permissions(&auth, std::fs::Permissions::from_mode(0o600)).unwrap();
        let opts = [proxy.clone(), netrc(&auth)].concat();
        let out = run(apt_get(dir.path(), &repo, &opts, &["update"]), "apt-get update");
        ok(&out, &format!("apt-get update through toll serve, {label}"), &serve.log());
        let _ = std::fs::remove_file(&got);
        let out = run(apt_get(dir.path(), &repo, &opts, &["download", "tollpkg"]), "apt-get download");
        ok(&out, &format!("apt-get download through toll serve, {label}"), &serve.log());
        assert_eq!(std::fs::read(&got).unwrap(), deb, "{label}: the package, byte for byte");
        let tunnel = format!("CONNECT 127.0.0.1:{} via {}", files.port, up.squid.url());
        assert!(serve.log_with(&tunnel).contains(&tunnel), "{label}: {}", serve.log());
        drop(serve);

        // toll run: the key is in the https_proxy URL toll run sets, which apt takes.
        let _ = std::fs::remove_file(&got);
        let mut cmd = Command::new(TOLL);
        let apt = apt_get(dir.path(), &repo, &netrc(Path::new("/dev/null")), &["download", "tollpkg"]);
        let run_log = dir.path().join("run.log");
        cmd.args(["run", "--log"]).arg(&run_log).args(["-x", &up.squid.url()]).args(&up.args);
        // The loopback origin would be kept direct by the NO_PROXY toll run adds (apt reads it).
        cmd.args(["--", "sh", "-c", "unset NO_PROXY no_proxy; exec \"$@\"", "sh"]);
        cmd.arg(apt.get_program()).args(apt.get_args());
        cmd.current_dir(&download);
        let toll_home = dir.path().join("toll-home");
        std::fs::create_dir_all(&toll_home).unwrap();
        isolate(&mut cmd, &toll_home);
        cmd.env("TOLL_TERMINAL", "none").envs(up.env.iter().map(|(k, v)| (k, v)));
        let out = run(cmd, "toll run apt-get download");
        ok(
            &out,
            &format!("apt-get download through toll run, {label}"),
            &std::fs::read_to_string(&run_log).unwrap_or_default(),
        );
        assert_eq!(std::fs::read(&got).unwrap(), deb, "{label}: the package through toll run");
        let logged = std::fs::read_to_string(&run_log).unwrap();
        assert!(logged.contains(&tunnel), "{label}: {logged}");
    }
    let asked = files.asked();
    assert!(asked.iter().any(|p| p.ends_with("/Packages")), "{asked:?}");
}
