//! Where the response body goes. Standard output gets the body and nothing else (binary-safe);
//! a reader that stops early (`| head -c 1`) ends the run quietly, as ripgrep does.
//!
//! A file is written to a temporary file beside its destination and renamed into place only when
//! the transfer is complete, so a failed run never leaves a truncated file that looks finished.
//! The result looks as curl's would: a new file gets mode 0666 less the umask (the temporary
//! file is created with that mode, so the kernel applies the umask; `--create-file-mode` gives
//! another mode the same way), an existing file keeps its permission bits (setuid/setgid
//! dropped, as a write by anyone but root drops them).
//!
//! Renaming gives the path a new inode. That is right for a plain file but wrong for one with
//! more than one hard link: the other names would keep the old content and the link would be
//! silently broken (curl truncates and writes in place, so its links see the new content). Such
//! a file is still downloaded to a temporary file first, then copied into the existing file
//! (truncate and write) at the end: every link sees the new content, and a failed transfer still
//! leaves the old content untouched; only a failure of that final local copy (a full disk) can
//! leave it half-written, and that is reported.
//!
//! Only regular files get that treatment: an existing device, FIFO or socket (`-o /dev/null`, a
//! named pipe) is written in place, and a symbolic link is followed, not replaced.

mod writeback;

use crate::error::{Error, Exit, Result};
use crate::term::{display_url, sanitize};
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

/// How a finished file takes its name.
#[derive(Clone, Debug, Default)]
pub enum Placing {
    /// Replaces what is there (`-o`, `-O`).
    #[default]
    Replace,
    /// Never replaces: a file that appeared at the name during the download fails the
    /// transfer (`-J`, whose name the server chose).
    New,
    /// Never replaces: when another run (or anyone) took the name during the download, the
    /// next free `BASE.N` is taken at the end (`--no-clobber`, `BASE` being the name asked for).
    Numbered(PathBuf),
}

pub enum Sink {
    Stdout(BufWriter<io::Stdout>),
    File {
        tmp: BufWriter<tempfile::NamedTempFile>,
        dest: PathBuf,
        placing: Placing,
        /// An existing file with other hard links, opened (not truncated) before the transfer so
        /// a file toll may not write fails first: copied into at the end, not renamed over.
        in_place: Option<std::fs::File>,
        /// Hands what was written to the disk as the download goes (`writeback`), so the fsync
        /// at the end waits for the tail only.
        writeback: writeback::Writeback,
    },
    /// Not a regular file: written in place, never renamed over.
    Special {
        file: BufWriter<std::fs::File>,
        dest: PathBuf,
    },
    /// `--out-null`: nothing is kept.
    Null,
}

