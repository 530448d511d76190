"""``sealcam keygen --agency``: the agency's CA, its C2PA signing certificate and the X25519
seal key pair (``host.agencykeys``; issue 12, Content Credentials and sealed footage)."""
# micropython: skip (host code, cryptography)

import datetime
import json
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from host import agencykeys
from protocol.sealing import open_sealed, seal
from tests.host.helpers import run

AGENCY = "某市公安局"


@pytest.fixture(scope="module")
def agency(tmp_path_factory):
    out = tmp_path_factory.mktemp("agency") / "keys"
    r = run("keygen", "--agency", AGENCY, "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout)


def _certs(out):
    ca = x509.load_pem_x509_certificate((out / agencykeys.CA_CERT).read_bytes())
    chain = x509.load_pem_x509_certificates((out / agencykeys.SIGN_CERT).read_bytes())
    return ca, chain


def test_keygen_writes_every_file_private_keys_0600(agency):  # R-DEV-3
    out, printed = agency
    assert sorted(p.name for p in out.iterdir()) == sorted(agencykeys.FILES)  # no temporaries
    for name in agencykeys.FILES:
        mode = stat.S_IMODE((out / name).stat().st_mode)
        if name in agencykeys.PRIVATE:
            assert mode == 0o600, (name, oct(mode))
        else:
            assert mode & 0o077 != 0o077 and not mode & 0o022, (name, oct(mode))
    assert printed["agency"] == AGENCY
    assert sorted(printed["files"]) == sorted(agencykeys.FILES)
    assert printed["seal_public_key"] == (out / agencykeys.SEAL_PUB).read_bytes().hex()


def test_the_signing_certificate_has_the_profile_c2pa_requires(agency):
    # Issue 12: the agency's certificate, "with the X.509 profile C2PA requires" of a claim
    # signer: v3, Ed25519, an end entity issued by the agency's CA (not self-signed), key
    # usage digitalSignature only, an accepted EKU and never anyExtendedKeyUsage, AKI and SKI.
    out, _ = agency
    ca, chain = _certs(out)
    leaf = chain[0]
    assert chain[1] == ca  # the chain: the signing certificate, then the CA that issued it
    assert leaf.version == x509.Version.v3 and ca.version == x509.Version.v3
    assert isinstance(leaf.public_key(), ed25519.Ed25519PublicKey)
    assert leaf.signature_algorithm_oid == x509.oid.SignatureAlgorithmOID.ED25519
    leaf.verify_directly_issued_by(ca)
    assert leaf.issuer == ca.subject != leaf.subject
    bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature
    assert not ku.value.key_cert_sign and not ku.value.crl_sign
    eku = list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert x509.ObjectIdentifier(agencykeys.EKU_DOCUMENT_SIGNING) in eku
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku
    assert ExtendedKeyUsageOID.OCSP_SIGNING not in eku
    assert ExtendedKeyUsageOID.TIME_STAMPING not in eku
    aki = leaf.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    # Every critical extension is one C2PA validators understand.
    understood = {ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE}
    assert {e.oid for e in leaf.extensions if e.critical} <= understood
    # The subject names the agency.
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == AGENCY
    assert leaf.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "CN"
    assert AGENCY in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    # Valid now, for years; inside the CA's own validity.
    now = datetime.datetime.now(datetime.UTC)
    assert leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc
    assert leaf.not_valid_after_utc - now > datetime.timedelta(days=5 * 365)
    assert ca.not_valid_before_utc <= leaf.not_valid_before_utc
    assert leaf.not_valid_after_utc <= ca.not_valid_after_utc


def test_the_ca_issues_end_entities_only(agency):
    out, _ = agency
    ca, _ = _certs(out)
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is True and bc.value.path_length == 0
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    ca.verify_directly_issued_by(ca)  # the root: self-signed, the trust anchor
    ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)


