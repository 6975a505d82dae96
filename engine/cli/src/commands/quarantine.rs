//! `wport quarantine list | show ID | release ID --reason TEXT`: the
//! downloads that did not match their pins (see `wport_fetch::quarantine`).
//! A release says the maintainer reviewed the item: it needs a reason, is
//! refused until the item has been held for the hold (24 hours unless
//! `--hold-hours` says otherwise), is logged, and removes the item. It never
//! adds the file to the distfile store. `list` prints every readable item
//! and names each unreadable one on stderr, then exits 1 if there was any.

use std::path::PathBuf;
use std::time::Duration;

use wport::distfiles;
use wport::exit;
use wport_fetch::quarantine::{Quarantine, Record};

#[derive(clap::Args)]
pub struct Args {
    /// Quarantine directory (default: $XDG_CACHE_HOME/wport/quarantine).
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
    /// Hours an item is held before it may be released.
    #[arg(long, global = true, default_value_t = 24)]
    hold_hours: u64,
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// List the quarantined downloads.
    List,
    /// Show one item's record and where its payload is.
    Show { id: String },
    /// Clear a reviewed item (after the hold; needs a reason).
    Release {
        id: String,
        /// What was reviewed and what upstream said.
        #[arg(long)]
        reason: Option<String>,
    },
}

pub fn run(args: Args) -> i32 {
    let dir = args
        .dir
        .unwrap_or_else(|| distfiles::quarantine_beside(&distfiles::store_dir()));
    let q =
        Quarantine::new(dir).with_hold(Duration::from_secs(args.hold_hours.saturating_mul(3600)));
    let result = match args.action {
        Action::List => q.list().map(|listing| {
            if listing.records.is_empty() && listing.unreadable.is_empty() {
                println!("nothing in quarantine ({})", q.dir().display());
            }
            for r in &listing.records {
                println!(
                    "{}  {}  {} {}  {}  {}",
                    r.id,
                    r.quarantined_at_utc,
                    r.port,
                    r.file,
                    mismatch(r),
                    r.mirror
                );
            }
            // Reported, never instead of the others; the payloads stay.
            for e in &listing.unreadable {
                eprintln!("error: {e}; its item was left as it is");
            }
            listing.unreadable.len()
        }),
        Action::Show { id } => q.show(&id).map(|r| {
            let json = serde_json::to_string_pretty(&r).expect("a record serialises");
            println!("{json}");
            println!("payload: {}", q.dir().join(&r.id).join("payload").display());
            println!(
                "scrutinise the payload, and ask upstream ({}) whether they changed {}",
                r.upstream_contact, r.file
            );
            0
        }),
        Action::Release { id, reason } => q.release(&id, reason.as_deref().unwrap_or("")).map(|rel| {
            println!(
                "released {} ({} {}): {}; it was removed from quarantine and NOT added to the distfile store",
                rel.record.id, rel.record.port, rel.record.file, rel.reason
            );
            0
        }),
    };
    match result {
        Ok(0) => exit::SUCCESS,
        // `list` printed every readable item and named each unreadable one.
        Ok(_) => exit::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            exit::code_of(&e).unwrap_or(exit::FAILURE)
        }
    }
}

fn mismatch(r: &Record) -> String {
    let what = match r.mismatch {
        wport_fetch::quarantine::Mismatch::Sha256 => format!(
            "sha256 {} (pinned {})",
            short(&r.kept_sha256),
            short(&r.expected_sha256)
        ),
        wport_fetch::quarantine::Mismatch::ShortSize => {
            format!("{} of {} bytes", r.kept_size, r.expected_size)
        }
        wport_fetch::quarantine::Mismatch::SizeExceeded => format!(
            "more than {} bytes ({}+ received, first {} kept)",
            r.expected_size, r.received_size, r.kept_size
        ),
    };
    if r.times_seen > 1 {
        format!("{what}, seen {} times", r.times_seen)
    } else {
        what
    }
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}
