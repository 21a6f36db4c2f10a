//! A small JSON file in toll's state directory, shared by concurrent toll processes: every change
//! holds an exclusive lock on a sibling `.lock` file and replaces the file atomically (temporary
//! file + rename), so a reader never sees half a file and two writers never lose each other's
//! changes. A missing or unreadable file reads as the default: these files only save work.
//!
//! The state directory may hold what toll did not put there (a link planted by another local
//! user, a copy-paste accident), so these files are handled defensively:
//! - Neither the state file nor its lock file is opened through a symbolic link (`O_NOFOLLOW`):
//!   a `remembered.json.lock` pointing at `~/.bashrc` must not truncate it. The lock file is
//!   opened without truncating, created with mode 0600.
//! - Only a regular file of at most [`MAX_LEN`] bytes is read ([`read_limited`]): a link, FIFO,
//!   device or directory, or a bigger file, reads as the default, promptly (a link to
//!   `/dev/zero` would otherwise never end; a 300 MB file would cost a gigabyte of memory).
//! - A change never replaces what is not a regular file (a link, FIFO, device, directory):
//!   [`JsonFile::update`] fails and leaves it alone. An oversized regular file is garbage like a
//!   corrupt one: it reads as the default and the next change replaces it.
//!
//! - Directories are made 0700 whatever the umask ([`private_dir`]), as XDG asks of its base
//!   directories: under `umask 000` another user could otherwise swap a cached PAC and steer
//!   the proxy password to a proxy of theirs.
//!
//! [`read_limited`] is shared with the settings file (`store::Settings`), which follows links
//! (dotfile managers link config files) but is otherwise held to the same limits.
//! [`replace_whole`] writes the files curl's options name (`-c`, `--hsts`, `--alt-svc`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The most toll reads of a state or settings file: they hold a few entries (kilobytes).
pub const MAX_LEN: u64 = 1024 * 1024;

/// Whether [`read_limited`] opens a file through a symbolic link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    Follow,
    Refuse,
}

/// The content of `path`, if it is a regular file of at most [`MAX_LEN`] bytes. A missing file
/// is a `NotFound` error as usual; anything else that is not a regular file (a FIFO, a device,
/// a directory; a symbolic link with [`Links::Refuse`]) or a bigger file is an `InvalidData`
/// error saying so. Never blocks on a FIFO (opened non-blocking, then refused) and never reads
/// more than `MAX_LEN + 1` bytes, whatever the file claims its size to be.
pub fn read_limited(path: &Path, links: Links) -> io::Result<Vec<u8>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if links == Links::Refuse { libc::O_NOFOLLOW } else { 0 };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    #[cfg(not(unix))]
    if links == Links::Refuse && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(invalid("is a symbolic link"));
    }
    let file = options.open(path).map_err(|e| symlink_error(path, links, e))?;
    if !file.metadata()?.is_file() {
        return Err(invalid("not a regular file"));
    }
    let mut content = Vec::new();
    file.take(MAX_LEN + 1).read_to_end(&mut content)?;
    if content.len() as u64 > MAX_LEN {
        return Err(invalid(&format!("larger than {} KiB", MAX_LEN / 1024)));
    }
    Ok(content)
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// `O_NOFOLLOW` on a link fails with ELOOP ("too many levels of symbolic links"): say what it is.
fn symlink_error(path: &Path, links: Links, e: io::Error) -> io::Error {
    if links == Links::Refuse && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return invalid("is a symbolic link");
    }
    e
}

#[derive(Clone, Debug)]
pub struct JsonFile {
    path: PathBuf,
}

