//! The four top-level roles' metadata (and delegated targets), parsed from
//! the signed envelope `{"signed": {...}, "signatures": [...]}`, and the
//! threshold check.
//!
//! Signatures cover the whole `signed` value, unknown fields included: they
//! are checked over its bytes as received, else over its canonical JSON
//! (see [`Envelope::verify`]); the typed structs below ignore fields they
//! do not know, as the spec's extensibility rules require.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

use crate::canonical::to_canonical;
use crate::error::{KeySource, Result, TrustError};
use crate::keys::{KeyId, ParsedKey, PublicKey, SecretKey, parse_key};
use crate::time::{self, UnixTime};

/// The spec version this implementation writes.
pub const SPEC_VERSION: &str = "1.0.31";

/// `keyids` + `threshold` of a role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleKeys {
    /// The authorised key ids.
    pub keyids: Vec<KeyId>,
    /// Distinct keys needed.
    pub threshold: u64,
}

/// root.json's `signed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Root {
    /// "root".
    #[serde(rename = "_type")]
    pub typ: String,
    /// The TUF version.
    pub spec_version: String,
    /// Whether metadata and targets are also published under versioned /
    /// hash-prefixed names.
    pub consistent_snapshot: bool,
    /// Version.
    pub version: u64,
    /// Expiry, `YYYY-MM-DDTHH:MM:SSZ`.
    pub expires: String,
    /// Key id -> key object.
    pub keys: BTreeMap<KeyId, Value>,
    /// Role name -> keys and threshold.
    pub roles: BTreeMap<String, RoleKeys>,
}

/// A metadata file listed in timestamp or snapshot (`METAFILES`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MetaFile {
    /// Its version.
    pub version: u64,
    /// Its length, when listed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub length: Option<u64>,
    /// Its hashes, when listed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hashes: Option<Hashes>,
}

/// timestamp.json's or snapshot.json's `signed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetaList {
    /// "timestamp" or "snapshot".
    #[serde(rename = "_type")]
    pub typ: String,
    /// The TUF version.
    pub spec_version: String,
    /// Version.
    pub version: u64,
    /// Expiry.
    pub expires: String,
    /// File name -> version (and length, hashes).
    pub meta: BTreeMap<String, MetaFile>,
}

/// A target file's trusted description.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TargetFile {
    /// Exact length in bytes.
    pub length: u64,
    /// Algorithm -> hex digest.
    pub hashes: Hashes,
    /// Opaque application data.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub custom: Option<Value>,
}

/// `hashes` of a target or a listed metadata file: algorithm -> hex
/// digest, kept sorted by algorithm (the JSON object's canonical order).
///
/// A short list rather than a `BTreeMap`: a targets document describes tens
/// of thousands of files with one hash each, and a map allocates a whole
/// B-tree node (eleven keys and values, about 560 bytes) per file; that
/// allocation was a large part of the typed decode in the refresh
/// benchmark. As with a map, a repeated algorithm keeps its last value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hashes(Vec<(String, String)>);

impl Hashes {
    /// The hex digest listed for `algorithm`.
    pub fn get(&self, algorithm: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(a, _)| a.as_str().cmp(algorithm))
            .ok()
            .map(|i| &self.0[i].1)
    }
    /// Whether `algorithm` is listed.
    pub fn contains_key(&self, algorithm: &str) -> bool {
        self.get(algorithm).is_some()
    }
    /// Lists `digest` for `algorithm`, replacing what was listed.
    pub fn insert(&mut self, algorithm: String, digest: String) {
        match self.0.binary_search_by(|(a, _)| a.as_str().cmp(&algorithm)) {
            Ok(i) => self.0[i].1 = digest,
            Err(i) => self.0.insert(i, (algorithm, digest)),
        }
    }
    /// (algorithm, digest) pairs, sorted by algorithm.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(a, d)| (a, d))
    }
    /// How many algorithms are listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, String)> for Hashes {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut list: Vec<(String, String)> = iter.into_iter().collect();
        // Stable: of repeated algorithms, the last one listed stays last
        // and dedup below keeps it.
        list.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(list.len());
        for (a, d) in list {
            match out.last_mut() {
                Some(last) if last.0 == a => last.1 = d,
                _ => out.push((a, d)),
            }
        }
        Hashes(out)
    }
}

