//! One error type for the crate. Every security outcome is its own variant
//! with concrete fields, so tests (and callers) can assert the precise
//! refusal instead of matching on strings.

use std::path::PathBuf;

/// Which key set a threshold was counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The root the client trusted before this update (a new root must be
    /// signed by the old root's root role: spec 5.3.4).
    TrustedRoot,
    /// The metadata's own root (a new root must also be signed by its own
    /// root role: spec 5.3.5; every other top-level role is checked here).
    NewRoot,
    /// The delegation in this (targets) role's metadata.
    Delegator(String),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::TrustedRoot => f.write_str("keys of the trusted root"),
            KeySource::NewRoot => f.write_str("keys of the root metadata"),
            KeySource::Delegator(role) => write!(f, "keys delegated by {role}"),
        }
    }
}

/// Everything that can go wrong in the trust layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// A file-system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("reading", "writing", ...).
        action: &'static str,
        /// On which file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Local trust state or a secret key is accessible to someone it must
    /// not be (ssh StrictModes rules).
    #[error("refusing {}: mode {mode:o} {reason}", path.display())]
    InsecurePermissions {
        /// The file or directory refused.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// Why they are not acceptable.
        reason: &'static str,
    },
    /// A document is not the JSON (or canonical-JSON-encodable value) TUF
    /// requires.
    #[error("{document}: malformed: {reason}")]
    Malformed {
        /// Which document.
        document: String,
        /// What is wrong.
        reason: String,
    },
    /// The metadata is well-formed JSON but breaks a rule of the TUF format.
    #[error("{role}: invalid metadata: {reason}")]
    InvalidMetadata {
        /// The role.
        role: String,
        /// What is wrong.
        reason: String,
    },
    /// The document is signed metadata of another type (`_type`).
    #[error("expected {expected} metadata, got {found:?}")]
    WrongType {
        /// The role expected.
        expected: String,
        /// The `_type` found.
        found: String,
    },
    /// The metadata's spec_version has a major version this client does not
    /// implement.
    #[error("{role}: unsupported spec_version {version:?}")]
    UnsupportedSpecVersion {
        /// The role.
        role: String,
        /// The version string.
        version: String,
    },
    /// A key object's id is not the sha256 of its canonical JSON.
    #[error("key id {listed} does not match the key (its id is {computed})")]
    KeyIdMismatch {
        /// The id in the metadata.
        listed: String,
        /// The id computed from the key.
        computed: String,
    },
    /// An ed25519 public key is not a canonical encoding of a point of large
    /// order (small-order keys let one signature verify for any message).
    #[error("weak or malformed ed25519 public key {key_id}: {reason}")]
    WeakKey {
        /// The key's id (or the file it came from).
        key_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key file is malformed or of an unsupported type.
    #[error("key file {}: {reason}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The envelope's `signatures` list names one key id more than once
    /// (spec 4.2: key ids there MUST be unique).
    #[error("{document}: more than one signature with key id {key_id}")]
    DuplicateSignatureKeyId {
        /// The document refused.
        document: String,
        /// The repeated key id.
        key_id: String,
    },
    /// Fewer distinct keys signed than the threshold requires.
    #[error(
        "{role} v{version}: {valid} valid signature(s) from distinct keys, threshold {threshold} ({keys})"
    )]
    ThresholdNotMet {
        /// The role whose metadata is refused.
        role: String,
        /// Its version.
        version: u64,
        /// Distinct authorised keys with a valid signature.
        valid: usize,
        /// The threshold.
        threshold: u64,
        /// Which key set was consulted.
        keys: KeySource,
    },
    /// Metadata expired before the update started (freeze attack).
    #[error("{role} v{version} expired at {expires} (update started {now})")]
    Expired {
        /// The role.
        role: String,
        /// Its version.
        version: u64,
        /// Its expiry.
        expires: String,
        /// When the update started.
        now: String,
    },
    /// A newer version of trusted metadata was replaced by an older one.
    #[error("rollback of {role}: trusted version {trusted}, offered {offered}")]
    Rollback {
        /// The role (or the metadata file referenced by snapshot/timestamp).
        role: String,
        /// The version trusted so far.
        trusted: u64,
        /// The older version offered.
        offered: u64,
    },
    /// Metadata's version is not the one the referencing metadata pins
    /// (mix-and-match), or a root is not N+1.
    #[error("{role}: expected version {expected}, got {found}")]
    VersionMismatch {
        /// The role.
        role: String,
        /// The version pinned by the referencing metadata.
        expected: u64,
        /// The version of the document received.
        found: u64,
    },
    /// A role listed by the trusted snapshot is missing from the new one.
    #[error("{role} is in the trusted snapshot but missing from the new one")]
    RemovedFromSnapshot {
        /// The missing metadata file.
        role: String,
    },
    /// Metadata that must be listed (in timestamp or snapshot) is not.
    #[error("{file} is not listed in {listed_in}")]
    MissingMeta {
        /// The metadata file.
        file: String,
        /// The listing document.
        listed_in: &'static str,
    },
    /// A document or target is longer than allowed (endless data).
    #[error(
        "{what} exceeds its length limit of {limit} bytes: the repository or mirror served more \
         than the signed metadata allows, which is untrusted data (refused, nothing of it used)"
    )]
    TooLarge {
        /// What was being read.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// A target or metadata file has another length than the trusted one.
    #[error("{what}: length {actual}, expected {expected}")]
    LengthMismatch {
        /// What was checked.
        what: String,
        /// The trusted length.
        expected: u64,
        /// The length received.
        actual: u64,
    },
    /// A hash does not match the trusted one.
    #[error("{what}: {algorithm} {actual}, expected {expected}")]
    DigestMismatch {
        /// What was checked.
        what: String,
        /// The algorithm.
        algorithm: String,
        /// The trusted digest.
        expected: String,
        /// The digest of what was received.
        actual: String,
    },
    /// A target lists no hash this client supports (sha256, sha512).
    #[error("{what}: no supported hash (sha256 or sha512)")]
    NoSupportedHash {
        /// The target or metadata file.
        what: String,
    },
    /// No trusted role provides this target.
    #[error("{path} is not a trusted target")]
    TargetNotFound {
        /// The target path.
        path: String,
    },
    /// A target path that would escape the directory it is stored in.
    #[error("unsafe target path {path:?}")]
    UnsafeTargetPath {
        /// The path.
        path: String,
    },
    /// A role name that cannot be used (collides with a top-level role, is
    /// empty or contains control characters).
    #[error("unsafe role name {name:?}")]
    UnsafeRoleName {
        /// The name.
        name: String,
    },
    /// More delegated roles than allowed were visited in one search.
    #[error("more than {limit} delegated roles visited looking for {path}")]
    TooManyDelegations {
        /// The limit.
        limit: usize,
        /// The target searched for.
        path: String,
    },
    /// The transport failed to fetch a document or target.
    #[error("fetching {location}: {reason}")]
    Transport {
        /// The URL or path.
        location: String,
        /// What went wrong.
        reason: String,
    },
    /// A trusted timestamp.json or snapshot.json in the trust directory is
    /// present but cannot be used (torn, empty, malformed, or not signed by
    /// the trusted root). It is the reference that stops rollbacks, so the
    /// update stops instead of treating it as absent.
    #[error(
        "{}: trusted metadata is damaged ({source}); it is what refuses rollbacks, so nothing was updated. If the damage is understood (disk failure), remove the file to start over from the trusted root, accepting whatever unexpired version the repository serves next",
        path.display()
    )]
    LocalMetadataInvalid {
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        #[source]
        source: Box<TrustError>,
    },
    /// The local trust directory holds no trusted root.
    #[error("{}: no trusted root (initialise with a root.json you trust)", dir.display())]
    NotInitialized {
        /// The trust directory.
        dir: PathBuf,
    },
    /// A repository operation was asked for something that does not exist or
    /// contradicts the repository's state.
    #[error("repository: {0}")]
    Repository(String),
}

/// Shorthand.
pub type Result<T, E = TrustError> = std::result::Result<T, E>;

impl TrustError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        TrustError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
