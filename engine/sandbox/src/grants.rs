//! Which directories each phase may see, and how.
//!
//! This is the one place that maps a phase to its directory capabilities. The
//! `match` is exhaustive on purpose: a new phase cannot compile until someone
//! decides what it may touch.

use wport_manifest::Phase;

/// How a phase may use one of the port's directories.
#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub enum Access {
    /// The directory does not exist for the phase.
    None,
    ReadOnly,
    ReadWrite,
}

/// The three directories a build has, as the guest sees them.
pub const SOURCES: &str = "/sources";
pub const WORK: &str = "/work";
pub const DESTROOT: &str = "/destroot";

/// The directory grants of one phase.
#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub struct DirGrants {
    /// Verified distfiles, patchfiles and the port's files/ (never writable).
    pub sources: Access,
    /// The work directory holding the extracted tree.
    pub work: Access,
    /// The staging root the port installs into.
    pub destroot: Access,
}

impl DirGrants {
    /// Grants of each root with its guest path, in a fixed order.
    pub fn roots(&self) -> [(Root, Access); 3] {
        [
            (Root::Sources, self.sources),
            (Root::Work, self.work),
            (Root::Destroot, self.destroot),
        ]
    }

    pub fn access(&self, root: Root) -> Access {
        match root {
            Root::Sources => self.sources,
            Root::Work => self.work,
            Root::Destroot => self.destroot,
        }
    }
}

/// One of the build's directories.
#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub enum Root {
    Sources,
    Work,
    Destroot,
}

impl Root {
    pub fn guest_path(self) -> &'static str {
        match self {
            Root::Sources => SOURCES,
            Root::Work => WORK,
            Root::Destroot => DESTROOT,
        }
    }

    /// The root a guest path's first component names, if any.
    pub fn from_component(name: &str) -> Option<Root> {
        match name {
            "sources" => Some(Root::Sources),
            "work" => Some(Root::Work),
            "destroot" => Some(Root::Destroot),
            _ => None,
        }
    }
}

/// The directories `phase` may use.
///
/// Sources are read-only everywhere they are visible. Cleanups live in
/// `post-destroot`, so that phase sees the destroot and nothing else: an
/// `rm -rf` gone wrong there cannot reach the sources or the work tree.
pub fn dir_grants(phase: Phase) -> DirGrants {
    use Access::*;
    match phase {
        Phase::Patch | Phase::Configure | Phase::Build | Phase::Test => DirGrants {
            sources: ReadOnly,
            work: ReadWrite,
            destroot: None,
        },
        Phase::Destroot => DirGrants {
            sources: None,
            work: ReadWrite,
            destroot: ReadWrite,
        },
        Phase::PostDestroot => DirGrants {
            sources: None,
            work: None,
            destroot: ReadWrite,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_never_writable() {
        for phase in Phase::ALL {
            assert_ne!(dir_grants(phase).sources, Access::ReadWrite, "{phase:?}");
        }
    }

    #[test]
    fn post_destroot_sees_only_the_destroot() {
        let g = dir_grants(Phase::PostDestroot);
        assert_eq!(
            (g.sources, g.work, g.destroot),
            (Access::None, Access::None, Access::ReadWrite)
        );
    }
}
