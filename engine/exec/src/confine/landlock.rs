//! The Landlock ruleset of one phase access.

use std::path::Path;

use ::landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr, Scope, path_beneath_rules,
};

use super::mounts::{DEVICES, PROC_READABLE, SessionView, TOOLCHAIN_ROOTS};
use crate::trace;
use crate::{DirAccess, PhaseAccess};

/// Landlock ruleset for one phase, with paths as seen inside the sandbox.
///
/// Handles every filesystem right the kernel knows, TCP bind/connect (no port
/// is allowed), and the abstract-unix-socket and signal scopes. Access is then
/// granted only beneath: the toolchain and /etc (read+exec), /proc (read),
/// device nodes (read/write), the private /tmp (all), and the three build
/// directories as the phase says.
pub(super) fn build_ruleset(
    abi_version: i32,
    access: PhaseAccess,
    view: Option<&SessionView>,
) -> Result<RulesetCreated, landlock::RulesetError> {
    let abi = match abi_version {
        ..=0 => ABI::Unsupported,
        1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        5 => ABI::V5,
        6 => ABI::V6,
        7 => ABI::V7,
        8 => ABI::V8,
        9 => ABI::V9,
        _ => ABI::V10,
    };
    let all = AccessFs::from_all(abi);
    let read = AccessFs::from_read(abi);
    let read_noexec = read & !AccessFs::Execute;
    let mut rs = landlock::Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)?;
    if abi_version >= 4 {
        rs = rs.handle_access(AccessNet::from_all(abi))?;
    }
    if abi_version >= 6 {
        rs = rs.scope(Scope::from_all(abi))?;
    }
    let mut created = rs.create()?;
    let existing = |paths: &[&str]| -> Vec<String> {
        paths
            .iter()
            .filter(|p| Path::new(p).exists())
            .map(|p| p.to_string())
            .collect()
    };
    let toolchain: Vec<String> = existing(
        &TOOLCHAIN_ROOTS
            .iter()
            .map(|r| format!("/{r}"))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    created = created.add_rules(path_beneath_rules(&toolchain, read))?;
    created = created.add_rules(path_beneath_rules(["/etc"], read))?;
    // /proc: a few machine-wide files builds read (CPU count, memory size,
    // kernel tunables), and directory listings. Nothing of any process:
    // `/proc/<pid>/mountinfo` shows the host paths of the build's bind
    // mounts, `/proc/1/cmdline` the session init's (issue 11, item 7).
    // Descriptors through `/proc/self/fd/N` (`/dev/fd/N`, `/dev/stdin`)
    // still work: Landlock checks the file they lead to.
    let proc_files: Vec<String> = PROC_READABLE
        .iter()
        .map(|f| format!("/proc/{f}"))
        .filter(|p| Path::new(p).exists())
        .collect();
    created = created.add_rules(path_beneath_rules(&proc_files, read_noexec))?;
    created = created.add_rules(path_beneath_rules(["/proc"], AccessFs::ReadDir))?;
    let devs: Vec<String> = DEVICES
        .iter()
        .map(|d| format!("/dev/{d}"))
        .filter(|p| Path::new(p).exists())
        .collect();
    let dev_access =
        AccessFs::ReadFile | AccessFs::WriteFile | (AccessFs::from_file(abi) & AccessFs::IoctlDev);
    created = created.add_rules(path_beneath_rules(&devs, dev_access))?;
    created = created.add_rules(path_beneath_rules(["/dev"], AccessFs::ReadDir))?;
    created = created.add_rules(path_beneath_rules(["/tmp", "/dev/shm"], all))?;
    // The trace library is read (and mapped) by the loader; the FIFO may
    // only be written: a build cannot read other processes' records off it.
    created = created.add_rules(path_beneath_rules([trace::LIBRARY_PATH], read))?;
    created = created.add_rules(path_beneath_rules([trace::FIFO_PATH], AccessFs::WriteFile))?;
    for (path, a) in [
        ("/sources", access.sources),
        ("/work", access.work),
        ("/destroot", access.destroot),
    ] {
        let rights = match a {
            DirAccess::None => continue,
            DirAccess::ReadOnly => read,
            DirAccess::ReadWrite => all,
        };
        created = created.add_rules(path_beneath_rules([path], rights))?;
    }
    // The phase's view: read and execute beneath it. The rule goes on the
    // view's own mount root (here under VIEWS_DIR; in the phase's mount view
    // the same mount is bound at the prefix): Landlock skips a mountpoint's
    // hidden directory when it walks up from a file, so a rule on the
    // prefix's directory in the session's root would never match.
    if let Some(v) = view {
        match access.view.and_then(|i| v.mount_of(usize::from(i))) {
            Some(src) => created = created.add_rules(path_beneath_rules([src], read))?,
            // The empty directory a phase without layers sees may be listed.
            None => {
                created = created.add_rules(path_beneath_rules([&v.prefix], AccessFs::ReadDir))?
            }
        }
    }
    Ok(created)
}
