//! The command's memory allocator: small blocks for the thread that runs the passes, from one
//! reserved region, with a free list per size; everything else from the system allocator.
//!
//! Why: translating a 3,200-line script makes about 150,000 small allocations (AST and IR
//! nodes, names, short vectors), and glibc's `malloc`, `free` and `realloc` were a fifth of
//! `-p3`'s instructions. Here a small allocation is a pop from a free list or a bump of a
//! pointer, a free is a push, and no block carries a header.
//!
//! Context: user space only. Every function here may be called from any thread of the
//! process, at any time (it is the global allocator); none of them allocates.
//!
//! The rules that keep it sound:
//! - One thread, the *owner*, is served from the region: the first thread that calls
//!   [`claim`]. Its free lists and bump pointer live in its thread-local storage, so no
//!   locks or atomics are needed; no other thread ever reads or writes them.
//! - Whether a block is ours is decided by its address alone: the region is one reserved
//!   range, set once before the owner's first allocation from it.
//! - A block of ours freed by another thread is left unused rather than pushed on a list that
//!   thread does not own. (The passes run on the owner; the few values handed to other threads
//!   are small and few.)
//! - Requests over [`SMALL`] bytes, or aligned to more than [`GRAIN`], and every request from
//!   a thread that is not the owner, go to the system allocator, as does everything once the
//!   region is used up.
//! - Freed blocks are reused only for requests of their own size class; they are never given
//!   back to the system. The region is reserved without backing: only the pages the owner
//!   touches become memory.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Size classes are multiples of this, and every block is aligned to it.
pub const GRAIN: usize = 16;
/// The largest request served from the region.
pub const SMALL: usize = 512;
const CLASSES: usize = SMALL / GRAIN;
/// Address space reserved for the region. Nothing is committed until touched, and a script
/// large enough to fill it just has its later blocks served by the system allocator.
const RESERVE: usize = 16 << 30;
const HUGE_PAGE: usize = 2 << 20;
/// `MADV_POPULATE_WRITE` (Linux 5.14), which the libc crate does not name yet: maps a range in
/// at once, written, in one system call instead of a page fault per page.
pub const POPULATE_WRITE: libc::c_int = 23;

/// The region's start and length; 0 until [`claim`] sets them.
static BASE: AtomicUsize = AtomicUsize::new(0);
static LEN: AtomicUsize = AtomicUsize::new(0);
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// The owner's state. Const-initialised and without `Drop`, so that reading it neither
/// allocates nor registers a destructor; on other threads it stays as initialised.
struct Local {
    owner: Cell<bool>,
    /// Head of each class's free list; a free block's first word points to the next.
    free: [Cell<*mut u8>; CLASSES],
    /// Bit `c` set when class `c`'s list is not empty.
    nonempty: Cell<u32>,
    next: Cell<usize>,
    end: Cell<usize>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            owner: Cell::new(false),
            free: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            nonempty: Cell::new(0),
            next: Cell::new(0),
            end: Cell::new(0),
        }
    };
}

