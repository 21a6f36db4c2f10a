//! GSSAPI (RFC 2743; C bindings RFC 2744) loaded at run time from MIT Kerberos'
//! `libgssapi_krb5.so.2`, for the Negotiate scheme's SPNEGO tokens (RFC 4178, RFC 4559).
//!
//! Loaded with `libloading` rather than linked, so toll builds without Kerberos development
//! packages and still runs where Kerberos is absent: then [`Gss::system`] is an error and
//! Negotiate is reported unavailable. Only initiator calls are used: `gss_import_name`,
//! `gss_init_sec_context`, `gss_delete_sec_context`, `gss_release_name`, `gss_release_buffer`,
//! `gss_display_status`.
//!
//! The library itself reads `KRB5CCNAME` (the ticket cache) and `KRB5_CONFIG`; nothing here
//! reads the environment. The struct layouts are MIT's and Heimdal's on Linux and the BSDs;
//! Apple's GSS.framework packs them differently, so macOS is not served by this module.

use libloading::Library;
use std::ffi::c_void;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The MIT Kerberos GSSAPI library (Debian: libgssapi-krb5-2, Fedora: krb5-libs).
pub const LIBRARY: &str = "libgssapi_krb5.so.2";

type OmUint32 = u32;
type GssName = *mut c_void;
type GssCtx = *mut c_void;

/// `gss_buffer_desc` (RFC 2744 §3.2).
#[repr(C)]
struct Buffer {
    length: usize,
    value: *mut c_void,
}

impl Buffer {
    fn empty() -> Buffer {
        Buffer { length: 0, value: std::ptr::null_mut() }
    }

    /// A buffer pointing into `data` (for input only: GSSAPI does not write to it).
    fn borrowing(data: &[u8]) -> Buffer {
        Buffer { length: data.len(), value: data.as_ptr() as *mut c_void }
    }

    /// A copy of the bytes a GSSAPI call returned.
    ///
    /// # Safety
    /// `self` must have been filled by the library (`value` valid for `length` bytes, or null).
    unsafe fn to_vec(&self) -> Vec<u8> {
        if self.value.is_null() || self.length == 0 {
            return Vec::new();
        }
        unsafe { std::slice::from_raw_parts(self.value as *const u8, self.length) }.to_vec()
    }
}

/// `gss_OID_desc` (RFC 2744 §3.4).
#[repr(C)]
struct Oid {
    length: OmUint32,
    elements: *mut c_void,
}

/// GSS_C_NT_HOSTBASED_SERVICE, 1.2.840.113554.1.2.1.4 (RFC 2743 §4.1): `service@host`.
const NT_HOSTBASED_SERVICE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
/// SPNEGO, 1.3.6.1.5.5.2 (RFC 4178 §3): the mechanism HTTP Negotiate uses (RFC 4559 §4).
const SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

fn oid(der: &'static [u8]) -> Oid {
    Oid { length: der.len() as OmUint32, elements: der.as_ptr() as *mut c_void }
}

const GSS_S_CONTINUE_NEEDED: OmUint32 = 1;
/// GSS_ERROR(x): a calling or routine error is set (RFC 2744 §3.9.1).
fn is_error(major: OmUint32) -> bool {
    major & 0xffff_0000 != 0
}
const GSS_C_GSS_CODE: i32 = 1;
const GSS_C_MECH_CODE: i32 = 2;
/// Request mutual authentication, as curl and browsers do; toll does not insist on the answer
/// (proxies such as Squid send none on the 200).
const GSS_C_MUTUAL_FLAG: OmUint32 = 2;
/// Delegate the user's credentials (a forwarded TGT) to the acceptor (RFC 2744 §5.19).
const GSS_C_DELEG_FLAG: OmUint32 = 1;
/// Delegate only when the KDC marks the service `ok-as-delegate` (MIT and Heimdal's extension,
/// from RFC 5896).
const GSS_C_DELEG_POLICY_FLAG: OmUint32 = 32768;

/// The `req_flags` of `gss_init_sec_context` for `delegation`.
fn request_flags(delegation: super::Delegation) -> OmUint32 {
    GSS_C_MUTUAL_FLAG
        | match delegation {
            super::Delegation::None => 0,
            super::Delegation::Policy => GSS_C_DELEG_POLICY_FLAG,
            super::Delegation::Always => GSS_C_DELEG_FLAG,
        }
}

type ImportName = unsafe extern "C" fn(*mut OmUint32, *const Buffer, *const Oid, *mut GssName) -> OmUint32;
type ReleaseName = unsafe extern "C" fn(*mut OmUint32, *mut GssName) -> OmUint32;
type InitSecContext = unsafe extern "C" fn(
    *mut OmUint32, // minor_status
    *mut c_void,   // initiator_cred_handle: GSS_C_NO_CREDENTIAL (the default ticket cache)
    *mut GssCtx,   // context_handle
    GssName,       // target_name
    *const Oid,    // mech_type
    OmUint32,      // req_flags
    OmUint32,      // time_req
    *const c_void, // input_chan_bindings
    *const Buffer, // input_token
    *mut *mut Oid, // actual_mech_type
    *mut Buffer,   // output_token
    *mut OmUint32, // ret_flags
    *mut OmUint32, // time_rec
) -> OmUint32;
type DeleteSecContext = unsafe extern "C" fn(*mut OmUint32, *mut GssCtx, *mut Buffer) -> OmUint32;
type ReleaseBuffer = unsafe extern "C" fn(*mut OmUint32, *mut Buffer) -> OmUint32;
type DisplayStatus =
    unsafe extern "C" fn(*mut OmUint32, OmUint32, i32, *const Oid, *mut OmUint32, *mut Buffer) -> OmUint32;

