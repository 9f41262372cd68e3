//! What `std` would supply on wasm32, for a `no_std` plugin (spec 07 §10): the global allocator,
//! the canonical ABI's `cabi_realloc` export and the panic handler. Compiled only for wasm32 with
//! the `runtime` feature.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;
use core::fmt::{self, Write};

const PAGE: usize = 65_536;

unsafe extern "C" {
    /// End of the data and stack, placed by the linker: the heap starts here.
    static __heap_base: u8;
}

/// A bump allocator: it hands out memory upwards from `__heap_base` and grows linear memory
/// only when an allocation does not fit in the pages it already has. Freeing or shrinking the
/// newest allocation gives its space back; anything else is reclaimed when the host drops the
/// store after the call (spec 07 §6.3: a fresh store per call).
struct Bump {
    /// Next free address; 0 until the first allocation.
    next: Cell<usize>,
    /// End of linear memory, in bytes.
    end: Cell<usize>,
}

// SAFETY: a wasm32 component instance runs on one thread (threads are disabled, spec 07 §6.1).
unsafe impl Sync for Bump {}

impl Bump {
    /// Makes room up to `top`, growing memory if needed; false when the host denies growth.
    fn reserve(&self, top: usize) -> bool {
        let end = self.end.get();
        if top <= end {
            return true;
        }
        let pages = (top - end).div_ceil(PAGE);
        if wasm32::memory_grow(0, pages) == usize::MAX {
            return false;
        }
        self.end.set(end + pages * PAGE);
        true
    }

    fn start(&self) -> usize {
        let next = self.next.get();
        if next != 0 {
            return next;
        }
        let base = core::ptr::addr_of!(__heap_base) as usize;
        self.end.set(wasm32::memory_size(0) * PAGE);
        base
    }
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let next = self.start();
        let Some(ptr) = next
            .checked_add(layout.align() - 1)
            .map(|p| p & !(layout.align() - 1))
        else {
            return core::ptr::null_mut();
        };
        let Some(top) = ptr.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.reserve(top) {
            return core::ptr::null_mut();
        }
        self.next.set(top);
        ptr as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let addr = ptr as usize;
        if addr + layout.size() == self.next.get() {
            // The newest allocation grows or shrinks in place.
            let Some(top) = addr.checked_add(new_size) else {
                return core::ptr::null_mut();
            };
            if !self.reserve(top) {
                return core::ptr::null_mut();
            }
            self.next.set(top);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the caller guarantees `layout.align()` is valid and `new_size` non-zero.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct; the old one holds `layout.size()` bytes.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    next: Cell::new(0),
    end: Cell::new(0),
};

/// The canonical ABI allocation hook the host calls to place arguments in guest memory.
/// wasm32-wasip2 supplies it only with `std`, and wit-bindgen's `realloc` feature only on other
/// wasm32 targets, so the SDK exports it.
///
/// # Safety
/// Called by the host per the component model's canonical ABI: `old_ptr`/`old_len` describe a
/// block this function returned (or `old_len` is 0), and `align` is a power of two.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    if new_len == 0 {
        return align as *mut u8;
    }
    // SAFETY: `align` is a power of two per the canonical ABI; sizes come from the host.
    let ptr = unsafe {
        if old_len == 0 {
            alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            alloc::alloc::realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if ptr.is_null() {
        wasm32::unreachable();
    }
    ptr
}

/// A fixed buffer the panic message is written into, so a panic (even an out-of-memory one)
/// allocates nothing; a longer message is truncated.
struct PanicBuffer {
    bytes: [u8; 512],
    len: usize,
}

impl Write for PanicBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut utf8 = [0u8; 4];
            let encoded = c.encode_utf8(&mut utf8).as_bytes();
            if self.len + encoded.len() > self.bytes.len() {
                return Err(fmt::Error);
            }
            self.bytes[self.len..self.len + encoded.len()].copy_from_slice(encoded);
            self.len += encoded.len();
        }
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut buffer = PanicBuffer {
        bytes: [0; 512],
        len: 0,
    };
    let _ = write!(buffer, "panic: {}", info.message());
    if let Some(location) = info.location() {
        let _ = write!(buffer, " at {}:{}", location.file(), location.line());
    }
    // Only whole characters were copied, so the prefix is valid UTF-8.
    let message = core::str::from_utf8(&buffer.bytes[..buffer.len]).unwrap_or("panic");
    crate::log::log(crate::log::LogLevel::Error, message);
    wasm32::unreachable()
}

/// `memcmp` for byte-slice comparisons. wasm32-wasip2 takes it from wasi-libc, which only `std`
/// links; `memcpy`, `memmove` and `memset` need no such help (bulk-memory instructions).
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[cfg(target_os = "wasi")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    // Eight bytes at a time while they are equal, then byte by byte to order the first
    // difference.
    while i + 8 <= n {
        // SAFETY: `i + 8 <= n` and both blocks hold `n` bytes; unaligned reads are allowed.
        let (x, y) = unsafe {
            (
                core::ptr::read_unaligned(a.add(i) as *const u64),
                core::ptr::read_unaligned(b.add(i) as *const u64),
            )
        };
        if x != y {
            break;
        }
        i += 8;
    }
    while i < n {
        // SAFETY: `i < n` and both blocks hold `n` bytes.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// `bcmp`: zero iff the blocks are equal (LLVM emits it for equality tests).
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[cfg(target_os = "wasi")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { memcmp(a, b, n) }
}