/// Descriptor 1 was closed when toll started (see `main`): standard output cannot be written.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called before `main` when descriptor 1 was closed at start.
pub fn stdout_was_closed() {
    STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn stdout_closed() -> Option<Error> {
    STDOUT_CLOSED
        .load(std::sync::atomic::Ordering::Relaxed)
        .then(|| Error::new(Exit::Write, "cannot write to standard output: it is closed"))
}

/// Writing stopped because the reader went away: not an error.
#[derive(Debug)]
pub struct Closed;

/// One line of a command's report on standard output (`auth list`, `auth status`,
/// `serve --print-env`, `pac`): a reader that stops early (`| head -1`) ends it quietly, as it
/// ends a body; any other failure to write (a full disk) is exit 23. Never a panic, which
/// `println!` would be.
pub fn say(line: std::fmt::Arguments<'_>) -> Result<()> {
    if let Some(e) = stdout_closed() {
        return Err(e);
    }
    let mut out = io::stdout().lock();
    match writeln!(out, "{line}").and_then(|_| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::new(Exit::Write, format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// The standard error toll started with, kept when `--stderr` redirects descriptor 2
/// (`app::redirect_stderr`): `-w '%{stderr}'` writes there, as curl 7.88 does (its `--stderr`
/// moves its own messages, not the write-out's).
#[cfg(unix)]
static REAL_STDERR: std::sync::OnceLock<std::os::fd::OwnedFd> = std::sync::OnceLock::new();

/// Keeps a copy of descriptor 2 (close-on-exec) before `--stderr` replaces it: where
/// [`write_real_stderr`] writes. Once per process; a later call keeps the first copy.
#[cfg(unix)]
pub fn keep_real_stderr() -> io::Result<()> {
    use std::os::fd::{FromRawFd, OwnedFd};
    if REAL_STDERR.get().is_some() {
        return Ok(());
    }
    // SAFETY: F_DUPFD_CLOEXEC on descriptor 2 returns a new descriptor that we then own.
    let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by fcntl and nothing else owns it.
    let _ = REAL_STDERR.set(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(())
}

/// Whether the standard error toll started with (see [`keep_real_stderr`]) is a terminal.
pub fn real_stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    #[cfg(unix)]
    if let Some(fd) = REAL_STDERR.get() {
        return fd.is_terminal();
    }
    io::stderr().is_terminal()
}

/// Writes `data` to the standard error toll started with (see [`keep_real_stderr`]), or to
/// descriptor 2 when `--stderr` did not move it.
pub fn write_real_stderr(data: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(fd) = REAL_STDERR.get() {
        let mut file = std::fs::File::from(fd.try_clone()?);
        return file.write_all(data);
    }
    io::stderr().lock().write_all(data)
}

impl Sink {
    pub fn stdout() -> Sink {
        Sink::Stdout(BufWriter::with_capacity(64 * 1024, io::stdout()))
    }

    pub fn file(dest: &Path) -> Result<Sink> {
        Sink::file_with_mode(dest, None)
    }

    /// [`Sink::file`], a new file created with `mode` (`--create-file-mode`; default 0666),
    /// less the umask.
    pub fn file_with_mode(dest: &Path, mode: Option<u32>) -> Result<Sink> {
        let real;
        let (dest, existing) = match std::fs::metadata(dest) {
            Ok(m) if m.is_dir() => {
                return Err(Error::new(
                    Exit::Write,
                    format!("cannot write {}: it is a directory", dest.display()),
                )
                .hint("name a file inside it, e.g. -o DIR/NAME"));
            }
            Ok(m) if !m.is_file() => {
                // O_CREAT, as curl opens it: the kernel's protected_fifos then refuses another
                // user's FIFO planted in a sticky directory such as /tmp.
                let file = crate::statefile::open_waiting(&create_options(None), dest)
                    .map_err(|e| write_error(dest, &e))?;
                return Ok(Sink::Special {
                    file: BufWriter::with_capacity(256 * 1024, file),
                    dest: dest.to_path_buf(),
                });
            }
            // An existing link is followed: the file it points to is replaced, the link stays.
            // It is opened through the kernel first, as curl opens it (O_CREAT, not truncated):
            // protected_symlinks then refuses a link another user planted in /tmp, which
            // resolving it here would go around.
            Ok(m) => {
                if std::fs::symlink_metadata(dest).is_ok_and(|l| l.file_type().is_symlink()) {
                    create_options(None).open(dest).map_err(|e| write_error(dest, &e))?;
                }
                real = std::fs::canonicalize(dest).map_err(|e| write_error(dest, &e))?;
                (real.as_path(), Some(m))
            }
            Err(_) => (dest, None),
        };
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // `.NAME.XXXXXX.toll-part` must fit in NAME_MAX (255 bytes) too: a long name (curl
        // writes up to 255) gets a temporary name of its own.
        let prefix = if name.len() > 200 { ".toll.".to_string() } else { format!(".{name}.") };
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".toll-part");
        #[cfg(not(unix))]
        let _ = mode;
        #[cfg(unix)]
        if existing.is_none() {
            use std::os::unix::fs::PermissionsExt;
            // Given to open(2): the kernel takes the umask off, as for curl's new files.
            builder.permissions(std::fs::Permissions::from_mode(mode.unwrap_or(0o666) & 0o777));
        }
        let tmp = builder.tempfile_in(dir).map_err(|e| write_error(dest, &e))?;
        let in_place = match &existing {
            Some(m) if has_other_links(m) => {
                Some(std::fs::OpenOptions::new().write(true).open(dest).map_err(|e| write_error(dest, &e))?)
            }
            _ => None,
        };
        #[cfg(unix)]
        if let (Some(m), None) = (&existing, &in_place) {
            use std::os::unix::fs::PermissionsExt;
            // fchmod, not open(2): the existing mode is kept exactly, umask or not.
            let mode = std::fs::Permissions::from_mode(m.permissions().mode() & 0o777);
            tmp.as_file().set_permissions(mode).map_err(|e| write_error(dest, &e))?;
        }
        Ok(Sink::File {
            tmp: BufWriter::with_capacity(256 * 1024, tmp),
            dest: dest.to_path_buf(),
            placing: Placing::Replace,
            in_place,
            writeback: writeback::Writeback::default(),
        })
    }

    /// How the finished file takes its name (a file's sink; others are unaffected).
    pub fn placing(mut self, how: Placing) -> Sink {
        if let Sink::File { placing, .. } = &mut self {
            *placing = how;
        }
        self
    }

    /// Whether this is standard output (where a terminal may be).
    pub fn is_stdout(&self) -> bool {
        matches!(self, Sink::Stdout(_))
    }

    pub fn write(&mut self, data: &[u8]) -> Result<Result<(), Closed>> {
        match self {
            Sink::Stdout(out) => {
                if let Some(e) = stdout_closed().filter(|_| !data.is_empty()) {
                    return Err(e);
                }
                match out.write_all(data) {
                    Ok(()) => Ok(Ok(())),
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Err(Closed)),
                    Err(e) => Err(Error::new(Exit::Write, format!("cannot write to standard output: {e}"))),
                }
            }
            Sink::File { tmp, dest, in_place, writeback, .. } => {
                tmp.write_all(data).map_err(|e| write_error(dest, &e))?;
                // A file copied into another at the end is not the one that needs to be safe.
                if in_place.is_none() {
                    writeback.wrote(tmp.get_ref().as_file(), data.len(), tmp.buffer().len());
                }
                Ok(Ok(()))
            }
            Sink::Special { file, dest } => file.write_all(data).map(Ok).map_err(|e| write_error(dest, &e)),
            Sink::Null => Ok(Ok(())),
        }
    }

    /// The open file whose inode ends up at the destination (the temporary file that is renamed
    /// there, the existing file copied into, a device written in place), for `--xattr`; `None`
    /// for standard output.
    pub fn dest_file(&self) -> Option<(&std::fs::File, &Path)> {
        match self {
            Sink::Stdout(_) | Sink::Null => None,
            Sink::File { in_place: Some(f), dest, .. } => Some((f, dest)),
            Sink::File { tmp, dest, .. } => Some((tmp.get_ref().as_file(), dest)),
            Sink::Special { file, dest } => Some((file.get_ref(), dest)),
        }
    }

    /// `-N/--no-buffer`: what was written to standard output goes out now (files are unaffected).
    pub fn flush_stdout(&mut self) -> Result<Result<(), Closed>> {
        match self {
            Sink::Stdout(out) => match out.flush() {
                Ok(()) => Ok(Ok(())),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Err(Closed)),
                Err(e) => Err(Error::new(Exit::Write, format!("cannot write to standard output: {e}"))),
            },
            _ => Ok(Ok(())),
        }
    }

    /// Completes the output: flushes stdout, or puts the finished file into place.
    pub fn finish(self) -> Result<()> {
        self.finish_at().map(|_| ())
    }

    /// [`finish`](Self::finish), with the name the file took when it is not the one planned
    /// ([`Placing::Numbered`]).
    pub fn finish_at(self) -> Result<Option<PathBuf>> {
        match self {
            Sink::Stdout(mut out) => match out.flush() {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(Error::new(Exit::Write, format!("cannot write to standard output: {e}")))
                }
                _ => Ok(None),
            },
            Sink::Special { mut file, dest } => {
                file.flush().map(|_| None).map_err(|e| write_error(&dest, &e))
            }
            Sink::Null => Ok(None),
            Sink::File { tmp, dest, placing, in_place: None, mut writeback } => {
                let tmp = tmp.into_inner().map_err(|e| write_error(&dest, e.error()))?;
                writeback.finish();
                // fdatasync: the content and the size, what the renamed file needs to be whole.
                tmp.as_file().sync_data().map_err(|e| write_error(&dest, &e))?;
                place(tmp, &dest, &placing)
            }
            Sink::File { tmp, dest, in_place: Some(mut out), .. } => {
                let mut tmp = tmp.into_inner().map_err(|e| write_error(&dest, e.error()))?;
                copy_into(tmp.as_file_mut(), &mut out).map(|_| None).map_err(|e| write_error(&dest, &e))
            }
        }
    }
}