/// The loaded library and the entry points toll uses.
pub struct Gss {
    import_name: ImportName,
    release_name: ReleaseName,
    init_sec_context: InitSecContext,
    delete_sec_context: DeleteSecContext,
    release_buffer: ReleaseBuffer,
    display_status: DisplayStatus,
    // Last, so the entry points above are never used after the library is unloaded.
    _lib: Library,
}

impl Gss {
    /// Loads `path` (a file name is looked up the way `dlopen` does) and resolves the entry points.
    pub fn load(path: &str) -> Result<Arc<Gss>, String> {
        // SAFETY: loading runs the library's initialisers; MIT's are benign. Each symbol is cast
        // to the RFC 2744 prototype it has in every GSSAPI implementation.
        unsafe {
            let lib = Library::new(path).map_err(|e| format!("{path} not found or not loadable ({e})"))?;
            macro_rules! sym {
                ($name:literal) => {
                    *lib.get(concat!($name, "\0").as_bytes())
                        .map_err(|e| format!("{path} lacks {}: {e}", $name))?
                };
            }
            Ok(Arc::new(Gss {
                import_name: sym!("gss_import_name"),
                release_name: sym!("gss_release_name"),
                init_sec_context: sym!("gss_init_sec_context"),
                delete_sec_context: sym!("gss_delete_sec_context"),
                release_buffer: sym!("gss_release_buffer"),
                display_status: sym!("gss_display_status"),
                _lib: lib,
            }))
        }
    }

    /// The system's library, loaded once per process.
    pub fn system() -> Result<Arc<Gss>, String> {
        static SYSTEM: OnceLock<Result<Arc<Gss>, String>> = OnceLock::new();
        SYSTEM.get_or_init(|| Gss::load(LIBRARY)).clone()
    }

    /// The library's text for a status code (`gss_display_status`, RFC 2744 §5.11).
    fn describe(&self, code: OmUint32, kind: i32) -> Vec<String> {
        let mut out = Vec::new();
        let mut more: OmUint32 = 0;
        // The loop is bounded: a broken library must not hang toll.
        for _ in 0..8 {
            let mut minor = 0;
            let mut text = Buffer::empty();
            // SAFETY: RFC 2744 §5.11 prototype; `text` is released right after copying.
            let major = unsafe {
                (self.display_status)(&mut minor, code, kind, std::ptr::null(), &mut more, &mut text)
            };
            if is_error(major) {
                break;
            }
            // SAFETY: filled by the library.
            // MIT ends some messages with a NUL.
            let s = String::from_utf8_lossy(&unsafe { text.to_vec() })
                .trim_matches(|c: char| c.is_whitespace() || c == '\0')
                .to_owned();
            unsafe { (self.release_buffer)(&mut minor, &mut text) };
            if !s.is_empty() {
                out.push(s);
            }
            if more == 0 {
                break;
            }
        }
        out
    }

    fn error(&self, call: &str, major: OmUint32, minor: OmUint32) -> GssError {
        let mut parts = self.describe(major, GSS_C_GSS_CODE);
        if minor != 0 {
            parts.extend(self.describe(minor, GSS_C_MECH_CODE));
        }
        // "Unspecified GSS failure.  Minor code may provide more information" says nothing the
        // minor code's text does not.
        if parts.len() > 1 {
            parts.retain(|p| !p.starts_with("Unspecified GSS failure"));
        }
        // GSS_S_NO_CRED: SPNEGO's text hides that the krb5 mechanism found no ticket.
        if (major >> 16) & 0xff == 7 {
            parts.insert(0, "no Kerberos credentials in the cache (run kinit, or check KRB5CCNAME)".into());
        }
        let message = if parts.is_empty() {
            format!("{call} failed (major {major:#x}, minor {minor})")
        } else {
            parts.join("; ")
        };
        GssError { major, message }
    }
}

/// A failed GSSAPI call, with the library's own explanation.
#[derive(Debug, Clone)]
pub struct GssError {
    pub major: u32,
    pub message: String,
}

impl fmt::Display for GssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One initiator security context toward one service (one handshake on one connection).
pub struct Context {
    gss: Arc<Gss>,
    name: GssName,
    ctx: GssCtx,
    complete: bool,
    flags: OmUint32,
    /// What the last `gss_init_sec_context` granted (`ret_flags`).
    granted: OmUint32,
}

// SAFETY: the handles are only used through `&mut self`; MIT's contexts and names may move
// between threads as long as they are not used from two at once.
unsafe impl Send for Context {}