impl<const N: usize> From<[(String, String); N]> for Hashes {
    fn from(list: [(String, String); N]) -> Self {
        list.into_iter().collect()
    }
}

impl std::ops::Index<&str> for Hashes {
    type Output = String;
    fn index(&self, algorithm: &str) -> &String {
        self.get(algorithm)
            .unwrap_or_else(|| panic!("no {algorithm} hash listed"))
    }
}

impl Serialize for Hashes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Hashes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Hashes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of hash algorithm to hex digest")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Hashes, A::Error> {
                let mut list = Vec::with_capacity(map.size_hint().unwrap_or(1).min(8));
                while let Some(entry) = map.next_entry::<String, String>()? {
                    list.push(entry);
                }
                if list.is_sorted_by(|a, b| a.0 < b.0) {
                    return Ok(Hashes(list));
                }
                Ok(list.into_iter().collect())
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A delegation to a targets role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DelegatedRole {
    /// The role's name.
    pub name: String,
    /// Its key ids.
    pub keyids: Vec<KeyId>,
    /// Its threshold.
    pub threshold: u64,
    /// Whether the search stops at this role when its paths match.
    #[serde(default)]
    pub terminating: bool,
    /// Glob patterns (`*`/`?` never match `/`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paths: Option<Vec<String>>,
    /// Prefixes of the hex sha256 of the target path.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path_hash_prefixes: Option<Vec<String>>,
}

/// `delegations` of a targets role.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Delegations {
    /// Key id -> key object.
    pub keys: BTreeMap<KeyId, Value>,
    /// The delegated roles, in priority order.
    pub roles: Vec<DelegatedRole>,
}

/// targets.json's (or a delegated role's) `signed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Targets {
    /// "targets".
    #[serde(rename = "_type")]
    pub typ: String,
    /// The TUF version.
    pub spec_version: String,
    /// Version.
    pub version: u64,
    /// Expiry.
    pub expires: String,
    /// Target path -> description.
    #[serde(deserialize_with = "bulk_map")]
    pub targets: BTreeMap<String, TargetFile>,
    /// Delegations, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub delegations: Option<Delegations>,
}

/// Deserialises a JSON object into a `BTreeMap` by collecting its entries
/// and building the map in one pass, instead of inserting them one by one.
///
/// A targets document lists tens of thousands of paths with long shared
/// prefixes (`ports/port01234/Portfile`); inserting each costs a descent
/// of the tree, about 16 key comparisons at 60,000 entries, and those
/// comparisons were the largest part of the typed decode in the refresh
/// benchmark. Canonical JSON lists the keys sorted, so the sort
/// `BTreeMap::from_iter` does first is one comparison per key, and the
/// tree is then built bottom-up. The result is the map that inserting
/// would give: for a repeated key, the last entry wins in both.
fn bulk_map<'de, D, V>(d: D) -> std::result::Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Entries<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }
    let entries = d.deserialize_map(Entries(std::marker::PhantomData))?;
    Ok(entries.into_iter().collect())
}

/// Common accessors.
pub trait Signed: serde::de::DeserializeOwned {
    /// `_type` this struct must carry.
    const TYPE: &'static str;
    /// `_type` as parsed.
    fn typ(&self) -> &str;
    /// `version`.
    fn version(&self) -> u64;
    /// `expires`.
    fn expires(&self) -> &str;
    /// `spec_version`.
    fn spec_version(&self) -> &str;
}

macro_rules! signed {
    ($t:ty, $name:literal) => {
        impl Signed for $t {
            const TYPE: &'static str = $name;
            fn typ(&self) -> &str {
                &self.typ
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn expires(&self) -> &str {
                &self.expires
            }
            fn spec_version(&self) -> &str {
                &self.spec_version
            }
        }
    };
}
signed!(Root, "root");
signed!(Targets, "targets");

/// timestamp.json's `signed` (a [`MetaList`] of `_type` "timestamp").
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub MetaList);
/// snapshot.json's `signed`.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Snapshot(pub MetaList);

macro_rules! signed_list {
    ($t:ty, $name:literal) => {
        impl Signed for $t {
            const TYPE: &'static str = $name;
            fn typ(&self) -> &str {
                &self.0.typ
            }
            fn version(&self) -> u64 {
                self.0.version
            }
            fn expires(&self) -> &str {
                &self.0.expires
            }
            fn spec_version(&self) -> &str {
                &self.0.spec_version
            }
        }
    };
}
signed_list!(Timestamp, "timestamp");
signed_list!(Snapshot, "snapshot");

