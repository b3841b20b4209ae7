//! Imports run below the priority of requests.
//!
//! An import keeps a core busy for a minute or more; on a small server the
//! people reading files meanwhile should not wait behind it. Linux keeps a
//! nice value for each thread, and with autogroups (the default of most
//! distributions) one for each session's group: the scheduler shares the
//! cores between groups first, and a thread's nice value counts only
//! within its group. So a server's import runs in a process of its own,
//! in a session of its own (`worker`), which lowers its group and itself
//! here. `sijill import` does the same, but lowers its session's group
//! only when it leads that session (started with `setsid -w`): otherwise the
//! group is the operator's shell's. (The database's own processes are not
//! ours to lower: on PostgreSQL the batch's writes run at its priority.)

/// How far below the process's own priority an import's threads run
/// (`nice` + 10, at most 19): relative, so that a server started niced
/// still runs its imports below its requests.
const IMPORT_NICENESS: libc::c_int = 10;

/// The lowest priority Linux has.
const MAX_NICE: libc::c_int = 19;

/// Lower this whole process: its session's scheduling group to the
/// lowest priority if it leads its session (a group it does not lead is
/// shared with the processes that started it), and the calling thread as
/// `lower_this_thread` does. Call it first thing, before the process
/// starts other threads: they inherit the calling thread's nice value.
/// Where the system refuses, the job runs as it is.
pub fn lower_this_process() {
    #[cfg(target_os = "linux")]
    // SAFETY: getsid(0) and getpid take nothing and only return ids.
    if unsafe { libc::getsid(0) == libc::getpid() } {
        // The kernel takes one change of a group's priority a tenth of a
        // second, across the whole system (EAGAIN meanwhile): two workers
        // starting at once both get theirs. Without autogroups the file is
        // absent, and the nice value below is the whole of it.
        let mut tries = 0;
        loop {
            match std::fs::write("/proc/self/autogroup", MAX_NICE.to_string()) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && tries < 10 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(110));
                }
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(error = %e, "could not lower the import's scheduling group");
                    break;
                }
                _ => break,
            }
        }
    }
    lower_this_thread();
}

/// Lower the calling thread — and only it — to the priority of imports.
/// Where the system refuses, the import runs at normal priority: slower
/// answers meanwhile are no reason to refuse the import.
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no argument and cannot fail; getpriority
        // and setpriority with PRIO_PROCESS and a thread id read and change
        // that thread's nice value only (Linux keeps one per thread), and
        // only return an error, which is logged. (getpriority's -1 is also
        // a valid nice value; read as one, it lowers the thread to 9.)
        let changed = unsafe {
            let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
            let current = libc::getpriority(libc::PRIO_PROCESS, thread);
            let lowered = current.saturating_add(IMPORT_NICENESS).min(MAX_NICE);
            libc::setpriority(libc::PRIO_PROCESS, thread, lowered.max(current))
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
        let expected = (before + super::IMPORT_NICENESS).min(super::MAX_NICE);
        assert_eq!(lowered, expected.max(before));
        assert_eq!(own(), before, "the calling thread keeps its priority");
    }
}
