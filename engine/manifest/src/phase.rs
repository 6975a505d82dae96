//! [`Phase`]: the build phases a Portfile grants capabilities to.

use std::fmt;
use std::str::FromStr;

/// A build phase, in the order the engine runs them.
#[derive(Copy, Clone, Eq, PartialEq, Hash, Ord, PartialOrd, Debug)]
pub enum Phase {
    /// Apply `[[patchfile]]`s to the extracted tree.
    Patch,
    /// Configure the tree (`./configure`, cmake...).
    Configure,
    /// Compile.
    Build,
    /// Run the test suite; only when `[build] test = true`.
    Test,
    /// Install into the staging directory (`make install DESTDIR=...`).
    Destroot,
    /// Adjust the staged tree (strip, remove files, fix permissions).
    PostDestroot,
}

impl Phase {
    /// Every phase, in build order.
    pub const ALL: [Phase; 6] = [
        Phase::Patch,
        Phase::Configure,
        Phase::Build,
        Phase::Test,
        Phase::Destroot,
        Phase::PostDestroot,
    ];

    /// The spelling used in `[capabilities.<phase>]`: `"post-destroot"`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Patch => "patch",
            Phase::Configure => "configure",
            Phase::Build => "build",
            Phase::Test => "test",
            Phase::Destroot => "destroot",
            Phase::PostDestroot => "post-destroot",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Phase`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPhase(pub String);

impl fmt::Display for UnknownPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown phase `{}`; the phases are ", self.0)?;
        for (i, phase) in Phase::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{phase}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownPhase {}

impl FromStr for Phase {
    type Err = UnknownPhase;

    fn from_str(name: &str) -> Result<Phase, UnknownPhase> {
        Phase::ALL
            .into_iter()
            .find(|phase| phase.as_str() == name)
            .ok_or_else(|| UnknownPhase(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for phase in Phase::ALL {
            assert_eq!(phase.as_str().parse::<Phase>(), Ok(phase));
        }
        assert_eq!("post-destroot".parse::<Phase>(), Ok(Phase::PostDestroot));
    }

    #[test]
    fn unknown_phase_lists_the_valid_ones() {
        let err = "compile".parse::<Phase>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown phase `compile`; the phases are `patch`, `configure`, `build`, `test`, `destroot`, `post-destroot`"
        );
    }
}