/// One signature of the envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignatureEntry {
    /// Key id of the signer.
    pub keyid: KeyId,
    /// Hex signature.
    pub sig: String,
}

/// A parsed envelope: the typed `signed`, the signatures, and the raw
/// document (what is persisted). Built by [`Unverified::decode`], i.e.
/// after a signature check, or by [`parse_envelope`] for documents that are
/// trusted already.
#[derive(Debug, Clone)]
pub struct Envelope<T> {
    /// The typed `signed` value.
    pub signed: T,
    /// The signatures.
    pub signatures: Vec<SignatureEntry>,
    /// The document as received.
    pub raw: Vec<u8>,
    signed_range: std::ops::Range<usize>,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    signed: &'a serde_json::value::RawValue,
    signatures: Vec<SignatureEntry>,
}

/// The two fields of `signed` read before its signatures are checked: what
/// it claims to be and its version (for the error report). Every other
/// field is skipped without being stored.
#[derive(Deserialize)]
struct Header {
    #[serde(rename = "_type", default)]
    typ: String,
    version: u64,
}

/// A document split into its envelope but not trusted yet: the `signed`
/// value's bytes as received, the signatures, `_type` and `version`.
///
/// Nothing else of `signed` is parsed until [`Unverified::verify`] has
/// found a threshold of signatures (issue 11 item 15: an unsigned 58 MB
/// targets document was parsed into typed structures first, 1.2 GB RSS).
/// The only way from here to typed metadata is [`Unverified::decode`],
/// which callers reach after a successful `verify`.
#[derive(Debug, Clone)]
pub struct Unverified {
    raw: Vec<u8>,
    signed_range: std::ops::Range<usize>,
    signatures: Vec<SignatureEntry>,
    typ: String,
    version: u64,
    document: String,
}

/// Parses the envelope of `raw`, whose `signed._type` must be
/// `expected_type`, without parsing the rest of `signed`.
pub fn parse_unverified(raw: Vec<u8>, document: &str, expected_type: &str) -> Result<Unverified> {
    let parts = envelope_parts(&raw, document, expected_type)?;
    Ok(Unverified::from_parts(raw, parts, document))
}

/// What [`parse_unverified`] reads of a document: where `signed` is, the
/// signatures, `_type` and `version`.
#[derive(Debug, Clone)]
pub(crate) struct EnvelopeParts {
    pub(crate) signed_range: std::ops::Range<usize>,
    pub(crate) signatures: Vec<SignatureEntry>,
    pub(crate) typ: String,
    pub(crate) version: u64,
}

/// [`parse_unverified`] on borrowed bytes.
pub(crate) fn envelope_parts(
    raw: &[u8],
    document: &str,
    expected_type: &str,
) -> Result<EnvelopeParts> {
    let malformed = |reason: String| TrustError::Malformed {
        document: document.to_string(),
        reason,
    };
    let env: RawEnvelope = serde_json::from_slice(raw).map_err(|e| malformed(e.to_string()))?;
    let text = env.signed.get();
    let start = text.as_ptr() as usize - raw.as_ptr() as usize;
    let signed_range = start..start + text.len();
    let header: Header = match serde_json::from_str(text) {
        Ok(h) => h,
        Err(e) => {
            // Say "wrong type" when that is what it is.
            let found = serde_json::from_str::<TypeOnly>(text)
                .map(|t| t.typ)
                .unwrap_or_default();
            if found != expected_type {
                return Err(TrustError::WrongType {
                    expected: expected_type.to_string(),
                    found,
                });
            }
            return Err(malformed(e.to_string()));
        }
    };
    if header.typ != expected_type {
        return Err(TrustError::WrongType {
            expected: expected_type.to_string(),
            found: header.typ,
        });
    }
    let signatures = env.signatures;
    // Spec 4.2 (the "signatures" array): each key id MUST be unique. A
    // repeated one is refused outright, as python-tuf does, rather than
    // left to the threshold count (which would count it once anyway).
    let mut seen = HashSet::with_capacity(signatures.len());
    for s in &signatures {
        if !seen.insert(s.keyid.as_str()) {
            return Err(TrustError::DuplicateSignatureKeyId {
                document: document.to_string(),
                key_id: s.keyid.clone(),
            });
        }
    }
    Ok(EnvelopeParts {
        signed_range,
        signatures,
        typ: header.typ,
        version: header.version,
    })
}

