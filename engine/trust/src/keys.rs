//! Keys in TUF's key format, key ids, verification (ed25519,
//! ecdsa-sha2-nistp256, rsassa-pss-sha256), ed25519 signing, and secret key
//! files.
//!
//! A TUF public key object is
//! `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"<hex>"}}`;
//! its key id is the hex sha256 of that object's canonical JSON (spec 4.2).
//!
//! Verification is `ed25519_dalek::VerifyingKey::verify_strict`: it refuses
//! non-canonical `S` (signature malleability) and small-order `R`/`A`. Public
//! keys are additionally refused at load time when their encoding is not
//! canonical or the point has small order ("weak keys": for such a key one
//! signature can verify for many messages).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::canonical::to_canonical;
use crate::error::{Result, TrustError};

/// A key id: lowercase hex sha256 of the key object's canonical JSON.
pub type KeyId = String;

/// A validated ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

impl PublicKey {
    /// Parses 32 raw bytes, refusing non-canonical encodings and small-order
    /// points.
    pub fn from_bytes(bytes: &[u8], key_id: &str) -> Result<Self> {
        let weak = |reason| TrustError::WeakKey {
            key_id: key_id.to_string(),
            reason,
        };
        let raw: [u8; 32] = bytes.try_into().map_err(|_| weak("not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|_| weak("not a curve point"))?;
        // Decompression accepts y >= p; re-encoding reveals it.
        if key.to_edwards().compress().to_bytes() != raw {
            return Err(weak("non-canonical point encoding"));
        }
        if key.is_weak() {
            return Err(weak("small-order point"));
        }
        Ok(PublicKey { key })
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The TUF key object.
    pub fn to_tuf(&self) -> Value {
        json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": hex::encode(self.as_bytes())}})
    }

    /// The key id of [`Self::to_tuf`].
    pub fn key_id(&self) -> KeyId {
        key_id_of(&self.to_tuf()).expect("a key object is canonicalisable")
    }

    /// Strict verification (see the module docs).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &sig).is_ok()
    }
}

/// The key id of a key object as it appears in metadata.
pub fn key_id_of(key_object: &Value) -> Result<KeyId> {
    Ok(hex::encode(Sha256::digest(to_canonical(key_object)?)))
}

/// What a key object in metadata turned out to be.
///
/// The key types and schemes of the specification's section 4.2 (and
/// securesystemslib's, which python-tuf, go-tuf, tuf-on-ci and the sigstore
/// root-signing repository write) are verified; anything else is kept for
/// its key id and never counts toward a threshold: the specification lets
/// metadata list keys a client does not know, and such metadata is still
/// valid when enough *usable* keys signed it.
#[derive(Debug, Clone)]
pub enum ParsedKey {
    /// `ed25519` / `ed25519`, hex public key.
    Ed25519(PublicKey),
    /// `ecdsa` (or the older spelling `ecdsa-sha2-nistp256`) /
    /// `ecdsa-sha2-nistp256`: a P-256 point in a PEM SubjectPublicKeyInfo;
    /// signatures are the hex of a DER `ECDSA-Sig-Value` over SHA-256.
    EcdsaP256(Box<p256::ecdsa::VerifyingKey>),
    /// `rsa` / `rsassa-pss-sha256`: a PEM SubjectPublicKeyInfo (at least
    /// 2048 bits); RSASSA-PSS with SHA-256 and MGF1-SHA-256.
    RsaPssSha256(Box<rsa::RsaPublicKey>),
    /// Another key type or scheme, or a key this client cannot use (a
    /// malformed PEM, an RSA modulus under 2048 bits).
    Unsupported {
        /// Why it cannot be used.
        reason: &'static str,
    },
}

/// Smallest RSA modulus accepted (NIST SP 800-57: 2048 bits through 2030).
pub const MIN_RSA_BITS: usize = 2048;

impl ParsedKey {
    /// Verifies `signature` (decoded from the envelope's hex) over
    /// `message`. Unsupported keys verify nothing.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            ParsedKey::Ed25519(key) => key.verify(message, signature),
            ParsedKey::EcdsaP256(key) => {
                use p256::ecdsa::signature::Verifier;
                let Ok(sig) = p256::ecdsa::Signature::from_der(signature) else {
                    return false;
                };
                key.verify(message, &sig).is_ok()
            }
            ParsedKey::RsaPssSha256(key) => verify_rsa_pss_sha256(key, message, signature),
            ParsedKey::Unsupported { .. } => false,
        }
    }

