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
