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
        kept_sha256: Sha256::of(bytes).to_string(),
        kept_size: bytes.len() as u64,
        received_size: bytes.len() as u64,
        truncated: false,
        quarantined_at: 0,
        quarantined_at_utc: String::new(),
        times_seen: 1,
        last_seen_at: 0,
        last_seen_at_utc: String::new(),
        also_seen: Vec::new(),
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
    let listing = q.list().unwrap();
    assert_eq!(listing.records, vec![rec.clone()]);
    assert!(listing.unreadable.is_empty());
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
    assert!(q2.list().unwrap().records.is_empty());
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
    assert!(q.list().unwrap().records.is_empty());
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
    let a = put(&tmp, &q, b"one");
    let b = put(&tmp, &q, b"two");
    assert_ne!(a.id, b.id);
    assert_eq!(q.list().unwrap().records.len(), 2);
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
            .records
            .is_empty()
    );
}

/// Names in the quarantine directory, sorted (its lock file left out).
fn items(q: &Quarantine) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(q.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    v.sort();
    v
}

#[test]
fn the_same_bytes_again_update_one_item_instead_of_adding_a_copy() {
    // Issue 11, item 11: each repeated fetch of the same bad file added a copy.
    let (tmp, clock, q) = setup(None);
    let first = put(&tmp, &q, b"evil bytes");
    clock.advance(Duration::from_secs(3600));
    let second = put(&tmp, &q, b"evil bytes");
    assert_eq!(second.id, first.id);
    assert_eq!(second.times_seen, 2);
    assert_eq!(
        second.quarantined_at, first.quarantined_at,
        "the hold counts from the first"
    );
    assert_eq!(second.last_seen_at_utc, "2025-11-26T15:02:08Z");
    assert!(
        second.also_seen.is_empty(),
        "same source: {:?}",
        second.also_seen
    );

    // From another mirror: still one item, and the new source is remembered.
    clock.advance(Duration::from_secs(60));
    let payload = tmp.path().join("incoming");
    std::fs::write(&payload, b"evil bytes").unwrap();
    let mut other = record(b"evil bytes");
    other.mirror = "https://evil.example/hello-2.10.tar.gz".into();
    other.final_url = other.mirror.clone();
    let third = q.put(&payload, other).unwrap();
    assert!(!payload.exists(), "the duplicate payload is removed");
    assert_eq!(
        (third.id.as_str(), third.times_seen),
        (first.id.as_str(), 3)
    );
    assert_eq!(third.also_seen.len(), 1);
    assert_eq!(
        third.also_seen[0].mirror,
        "https://evil.example/hello-2.10.tar.gz"
    );

    assert_eq!(items(&q), vec![first.id.clone()], "one item, no copy");
    assert_eq!(q.list().unwrap().records, vec![third.clone()]);
    assert_eq!(q.show(&first.id).unwrap(), third);
    assert_eq!(
        std::fs::read(q.payload(&first.id).unwrap()).unwrap(),
        b"evil bytes"
    );
    // Other bytes are another item.
    let different = put(&tmp, &q, b"other evil");
    assert_ne!(different.id, first.id);
    assert_eq!(q.list().unwrap().records.len(), 2);
}

#[test]
fn a_malformed_record_is_reported_and_the_others_still_listed() {
    // Issue 11, item 11: one malformed record broke `quarantine list`.
    let (tmp, clock, q) = setup(None);
    let good = put(&tmp, &q, b"good evidence");
    clock.advance(Duration::from_secs(1));
    let broken = put(&tmp, &q, b"broken evidence");
    std::fs::write(q.dir().join(&broken.id).join("record.json"), b"{ not json").unwrap();
    std::fs::create_dir(q.dir().join("20990101T000000Z-norecord")).unwrap();

    let listing = q.list().unwrap();
    assert_eq!(listing.records, vec![good.clone()]);
    assert_eq!(listing.unreadable.len(), 2, "{:?}", listing.unreadable);
    for e in &listing.unreadable {
        assert!(matches!(e, QuarantineError::Malformed { .. }), "{e:?}");
    }
    let messages: Vec<String> = listing.unreadable.iter().map(|e| e.to_string()).collect();
    assert!(
        messages.iter().any(|m| m.contains(&broken.id)),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("norecord") && m.contains("has no record")),
        "{messages:?}"
    );
    // The rest of the quarantine works as before.
    assert_eq!(q.show(&good.id).unwrap(), good);
    assert!(matches!(
        q.show(&broken.id),
        Err(QuarantineError::Malformed { .. })
    ));
    assert!(held_sha256s(q.dir()).contains(&Sha256::of(b"good evidence")));
    // The broken item's bytes are still there: evidence is never dropped.
    assert_eq!(
        std::fs::read(q.payload(&broken.id).unwrap()).unwrap(),
        b"broken evidence"
    );
}

