//! `--xattr`: the extended attributes a saved file gets, as curl 7.88 stores them —
//! `user.mime_type`, the final answer's Content-Type as sent (parameters such as `; charset=`
//! kept, surrounding white space dropped), then `user.xdg.origin.url`, the URL as given (after
//! globbing; not a redirect's target) without its user name and password, query and fragment
//! kept. Measured with curl 7.88.1 and `getfattr -d`, see `tests/it/t_file_opts.rs`.
//!
//! The names are fixed here; the server chooses at most the Content-Type's bytes, and one longer
//! than [`MAX_MIME`] or holding control characters is not stored. A failure to store (a file
//! system without user attributes, a device such as `/dev/null`) is a warning, never a failed
//! download, as in curl. Only Linux stores them (fsetxattr(2)); elsewhere `--xattr` stores
//! nothing, as a curl built without attribute support does.

use reqwest::header::HeaderMap;
use std::fs::File;

/// The longest Content-Type stored: real ones are far shorter, and a file system limits the
/// attributes of a file to a few KiB in all (ext4: one block).
pub const MAX_MIME: usize = 1024;

/// The attributes for a file saved from `url` with the answer's `headers`, in the order curl
/// writes them.
pub fn attributes(url: &url::Url, headers: &HeaderMap) -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    if let Some(t) = headers.get(reqwest::header::CONTENT_TYPE) {
        let t = t.as_bytes().trim_ascii();
        if !t.is_empty() && t.len() <= MAX_MIME && !t.iter().any(|b| b.is_ascii_control() && *b != b'\t') {
            v.push(("user.mime_type", t.to_vec()));
        }
    }
    let mut url = url.clone();
    // Secrets never reach the file system: set_username fails only for URLs that have no host,
    // which cannot carry a user name either.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    v.push(("user.xdg.origin.url", url.as_str().as_bytes().to_vec()));
    v
}

/// Stores `attrs` on the open `file`; the first failure ends it (as curl's loop does).
#[cfg(target_os = "linux")]
pub fn store(file: &File, attrs: &[(&'static str, Vec<u8>)]) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    for (name, value) in attrs {
        let name = std::ffi::CString::new(*name).expect("attribute names are constants without NUL");
        // SAFETY: the descriptor is open for the call, the name is a NUL-terminated string and
        // the value a buffer of the length given.
        let rc = unsafe {
            libc::fsetxattr(file.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0)
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Not Linux: nothing is stored (see the module documentation).
#[cfg(not(target_os = "linux"))]
pub fn store(_file: &File, _attrs: &[(&'static str, Vec<u8>)]) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(url: &str, ct: Option<&[u8]>) -> Vec<(&'static str, String)> {
        let mut h = HeaderMap::new();
        if let Some(ct) = ct {
            h.insert(reqwest::header::CONTENT_TYPE, reqwest::header::HeaderValue::from_bytes(ct).unwrap());
        }
        attributes(&url::Url::parse(url).unwrap(), &h)
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8(v).unwrap()))
            .collect()
    }

    #[test]
    fn the_url_loses_its_credentials_and_keeps_the_rest() {
        assert_eq!(
            attrs("http://joe:s3cret@h:8080/a/b?q=1&r=2#frag", Some(b"text/html; charset=utf-8")),
            [
                ("user.mime_type", "text/html; charset=utf-8".to_string()),
                ("user.xdg.origin.url", "http://h:8080/a/b?q=1&r=2#frag".to_string())
            ]
        );
        assert_eq!(attrs("http://joe@h/x", None), [("user.xdg.origin.url", "http://h/x".to_string())]);
        assert_eq!(attrs("http://:pw@h/x", None), [("user.xdg.origin.url", "http://h/x".to_string())]);
    }

    #[test]
    fn a_server_chosen_type_is_stored_only_when_sane() {
        let url = |v: Vec<(&str, String)>| v.iter().any(|(n, _)| *n == "user.xdg.origin.url");
        let mime =
            |v: &[(&str, String)]| v.iter().find(|(n, _)| *n == "user.mime_type").map(|(_, v)| v.clone());
        assert_eq!(
            mime(&attrs("http://h/", Some(b"  text/plain;  charset=UTF-8 "))).unwrap(),
            "text/plain;  charset=UTF-8"
        );
        let long = format!("text/plain; x={}", "a".repeat(MAX_MIME));
        let a = attrs("http://h/", Some(long.as_bytes()));
        assert_eq!(mime(&a), None, "too long");
        assert!(url(a), "the URL is still stored");
        assert_eq!(
            mime(&attrs(
                "http://h/",
                Some(&b"text/plain; x=".iter().chain(&[b'a'; 100]).copied().collect::<Vec<_>>())
            ))
            .map(|m| m.len()),
            Some(114)
        );
        assert_eq!(mime(&attrs("http://h/", Some(b""))), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn stored_on_the_file_and_readable_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let name = std::ffi::CString::new("user.toll.probe").unwrap();
        // SAFETY: a NUL-terminated name and a 1-byte value.
        let supported = unsafe {
            libc::fsetxattr(std::os::fd::AsRawFd::as_raw_fd(&file), name.as_ptr(), b"1".as_ptr().cast(), 1, 0)
        } == 0;
        if !supported {
            eprintln!("skipped: the temporary directory's file system has no user attributes");
            return;
        }
        store(&file, &[("user.mime_type", b"text/x".to_vec())]).unwrap();
        let mut buf = [0u8; 64];
        let cpath = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        let key = std::ffi::CString::new("user.mime_type").unwrap();
        // SAFETY: NUL-terminated strings and a buffer of the length given.
        let n = unsafe { libc::getxattr(cpath.as_ptr(), key.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        assert_eq!(&buf[..n as usize], b"text/x");
        // A device refuses user attributes: an error to warn about, not a panic.
        let null = File::options().write(true).open("/dev/null").unwrap();
        assert!(store(&null, &[("user.mime_type", b"x".to_vec())]).is_err());
    }
}
