//! The compiled policy a package ships for each program, and where the
//! launcher, the policy and the real program live in the package.
//!
//! The format is a few lines of text, so the launcher parses it in
//! microseconds with no parser crate (issue 16: at most 1 ms per launch):
//!
//! ```text
//! wport-launch-policy 1
//! network 0
//! exec 1
//! arguments 1
//! read {xdg-config}/figlet
//! write {xdg-cache}/figlet
//! ```
//!
//! The first line names the format and its version; every other line is
//! one key and its value. An unknown key, a missing key or a repeated
//! boolean is an error: a launcher never guesses what a policy means.
//! Paths keep their placeholders; the launcher expands them when the
//! program starts (`{home}` is the user's, not the packager's).
//!
//! `core` and `alloc` only: the launcher program (`src/program.rs`, no
//! `std`) compiles this file too.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The first line of every policy file.
pub const HEADER: &str = "wport-launch-policy 1";

/// The launcher's file name, in `libexec/wport/PORT/`.
pub const LAUNCHER: &str = "wport-launch";

/// The placeholders a path may start with, as the launcher expands them.
pub const PLACEHOLDERS: [&str; 9] = [
    "prefix",
    "home",
    "cwd",
    "tmp",
    "xdg-config",
    "xdg-data",
    "xdg-cache",
    "xdg-state",
    "xdg-runtime",
];

/// Where a package keeps what the launcher needs, relative to the prefix.
///
/// `bin/NAME` is a symbolic link to `../libexec/wport/PORT/wport-launch`;
/// the launcher finds `NAME` from the link it was started through, and
/// then `policy/NAME` and `real/NAME` next to itself.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    /// The port's name (a safe path component).
    pub port: &'a str,
}

impl Layout<'_> {
    /// `libexec/wport/PORT`: the launcher's directory.
    pub fn dir(&self) -> String {
        format!("libexec/wport/{}", self.port)
    }

    /// `libexec/wport/PORT/wport-launch`.
    pub fn launcher(&self) -> String {
        format!("{}/{LAUNCHER}", self.dir())
    }

    /// `libexec/wport/PORT/policy/NAME`.
    pub fn policy(&self, program: &str) -> String {
        format!("{}/policy/{program}", self.dir())
    }

    /// `libexec/wport/PORT/real/NAME`: the program as the port built it.
    pub fn real(&self, program: &str) -> String {
        format!("{}/real/{program}", self.dir())
    }

    /// The target of the link `bin/NAME`: `../libexec/wport/PORT/wport-launch`.
    pub fn link_target(&self) -> String {
        format!("../{}", self.launcher())
    }
}

/// What one program may do, as the package states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// May open TCP connections and listen (and keeps the host's network).
    pub network: bool,
    /// May run other programs.
    pub exec: bool,
    /// Paths named on the command line are granted.
    pub arguments: bool,
    /// Extra trees it may read (placeholders unexpanded).
    pub read: Vec<String>,
    /// Extra trees it may read and write (placeholders unexpanded).
    pub write: Vec<String>,
}

impl Default for Policy {
    /// The confined default: no network, may run programs, arguments granted.
    fn default() -> Policy {
        Policy {
            network: false,
            exec: true,
            arguments: true,
            read: Vec::new(),
            write: Vec::new(),
        }
    }
}

/// Why a policy file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

impl core::error::Error for PolicyError {}

impl Policy {
    /// The policy file's text.
    pub fn encode(&self) -> String {
        let bit = |b: bool| if b { '1' } else { '0' };
        let mut out = format!(
            "{HEADER}\nnetwork {}\nexec {}\narguments {}\n",
            bit(self.network),
            bit(self.exec),
            bit(self.arguments)
        );
        for (key, paths) in [("read", &self.read), ("write", &self.write)] {
            for path in paths {
                out.push_str(key);
                out.push(' ');
                out.push_str(path);
                out.push('\n');
            }
        }
        out
    }