/// Makes the calling thread the owner and reserves the region. `populate` is what the caller
/// knows the owner will use of it, 0 for a small script. When it is not 0, the region is asked
/// to be mapped in 2 MiB pages (one fault and one zeroing where there were hundreds of faults)
/// and that much is populated at once; when it is, the region is asked not to be, so that a
/// host with transparent huge pages always on does not zero 2 MiB for a few probes. Returns
/// false, changing nothing, when a thread already claimed it or the address space cannot be
/// reserved (the system allocator then serves everything).
pub fn claim(populate: usize) -> bool {
    if CLAIMED.swap(true, Ordering::Relaxed) {
        return false;
    }
    // SAFETY: an anonymous private mapping that nothing else refers to; the result is checked
    // before use.
    let at = unsafe {
        libc::mmap(
            ptr::null_mut(),
            RESERVE + HUGE_PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if at == libc::MAP_FAILED {
        return false;
    }
    // Start on a huge-page boundary, so that the first blocks can be in one huge page.
    let base = (at as usize + HUGE_PAGE - 1) & !(HUGE_PAGE - 1);
    let region = base as *mut libc::c_void;
    // SAFETY: advice on the mapping made above, which changes no contents; a kernel without
    // transparent huge pages or MADV_POPULATE_WRITE ignores it.
    unsafe {
        if populate == 0 {
            libc::madvise(region, RESERVE, libc::MADV_NOHUGEPAGE);
        } else {
            libc::madvise(region, RESERVE, libc::MADV_HUGEPAGE);
            libc::madvise(region, populate.min(RESERVE) & !(4096 - 1), POPULATE_WRITE);
        }
    }
    LEN.store(RESERVE, Ordering::Relaxed);
    BASE.store(base, Ordering::Relaxed);
    LOCAL.with(|l| {
        l.next.set(base);
        l.end.set(base + RESERVE);
        l.owner.set(true);
    });
    true
}

/// Whether `p` was handed out from the region.
#[inline(always)]
fn ours(p: *mut u8) -> bool {
    (p as usize).wrapping_sub(BASE.load(Ordering::Relaxed)) < LEN.load(Ordering::Relaxed)
}

/// The class of a request of `size` bytes (at most [`SMALL`]), and its block size.
#[inline(always)]
fn class(size: usize) -> (usize, usize) {
    let c = size.saturating_sub(1) / GRAIN;
    (c, (c + 1) * GRAIN)
}

#[inline(always)]
fn small(layout: Layout) -> bool {
    layout.size() <= SMALL && layout.align() <= GRAIN
}

/// A block of class `c` for the owner, or null when the region is used up. When `c`'s list
/// is empty, a free block of the next larger class is split before the region grows: without
/// that, memory freed by one pass (the AST's nodes) would be kept for its own sizes only, and
/// a 100,000-line script's peak grew by a tenth.
#[inline(always)]
fn take(l: &Local, c: usize, block: usize) -> *mut u8 {
    if l.nonempty.get() & (1 << c) != 0 {
        return pop(l, c);
    }
    let larger = l.nonempty.get() & !((2u64 << c) - 1) as u32;
    if larger != 0 {
        let from = larger.trailing_zeros() as usize;
        let p = pop(l, from);
        // SAFETY: the rest of a block of class `from`, past the `block` bytes handed out.
        give(l, from - c - 1, unsafe { p.add(block) });
        return p;
    }
    let at = l.next.get();
    if l.end.get() - at < block {
        return ptr::null_mut();
    }
    l.next.set(at + block);
    at as *mut u8
}

/// The first block on class `c`'s list, which is not empty.
#[inline(always)]
fn pop(l: &Local, c: usize) -> *mut u8 {
    let head = l.free[c].get();
    // SAFETY: a block on the owner's list, whose first word `give` wrote.
    let next = unsafe { head.cast::<*mut u8>().read() };
    l.free[c].set(next);
    if next.is_null() {
        l.nonempty.set(l.nonempty.get() & !(1 << c));
    }
    head
}

/// Puts a block of class `c` back on the owner's list.
#[inline(always)]
fn give(l: &Local, c: usize, p: *mut u8) {
    // SAFETY: `p` is a block of ours of at least GRAIN bytes, aligned to GRAIN, that its
    // user has given up: its first word is free to hold the link.
    unsafe { p.cast::<*mut u8>().write(l.free[c].get()) };
    l.free[c].set(p);
    l.nonempty.set(l.nonempty.get() | 1 << c);
}

/// The global allocator (see the module's comment).
pub struct Heap;

// SAFETY: blocks from the region are distinct, GRAIN-aligned and at least as large as asked
// (their class's size); each is handed out once until freed. Everything else is System's.
unsafe impl GlobalAlloc for Heap {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if small(layout) {
            let p = LOCAL.with(|l| {
                if !l.owner.get() {
                    return ptr::null_mut();
                }
                let (c, block) = class(layout.size());
                take(l, c, block)
            });
            if !p.is_null() {
                return p;
            }
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !small(layout) {
            // SAFETY: the caller's layout, passed on; System's calloc knows fresh pages are
            // zero already.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: as for `alloc`; the block is at least layout.size() bytes.
        unsafe {
            let p = self.alloc(layout);
            if !p.is_null() {
                p.write_bytes(0, layout.size());
            }
            p
        }
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if ours(p) {
            LOCAL.with(|l| {
                if l.owner.get() {
                    give(l, class(layout.size()).0, p);
                }
            });
            return;
        }
        // SAFETY: a block System handed out with this layout.
        unsafe { System.dealloc(p, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !ours(p) {
            // SAFETY: a block System handed out with this layout.
            return unsafe { System.realloc(p, layout, new_size) };
        }
        let (c, _) = class(layout.size());
        if new_size <= SMALL && class(new_size).0 == c {
            return p;
        }
        // SAFETY: the new layout has the old one's valid alignment and a size the caller
        // guarantees fits isize.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as for `alloc`.
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: distinct blocks, each at least the smaller of the two sizes.
            unsafe { ptr::copy_nonoverlapping(p, q, layout.size().min(new_size)) };
            // SAFETY: `p` is ours with this layout, and no longer used.
            unsafe { self.dealloc(p, layout) };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_their_requests() {
        assert_eq!(class(0), (0, 16));
        assert_eq!(class(1), (0, 16));
        assert_eq!(class(16), (0, 16));
        assert_eq!(class(17), (1, 32));
        assert_eq!(class(SMALL), (CLASSES - 1, SMALL));
        for size in 1..=SMALL {
            let (c, block) = class(size);
            assert!(
                c < CLASSES && block >= size && block - size < GRAIN,
                "{size}"
            );
        }
    }

    /// Runs the allocator as the owner on a thread of its own (the test harness's threads
    /// must not become the owner of the process-wide region).
    #[test]
    fn blocks_are_distinct_aligned_reused_and_survive_realloc() {
        std::thread::spawn(|| {
            assert!(claim(64 << 10));
            assert!(!claim(0), "a second claim must fail");
            let h = Heap;
            let l = |size, align| Layout::from_size_align(size, align).unwrap();
            // SAFETY: every block is used within its layout and freed once with it.
            unsafe {
                // With its own class's list empty, a request splits the next larger free
                // block, and the rest serves its own class.
                let a = h.alloc(l(100, 8));
                assert_eq!(used(), 112);
                h.dealloc(a, l(100, 8));
                assert_eq!(h.alloc(l(32, 8)), a);
                assert_eq!(h.alloc(l(70, 8)), a.add(32));
                assert_eq!(used(), 112, "nothing taken from the region");
                h.dealloc(a, l(32, 8));
                h.dealloc(a.add(32), l(70, 8));
                let mut seen = Vec::new();
                for size in [1usize, 8, 16, 17, 100, 511, 512] {
                    let p = h.alloc(l(size, 8));
                    assert!(ours(p) && p as usize % GRAIN == 0, "{size}");
                    p.write_bytes(0xa5, size);
                    seen.push((p, size));
                }
                for (i, &(p, _)) in seen.iter().enumerate() {
                    for &(q, size) in &seen[i + 1..] {
                        assert!(p != q, "{size}");
                    }
                }
                // Freed, a block comes back for its own class only.
                let (p, size) = seen[4];
                h.dealloc(p, l(size, 8));
                assert_eq!(h.alloc(l(97, 8)), p);
                // Large or over-aligned requests are System's.
                let big = h.alloc(l(SMALL + 1, 8));
                let wide = h.alloc(l(64, 64));
                assert!(!ours(big) && !ours(wide));
                h.dealloc(big, l(SMALL + 1, 8));
                h.dealloc(wide, l(64, 64));
                // Growing within the class keeps the block; past it, the contents move.
                let p = h.alloc(l(20, 8));
                for i in 0..20 {
                    p.add(i).write(i as u8);
                }
                assert_eq!(h.realloc(p, l(20, 8), 32), p);
                let q = h.realloc(p, l(32, 8), 400);
                assert!(ours(q) && q != p);
                let r = h.realloc(q, l(400, 8), 4000);
                assert!(!ours(r));
                for i in 0..20 {
                    assert_eq!(r.add(i).read(), i as u8);
                }
                let s = h.realloc(r, l(4000, 8), 10);
                assert_eq!(s.add(9).read(), 9);
                h.dealloc(s, l(10, 8));
                for (p, size) in seen {
                    if size != 100 {
                        h.dealloc(p, l(size, 8));
                    }
                }
            }
        })
        .join()
        .unwrap();
        // Not the owner: served by System, and a block of ours freed here is left alone.
        let h = Heap;
        let layout = Layout::from_size_align(24, 8).unwrap();
        // SAFETY: allocated and freed once with the same layout.
        unsafe {
            let p = h.alloc(layout);
            assert!(!ours(p));
            h.dealloc(p, layout);
        }
    }
}

/// Bytes of the region the owner has used so far (its high-water mark; 0 on other threads).
#[cfg(test)]
fn used() -> usize {
    LOCAL.with(|l| l.next.get().saturating_sub(BASE.load(Ordering::Relaxed)))
}