impl JsonFile {
    pub fn new(path: PathBuf) -> JsonFile {
        JsonFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The content, or the default when the file is missing, not a regular file, too big or
    /// not valid JSON for `T`.
    pub fn read<T: DeserializeOwned + Default>(&self) -> T {
        read_limited(&self.path, Links::Refuse)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Runs `change` on the content under the lock and writes it back when `change` returns
    /// `Some`. `durable` syncs the new file to disk before the rename: worth it for a file that
    /// changes rarely, not for one written on every request. Fails, changing nothing, when the
    /// lock file or the state file is there but not a regular file.
    pub fn update<T, R>(
        &self,
        durable: bool,
        change: impl FnOnce(&mut T) -> Option<R>,
    ) -> io::Result<Option<R>>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        private_dir(dir)?;
        let mut lock_name = self.path.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        let lock = open_lock(&dir.join(lock_name))?;
        lock.lock()?;
        let result = self.update_locked(dir, durable, change);
        let _ = lock.unlock();
        result
    }

    fn update_locked<T, R>(
        &self,
        dir: &Path,
        durable: bool,
        change: impl FnOnce(&mut T) -> Option<R>,
    ) -> io::Result<Option<R>>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        match fs::symlink_metadata(&self.path) {
            Ok(m) if !m.is_file() => {
                // Callers name the file in their message.
                return Err(invalid("not a regular file; toll leaves it alone"));
            }
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut content: T = self.read();
        let result = change(&mut content);
        if result.is_some() {
            self.write(dir, &content, durable)?;
        }
        Ok(result)
    }

    fn write<T: Serialize>(&self, dir: &Path, content: &T, durable: bool) -> io::Result<()> {
        let mut tmp = tempfile::Builder::new().prefix(".toll-state.").tempfile_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, content)?;
        tmp.write_all(b"\n")?;
        if durable {
            tmp.as_file().sync_all()?;
        }
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The lock file: created (mode 0600) or opened as it is, never truncated, never through a
/// symbolic link, never a FIFO or device (opened non-blocking, then checked).
fn open_lock(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(invalid("is a symbolic link"));
    }
    let lock = options.open(path).map_err(|e| {
        let e = symlink_error(path, Links::Refuse, e);
        io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    })?;
    if !lock.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a regular file; toll leaves it alone", path.display()),
        ));
    }
    Ok(lock)
}

