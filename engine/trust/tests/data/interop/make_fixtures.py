"""Writes the interop fixture repositories under this directory.

Run once, by hand, with python-tuf from the package index (see README.md);
the output is committed and the tests read it as data. Running it again
makes new keys and signatures: the tests do not depend on particular ones.
"""

import hashlib
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import CanonicalJSONSerializer, JSONSerializer

HERE = Path(__file__).resolve().parent
EXPIRES = datetime(2100, 1, 1, tzinfo=timezone.utc)
PORTFILE = b'[port]\nname = "demo"\nversion = "1.0"\n'
PATCH = b"--- a/x\n+++ b/x\n"


def key_object(keytype: str, scheme: str, keyval: dict) -> SSlibKey:
    """A key with its id computed as the spec defines it (sha256 of the
    canonical JSON of the key object)."""
    body = {"keytype": keytype, "scheme": scheme, "keyval": keyval}
    keyid = hashlib.sha256(encode_canonical(body).encode()).hexdigest()
    return SSlibKey(keyid, keytype, scheme, keyval)


def ecdsa_signer(legacy_keytype: bool = False) -> CryptoSigner:
    private = ec.generate_private_key(ec.SECP256R1())
    if not legacy_keytype:
        return CryptoSigner(private)
    public = SSlibKey.from_crypto(private.public_key())
    # The spec-deprecated keytype spelling, still written by older tools.
    legacy = key_object("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", dict(public.keyval))
    return CryptoSigner(private, legacy)


def rsa_signer() -> tuple[CryptoSigner, rsa.RSAPrivateKey]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    public = SSlibKey.from_crypto(private.public_key(), scheme="rsassa-pss-sha256")
    return CryptoSigner(private, public), private


def write(md: Metadata, path: Path) -> bytes:
    # Pretty-printed, as python-tuf writes by default: the client must
    # verify over the canonical form, not the bytes.
    data = md.to_bytes(JSONSerializer(compact=False))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def meta_file(md: Metadata, data: bytes) -> MetaFile:
    return MetaFile.from_data(md.signed.version, data, ["sha256"])


def build(name: str, signers: dict, consistent: bool, extra_delegation_key=None,
          resign_max_salt=None) -> None:
    out = HERE / name
    shutil.rmtree(out, ignore_errors=True)
    meta = out / "metadata"
    tdir = out / "targets"

    root = Root(expires=EXPIRES, consistent_snapshot=consistent)
    for role in ("root", "targets", "snapshot", "timestamp"):
        for s in signers[role]:
            root.add_key(s.public_key, role)
    root.roles["root"].threshold = len(signers["root"])

    files = {
        "ports/demo/Portfile.toml": PORTFILE,
        "ports/demo/files/fix.diff": PATCH,
    }
    targets = Targets(expires=EXPIRES)
    targets.targets["ports/demo/Portfile.toml"] = TargetFile.from_data(
        "ports/demo/Portfile.toml", PORTFILE, ["sha256"]
    )
    dkeys = {s.public_key.keyid: s.public_key for s in signers["maint-demo"]}
    keyids = list(dkeys)
    if extra_delegation_key is not None:
        dkeys[extra_delegation_key.keyid] = extra_delegation_key
        keyids.append(extra_delegation_key.keyid)
    targets.delegations = Delegations(
        keys=dkeys,
        roles={
            "maint-demo": DelegatedRole(
                "maint-demo", keyids, 1, True, paths=["ports/demo/files/*"]
            )
        },
    )
    maint = Targets(expires=EXPIRES)
    maint.targets["ports/demo/files/fix.diff"] = TargetFile.from_data(
        "ports/demo/files/fix.diff", PATCH, ["sha256"]
    )

    def signed(obj, role):
        md = Metadata(obj)
        for s in signers[role]:
            md.sign(s, append=True)
        return md

    root_md = signed(root, "root")
    targets_md = signed(targets, "targets")
    maint_md = signed(maint, "maint-demo")
    if resign_max_salt is not None:
        # Replace the signature by one with the largest PSS salt (what
        # signers using pyca's PSS.MAX_LENGTH write).
        signer, private = resign_max_salt
        message = CanonicalJSONSerializer().serialize(maint_md.signed)
        sig = private.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                        salt_length=padding.PSS.MAX_LENGTH),
            hashes.SHA256(),
        )
        kid = signer.public_key.keyid
        maint_md.signatures[kid] = Signature(kid, sig.hex())

    write(root_md, meta / "1.root.json")
    write(root_md, meta / "root.json")
    t_bytes = write(targets_md, meta / "targets.json")
    m_bytes = write(maint_md, meta / "maint-demo.json")
    snapshot = Snapshot(expires=EXPIRES)
    snapshot.meta["targets.json"] = meta_file(targets_md, t_bytes)
    snapshot.meta["maint-demo.json"] = meta_file(maint_md, m_bytes)
    snap_md = signed(snapshot, "snapshot")
    s_bytes = write(snap_md, meta / "snapshot.json")
    timestamp = Timestamp(expires=EXPIRES)
    timestamp.snapshot_meta = meta_file(snap_md, s_bytes)
    write(signed(timestamp, "timestamp"), meta / "timestamp.json")
    if consistent:
        for n in ("targets.json", "maint-demo.json", "snapshot.json"):
            shutil.copy(meta / n, meta / f"1.{n}")

    for path, data in files.items():
        dest = tdir / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        if consistent:
            digest = TargetFile.from_data(path, data, ["sha256"]).hashes["sha256"]
            (dest.parent / f"{digest}.{dest.name}").write_bytes(data)


def main() -> None:
    # ecdsa: every role ecdsa-sha2-nistp256; root threshold 2; snapshot's
    # key uses the older keytype spelling; consistent snapshots.
    ecdsa_signers = {
        "root": [ecdsa_signer(), ecdsa_signer()],
        "targets": [ecdsa_signer()],
        "snapshot": [ecdsa_signer(legacy_keytype=True)],
        "timestamp": [ecdsa_signer()],
        "maint-demo": [ecdsa_signer()],
    }
    build("ecdsa", ecdsa_signers, consistent=True)

    # rsa: every role rsassa-pss-sha256 (3072-bit keys, salt = digest
    # length, as securesystemslib signs), except the delegated role's
    # signature, made with the maximum salt length. The delegation also
    # lists a key of a type no client knows, unusable but harmless.
    maint_signer, maint_private = rsa_signer()
    rsa_signers = {
        "root": [rsa_signer()[0], rsa_signer()[0]],
        "targets": [rsa_signer()[0]],
        "snapshot": [rsa_signer()[0]],
        "timestamp": [rsa_signer()[0]],
        "maint-demo": [maint_signer],
    }
    unknown = key_object("x-unknown", "x-unknown-scheme", {"public": "00"})
    build("rsa", rsa_signers, consistent=False, extra_delegation_key=unknown,
          resign_max_salt=(maint_signer, maint_private))


if __name__ == "__main__":
    sys.exit(main())