/// The typed `signed` value of a whole document in one pass (the
/// signatures are skipped), with [`Unverified::decode_signed`]'s checks.
/// Only for bytes that are authenticated already: a document pinned by a
/// hash in verified metadata, whose own signatures are checked at the same
/// time on another thread (`Client` `verify_decode_stage`). A repeated
/// `signed` key is refused here as by [`envelope_parts`].
pub(crate) fn decode_pinned<T: Signed>(raw: &[u8], document: &str) -> Result<T> {
    #[derive(Deserialize)]
    struct SignedOnly<T> {
        signed: T,
    }
    let doc: SignedOnly<T> = serde_json::from_slice(raw).map_err(|e| TrustError::Malformed {
        document: document.to_string(),
        reason: e.to_string(),
    })?;
    if doc.signed.typ() != T::TYPE {
        return Err(TrustError::WrongType {
            expected: T::TYPE.to_string(),
            found: doc.signed.typ().to_string(),
        });
    }
    check_signed(&doc.signed)?;
    Ok(doc.signed)
}

/// What every document must carry beyond its schema: a supported
/// spec_version and a well-formed expiry.
fn check_signed<T: Signed>(signed: &T) -> Result<()> {
    let spec = signed.spec_version();
    if spec.split('.').next() != Some("1") {
        return Err(TrustError::UnsupportedSpecVersion {
            role: T::TYPE.to_string(),
            version: spec.to_string(),
        });
    }
    if time::parse(signed.expires()).is_none() {
        return Err(TrustError::InvalidMetadata {
            role: T::TYPE.to_string(),
            reason: format!("expires {:?} is not YYYY-MM-DDTHH:MM:SSZ", signed.expires()),
        });
    }
    Ok(())
}

#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "_type", default)]
    typ: String,
}

impl Unverified {
    pub(crate) fn from_parts(raw: Vec<u8>, parts: EnvelopeParts, document: &str) -> Self {
        Unverified {
            raw,
            signed_range: parts.signed_range,
            signatures: parts.signatures,
            typ: parts.typ,
            version: parts.version,
            document: document.to_string(),
        }
    }

    /// `signed._type`.
    pub fn typ(&self) -> &str {
        &self.typ
    }
    /// `signed.version` (not trusted before [`Self::verify`]).
    pub fn version(&self) -> u64 {
        self.version
    }
    /// The `signed` value's bytes exactly as received.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.raw[self.signed_range.clone()]
    }
    /// The document as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
    /// The signatures (not checked before [`Self::verify`]).
    pub fn signatures(&self) -> &[SignatureEntry] {
        &self.signatures
    }

    /// Checks the threshold of distinct keys in `ring` authorised by `rk`
    /// over `signed` (see [`verify_signed`]).
    pub fn verify(
        &self,
        ring: &KeyRing,
        role: &str,
        rk: &RoleKeys,
        source: KeySource,
    ) -> Result<()> {
        verify_signed(
            ring,
            role,
            self.version,
            rk,
            self.signed_bytes(),
            &self.signatures,
            source,
        )
    }

    /// Parses `signed` into `T` and checks what every document must carry
    /// (`_type`, a supported spec_version, a well-formed expiry). Call it
    /// after [`Self::verify`]; on an unchecked document this is the typed
    /// parse the split exists to avoid.
    pub fn decode<T: Signed>(self) -> Result<Envelope<T>> {
        let signed = self.decode_signed()?;
        Ok(self.into_envelope(signed))
    }

    /// The typed parse of [`Self::decode`], borrowing the document. Call it
    /// only after [`Self::verify`].
    pub fn decode_signed<T: Signed>(&self) -> Result<T> {
        let malformed = |reason: String| TrustError::Malformed {
            document: self.document.clone(),
            reason,
        };
        if self.typ != T::TYPE {
            return Err(TrustError::WrongType {
                expected: T::TYPE.to_string(),
                found: self.typ.clone(),
            });
        }
        let signed: T =
            serde_json::from_slice(self.signed_bytes()).map_err(|e| malformed(e.to_string()))?;
        check_signed(&signed)?;
        Ok(signed)
    }

    /// Wraps a `signed` value [`Self::decode_signed`] produced from this
    /// document into its envelope.
    pub fn into_envelope<T: Signed>(self, signed: T) -> Envelope<T> {
        Envelope {
            signed,
            signatures: self.signatures,
            raw: self.raw,
            signed_range: self.signed_range,
        }
    }
}

