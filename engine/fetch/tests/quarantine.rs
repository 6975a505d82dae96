//! The quarantine lifecycle with an injected clock: held, listed, shown,
//! release refused without a reason and before the hold, released after it
//! (logged, removed, never added to the store).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wport_fetch::quarantine::{Clock, Mismatch, Quarantine, QuarantineError, Record, held_sha256s};
use wport_fetch::verify::Sha256;

/// A clock the test moves by hand.
struct Manual(Mutex<SystemTime>);

impl Clock for Manual {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

impl Manual {
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

fn record(bytes: &[u8]) -> Record {
    Record {
        id: String::new(),
        port: "hello".into(),
        file: "hello-2.10.tar.gz".into(),
        url: "https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz".into(),
        mirror: "https://ftpmirror.gnu.org/hello/hello-2.10.tar.gz".into(),
        final_url: "https://mirror.example/hello-2.10.tar.gz".into(),
        redirects: vec!["https://mirror.example/hello-2.10.tar.gz".into()],
        mismatch: Mismatch::Sha256,
        expected_sha256: Sha256::of(b"good").to_string(),
        expected_size: bytes.len() as u64,
        actual_sha256: Sha256::of(bytes).to_string(),
        actual_size: bytes.len() as u64,
        quarantined_at: 0,
        quarantined_at_utc: String::new(),
        http_status: Some(200),
        http_headers: vec![("etag".into(), "\"x\"".into())],
        upstream_contact: "bug-hello@gnu.org".into(),
    }
}

fn setup(hold: Option<Duration>) -> (tempfile::TempDir, Arc<Manual>, Quarantine) {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(Manual(Mutex::new(
        UNIX_EPOCH + Duration::from_secs(1_764_165_728),
    )));
    let mut q = Quarantine::new(tmp.path().join("quarantine")).with_clock(clock.clone());
    if let Some(h) = hold {
        q = q.with_hold(h);
    }
    (tmp, clock, q)
}

fn put(tmp: &tempfile::TempDir, q: &Quarantine, bytes: &[u8]) -> Record {
    let payload = tmp.path().join("incoming");
    std::fs::write(&payload, bytes).unwrap();
    let rec = q.put(&payload, record(bytes)).unwrap();
    assert!(!payload.exists(), "the payload is moved, not copied");
    rec
}

#[test]
fn held_then_released_with_a_reason_after_24_hours() {
    let (tmp, clock, q) = setup(None);
    let rec = put(&tmp, &q, b"evil bytes");
    assert_eq!(rec.quarantined_at_utc, "2025-11-26T14:02:08Z");
    assert!(rec.id.starts_with("20251126T140208Z-"), "{}", rec.id);
    assert_eq!(q.list().unwrap(), vec![rec.clone()]);
    assert_eq!(q.show(&rec.id).unwrap(), rec);
    assert_eq!(
        std::fs::read(q.payload(&rec.id).unwrap()).unwrap(),
        b"evil bytes"
    );
    assert!(held_sha256s(q.dir()).contains(&Sha256::of(b"evil bytes")));

    // No reason: refused, whatever the time.
    clock.advance(Duration::from_secs(48 * 3600));
    assert!(matches!(
        q.release(&rec.id, "  "),
        Err(QuarantineError::ReasonRequired { .. })
    ));
    let (tmp2, clock2, q2) = setup(None);
    let rec2 = put(&tmp2, &q2, b"other");
    // Before 24 h: refused, saying when.
    clock2.advance(Duration::from_secs(24 * 3600 - 1));
    let err = q2
        .release(&rec2.id, "upstream confirmed a re-roll")
        .unwrap_err();
    match &err {
        QuarantineError::HeldTooShort {
            held, release_at, ..
        } => {
            assert_eq!(*held, Duration::from_secs(24 * 3600 - 1));
            assert_eq!(release_at, "2025-11-27T14:02:08Z");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("23h59m"), "{err}");
    clock2.advance(Duration::from_secs(1));
    let released = q2
        .release(&rec2.id, "upstream confirmed a re-roll")
        .unwrap();
    assert_eq!(released.record, rec2);
    assert!(q2.list().unwrap().is_empty());
    assert!(matches!(
        q2.show(&rec2.id),
        Err(QuarantineError::NotFound { .. })
    ));
    assert!(held_sha256s(q2.dir()).is_empty());
    let log = std::fs::read_to_string(q2.dir().join("released.jsonl")).unwrap();
    assert!(
        log.contains("upstream confirmed a re-roll") && log.contains(&rec2.id),
        "{log}"
    );

    // The first one, after 48 h and with a reason.
    q.release(
        &rec.id,
        "reviewed: upstream re-rolled the tarball, same tree",
    )
    .unwrap();
    assert!(q.list().unwrap().is_empty());
}

#[test]
fn the_hold_is_configurable() {
    let (tmp, clock, q) = setup(Some(Duration::from_secs(3600)));
    let rec = put(&tmp, &q, b"x");
    assert!(matches!(
        q.release(&rec.id, "ok"),
        Err(QuarantineError::HeldTooShort { .. })
    ));
    clock.advance(Duration::from_secs(3600));
    q.release(&rec.id, "ok").unwrap();
}

#[test]
fn ids_are_plain_names_and_unique() {
    let (tmp, _clock, q) = setup(None);
    let a = put(&tmp, &q, b"same");
    let b = put(&tmp, &q, b"same");
    assert_ne!(a.id, b.id);
    assert_eq!(q.list().unwrap().len(), 2);
    for bad in ["..", "../x", "", ".hidden", "a/b"] {
        assert!(
            matches!(q.show(bad), Err(QuarantineError::NotFound { .. })),
            "{bad}"
        );
        assert!(
            matches!(q.release(bad, "r"), Err(QuarantineError::NotFound { .. })),
            "{bad}"
        );
    }
}

#[test]
fn a_missing_quarantine_holds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(held_sha256s(&tmp.path().join("nope")).is_empty());
    assert!(
        Quarantine::new(tmp.path().join("nope"))
            .list()
            .unwrap()
            .is_empty()
    );
}