    /// What makes two keys the same key, whatever their key ids: the public
    /// key material, tagged with its algorithm. A threshold counts distinct
    /// identities (CVE-2020-15093). `None` for unsupported keys.
    pub fn identity(&self) -> Option<[u8; 32]> {
        let mut h = Sha256::new();
        match self {
            ParsedKey::Ed25519(key) => {
                h.update(b"ed25519\0");
                h.update(key.as_bytes());
            }
            ParsedKey::EcdsaP256(key) => {
                h.update(b"p256\0");
                h.update(key.to_encoded_point(true).as_bytes());
            }
            ParsedKey::RsaPssSha256(key) => {
                use rsa::traits::PublicKeyParts;
                let n = key.n().to_bytes_be();
                h.update(b"rsa\0");
                h.update((n.len() as u64).to_be_bytes());
                h.update(n);
                h.update(key.e().to_bytes_be());
            }
            ParsedKey::Unsupported { .. } => return None,
        }
        Some(h.finalize().into())
    }
}

/// RSASSA-PSS-SHA256 (RFC 8017 section 8.1.2, MGF1 with SHA-256).
///
/// The salt length is not in the signature and the `rsa` crate checks an
/// exact one, so the two lengths signers use are tried: the digest length
/// (securesystemslib's `CryptoSigner`, go-tuf, and the RFC's recommendation)
/// and the maximum (`PSS.MAX_LENGTH`, what older pyca-based signers wrote).
/// Both are sound: the salt length is a signer's choice the verifier
/// learns from the encoded message (python's `PSS.AUTO` accepts any).
fn verify_rsa_pss_sha256(key: &rsa::RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts;
    let hashed = Sha256::digest(message);
    // emLen = ceil((modBits - 1) / 8); the largest salt leaves room for the
    // hash and two octets (0x01 and 0xbc).
    let em_len = (key.n().bits() - 1).div_ceil(8);
    let max_salt = em_len.saturating_sub(32 + 2);
    [32, max_salt].iter().any(|&salt| {
        key.verify(rsa::Pss::new_with_salt::<Sha256>(salt), &hashed, signature)
            .is_ok()
    })
}

/// Parses a key object from root or delegations metadata. The listed key id
/// must be the one the key hashes to: otherwise the same key could be listed
/// under several ids (and the mapping from signature to key would be the
/// repository's word rather than a fact).
pub fn parse_key(listed_id: &str, object: &Value) -> Result<ParsedKey> {
    let computed = key_id_of(object)?;
    if computed != listed_id {
        return Err(TrustError::KeyIdMismatch {
            listed: listed_id.to_string(),
            computed,
        });
    }
    let keytype = object.get("keytype").and_then(Value::as_str);
    let scheme = object.get("scheme").and_then(Value::as_str);
    let public = object
        .get("keyval")
        .and_then(|v| v.get("public"))
        .and_then(Value::as_str);
    let (Some(keytype), Some(scheme), Some(public)) = (keytype, scheme, public) else {
        return Err(TrustError::InvalidMetadata {
            role: format!("key {listed_id}"),
            reason: "key object lacks keytype, scheme or keyval.public".into(),
        });
    };
    Ok(match (keytype, scheme) {
        ("ed25519", "ed25519") => {
            let bytes = hex::decode(public).map_err(|_| TrustError::WeakKey {
                key_id: listed_id.to_string(),
                reason: "public key is not hex",
            })?;
            ParsedKey::Ed25519(PublicKey::from_bytes(&bytes, listed_id)?)
        }
        ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
            use p256::pkcs8::DecodePublicKey;
            match p256::ecdsa::VerifyingKey::from_public_key_pem(public) {
                Ok(key) => ParsedKey::EcdsaP256(Box::new(key)),
                Err(_) => ParsedKey::Unsupported {
                    reason: "not a P-256 public key in PEM SubjectPublicKeyInfo",
                },
            }
        }
        ("rsa", "rsassa-pss-sha256") => {
            use rsa::pkcs8::DecodePublicKey;
            use rsa::traits::PublicKeyParts;
            match rsa::RsaPublicKey::from_public_key_pem(public) {
                Ok(key) if key.n().bits() >= MIN_RSA_BITS => ParsedKey::RsaPssSha256(Box::new(key)),
                Ok(_) => ParsedKey::Unsupported {
                    reason: "RSA modulus shorter than 2048 bits",
                },
                Err(_) => ParsedKey::Unsupported {
                    reason: "not an RSA public key in PEM SubjectPublicKeyInfo (at most 4096 bits)",
                },
            }
        }
        _ => ParsedKey::Unsupported {
            reason: "key type or scheme not supported",
        },
    })
}

