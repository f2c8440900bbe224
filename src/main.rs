fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    shipit::cli::main()
}

/// glibc's malloc gives each thread that allocates its own arena (up to 8 per core) and keeps
/// what is freed there: a push's short-lived compression threads and the runtime's file-reading
/// threads each touched a few MiB, and a 1 GiB push peaked 10-15 MiB higher for it (56-59 MiB
/// against 45-50 MiB with two arenas, measured with `bench/push`'s image). Two arenas are
/// enough for a program whose threads mostly hash, compress and wait on the network.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // glibc's <malloc.h>: M_ARENA_MAX is -8. Written by hand: one call, no crate needed.
    const M_ARENA_MAX: i32 = -8;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only sets a malloc parameter; it is called before any other thread
    // exists. A refusal (0) leaves glibc's default, which is only more memory.
    unsafe {
        mallopt(M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
