pub mod build;
pub mod checksum;
pub mod fetch;
pub mod install;
pub mod key;
pub mod lint;
pub mod package;
pub mod ports;
pub mod quarantine;
pub mod repo;
pub mod schedule;
pub mod sync;
pub mod tree;

/// Print an error with its whole context chain, the way every verb does.
pub fn report(e: &anyhow::Error) {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