/// Parses an envelope whose `signed._type` must be `T::TYPE` into typed
/// metadata **without checking any signature**: for documents that are
/// trusted already (the repository's own files, the trust directory's
/// root). The client parses what it receives with [`parse_unverified`],
/// verifies, then [`Unverified::decode`]s.
pub fn parse_envelope<T: Signed>(raw: Vec<u8>, document: &str) -> Result<Envelope<T>> {
    parse_unverified(raw, document, T::TYPE)?.decode()
}

impl<T: Signed> Envelope<T> {
    /// The `signed` value's bytes exactly as received.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.raw[self.signed_range.clone()]
    }

    /// The canonical JSON of `signed` (what TUF signers sign).
    pub fn canonical(&self) -> Result<Vec<u8>> {
        crate::canonical::canonicalize(self.signed_bytes())
    }

    /// Checks the threshold of distinct keys in `ring` authorised by `rk`
    /// (see [`verify_signed`]); used where the keys come from the document
    /// itself (a root's own root role).
    pub fn verify(
        &self,
        ring: &KeyRing,
        role: &str,
        rk: &RoleKeys,
        source: KeySource,
    ) -> Result<()> {
        verify_signed(
            ring,
            role,
            self.signed.version(),
            rk,
            self.signed_bytes(),
            &self.signatures,
            source,
        )
    }
}

/// Checks the threshold of distinct keys in `ring` authorised by `rk` over
/// `signed`, the `signed` value's bytes as received.
///
/// Signatures are first checked over those bytes. wport writes metadata
/// canonically, so for its own repositories this is the canonical form and
/// the (costly) re-encoding of a large targets document is skipped. It is
/// sound: a signature that verifies over the received bytes is a signature
/// by the key holder over exactly what is then parsed. Only when that fails
/// (metadata written non-canonically by another TUF implementation, e.g.
/// pretty-printed) are signatures checked over the canonical form, as the
/// specification defines; that encoding is made from the text
/// ([`crate::canonical::canonicalize`]), never from a typed or `Value`
/// parse.
pub fn verify_signed(
    ring: &KeyRing,
    role: &str,
    version: u64,
    rk: &RoleKeys,
    signed: &[u8],
    signatures: &[SignatureEntry],
    source: KeySource,
) -> Result<()> {
    match ring.check_threshold(role, version, rk, signed, signatures, source.clone()) {
        Err(first @ TrustError::ThresholdNotMet { .. }) => {
            let canonical = crate::canonical::canonicalize(signed)?;
            if canonical == signed {
                return Err(first);
            }
            ring.check_threshold(role, version, rk, &canonical, signatures, source)
        }
        other => other,
    }
}

/// Keys available to verify a role: parsed once per key set.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    /// Key id -> the key and its identity ([`ParsedKey::identity`]; `None`
    /// for keys that cannot be used).
    keys: BTreeMap<KeyId, (ParsedKey, Option<[u8; 32]>)>,
}

impl KeyRing {
    /// Parses a `keys` map (root's or a delegation's). Every key id must be
    /// the hash of its key; weak ed25519 keys make the metadata invalid;
    /// keys of other types or schemes are kept but never verify.
    pub fn new(keys: &BTreeMap<KeyId, Value>) -> Result<Self> {
        let mut parsed = BTreeMap::new();
        for (id, object) in keys {
            let key = parse_key(id, object)?;
            let identity = key.identity();
            parsed.insert(id.clone(), (key, identity));
        }
        Ok(KeyRing { keys: parsed })
    }

