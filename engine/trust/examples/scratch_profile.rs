use std::collections::BTreeMap;
use std::time::Instant;
use wport_trust::SecretKey;
use wport_trust::metadata::*;
fn main() {
    let k = SecretKey::from_seed(&[2; 32]).unwrap();
    let mut targets = BTreeMap::new();
    for i in 0..50_000 {
        let h = sha256_hex(format!("{i}").as_bytes());
        targets.insert(
            format!(
                "ports/port{:05}/{}",
                i / 2,
                if i % 2 == 0 {
                    "Portfile.toml"
                } else {
                    "files/fix.diff"
                }
            ),
            TargetFile {
                length: 1000 + i as u64,
                hashes: BTreeMap::from([("sha256".into(), h)]),
                custom: None,
            },
        );
    }
    let doc = sign_document(
        &Targets {
            typ: "targets".into(),
            spec_version: "1.0.31".into(),
            version: 1,
            expires: "2031-01-01T00:00:00Z".into(),
            targets,
            delegations: None,
        },
        &[&k],
    )
    .unwrap();
    println!("doc {} bytes", doc.len());
    for _ in 0..3 {
        let t = Instant::now();
        let h = sha256_hex(&doc);
        let t1 = t.elapsed();
        let t = Instant::now();
        let env = parse_envelope::<Targets>(doc.clone(), "targets").unwrap();
        let t2 = t.elapsed();
        let ring = KeyRing::new(&BTreeMap::from([(k.key_id(), k.public().to_tuf())])).unwrap();
        let t = Instant::now();
        env.verify(
            &ring,
            "targets",
            &RoleKeys {
                keyids: vec![k.key_id()],
                threshold: 1,
            },
            wport_trust::KeySource::NewRoot,
        )
        .unwrap();
        let t3 = t.elapsed();
        let t = Instant::now();
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        let t4 = t.elapsed();
        let t = Instant::now();
        let c = env.signed.targets.clone();
        let t5 = t.elapsed();
        let t = Instant::now();
        let _ = serde_json::from_slice::<serde::de::IgnoredAny>(&doc).unwrap();
        let t6 = t.elapsed();
        println!(
            "sha256 {t1:?} parse_envelope {t2:?} verify {t3:?} | Value parse {t4:?} | clone map {t5:?} | IgnoredAny scan {t6:?} {}",
            h.len() + v.as_object().unwrap().len() + c.len()
        );
    }
}