/// Writes `content` to `path` whole or not at all, as curl writes its cookie jar and caches at
/// the end of a run: a temporary file beside it (`prefix`), renamed over it. A link in its
/// place is replaced, never followed (one planted there must not make toll write elsewhere); a
/// device or FIFO (`-c /dev/null`) is written as it is, never replaced. `shared`: the file gets
/// the mode curl's would (0666 less the umask, or the mode of the file it replaces); else 0600.
pub fn replace_whole(path: &Path, prefix: &str, content: &[u8], shared: bool) -> io::Result<()> {
    let existing = fs::symlink_metadata(path).ok();
    #[cfg(unix)]
    if let Some(m) = &existing {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let t = m.file_type();
        if t.is_char_device() || t.is_fifo() || t.is_block_device() {
            let mut f = open_waiting(OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW), path)?;
            return f.write_all(content);
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    if shared {
        use std::os::unix::fs::PermissionsExt;
        // Given to open(2), which takes the umask off, as for curl's fopen.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(without_temp_path)?;
    #[cfg(unix)]
    if let (true, Some(m)) = (shared, existing.filter(|m| m.is_file())) {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(fs::Permissions::from_mode(m.permissions().mode() & 0o777))?;
    }
    #[cfg(not(unix))]
    let _ = (shared, existing);
    tmp.write_all(content)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Opens `path` with `options`. A FIFO without a reader is waited for as curl waits (its open
/// blocks), but here by trying again every 50 ms, watching SIGINT, SIGTERM and SIGHUP
/// meanwhile (beside the runtime's own handlers): the wait holds the thread that would act on
/// them, so it ends on one with `ErrorKind::Interrupted` and the signal noted for the exit
/// (`setup::signal_seen`), and the run's cleanup (other transfers' partial files) still runs
/// (review F: only SIGKILL ended `toll -o FIFO` with nobody reading).
pub fn open_waiting(options: &OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        use std::sync::atomic::{AtomicI32, Ordering};
        if fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
            static SIGNALLED: AtomicI32 = AtomicI32::new(0);
            let mut quick = options.clone();
            quick.custom_flags(libc::O_NONBLOCK);
            // Watched from before the first try: a signal between two tries is not missed.
            let mut watching = Vec::new();
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: the handler only stores to an atomic (async-signal-safe).
                let id = unsafe {
                    signal_hook_registry::register(sig, move || SIGNALLED.store(sig, Ordering::SeqCst))
                };
                watching.extend(id.ok());
            }
            let opened = loop {
                match quick.open(path) {
                    Ok(f) => {
                        // Writes block again, as for any file.
                        // SAFETY: fcntl on a descriptor this function owns.
                        unsafe {
                            let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
                            let flags = libc::fcntl(fd, libc::F_GETFL);
                            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
                        }
                        break Ok(f);
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {}
                    Err(e) => break Err(e),
                }
                let sig = SIGNALLED.swap(0, Ordering::SeqCst);
                if sig != 0 {
                    crate::setup::note_signal(sig);
                    break Err(io::Error::new(
                        io::ErrorKind::Interrupted,
                        "interrupted while waiting for a reader",
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            };
            for id in watching {
                signal_hook_registry::unregister(id);
            }
            return opened;
        }
    }
    options.open(path)
}

/// The error of a temporary file's creation without the path tempfile adds (`at path
/// "/dir/.cookiesSRwcEk"`): messages name the file the user asked for.
pub fn without_temp_path(e: io::Error) -> io::Error {
    let text = e.to_string();
    match text.split_once(" at path \"") {
        Some((reason, _)) => io::Error::new(e.kind(), reason.to_string()),
        None => e,
    }
}

/// Makes `dir` and its missing parents with mode 0700 (whatever the umask). `dir` itself, when
/// it is there already and others may write to it, is closed (0700) if it is ours (made by an
/// older toll under `umask 000`), refused if it is another user's.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        b.mode(0o700);
        b.create(dir)?;
        let m = fs::symlink_metadata(dir)?;
        if m.is_dir() && m.mode() & 0o022 != 0 {
            // SAFETY: geteuid cannot fail.
            if m.uid() != unsafe { libc::geteuid() } {
                // Another user's, open to others: what is in it is not to be trusted.
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{} belongs to another user and others may write to it", dir.display()),
                ));
            }
            fs::set_permissions(dir, fs::Permissions::from_mode(m.mode() & 0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    b.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_dirs_are_closed_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let deep = base.path().join("a/b/c");
        private_dir(&deep).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            let mode = fs::metadata(base.path().join(d)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{d}");
        }
        // One an older toll made world-writable (review F: umask 000 gave 0777 dirs, and
        // another user swapped the cached PAC) is closed.
        let open = base.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&open).unwrap();
        assert_eq!(fs::metadata(&open).unwrap().permissions().mode() & 0o777, 0o700);
        // Another user's that others may write to is refused (review S: used silently).
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            let theirs = base.path().join("theirs");
            fs::create_dir(&theirs).unwrap();
            fs::set_permissions(&theirs, fs::Permissions::from_mode(0o777)).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
            assert_eq!(private_dir(&theirs).unwrap_err().kind(), io::ErrorKind::PermissionDenied);
        }
    }
    use std::collections::BTreeMap;

    #[test]
    fn replace_whole_replaces_a_link_and_writes_a_device_in_place() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let jar = dir.path().join("jar");
        std::os::unix::fs::symlink(&victim, &jar).unwrap();
        replace_whole(&jar, ".jar", b"new", false).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep", "the link was not followed");
        assert!(fs::symlink_metadata(&jar).unwrap().is_file(), "the link was replaced by a file");
        assert_eq!(fs::read(&jar).unwrap(), b"new");
        replace_whole(Path::new("/dev/null"), ".jar", b"x", true).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&jar).unwrap().permissions().mode() & 0o777, 0o600, "private");
        fs::set_permissions(&jar, fs::Permissions::from_mode(0o640)).unwrap();
        replace_whole(&jar, ".jar", b"again", true).unwrap();
        assert_eq!(fs::metadata(&jar).unwrap().permissions().mode() & 0o777, 0o640, "kept, as curl");
        assert!(fs::symlink_metadata("/dev/null").unwrap().file_type().is_char_device());
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = JsonFile::new(dir.path().join("sub/state.json"));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let file = file.clone();
                std::thread::spawn(move || {
                    file.update(false, |m: &mut BTreeMap<String, u32>| {
                        m.insert(format!("k{i}"), i).or(Some(0))
                    })
                    .unwrap()
                })
            })
            .collect();
        threads.into_iter().for_each(|t| {
            t.join().unwrap();
        });
        assert_eq!(file.read::<BTreeMap<String, u32>>().len(), 8);
    }

    #[test]
    fn none_writes_nothing_and_garbage_reads_as_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = JsonFile::new(dir.path().join("state.json"));
        file.update(true, |_: &mut BTreeMap<String, u32>| None::<()>).unwrap();
        assert!(!file.path().exists());
        fs::write(file.path(), b"{ not json").unwrap();
        assert!(file.read::<BTreeMap<String, u32>>().is_empty());
    }

    /// A FIFO nobody writes to: opening it for reading would wait forever.
    #[cfg(unix)]
    fn fifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    /// Runs `f` on another thread and fails if it takes more than 5 s (it would hang forever).
    fn promptly<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()));
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap_or_else(|_| panic!("{what} hangs"))
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_lock_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let precious = dir.path().join("precious");
        fs::write(&precious, b"keep me").unwrap();
        std::os::unix::fs::symlink(&precious, dir.path().join("state.json.lock")).unwrap();
        let file = JsonFile::new(dir.path().join("state.json"));
        let err = file.update(false, |m: &mut BTreeMap<String, u32>| m.insert("k".into(), 1).or(Some(0)));
        assert!(err.unwrap_err().to_string().contains("symbolic link"));
        assert_eq!(fs::read(&precious).unwrap(), b"keep me");
        assert!(!file.path().exists());
    }

    #[cfg(unix)]
    #[test]
    fn lock_files_are_private_and_never_truncated() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = JsonFile::new(dir.path().join("state.json"));
        file.update(false, |m: &mut BTreeMap<String, u32>| m.insert("k".into(), 1).or(Some(0))).unwrap();
        let lock = dir.path().join("state.json.lock");
        assert_eq!(fs::metadata(&lock).unwrap().permissions().mode() & 0o777, 0o600);
        fs::write(&lock, b"left by someone").unwrap();
        file.update(false, |m: &mut BTreeMap<String, u32>| m.insert("j".into(), 2).or(Some(0))).unwrap();
        assert_eq!(fs::read(&lock).unwrap(), b"left by someone");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_state_file_is_neither_read_nor_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere.json");
        fs::write(&elsewhere, br#"{"planted": 1}"#).unwrap();
        let file = JsonFile::new(dir.path().join("state.json"));
        std::os::unix::fs::symlink(&elsewhere, file.path()).unwrap();
        assert!(file.read::<BTreeMap<String, u32>>().is_empty());
        let err = file.update(false, |m: &mut BTreeMap<String, u32>| m.insert("k".into(), 1).or(Some(0)));
        assert!(err.unwrap_err().to_string().contains("not a regular file"));
        assert!(fs::symlink_metadata(file.path()).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&elsewhere).unwrap(), br#"{"planted": 1}"#);
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_devices_read_as_default_promptly_and_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = JsonFile::new(dir.path().join("state.json"));
        fifo(file.path());
        let f = file.clone();
        assert!(promptly("reading a FIFO", move || f.read::<BTreeMap<String, u32>>()).is_empty());
        let f = file.clone();
        let err = promptly("updating a FIFO", move || {
            f.update(false, |m: &mut BTreeMap<String, u32>| m.insert("k".into(), 1).or(Some(0)))
        });
        assert!(err.is_err());
        assert!(!fs::symlink_metadata(file.path()).unwrap().is_file(), "the FIFO was replaced");

        let err = promptly("reading /dev/zero", || read_limited(Path::new("/dev/zero"), Links::Follow));
        assert!(err.unwrap_err().to_string().contains("not a regular file"));
        let file = JsonFile::new(dir.path().join("zero.json"));
        std::os::unix::fs::symlink("/dev/zero", file.path()).unwrap();
        let f = file.clone();
        assert!(promptly("reading a link to /dev/zero", move || f.read::<BTreeMap<String, u32>>()).is_empty());
    }

    #[test]
    fn oversized_files_read_as_default_and_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = JsonFile::new(dir.path().join("state.json"));
        // Valid JSON, just too big: a few kilobytes of padding past the limit.
        let pad = "x".repeat(MAX_LEN as usize);
        fs::write(file.path(), format!(r#"{{"big": 1, "pad{pad}": 2}}"#)).unwrap();
        assert!(file.read::<BTreeMap<String, u32>>().is_empty());
        let err = read_limited(file.path(), Links::Refuse).unwrap_err();
        assert!(err.to_string().contains("larger than 1024 KiB"), "{err}");
        file.update(false, |m: &mut BTreeMap<String, u32>| m.insert("k".into(), 1).or(Some(0))).unwrap();
        assert_eq!(file.read::<BTreeMap<String, u32>>().into_iter().collect::<Vec<_>>(), [("k".into(), 1)]);
        // Up to the limit is fine.
        fs::write(file.path(), format!(r#"{{"k": 3}}{}"#, " ".repeat(MAX_LEN as usize - 8))).unwrap();
        assert_eq!(read_limited(file.path(), Links::Refuse).unwrap().len() as u64, MAX_LEN);
        assert_eq!(file.read::<BTreeMap<String, u32>>()["k"], 3);
    }
}