    /// Counts the distinct authorised keys with a valid signature over
    /// `message` and checks the threshold.
    ///
    /// Each key counts once, however many times the role lists it and
    /// however many key ids name it (CVE-2020-15093: tough counted repeated
    /// signatures by one key toward the threshold). Distinctness is by
    /// public key material, not only by key id. (A signatures list that
    /// repeats a key id never gets here: [`parse_unverified`] refuses it.)
    pub fn check_threshold(
        &self,
        role: &str,
        version: u64,
        rk: &RoleKeys,
        message: &[u8],
        signatures: &[SignatureEntry],
        source: KeySource,
    ) -> Result<()> {
        if rk.threshold < 1 {
            return Err(TrustError::InvalidMetadata {
                role: role.to_string(),
                reason: "threshold must be at least 1".into(),
            });
        }
        let authorised: HashSet<&str> = rk.keyids.iter().map(String::as_str).collect();
        let mut counted: HashSet<[u8; 32]> = HashSet::new();
        // Each key is tried at most once: a verification hashes the whole
        // message, so a document naming one key under several ids with bad
        // signatures would otherwise cost one pass over (up to 64 MiB of)
        // metadata per entry.
        let mut tried: HashSet<[u8; 32]> = HashSet::new();
        for s in signatures {
            if !authorised.contains(s.keyid.as_str()) {
                continue;
            }
            let Some((key, Some(identity))) = self.keys.get(&s.keyid) else {
                continue;
            };
            let Ok(sig) = hex::decode(&s.sig) else {
                continue;
            };
            if !tried.insert(*identity) {
                continue;
            }
            if key.verify(message, &sig) {
                counted.insert(*identity);
            }
        }
        if (counted.len() as u64) < rk.threshold {
            return Err(TrustError::ThresholdNotMet {
                role: role.to_string(),
                version,
                valid: counted.len(),
                threshold: rk.threshold,
                keys: source,
            });
        }
        Ok(())
    }

    /// The ed25519 key of `id`, if any.
    pub fn get(&self, id: &str) -> Option<&PublicKey> {
        match self.keys.get(id) {
            Some((ParsedKey::Ed25519(k), _)) => Some(k),
            _ => None,
        }
    }

    /// The key of `id` as parsed (usable or not), if listed.
    pub fn parsed(&self, id: &str) -> Option<&ParsedKey> {
        self.keys.get(id).map(|(k, _)| k)
    }
}

impl Root {
    /// The keys and threshold of a top-level role, or an error when root
    /// does not define it.
    pub fn role(&self, name: &str) -> Result<&RoleKeys> {
        self.roles
            .get(name)
            .ok_or_else(|| TrustError::InvalidMetadata {
                role: "root".into(),
                reason: format!("no {name} role"),
            })
    }
}

/// Refuses metadata whose expiry is not after `now`.
pub fn check_expiry<T: Signed>(signed: &T, role: &str, now: UnixTime) -> Result<()> {
    let expires = time::parse(signed.expires()).unwrap_or(i64::MIN);
    if expires <= now {
        return Err(TrustError::Expired {
            role: role.to_string(),
            version: signed.version(),
            expires: signed.expires().to_string(),
            now: time::format(now),
        });
    }
    Ok(())
}

/// Checks `bytes` against a length and hashes (those of a target or of a
/// metadata file). Every supported hash listed must match, and at least one
/// must be supported when any are listed (`require_hash` makes the hash
/// mandatory, as it is for targets).
pub fn check_length_and_hashes(
    what: &str,
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&Hashes>,
    require_hash: bool,
) -> Result<()> {
    if let Some(expected) = length
        && bytes.len() as u64 != expected
    {
        return Err(TrustError::LengthMismatch {
            what: what.to_string(),
            expected,
            actual: bytes.len() as u64,
        });
    }
    let mut checked = 0;
    for (algorithm, expected) in hashes.into_iter().flat_map(Hashes::iter) {
        let actual = match algorithm.as_str() {
            "sha256" => hex::encode(Sha256::digest(bytes)),
            "sha512" => hex::encode(Sha512::digest(bytes)),
            _ => continue,
        };
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(TrustError::DigestMismatch {
                what: what.to_string(),
                algorithm: algorithm.clone(),
                expected: expected.clone(),
                actual,
            });
        }
        checked += 1;
    }
    if checked == 0 && (require_hash || hashes.is_some_and(|h| !h.is_empty())) {
        return Err(TrustError::NoSupportedHash {
            what: what.to_string(),
        });
    }
    Ok(())
}

