//! The PAC's memory. QuickJS allocates through [`Metered`], which keeps the runtime within
//! [`crate::Limits::memory`] and remembers that it refused, because a script that fills the
//! memory with small values leaves QuickJS no room even for its "out of memory" error: it then
//! throws `null`, which without the meter reads as a script's own `throw null`.
//!
//! QuickJS's own limit (`JS_SetMemoryLimit`) refuses before the allocator is asked, so it is not
//! set: this meter is the limit. The memory itself is Rust's allocator's (rquickjs's
//! [`RustAllocator`]), which keeps each block's size in front of it.

use rquickjs::allocator::{Allocator, RustAllocator};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// What a runtime holds, its limit, and whether an allocation was refused.
pub(crate) struct Meter {
    used: AtomicUsize,
    limit: usize,
    refused: AtomicBool,
}

impl Meter {
    pub(crate) fn new(limit: usize) -> Arc<Meter> {
        Arc::new(Meter { used: AtomicUsize::new(0), limit, refused: AtomicBool::new(false) })
    }

    /// Whether an allocation was refused since the last call (and forgets it).
    pub(crate) fn take_refused(&self) -> bool {
        self.refused.swap(false, Ordering::Relaxed)
    }

    /// Whether `more` bytes fit beside what is held once `freed` bytes are given back; notes a
    /// refusal.
    fn fits(&self, more: usize, freed: usize) -> bool {
        let after = self.used.load(Ordering::Relaxed).saturating_sub(freed).checked_add(more);
        let fits = after.is_some_and(|a| a <= self.limit);
        if !fits {
            self.refused.store(true, Ordering::Relaxed);
        }
        fits
    }
}

/// The allocator a PAC's runtime uses. A runtime is used by one thread at a time (its lock), so
/// the counters need no ordering beyond their own.
pub(crate) struct Metered(pub(crate) Arc<Meter>);

impl Metered {
    fn held(&self, ptr: *mut u8, add: bool) {
        if ptr.is_null() {
            return;
        }
        // SAFETY: `ptr` is a live block of `RustAllocator`'s.
        let size = unsafe { RustAllocator::usable_size(ptr) };
        if add {
            self.0.used.fetch_add(size, Ordering::Relaxed);
        } else {
            self.0.used.fetch_sub(size, Ordering::Relaxed);
        }
    }
}

// SAFETY: every block comes from `RustAllocator` and goes back to it; a refusal returns null
// (QuickJS's allocation failure), and a refused `realloc` leaves the old block as it was.
unsafe impl Allocator for Metered {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.0.fits(size, 0) {
            return std::ptr::null_mut();
        }
        let ptr = RustAllocator.alloc(size);
        self.held(ptr, true);
        ptr
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        // `RustAllocator` would panic on an overflow, across QuickJS's C frames.
        let Some(total) = count.checked_mul(size) else {
            self.0.refused.store(true, Ordering::Relaxed);
            return std::ptr::null_mut();
        };
        if !self.0.fits(total, 0) {
            return std::ptr::null_mut();
        }
        let ptr = RustAllocator.calloc(count, size);
        self.held(ptr, true);
        ptr
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        self.held(ptr, false);
        // SAFETY: the caller's (a block of this allocator).
        unsafe { RustAllocator.dealloc(ptr) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        // SAFETY: the caller's (a block of this allocator).
        let old = unsafe { RustAllocator::usable_size(ptr) };
        if !self.0.fits(new_size, old) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above; on failure the old block stays (and stays counted).
        let moved = unsafe { RustAllocator.realloc(ptr, new_size) };
        if !moved.is_null() {
            self.0.used.fetch_sub(old, Ordering::Relaxed);
            self.held(moved, true);
        }
        moved
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: the caller's (a block of this allocator).
        unsafe { RustAllocator::usable_size(ptr) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_counted_while_held_and_the_limit_refuses_and_is_remembered() {
        let meter = Meter::new(4096);
        let mut a = Metered(meter.clone());
        let p = a.alloc(1000);
        assert!(!p.is_null());
        let held = meter.used.load(Ordering::Relaxed);
        assert!((1000..1100).contains(&held), "{held}");
        assert!(a.alloc(4000).is_null(), "beyond the limit");
        assert!(meter.take_refused() && !meter.take_refused(), "remembered once");
        // SAFETY: `p` is this allocator's, 1000 bytes.
        let p = unsafe { a.realloc(p, 3000) };
        assert!(!p.is_null());
        // SAFETY: as above; a refused growth leaves the block and its count.
        assert!(unsafe { a.realloc(p, 5000) }.is_null());
        assert!(meter.take_refused());
        assert!((3000..3100).contains(&meter.used.load(Ordering::Relaxed)));
        assert!(a.calloc(usize::MAX, 2).is_null(), "an overflow is a refusal, not a panic");
        assert!(meter.take_refused());
        // SAFETY: `p` is live and this allocator's.
        unsafe { a.dealloc(p) };
        assert_eq!(meter.used.load(Ordering::Relaxed), 0);
        let z = a.calloc(10, 10);
        // SAFETY: 100 zeroed bytes of this allocator's.
        assert!(unsafe { std::slice::from_raw_parts(z, 100) }.iter().all(|b| *b == 0));
        // SAFETY: as above.
        unsafe { a.dealloc(z) };
        assert_eq!(meter.used.load(Ordering::Relaxed), 0);
    }
}