/// Renames the finished `tmp` to `dest` as `placing` says. Without replacing, the name is taken
/// with a rename that fails when it exists (renameat2's RENAME_NOREPLACE, or link and unlink):
/// a name chosen free at the start may be another's by the end (two `--no-clobber` runs, a
/// file written meanwhile), and theirs must stay.
fn place(tmp: tempfile::NamedTempFile, dest: &Path, placing: &Placing) -> Result<Option<PathBuf>> {
    let base = match placing {
        Placing::Replace => {
            tmp.persist(dest).map_err(|e| write_error(dest, &e.error))?;
            return Ok(None);
        }
        Placing::New => {
            return match tmp.persist_noclobber(dest) {
                Ok(_) => Ok(None),
                Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Err(Error::new(
                    Exit::Write,
                    format!(
                        "-J: {} appeared during the download; toll does not overwrite it",
                        sanitize(&dest.display().to_string())
                    ),
                )
                .hint("remove or rename it, or use -o FILE")),
                Err(e) => Err(write_error(dest, &e.error)),
            };
        }
        Placing::Numbered(base) => base,
    };
    let mut tmp = tmp;
    let mut name = dest.to_path_buf();
    loop {
        match tmp.persist_noclobber(&name) {
            Ok(_) => return Ok((name != dest).then_some(name)),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                tmp = e.file;
                name = free_numbered(base)?;
            }
            Err(e) => return Err(write_error(&name, &e.error)),
        }
    }
}

