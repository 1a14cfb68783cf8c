//! Process hardening: no core dumps, so unsealed keys and secrets cannot
//! end up in a crash file.

/// Disables core dumps (RLIMIT_CORE = 0) and, on Linux, marks the process
/// non-dumpable (which also keeps other users' debuggers out). Best effort:
/// returns what could not be done, for a warning.
pub fn disable_core_dumps() -> Result<(), String> {
    #[cfg(unix)]
    {
        use rustix::process::{setrlimit, Resource, Rlimit};
        setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        )
        .map_err(|e| format!("could not disable core dumps: {e}"))?;
        #[cfg(target_os = "linux")]
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
            .map_err(|e| format!("could not mark the process non-dumpable: {e}"))?;
    }
    Ok(())
}

/// Locks all of the process's memory, present and future, so unsealed
/// keys, passphrases and secrets are never written to swap. Done only where
/// it cannot backfire: with MCL_FUTURE, an allocation beyond
/// RLIMIT_MEMLOCK would fail (and Argon2 alone takes 64 MiB), so without
/// root or an unlimited limit nothing is locked and the reason is returned
/// for a warning.
pub fn lock_memory() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        use rustix::mm::{mlockall, MlockAllFlags};
        use rustix::process::{geteuid, getrlimit, Resource};
        let limit = getrlimit(Resource::Memlock).current;
        if limit.is_some() && !geteuid().is_root() {
            return Err(format!(
                "memory is not locked (RLIMIT_MEMLOCK is {} KiB; raise it with `ulimit -l unlimited` \
                 to keep secrets out of swap)",
                limit.unwrap_or(0) / 1024
            ));
        }
        // ONFAULT: a page is locked as it is first touched — before it can
        // hold anything — not populated at once, so pages never used
        // (most of the binary, thread stacks) do not take memory. Kernels
        // before 4.4 refuse the flag; they lock everything at once.
        let all = MlockAllFlags::CURRENT | MlockAllFlags::FUTURE;
        mlockall(all | MlockAllFlags::ONFAULT)
            .or_else(|_| mlockall(all))
            .map_err(|e| format!("memory is not locked: {e}"))
    }
    #[cfg(not(target_os = "linux"))]
    Err("memory locking is only implemented on Linux".into())
}

/// How much of the stack [`wipe_stack`] overwrites: far more than the
/// deepest call of any command (HPKE, AES-GCM, Argon2 set-up) goes below
/// `main`.
const STACK_WIPE: usize = 256 * 1024;

/// Overwrites the stack below the caller with zeros. Code we do not own
/// works on secrets in stack buffers it does not wipe: AES-GCM in hpke
/// encrypts a piped secret through block buffers on the stack, so the
/// last blocks of a sealed secret stayed there until exit (issue 15,
/// `tests/it/memory.rs`). `main` calls this when the command is done, so
/// those dead frames are gone before exit.
#[inline(never)]
pub fn wipe_stack() {
    use zeroize::Zeroize;
    let mut area = [0u8; STACK_WIPE];
    area.zeroize(); // volatile writes: not optimised away
    std::hint::black_box(&area);
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn core_limit_is_zero_afterwards() {
        super::disable_core_dumps().unwrap();
        let lim = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!(lim.current, Some(0));
        assert_eq!(lim.maximum, Some(0));
    }
}