#[test]
fn records_written_before_the_kept_fields_still_read() {
    let (tmp, _clock, q) = setup(None);
    let rec = put(&tmp, &q, b"old");
    let path = q.dir().join(&rec.id).join("record.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let obj = json.as_object_mut().unwrap();
    for new in [
        "received-size",
        "truncated",
        "times-seen",
        "last-seen-at",
        "last-seen-at-utc",
        "also-seen",
    ] {
        obj.remove(new).unwrap();
    }
    let sha = obj.remove("kept-sha256").unwrap();
    let size = obj.remove("kept-size").unwrap();
    obj.insert("actual-sha256".into(), sha);
    obj.insert("actual-size".into(), size);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let old = q.show(&rec.id).unwrap();
    assert_eq!((old.kept_sha256, old.kept_size), (rec.kept_sha256, 3));
    assert_eq!((old.times_seen, old.truncated), (1, false));
}

#[test]
fn a_changed_payload_is_not_taken_for_the_same_bytes() {
    // Dedup must not drop new evidence because an old item's payload was
    // altered since (same length, other bytes): the new bytes get an item.
    let (tmp, clock, q) = setup(None);
    let first = put(&tmp, &q, b"evil bytes");
    std::fs::write(q.payload(&first.id).unwrap(), b"EVIL BYTES").unwrap();
    clock.advance(Duration::from_secs(1));
    let second = put(&tmp, &q, b"evil bytes");
    assert_ne!(second.id, first.id);
    assert_eq!(second.times_seen, 1);
    assert_eq!(
        std::fs::read(q.payload(&second.id).unwrap()).unwrap(),
        b"evil bytes"
    );
    assert_eq!(q.list().unwrap().records.len(), 2);
}

/// Issue 14: a sha256 typo quarantines the right tarball. Once the
/// maintainer pins the right digest, the linter's list must not hold it up;
/// bytes quarantined against a pin they are not a typo of stay listed.
#[test]
fn a_pin_typo_does_not_hold_the_right_digest_but_other_bytes_stay_held() {
    let (tmp, _clock, q) = setup(None);
    let right = b"upstream's tarball";
    let digest = Sha256::of(right).to_string();
    // The maintainer swapped two characters of the pin.
    let mut typo: Vec<char> = digest.chars().collect();
    typo.swap(10, 11);
    if typo[10] == typo[11] {
        typo[10] = if typo[10] == '0' { '1' } else { '0' };
    }
    let typo: String = typo.into_iter().collect();
    assert!(wport_fetch::quarantine::looks_like_pin_typo(&typo, &digest));
    let payload = tmp.path().join("incoming");
    std::fs::write(&payload, right).unwrap();
    let mut r = record(right);
    r.expected_sha256 = typo;
    q.put(&payload, r).unwrap();
    // Other bytes, quarantined against the pin of the good file.
    put(&tmp, &q, b"evil bytes");
    let held = held_sha256s(q.dir());
    assert!(!held.contains(&Sha256::of(right)), "{held:?}");
    assert!(held.contains(&Sha256::of(b"evil bytes")), "{held:?}");
    assert!(!wport_fetch::quarantine::looks_like_pin_typo(
        &Sha256::of(b"good").to_string(),
        &Sha256::of(b"evil bytes").to_string()
    ));
}
