//! Giving the index load's scratch memory back to the operating system.
//!
//! At start the engine streams every active signal into a vector, builds the index from it and
//! frees it. glibc's allocator keeps freed heap pages mapped, so without this the server's
//! resident memory stays at the loading peak: 2.6 GB for 10M PDQ hashes, of which 1.9 GB is in
//! use (docs/benchmarks.md, "Service"). `malloc_trim` hands the free pages back.

/// Returns freed heap pages to the operating system where the allocator keeps them (glibc);
/// does nothing elsewhere. Takes a moment on a large heap: call it off the async workers.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: `malloc_trim` takes no pointers; it locks and walks glibc's own arenas and is
        // safe to call from any thread at any time.
        unsafe {
            malloc_trim(0);
        }
    }
}