def test_the_private_keys_belong_to_their_certificates(agency):
    out, _ = agency
    ca, chain = _certs(out)
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    for key_file, cert in ((agencykeys.CA_KEY, ca), (agencykeys.SIGN_KEY, chain[0])):
        key = serialization.load_pem_private_key((out / key_file).read_bytes(), None)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        assert key.public_key().public_bytes(*raw) == cert.public_key().public_bytes(*raw)
    identity = agencykeys.load_signing(str(out))
    cert_key = chain[0].public_key()
    assert isinstance(cert_key, ed25519.Ed25519PublicKey)
    cert_key.verify(identity.sign(b"claim"), b"claim")


def test_the_seal_key_pair_opens_what_a_recorder_seals(agency):  # R-DEV-3
    out, _ = agency
    public = (out / agencykeys.SEAL_PUB).read_bytes()
    assert len(public) == 32  # the format sealcam record --seal-to takes
    key = agencykeys.load_seal_key(str(out / agencykeys.SEAL_KEY))
    assert key.public == public
    assert open_sealed(seal(b"one chunk of footage", public), key.private) == (
        b"one chunk of footage"
    )


def test_existing_keys_are_kept_unless_forced(agency, tmp_path):
    out = tmp_path / "keys"
    assert run("keygen", "--agency", AGENCY, "--out", str(out)).returncode == 0
    before = {n: (out / n).read_bytes() for n in agencykeys.FILES}
    r = run("keygen", "--agency", AGENCY, "--out", str(out))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--force" in r.stderr
    assert {n: (out / n).read_bytes() for n in agencykeys.FILES} == before
    r = run("keygen", "--agency", AGENCY, "--out", str(out), "--force")
    assert r.returncode == 0, r.stderr
    after = {n: (out / n).read_bytes() for n in agencykeys.FILES}
    assert all(after[n] != before[n] for n in agencykeys.FILES)
    assert stat.S_IMODE((out / agencykeys.SIGN_KEY).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "args, says",
    [
        (["--agency", "   "], "give the agency's name"),
        (["--agency", "x" * 65], "at most 64"),
        (["--agency", "A\nB"], "control character"),
        (["--agency", AGENCY, "--device-id", "SC-1"], "they make different keys"),
        (["--agency", AGENCY, "--country", "china"], "two capital letters"),
        ([], "--device-id ID (a device), --host-id ID"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, says):
    out = tmp_path / "keys"
    r = run("keygen", *args, "--out", str(out))
    assert r.returncode == 2, r.stdout
    assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


def test_an_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "keys").write_text("not a folder")
    r = run("keygen", "--agency", AGENCY, "--out", str(tmp_path / "keys"))
    assert r.returncode == 2 and "is not a directory" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_keys_that_are_not_the_agencys_are_refused_in_one_line(agency, tmp_path):
    out, _ = agency
    with pytest.raises(agencykeys.AgencyKeyProblem, match="32 raw bytes: that is an agency pub"):
        agencykeys.load_seal_key(str(out / agencykeys.SEAL_PUB))
    with pytest.raises(agencykeys.AgencyKeyProblem, match=r"another kind \(Ed25519PrivateKey\)"):
        agencykeys.load_seal_key(str(out / agencykeys.SIGN_KEY))
    (tmp_path / "junk.key").write_bytes(b"-----BEGIN NOTHING-----\n")
    with pytest.raises(agencykeys.AgencyKeyProblem, match="not an unencrypted PEM private key"):
        agencykeys.load_seal_key(str(tmp_path / "junk.key"))
    # A signing key from another run of keygen is not the certificate's.
    other = tmp_path / "other"
    agencykeys.write_agency(other, agencykeys.make_agency("Other"))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / agencykeys.SIGN_CERT).write_bytes((out / agencykeys.SIGN_CERT).read_bytes())
    (mixed / agencykeys.SIGN_KEY).write_bytes((other / agencykeys.SIGN_KEY).read_bytes())
    with pytest.raises(agencykeys.AgencyKeyProblem, match="is not the key of the certificate"):
        agencykeys.load_signing(str(mixed))
    with pytest.raises(agencykeys.AgencyKeyProblem, match="is not a directory"):
        agencykeys.load_signing(str(out / agencykeys.SIGN_KEY))