/// `--no-clobber`: `base` itself if free, else `BASE.1` … `BASE.100`, as curl 7.83+.
pub fn free_numbered(base: &Path) -> Result<PathBuf> {
    let free = |p: &Path| std::fs::symlink_metadata(p).is_err();
    if free(base) {
        return Ok(base.to_path_buf());
    }
    for n in 1..=100 {
        let mut name = base.as_os_str().to_os_string();
        name.push(format!(".{n}"));
        let p = PathBuf::from(name);
        if free(&p) {
            return Ok(p);
        }
    }
    Err(Error::new(
        Exit::Write,
        format!("--no-clobber: {} and its numbered names up to .100 exist", base.display()),
    )
    .hint("remove some of them, or drop --no-clobber"))
}

/// Options that create a file with `mode` (`--create-file-mode`; default 0666) less the umask,
/// as open(2) does: for the files written in place (`-D`, `-C`'s append). An existing file keeps
/// its mode.
pub fn create_options(mode: Option<u32>) -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, mode.unwrap_or(0o666) & 0o777);
    #[cfg(not(unix))]
    let _ = mode;
    o
}

/// The error for an output that could not be opened because a signal came while it waited for
/// a FIFO's reader: the run ends as interrupted (by that signal), not as a write failure.
pub fn interrupted(e: &io::Error) -> Option<Error> {
    (e.kind() == io::ErrorKind::Interrupted).then(|| Error::new(Exit::Interrupted, "interrupted"))
}