/// A secret ed25519 key with its public half.
pub struct SecretKey {
    signing: SigningKey,
    public: PublicKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.public.key_id())
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut seed[..]).map_err(|e| {
            TrustError::Repository(format!("no randomness for key generation: {e}"))
        })?;
        Self::from_seed(&seed)
    }

    /// The key for a 32-byte seed (RFC 8032's secret key).
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self> {
        let signing = SigningKey::from_bytes(seed);
        let public = PublicKey::from_bytes(signing.verifying_key().as_bytes(), "generated key")?;
        Ok(SecretKey { signing, public })
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key id of the public half.
    pub fn key_id(&self) -> KeyId {
        self.public.key_id()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Writes the secret key file (mode 0600, created exclusively: an
    /// existing file is never overwritten) in securesystemslib's layout.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        let body = Zeroizing::new(
            serde_json::to_vec_pretty(&json!({
                "keytype": "ed25519",
                "scheme": "ed25519",
                "keyval": {"public": hex::encode(self.public.as_bytes()), "private": hex::encode(self.signing.to_bytes())},
            }))
            .expect("serialisable"),
        );
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| TrustError::io("creating secret key file", path, e))?;
        f.write_all(&body)
            .and_then(|_| f.sync_all())
            .map_err(|e| TrustError::io("writing secret key file", path, e))
    }

    /// Reads a secret key file, refusing it when group or others may read
    /// or write it, or when it is owned by another user (ssh StrictModes).
    pub fn read_file(path: &Path) -> Result<Self> {
        let meta =
            fs::metadata(path).map_err(|e| TrustError::io("reading secret key file", path, e))?;
        check_private_file(path, &meta)?;
        let bytes = Zeroizing::new(
            fs::read(path).map_err(|e| TrustError::io("reading secret key file", path, e))?,
        );
        let bad = |reason: &str| TrustError::KeyFile {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))?;
        if v.get("keytype").and_then(Value::as_str) != Some("ed25519")
            || v.get("scheme").and_then(Value::as_str) != Some("ed25519")
        {
            return Err(bad("not an ed25519 key"));
        }
        let private = v
            .get("keyval")
            .and_then(|k| k.get("private"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no keyval.private: a public key file?"))?;
        let seed = Zeroizing::new(hex::decode(private).map_err(|_| bad("private key is not hex"))?);
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| bad("private key is not 32 bytes"))?;
        let key = Self::from_seed(seed)?;
        if let Some(public) = v
            .get("keyval")
            .and_then(|k| k.get("public"))
            .and_then(Value::as_str)
            && public != hex::encode(key.public.as_bytes())
        {
            return Err(bad("public half does not belong to the private key"));
        }
        Ok(key)
    }
}

fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

fn check_private_file(path: &Path, meta: &fs::Metadata) -> Result<()> {
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(TrustError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
            reason: "is accessible by group or others (must be 0600 or stricter)",
        });
    }
    if meta.uid() != current_uid() {
        return Err(TrustError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
            reason: "is owned by another user",
        });
    }
    Ok(())
}