    /// Parses a policy file's text.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let err = |line, reason: &str| PolicyError {
            line,
            reason: reason.to_owned(),
        };
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(err(1, "not a wport-launch policy (version 1)")),
        }
        let mut policy = Policy::default();
        let mut seen = [false; 3];
        for (n, line) in lines {
            let (key, value) = line.split_once(' ').ok_or_else(|| err(n, "no value"))?;
            let flag = |slot: usize, seen: &mut [bool; 3]| -> Result<bool, PolicyError> {
                if core::mem::replace(&mut seen[slot], true) {
                    return Err(err(n, "repeated key"));
                }
                match value {
                    "0" => Ok(false),
                    "1" => Ok(true),
                    _ => Err(err(n, "expected 0 or 1")),
                }
            };
            match key {
                "network" => policy.network = flag(0, &mut seen)?,
                "exec" => policy.exec = flag(1, &mut seen)?,
                "arguments" => policy.arguments = flag(2, &mut seen)?,
                "read" | "write" => {
                    check_path(value).map_err(|reason| err(n, reason))?;
                    let list = if key == "read" {
                        &mut policy.read
                    } else {
                        &mut policy.write
                    };
                    list.push(value.to_owned());
                }
                _ => return Err(err(n, "unknown key")),
            }
        }
        if seen != [true; 3] {
            return Err(err(0, "network, exec and arguments must each be given"));
        }
        Ok(policy)
    }
}

/// The shape the launcher relies on: absolute, or a known placeholder
/// alone or followed by `/`; no `..` component.
fn check_path(path: &str) -> Result<(), &'static str> {
    let rest = match path.strip_prefix('{') {
        Some(after) => {
            let (name, rest) = after.split_once('}').ok_or("unclosed placeholder")?;
            if !PLACEHOLDERS.contains(&name) {
                return Err("unknown placeholder");
            }
            if !(rest.is_empty() || rest.starts_with('/')) {
                return Err("a placeholder is followed by `/` or nothing");
            }
            rest
        }
        None if path.starts_with('/') => path,
        None => return Err("not an absolute path or placeholder"),
    };
    if rest.split('/').any(|c| c == "..") {
        return Err("`..` in a path");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip() {
        let policy = Policy {
            network: true,
            exec: false,
            arguments: true,
            read: vec!["{xdg-config}/figlet".into(), "/var/lib/figlet".into()],
            write: vec!["{home}/.bashrc".into()],
        };
        let text = policy.encode();
        assert_eq!(
            text,
            "wport-launch-policy 1\nnetwork 1\nexec 0\narguments 1\nread {xdg-config}/figlet\n\
             read /var/lib/figlet\nwrite {home}/.bashrc\n"
        );
        assert_eq!(Policy::parse(&text).unwrap(), policy);
        assert_eq!(
            Policy::parse(&Policy::default().encode()).unwrap(),
            Policy::default()
        );
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        let base = Policy::default().encode();
        for (text, line) in [
            ("wport-launch-policy 2\n".to_owned(), 1),
            (format!("{base}net 1\n"), 5),
            (format!("{base}network 1\n"), 5),
            (format!("{base}read relative\n"), 5),
            (format!("{base}read {{homes}}/x\n"), 5),
            (format!("{base}write {{home}}/../x\n"), 5),
            (format!("{base}read {{home}}x\n"), 5),
            (format!("{HEADER}\nnetwork 0\nexec 1\n"), 0),
            (format!("{HEADER}\nnetwork yes\n"), 2),
        ] {
            assert_eq!(Policy::parse(&text).unwrap_err().line, line, "{text}");
        }
    }

    #[test]
    fn layout() {
        let l = Layout { port: "figlet" };
        assert_eq!(l.launcher(), "libexec/wport/figlet/wport-launch");
        assert_eq!(l.policy("figlet"), "libexec/wport/figlet/policy/figlet");
        assert_eq!(l.real("figlet"), "libexec/wport/figlet/real/figlet");
        assert_eq!(l.link_target(), "../libexec/wport/figlet/wport-launch");
    }
}
