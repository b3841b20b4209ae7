//! Imports run below the priority of requests.
//!
//! An import keeps a core busy for a minute or more; on a small server the
//! people reading files meanwhile should not wait behind it. Linux keeps a
//! nice value for each thread, so the job's own threads are lowered and
//! the request workers keep theirs. (The database's own processes are not
//! ours to lower: on PostgreSQL the batch's writes run at its priority.)

/// How far below normal an import's threads run (`nice` 10 of 19).
const IMPORT_NICENESS: libc::c_int = 10;

/// Lower the calling thread — and only it — to the priority of imports.
/// Where the system refuses, the import runs at normal priority: slower
/// answers meanwhile are no reason to refuse the import.
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no argument and cannot fail; setpriority
        // with PRIO_PROCESS and a thread id changes that thread's nice
        // value only (Linux keeps one per thread), and only returns an
        // error, which is logged.
        let changed = unsafe {
            let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, thread, IMPORT_NICENESS)
        };
        if changed != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "could not lower an import thread's priority"
            );
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn only_the_calling_thread_is_lowered() {
        let own = || unsafe {
            libc::getpriority(
                libc::PRIO_PROCESS,
                libc::syscall(libc::SYS_gettid) as libc::id_t,
            )
        };
        let before = own();
        let lowered = std::thread::spawn(move || {
            super::lower_this_thread();
            own()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, before.max(super::IMPORT_NICENESS));
        assert_eq!(own(), before, "the calling thread keeps its priority");
    }
}
