//! Which granted programs deserve a reviewer's attention.
//!
//! A program grant is a gate, not a wall (see engine/exec's policy module):
//! what a granted program can reach is decided by the kernel confinement.
//! These lists exist for review: a port that asks for `curl` or `sudo` is
//! asking for something a build never legitimately needs, and a
//! `post-destroot` that runs `sh` is doing in a shell what belongs in
//! WebAssembly — the phase that sees the staged tree is exactly where
//! unquoted-variable cleanups have deleted users' files (the 2015 Steam
//! `rm -rf "$STEAMROOT/"*` and the 2011 Bumblebee `rm -rf /usr /lib/...`
//! incidents).

/// Network clients and version-control tools that fetch. Sources are
/// fetched and verified by wport; a build that downloads defeats the pins.
const NETWORK: &[&str] = &[
    "curl", "wget", "wget2", "aria2c", "axel", "http", "https", "xh", "ssh", "scp", "sftp",
    "rsync", "nc", "ncat", "netcat", "socat", "ftp", "lftp", "tftp", "telnet", "git", "svn", "hg",
    "bzr", "fossil", "cvs",
];

/// Tools that change identity, ownership, capabilities or mounts. The build
/// runs as an unprivileged build user; asking for these is asking to leave
/// it.
const PRIVILEGE: &[&str] = &[
    "sudo",
    "su",
    "doas",
    "pkexec",
    "runuser",
    "setpriv",
    "capsh",
    "chown",
    "chgrp",
    "setcap",
    "setfacl",
    "mount",
    "umount",
    "chroot",
    "nsenter",
    "unshare",
    "newgrp",
    "sg",
    "mknod",
    "insmod",
    "modprobe",
    "losetup",
    "systemctl",
];

/// Programs that run arbitrary code given on their command line (`-c`,
/// `-e`) or run other programs: granting one grants everything the
/// toolchain PATH holds, inside the walls.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "busybox", "python", "pypy",
    "perl", "ruby", "node", "nodejs", "deno", "lua", "luajit", "php", "tclsh", "wish", "awk",
    "gawk", "mawk", "env", "xargs", "find",
];

/// What kind of dangerous program a grant names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Danger {
    /// Fetches over the network.
    Network,
    /// Changes identity, ownership or mounts.
    Privilege,
    /// Runs code given on its command line.
    Interpreter,
}

/// The program's name without a trailing version (`python3.12` ->
/// `python`, `perl5.36` -> `perl`, `lua-5.4` -> `lua`). `./` scripts are
/// the port's own and are not classified.
fn base_name(program: &str) -> &str {
    let trimmed = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let trimmed = trimmed.strip_suffix('-').unwrap_or(trimmed);
    if trimmed.is_empty() { program } else { trimmed }
}

/// Classifies a granted program, or `None` for an ordinary build tool.
pub fn classify(program: &str) -> Option<Danger> {
    if program.starts_with("./") {
        return None;
    }
    let name = program;
    let base = base_name(program);
    let is = |list: &[&str]| list.contains(&name) || list.contains(&base);
    if is(NETWORK) {
        Some(Danger::Network)
    } else if is(PRIVILEGE) {
        Some(Danger::Privilege)
    } else if is(INTERPRETERS) {
        Some(Danger::Interpreter)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_stripped() {
        assert_eq!(classify("python3"), Some(Danger::Interpreter));
        assert_eq!(classify("python3.12"), Some(Danger::Interpreter));
        assert_eq!(classify("perl5.36"), Some(Danger::Interpreter));
        assert_eq!(classify("lua-5.4"), Some(Danger::Interpreter));
        assert_eq!(classify("wget2"), Some(Danger::Network));
    }

    #[test]
    fn build_tools_are_not_flagged() {
        for ok in [
            "cc",
            "make",
            "gmake",
            "ld",
            "ar",
            "install",
            "bzip2",
            "x86_64-linux-gnu-gcc",
            "./configure",
            "./sh",
        ] {
            assert_eq!(classify(ok), None, "{ok}");
        }
    }
}