/// Refuses a path of local trust state (trusted root, metadata, the trust
/// directory itself) when anyone but its owner may write it, or when its
/// owner is neither the current user nor root.
pub fn check_owner_only_writable(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path)
        .map_err(|e| TrustError::io("checking permissions of", path, e))?;
    let mode = meta.mode() & 0o7777;
    if meta.file_type().is_symlink() {
        return Err(TrustError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
            reason: "is a symbolic link",
        });
    }
    if mode & 0o022 != 0 {
        return Err(TrustError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
            reason: "is writable by group or others",
        });
    }
    let uid = meta.uid();
    if uid != current_uid() && uid != 0 {
        return Err(TrustError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
            reason: "is owned by another user",
        });
    }
    Ok(())
}

/// Reads a public key file: a TUF key object, or a secret key file (whose
/// public half is used; the permission rules for secret files apply).
pub fn read_public_key_file(path: &Path) -> Result<PublicKey> {
    let bytes = fs::read(path).map_err(|e| TrustError::io("reading key file", path, e))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| TrustError::KeyFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if v.get("keyval").and_then(|k| k.get("private")).is_some() {
        return Ok(SecretKey::read_file(path)?.public().clone());
    }
    let id = key_id_of(&v)?;
    match parse_key(&id, &v)? {
        ParsedKey::Ed25519(k) => Ok(k),
        _ => Err(TrustError::KeyFile {
            path: path.to_path_buf(),
            reason: "not an ed25519 key (wport signs with ed25519 keys only)".into(),
        }),
    }
}

/// Where a generated key pair is written: `<dir>/<name>.key` (secret, 0600)
/// and `<dir>/<name>.pub` (the TUF public key object).
pub fn generate_key_pair(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf, KeyId)> {
    if name.is_empty()
        || name.contains('/')
        || name.starts_with('.')
        || name.chars().any(char::is_control)
    {
        return Err(TrustError::KeyFile {
            path: dir.join(name),
            reason: "key name must be a plain file name".into(),
        });
    }
    fs::create_dir_all(dir).map_err(|e| TrustError::io("creating key directory", dir, e))?;
    let key = SecretKey::generate()?;
    let secret = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    if public.exists() {
        return Err(TrustError::KeyFile {
            path: public,
            reason: "already exists".into(),
        });
    }
    key.write_file(&secret)?;
    let body = serde_json::to_vec_pretty(&key.public().to_tuf()).expect("serialisable");
    fs::write(&public, body).map_err(|e| TrustError::io("writing public key file", &public, e))?;
    Ok((secret, public, key.key_id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_id_is_sha256_of_canonical_key_object() {
        let key = SecretKey::from_seed(&[7; 32]).unwrap();
        let canonical = format!(
            r#"{{"keytype":"ed25519","keyval":{{"public":"{}"}},"scheme":"ed25519"}}"#,
            hex::encode(key.public().as_bytes())
        );
        assert_eq!(
            key.key_id(),
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
    }

    #[test]
    fn small_order_and_non_canonical_keys_refused() {
        // The identity point (order 1) and y = p (a non-canonical 1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes(&identity, "x"),
            Err(TrustError::WeakKey {
                reason: "small-order point",
                ..
            })
        ));
        let mut y_is_p = [0xffu8; 32];
        y_is_p[0] = 0xee;
        y_is_p[31] = 0x7f;
        assert!(matches!(
            PublicKey::from_bytes(&y_is_p, "x"),
            Err(TrustError::WeakKey { .. })
        ));
    }

    #[test]
    fn secret_key_file_round_trip_and_strict_modes() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public, id) = generate_key_pair(dir.path(), "alice").unwrap();
        assert_eq!(fs::metadata(&secret).unwrap().mode() & 0o777, 0o600);
        assert_eq!(SecretKey::read_file(&secret).unwrap().key_id(), id);
        assert_eq!(read_public_key_file(&public).unwrap().key_id(), id);
        for mode in [0o640, 0o604, 0o620, 0o644] {
            fs::set_permissions(&secret, fs::Permissions::from_mode(mode)).unwrap();
            assert!(
                matches!(
                    SecretKey::read_file(&secret),
                    Err(TrustError::InsecurePermissions { .. })
                ),
                "{mode:o}"
            );
        }
        assert!(
            generate_key_pair(dir.path(), "alice").is_err(),
            "never overwrites"
        );
    }
}