impl Context {
    /// Imports `service@host` as a host-based service name (RFC 2743 §4.1; the Kerberos
    /// principal becomes `service/host@REALM`).
    pub fn new(
        gss: Arc<Gss>,
        service: &str,
        host: &str,
        delegation: super::Delegation,
    ) -> Result<Context, GssError> {
        let text = format!("{service}@{host}");
        let input = Buffer::borrowing(text.as_bytes());
        let name_type = oid(NT_HOSTBASED_SERVICE);
        let mut name: GssName = std::ptr::null_mut();
        let mut minor = 0;
        // SAFETY: RFC 2744 §5.16; `input` and `name_type` outlive the call.
        let major = unsafe { (gss.import_name)(&mut minor, &input, &name_type, &mut name) };
        if is_error(major) {
            return Err(gss.error("gss_import_name", major, minor));
        }
        Ok(Context {
            gss,
            name,
            ctx: std::ptr::null_mut(),
            complete: false,
            flags: request_flags(delegation),
            granted: 0,
        })
    }

    /// One `gss_init_sec_context` call (RFC 2744 §5.19): `None` for the first, then the token
    /// the acceptor sent. Returns the token to send (possibly empty).
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, GssError> {
        let mech = oid(SPNEGO);
        let input_buf = input.map(Buffer::borrowing);
        let input_ptr = input_buf.as_ref().map_or(std::ptr::null(), |b| b as *const Buffer);
        let mut output = Buffer::empty();
        let mut minor = 0;
        let mut ret_flags = 0;
        // SAFETY: RFC 2744 §5.19 prototype; all pointers are valid for the call; the output
        // buffer is released below whatever the outcome.
        let major = unsafe {
            (self.gss.init_sec_context)(
                &mut minor,
                std::ptr::null_mut(),
                &mut self.ctx,
                self.name,
                &mech,
                self.flags,
                0,
                std::ptr::null(),
                input_ptr,
                std::ptr::null_mut(),
                &mut output,
                &mut ret_flags,
                std::ptr::null_mut(),
            )
        };
        // SAFETY: filled by the library (or still empty).
        let token = unsafe { output.to_vec() };
        let mut ignored = 0;
        unsafe { (self.gss.release_buffer)(&mut ignored, &mut output) };
        if is_error(major) {
            return Err(self.gss.error("gss_init_sec_context", major, minor));
        }
        // GSS_S_COMPLETE, possibly with supplementary bits; GSS_S_CONTINUE_NEEDED is one of those.
        self.complete = major & GSS_S_CONTINUE_NEEDED == 0;
        self.granted = ret_flags;
        Ok(token)
    }

    /// The user's credentials went into the token (asked for, and the ticket is forwardable;
    /// with the policy flag, the service is also ok-as-delegate).
    pub fn delegated(&self) -> bool {
        self.granted & GSS_C_DELEG_FLAG != 0
    }

    /// GSS_S_COMPLETE: the acceptor has nothing more to say that toll needs.
    pub fn complete(&self) -> bool {
        self.complete
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: handles created by this library and not used again.
        unsafe {
            if !self.ctx.is_null() {
                (self.gss.delete_sec_context)(&mut minor, &mut self.ctx, std::ptr::null_mut());
            }
            if !self.name.is_null() {
                (self.gss.release_name)(&mut minor, &mut self.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegation_is_asked_for_with_the_flags_of_rfc_2744_and_mit() {
        use crate::auth::Delegation;
        assert_eq!(super::request_flags(Delegation::None), 2, "mutual only");
        assert_eq!(super::request_flags(Delegation::Always), 2 | 1);
        assert_eq!(super::request_flags(Delegation::Policy), 2 | 32768);
    }

    #[test]
    fn a_missing_library_is_an_error_naming_it() {
        let err = Gss::load("libtoll-no-such-gssapi.so.9").err().expect("no such library");
        assert!(err.contains("libtoll-no-such-gssapi.so.9 not found"), "{err}");
    }

    /// Where MIT's library is installed, every entry point resolves and status codes have text.
    /// (No context is started: that would read the system krb5.conf.)
    #[test]
    fn the_system_library_resolves_when_present() {
        let Ok(gss) = Gss::load(LIBRARY) else {
            eprintln!("SKIPPED: {LIBRARY} is not installed (Debian package libgssapi-krb5-2)");
            return;
        };
        // GSS_S_NO_CRED (7 << 16).
        let text = gss.describe(7 << 16, GSS_C_GSS_CODE).join(" ");
        assert!(text.to_ascii_lowercase().contains("credential"), "{text}");
    }

    #[test]
    fn oids_are_the_registered_ones() {
        // 1.3.6.1.5.5.2: 1*40+3 = 0x2b, then 6 1 5 5 2.
        assert_eq!(SPNEGO, [0x2b, 6, 1, 5, 5, 2]);
        // 1.2.840.113554.1.2.1.4: 840 = 0x86 0x48; 113554 = 0x86 0xf7 0x12.
        assert_eq!(NT_HOSTBASED_SERVICE[..6], [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12]);
    }
}