/// Truncates `out` and writes `body` into it: the inode, and so every hard link, stays.
fn copy_into(body: &mut std::fs::File, out: &mut std::fs::File) -> io::Result<()> {
    // The old content goes with the truncation: not before the new one is known to fit (review
    // F: a full disk left a hard-linked file half-written, the old content lost).
    #[cfg(unix)]
    {
        let (new, old) = (body.metadata()?.len(), out.metadata()?.len());
        // SAFETY: fstatvfs fills the struct for a descriptor this function borrows.
        let free = unsafe {
            let mut st: libc::statvfs = std::mem::zeroed();
            (libc::fstatvfs(std::os::fd::AsRawFd::as_raw_fd(out), &mut st) == 0)
                .then(|| st.f_bavail as u64 * st.f_frsize as u64)
        };
        if free.is_some_and(|free| new.saturating_sub(old) > free) {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no room for the new content; the old content is kept",
            ));
        }
    }
    body.rewind()?;
    out.set_len(0)?;
    out.rewind()?;
    io::copy(body, out)?;
    out.sync_all()
}

#[cfg(unix)]
fn has_other_links(m: &std::fs::Metadata) -> bool {
    std::os::unix::fs::MetadataExt::nlink(m) > 1
}

#[cfg(not(unix))]
fn has_other_links(_: &std::fs::Metadata) -> bool {
    false
}

fn write_error(dest: &Path, e: &io::Error) -> Error {
    if let Some(stop) = interrupted(e) {
        return stop;
    }
    // The system's reason only: the temporary file's error names its own path (`at path
    // ".x.VMQOI4.toll-part"`), which is not the user's.
    let e = crate::statefile::without_temp_path(io::Error::new(e.kind(), e.to_string()));
    Error::new(Exit::Write, format!("cannot write {}: {e}", dest.display()))
        .hint("check that the directory exists, is writable and has free space")
}

/// `-O`: the last path segment of the URL given on the command line, as curl does — never of
/// a redirect target, which the server chooses (`-L` to `/.bashrc` must not write `.bashrc`).
/// The user typed this URL, so a hidden name (`-O http://h/.vimrc`) is theirs to ask for. As
/// curl, the segment is not URL-decoded (`f%20g.txt` is saved as `f%20g.txt`, which scripts
/// written for curl look for): an escape cannot become a `/`, `..` or a control character. An
/// empty segment is refused.
pub fn remote_name(url: &url::Url) -> Result<PathBuf> {
    let name = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or("").to_string();
    if name.is_empty() {
        // curl's "Remote file name has no length!", exit 23.
        return Err(Error::new(
            Exit::Write,
            format!(
                "-O/--remote-name needs a URL that ends in a file name ('{}' does not)",
                display_url(url)
            ),
        )
        .hint("use -o FILE to name the output file"));
    }
    if name.contains(['/', '\\']) || !acceptable(&name) {
        return Err(Error::new(
            Exit::Usage,
            format!("-O: the URL's last path segment ({:?}) is not a file name to save to", sanitize(&name)),
        )
        .hint("use -o FILE to name the output file"));
    }
    Ok(PathBuf::from(name))
}

/// A file name that a server chose, made safe to create in the current directory, or `None`
/// when nothing safe is left. Meant for `-J` (`Content-Disposition: attachment; filename=…`,
/// curl's `--remote-header-name`): only the last path component is kept, as curl does
/// (`../../etc/passwd` → `passwd`, `C:\x\y.zip` → `y.zip`), and a name is refused when it is
/// empty, `.` or `..`, hidden (a leading dot: a server must not write `.bashrc` or `.ssh`),
/// longer than 255 bytes, or holds control characters (newlines, terminal escapes) or bidi
/// overrides (which make `exe.txt` look like `txt.exe`). Callers fall back to the URL's name
/// ([`remote_name`]) or fail on `None`; they never "repair" a refused name.
pub fn safe_file_name(candidate: &str) -> Option<String> {
    let name = candidate.rsplit(['/', '\\']).next().unwrap_or("");
    (acceptable(name) && !name.starts_with('.')).then(|| name.to_string())
}