/// Serialises `signed` and signs its canonical form with each key,
/// returning the envelope's bytes (pretty-printed; the signature covers the
/// canonical form, not the layout).
pub fn sign_document<T: Serialize>(signed: &T, keys: &[&SecretKey]) -> Result<Vec<u8>> {
    let value = serde_json::to_value(signed).map_err(|e| TrustError::Repository(e.to_string()))?;
    let canonical = to_canonical(&value)?;
    let signatures: Vec<SignatureEntry> = keys
        .iter()
        .map(|k| SignatureEntry {
            keyid: k.key_id(),
            sig: hex::encode(k.sign(&canonical)),
        })
        .collect();
    Ok(envelope_bytes(value, signatures))
}

/// Adds (or replaces) `key`'s signature on an existing document without
/// re-serialising its `signed` value.
pub fn add_signature(raw: &[u8], key: &SecretKey) -> Result<Vec<u8>> {
    let mut doc: Value = serde_json::from_slice(raw).map_err(|e| TrustError::Malformed {
        document: "metadata".into(),
        reason: e.to_string(),
    })?;
    let signed = doc
        .get("signed")
        .cloned()
        .ok_or_else(|| TrustError::Malformed {
            document: "metadata".into(),
            reason: "no \"signed\"".into(),
        })?;
    let canonical = to_canonical(&signed)?;
    let mut signatures: Vec<SignatureEntry> = serde_json::from_value(
        doc.get_mut("signatures")
            .map(Value::take)
            .unwrap_or(Value::Array(vec![])),
    )
    .map_err(|e| TrustError::Malformed {
        document: "metadata".into(),
        reason: e.to_string(),
    })?;
    let id = key.key_id();
    signatures.retain(|s| s.keyid != id);
    signatures.push(SignatureEntry {
        keyid: id,
        sig: hex::encode(key.sign(&canonical)),
    });
    Ok(envelope_bytes(signed, signatures))
}

fn envelope_bytes(signed: Value, signatures: Vec<SignatureEntry>) -> Vec<u8> {
    let doc = serde_json::json!({"signatures": signatures, "signed": signed});
    // Canonical bytes on the wire too: small, and stable for hashing.
    to_canonical(&doc).expect("metadata holds no floats")
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_read_and_write_like_a_sorted_map() {
        // Unsorted, with a repeated algorithm: as a map, sorted, last wins.
        let h: Hashes =
            serde_json::from_str(r#"{"sha512":"bb","sha256":"aa","blake2":"cc","sha256":"dd"}"#)
                .unwrap();
        let as_map: BTreeMap<String, String> =
            serde_json::from_str(r#"{"sha512":"bb","sha256":"aa","blake2":"cc","sha256":"dd"}"#)
                .unwrap();
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            as_map.iter().collect::<Vec<_>>()
        );
        assert_eq!(h["sha256"], "dd");
        assert_eq!(h.get("md5"), None);
        assert!(h.contains_key("blake2") && !h.contains_key("sha"));
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            serde_json::to_string(&as_map).unwrap()
        );
        let mut built = Hashes::from([("sha512".to_string(), "bb".to_string())]);
        built.insert("sha256".into(), "aa".into());
        built.insert("sha256".into(), "dd".into());
        built.insert("blake2".into(), "cc".into());
        assert_eq!(built, h);
        assert_eq!(built.len(), 3);
        assert!(Hashes::default().is_empty());
        for bad in [r#"{"sha256":1}"#, r#"["sha256","aa"]"#, r#""aa""#] {
            assert!(serde_json::from_str::<Hashes>(bad).is_err(), "{bad}");
        }
    }

    /// The bulk-built target map is the map that inserting the entries one
    /// by one gives: sorted by path whatever the document's order, and for
    /// a repeated path the last entry wins.
    #[test]
    fn targets_map_is_sorted_and_last_duplicate_wins() {
        let doc = r#"{"_type":"targets","spec_version":"1.0.31","version":1,
            "expires":"2030-01-01T00:00:00Z","targets":{
            "b/f":{"length":2,"hashes":{}},
            "a/f":{"length":1,"hashes":{}},
            "b/f":{"length":3,"hashes":{}}}}"#;
        let t: Targets = serde_json::from_str(doc).unwrap();
        let got: Vec<(&str, u64)> = t
            .targets
            .iter()
            .map(|(p, f)| (p.as_str(), f.length))
            .collect();
        assert_eq!(got, [("a/f", 1), ("b/f", 3)]);
    }
}
