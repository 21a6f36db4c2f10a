//! The per-user key of `toll serve`: what a client shows as its proxy credential
//! (`http://toll:KEY@127.0.0.1:3128`) where the server cannot tell who is connecting (see
//! `admission`). It is created once, random, in the state dir as `serve.key`, mode 0600, and read
//! back by later servers and by `toll serve --print-env`.
//!
//! The file is opened without following links and must be a small regular file owned by this
//! user: a link planted by another user cannot make toll read or overwrite anything else, and a
//! key file others can read is refused rather than used.

use crate::secret::Secret;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Hex characters in a key: 32 random bytes.
const KEY_LEN: usize = 64;

/// The key file's path under the state dir.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("serve.key")
}

/// Reads the key at `path`, creating it (and its directory, 0700) first if there is none.
pub fn load_or_create(path: &Path) -> io::Result<Secret> {
    match read(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    if let Some(dir) = path.parent() {
        crate::statefile::private_dir(dir)?;
    }
    let key = Secret::random_hex(KEY_LEN / 2)?;
    // Whole or not at all: written beside it (0600), then linked into place without replacing,
    // so a full disk leaves no empty key file that would stop every later start.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".serve.key.")
        .tempfile_in(dir)
        .map_err(crate::statefile::without_temp_path)?;
    tmp.write_all(key.expose().as_bytes())?;
    tmp.as_file().sync_all()?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(key),
        // Another server created it between our read and our create: use theirs.
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(e.error),
    }
}

/// Reads an existing key; refuses anything but a private regular file holding one key.
pub fn read(path: &Path) -> io::Result<Secret> {
    let mut options = OpenOptions::new();
    options.read(true);
    private(&mut options);
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a regular file", path.display()),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.mode() & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} can be read by other users; remove it and a new key is made", path.display()),
            ));
        }
    }
    let mut text = String::new();
    file.take(KEY_LEN as u64 + 2).read_to_string(&mut text)?;
    let key = text.trim();
    if key.len() != KEY_LEN || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} does not hold a toll key", path.display()),
        ));
    }
    Ok(Secret::new(key))
}

#[cfg(unix)]
fn private(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
}

#[cfg(not(unix))]
fn private(_: &mut OpenOptions) {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir.path().join("state/toll"));
        let first = load_or_create(&p).unwrap();
        assert_eq!(first.expose().len(), KEY_LEN);
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(load_or_create(&p).unwrap(), first, "a second server uses the same key");
        assert_eq!(read(&p).unwrap(), first);
    }

    #[test]
    fn a_link_or_a_readable_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, "a".repeat(KEY_LEN)).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let p = path(dir.path());
        std::os::unix::fs::symlink(&target, &p).unwrap();
        assert!(read(&p).is_err());
        assert!(load_or_create(&p).is_err(), "never replaces or follows a planted link");
        assert_eq!(fs::read_to_string(&target).unwrap(), "a".repeat(KEY_LEN));

        fs::remove_file(&p).unwrap();
        fs::write(&p, "b".repeat(KEY_LEN)).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read(&p).unwrap_err().kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn garbage_is_not_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        for bad in ["", "short", &"z".repeat(KEY_LEN), &"a".repeat(10_000)] {
            let _ = fs::remove_file(&p);
            fs::write(&p, bad).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(read(&p).unwrap_err().kind(), io::ErrorKind::InvalidData, "{:.20}", bad);
        }
    }
}