/// Not empty, `.` or `..`, not all blanks, at most 255 bytes (the usual NAME_MAX), no control
/// characters (C0, DEL, C1), none of the invisible or reordering characters the terminal shows
/// escaped (`term::is_deceptive`: bidi controls, zero-width characters, the BOM, …: a name that
/// reads as another). On Windows also no name the system takes for something else
/// ([`windows_reserved`]).
fn acceptable(name: &str) -> bool {
    !name.trim().is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && !name.chars().any(|c| c.is_control() || crate::term::is_deceptive(c))
        && !(cfg!(windows) && windows_reserved(name))
}

/// A name Windows does not create as a plain file in the directory: a `:` (`C:x` is relative to
/// drive C's current directory, `a:b` an alternate data stream of `a`) or a DOS device name
/// (`CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9`, any case, also with an extension or
/// trailing dots and spaces, which Windows drops: `nul.txt`, `CON .`).
fn windows_reserved(name: &str) -> bool {
    if name.contains(':') {
        return true;
    }
    let stem = name.split('.').next().unwrap_or("").trim_end_matches([' ', '.']).to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && matches!(stem.as_bytes()[3], b'1'..=b'9'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let mut s = Sink::file(&dest).unwrap();
        s.write(b"partial").unwrap().unwrap();
        drop(s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn finished_file_is_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let mut s = Sink::file(&dest).unwrap();
        s.write(b"whole").unwrap().unwrap();
        s.finish().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A directory that is not there is named, not the temporary file's path (review E:
    /// `… at path "/nonexist/dir/.x.VMQOI4.toll-part"`).
    #[test]
    fn a_missing_directory_is_said_without_the_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("missing/x");
        let Err(e) = Sink::file(&dest) else { panic!("no directory, no file") };
        assert!(e.message.ends_with("x: No such file or directory (os error 2)"), "{}", e.message);
    }

    /// A name of up to 255 bytes is written, as curl writes it (review F: from 238 bytes the
    /// temporary name was too long, exit 23).
    #[test]
    fn a_long_name_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("z".repeat(255));
        let mut s = Sink::file(&dest).unwrap();
        s.write(b"long").unwrap().unwrap();
        s.finish().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"long");
    }

    /// A name found free at the start and taken during the download (another `--no-clobber`
    /// run, a file the user wrote) stays theirs (review F: five parallel runs left two files,
    /// all exit 0): `--no-clobber` moves on to the next number, `-J` fails.
    #[test]
    fn a_name_taken_during_the_download_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("nc");
        let mut s = Sink::file(&base).unwrap().placing(Placing::Numbered(base.clone()));
        s.write(b"download").unwrap().unwrap();
        std::fs::write(&base, b"PRECIOUS").unwrap();
        assert_eq!(s.finish_at().unwrap(), Some(dir.path().join("nc.1")));
        assert_eq!(std::fs::read(&base).unwrap(), b"PRECIOUS");
        assert_eq!(std::fs::read(dir.path().join("nc.1")).unwrap(), b"download");
        // Planned as nc.2, which another run took meanwhile: the next free one.
        let planned = dir.path().join("nc.2");
        let mut s = Sink::file(&planned).unwrap().placing(Placing::Numbered(base.clone()));
        s.write(b"second").unwrap().unwrap();
        std::fs::write(&planned, b"theirs").unwrap();
        assert_eq!(s.finish_at().unwrap(), Some(dir.path().join("nc.3")));
        assert_eq!(std::fs::read(&planned).unwrap(), b"theirs");
        // Untaken, the planned name.
        let mut s = Sink::file(&dir.path().join("nc.4")).unwrap().placing(Placing::Numbered(base.clone()));
        s.write(b"x").unwrap().unwrap();
        assert_eq!(s.finish_at().unwrap(), None);

        let j = dir.path().join("server.txt");
        let mut s = Sink::file(&j).unwrap().placing(Placing::New);
        s.write(b"download").unwrap().unwrap();
        std::fs::write(&j, b"PRECIOUS").unwrap();
        let e = s.finish_at().unwrap_err();
        assert_eq!(e.exit, Exit::Write);
        assert!(e.message.contains("appeared during the download"), "{}", e.message);
        assert_eq!(std::fs::read(&j).unwrap(), b"PRECIOUS");
        assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".toll-part")));
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place_never_replaced() {
        let mut s = Sink::file(Path::new("/dev/null")).unwrap();
        assert!(matches!(s, Sink::Special { .. }));
        s.write(b"gone").unwrap().unwrap();
        s.finish().unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.bin");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut s = Sink::file(&link).unwrap();
        s.write(b"new").unwrap().unwrap();
        s.finish().unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn download(dest: &Path, data: &[u8]) {
        let mut s = Sink::file(dest).unwrap();
        s.write(data).unwrap().unwrap();
        s.finish().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_0666_less_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        // What open(2) with 0666 gives under this process's umask (std's File::create uses 0666).
        let reference = dir.path().join("reference");
        std::fs::File::create(&reference).unwrap();
        let dest = dir.path().join("new.bin");
        download(&dest, b"data");
        assert_eq!(mode(&dest), mode(&reference));
    }

    #[cfg(unix)]
    #[test]
    fn a_create_mode_is_given_to_new_files_less_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for m in [0o600, 0o750, 0o777, 0o000] {
            // What open(2) with that mode gives under this process's umask.
            let reference = dir.path().join(format!("ref{m:o}"));
            create_options(Some(m)).open(&reference).unwrap();
            let dest = dir.path().join(format!("new{m:o}"));
            let mut s = Sink::file_with_mode(&dest, Some(m)).unwrap();
            s.write(b"data").unwrap().unwrap();
            s.finish().unwrap();
            assert_eq!(mode(&dest), mode(&reference), "{m:o}");
            assert_eq!(mode(&dest) & !m, 0, "{m:o}: no bit beyond the mode asked for");
        }
        // An existing file keeps its own.
        let old = dir.path().join("old");
        std::fs::write(&old, b"x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o604)).unwrap();
        let mut s = Sink::file_with_mode(&old, Some(0o700)).unwrap();
        s.write(b"y").unwrap().unwrap();
        s.finish().unwrap();
        assert_eq!(mode(&old), 0o604);
    }

    #[cfg(unix)]
    #[test]
    fn existing_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for m in [0o640, 0o604, 0o755, 0o666] {
            let dest = dir.path().join(format!("f{m:o}"));
            std::fs::write(&dest, b"old").unwrap();
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(m)).unwrap();
            download(&dest, b"new");
            assert_eq!(mode(&dest), m, "{m:o}");
            assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        }
    }

    #[cfg(unix)]
    #[test]
    fn hard_links_are_kept() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("file");
        let other = dir.path().join("other-name");
        std::fs::write(&dest, b"old content").unwrap();
        std::fs::hard_link(&dest, &other).unwrap();
        let ino = std::fs::metadata(&dest).unwrap().ino();

        // A failed transfer leaves both names with the old content and nothing else behind.
        let mut s = Sink::file(&dest).unwrap();
        s.write(b"partial").unwrap().unwrap();
        drop(s);
        assert_eq!(std::fs::read(&other).unwrap(), b"old content");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

        download(&dest, b"new");
        let m = std::fs::metadata(&dest).unwrap();
        assert_eq!((m.ino(), m.nlink()), (ino, 2), "the link was broken");
        assert_eq!(std::fs::read(&other).unwrap(), b"new");
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "the temporary file is gone");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Sink::file(dir.path()).err().unwrap().exit, Exit::Write);
    }

    #[test]
    fn remote_names() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        // Not decoded, as curl 7.88 and 8 save it: no escape becomes a path or a control byte.
        assert_eq!(remote_name(&u("http://h/a/b%20c.tar")).unwrap(), PathBuf::from("b%20c.tar"));
        for (url, name) in [
            ("http://h/a/%2F", "%2F"),
            ("http://h/a/..%5Cx", "..%5Cx"),
            ("http://h/a/x%0Ay", "x%0Ay"),
            ("http://h/a/x%1B%5B31m", "x%1B%5B31m"),
            ("http://h/%C3%A9.txt", "%C3%A9.txt"),
        ] {
            assert_eq!(remote_name(&u(url)).unwrap(), PathBuf::from(name), "{url}");
        }
        assert!(remote_name(&u("http://h/")).is_err());
        // The URL parser takes `..` and `%2E%2E` out of the path (WHATWG): nothing is left.
        assert!(remote_name(&u("http://h/a/..")).is_err());
        assert!(remote_name(&u("http://h/a/%2E%2E")).is_err());
        // The user typed it: a hidden name is theirs to ask for, as with curl.
        assert_eq!(remote_name(&u("http://h/.vimrc")).unwrap(), PathBuf::from(".vimrc"));
    }

    #[test]
    fn safe_file_names_for_server_chosen_names() {
        let ok = |s: &str| safe_file_name(s).unwrap();
        assert_eq!(ok("report.pdf"), "report.pdf");
        assert_eq!(ok("../../etc/passwd"), "passwd");
        assert_eq!(ok("/etc/cron.d/job"), "job");
        assert_eq!(ok("C:\\Windows\\evil.dll"), "evil.dll");
        assert_eq!(ok("a b (1).tar.gz"), "a b (1).tar.gz");
        for bad in [
            "",
            " ",
            ".",
            "..",
            "dir/",
            "a/..",
            ".bashrc",
            "x/.ssh",
            "..\\.profile",
            "a\nb",
            "a\rb",
            "\x1b[2Jx",
            "a\u{7f}",
            "a\u{9b}b",
            "exe\u{202e}txt.exe",
            // Invisible: the name would read as another (`term::is_deceptive`).
            "a\u{200b}b",
            "a\u{200c}b",
            "a\u{200d}b",
            "a\u{2060}b",
            "a\u{061c}b",
            "\u{feff}a",
            "a\u{180e}b",
            "a\u{00ad}b",
            "a\u{2028}b",
        ] {
            assert_eq!(safe_file_name(bad), None, "{bad:?}");
        }
        assert_eq!(safe_file_name(&"n".repeat(256)), None);
        assert_eq!(ok(&"n".repeat(255)).len(), 255);
        // A leading dash is a name like any other (curl writes it too); toll prints none as an
        // argument.
        assert_eq!(ok("-rf"), "-rf");
        // Windows' reserved names are refused there only (on Linux they are plain names).
        assert_eq!(safe_file_name("CON").is_none(), cfg!(windows));
        assert_eq!(safe_file_name("a:b").is_none(), cfg!(windows));
    }

    #[test]
    fn windows_reserved_names() {
        for bad in ["CON", "con", "Nul.txt", "aux.tar.gz", "PRN ", "CON .", "com1", "LPT9.log", "C:x", "a:b"]
        {
            assert!(windows_reserved(bad), "{bad:?}");
        }
        for fine in ["CONSOLE", "con_", "COM0", "COM10", "LPT", "nul-file", "x.con", "report.txt"] {
            assert!(!windows_reserved(fine), "{fine:?}");
        }
    }
}
