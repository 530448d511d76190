"""The agency's keys: the certificate that signs Content Credentials on exports, and the
X25519 key pair that recorders seal footage to (R-DEV-3).

``sealcam keygen --agency NAME --out DIR`` writes, in DIR:

    agency-ca.pem       the agency's own certification authority (a self-signed root): the
                        trust anchor a court, prosecutor or reader configures to trust the
                        agency's exports. Public.
    agency-ca.key       its Ed25519 private key (PKCS#8 PEM, mode 0600): it issues the next
                        signing certificate when this one expires. Keep it offline.
    agency-sign.pem     the signing certificate chain (PEM): the end-entity certificate that
                        signs the C2PA manifests, then the CA certificate that issued it.
    agency-sign.key     the signing certificate's Ed25519 private key (PKCS#8 PEM, 0600):
                        ``sealcam export --sign-with DIR`` uses it.
    agency-seal.pub     the X25519 public key recorders seal each chunk to: 32 raw bytes, the
                        format ``sealcam record --seal-to`` takes.
    agency-seal.key     its private half (X25519, PKCS#8 PEM, 0600): ``sealcam export
                        --agency-key`` opens sealed footage with it. PEM, not raw bytes, so
                        that it can never be mistaken for the 32-byte public half.

The certificates follow the profile C2PA requires of a claim signer (C2PA 2.x, "Certificate
Profile", as c2pa-rs checks it): X.509 v3, Ed25519 signatures, no unique ids; the signing
certificate is an end entity (basicConstraints cA false), issued by the CA rather than
self-signed, with keyUsage digitalSignature (critical) and no keyCertSign, an extended key
usage C2PA accepts (id-kp-documentSigning, RFC 9336, and id-kp-emailProtection, which every
C2PA validator accepts without configuration; never anyExtendedKeyUsage), an authority key
identifier and a subject key identifier. The CA has basicConstraints cA true with path
length 0 (it issues end entities only) and keyUsage keyCertSign and cRLSign. Both subjects
name the agency (C, O, CN).

Exports carry no trusted time stamp (the evidence room works offline), so a reader checks
the signing certificate's validity against the present: the signing certificate is made
for ten years, the CA for twenty.
"""

import datetime
import hashlib
from pathlib import Path

from host import i18n
from host.errors import Unusable
from host.files import read_regular, said_what, write_atomic

CA_CERT = "agency-ca.pem"
CA_KEY = "agency-ca.key"
SIGN_CERT = "agency-sign.pem"
SIGN_KEY = "agency-sign.key"
SEAL_PUB = "agency-seal.pub"
SEAL_KEY = "agency-seal.key"
FILES = (CA_CERT, CA_KEY, SIGN_CERT, SIGN_KEY, SEAL_PUB, SEAL_KEY)
PRIVATE = (CA_KEY, SIGN_KEY, SEAL_KEY)

# Extended key usages (OIDs) of the signing certificate.
EKU_DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"  # id-kp-documentSigning (RFC 9336)
EKU_EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4"  # id-kp-emailProtection
CA_YEARS = 20
SIGN_YEARS = 10
# Certificates start an hour back, so a reader whose clock runs a little behind still
# finds them valid at once.
BACKDATE = datetime.timedelta(hours=1)
NAME_LIMIT = 64  # ub-organization-name (RFC 5280 appendix A)
PEM_LIMIT = 64 * 1024  # a key or a two-certificate chain is about 2 kB
SEAL_KEY_SIZE = 32


class AgencyKeyProblem(Unusable):
    """An agency key or certificate file cannot be used; the message says which and why."""


def check_name(name: str) -> str:
    """The agency's name as certificates hold it (the organisation); AgencyKeyProblem if
    it cannot be one."""
    clean = name.strip()
    if not clean:
        # The example is a name as an agency writes it, in Chinese in both languages.
        raise AgencyKeyProblem(i18n.text("agency.no_name", example="'某市公安局'"))
    if len(clean) > NAME_LIMIT:
        raise AgencyKeyProblem(i18n.text("agency.name_long", length=len(clean), limit=NAME_LIMIT))
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in clean):
        raise AgencyKeyProblem(i18n.text("agency.name_control", name=repr(name)))
    return clean


def _years(start: datetime.datetime, years: int) -> datetime.datetime:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def make_agency(name: str, country: str = "CN", now: "datetime.datetime | None" = None) -> dict:
    """Every agency file (FILES) as ``{file name: bytes}``, freshly made for ``name``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
    from cryptography.x509.oid import NameOID, ObjectIdentifier

    name = check_name(name)
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise AgencyKeyProblem(i18n.text("agency.country", country=repr(country)))
    start = (now or datetime.datetime.now(datetime.UTC)) - BACKDATE

    def subject(common: str) -> "x509.Name":
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.COMMON_NAME, common[:NAME_LIMIT]),
            ]
        )

    def usage(sign: bool, certs: bool) -> "x509.KeyUsage":
        return x509.KeyUsage(
            digital_signature=sign, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=certs,
            crl_sign=certs, encipher_only=False, decipher_only=False,
        )  # fmt: skip

    ca_key = ed25519.Ed25519PrivateKey.generate()
    ca_name = subject("%s evidence CA" % name)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(_years(start, CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False, certs=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, None)
    )
    sign_key = ed25519.Ed25519PrivateKey.generate()
    sign = (
        x509.CertificateBuilder()
        .subject_name(subject("%s evidence export signing" % name))
        .issuer_name(ca_name)
        .public_key(sign_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(min(_years(start, SIGN_YEARS), ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True, certs=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ObjectIdentifier(EKU_DOCUMENT_SIGNING), ObjectIdentifier(EKU_EMAIL_PROTECTION)]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(sign_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, None)
    )
    seal_key = x25519.X25519PrivateKey.generate()
    pem = serialization.Encoding.PEM

    def private(key: "ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey") -> bytes:
        return key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    return {
        CA_CERT: ca.public_bytes(pem),
        CA_KEY: private(ca_key),
        SIGN_CERT: sign.public_bytes(pem) + ca.public_bytes(pem),
        SIGN_KEY: private(sign_key),
        SEAL_PUB: seal_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        ),
        SEAL_KEY: private(seal_key),
    }


def write_agency(out: Path, files: dict, force: bool = False) -> list:
    """Write the agency ``files`` into ``out`` (each atomically; private keys 0600); the
    paths written. AgencyKeyProblem, before anything is written, when one exists and not
    ``force``."""
    if out.exists() and not out.is_dir():
        raise AgencyKeyProblem(i18n.text("agency.out_not_dir", path=out))
    there = [out / n for n in files if (out / n).exists()]
    if there and not force:
        raise AgencyKeyProblem(
            i18n.text("agency.exists", path=out, files=", ".join(p.name for p in there))
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        # Private keys first: a public half on disk must never lack its private half.
        for n in sorted(files, key=lambda n: n not in PRIVATE):
            path = out / n
            write_atomic(path, files[n], mode=0o600 if n in PRIVATE else 0o644)
            if n in PRIVATE:
                path.chmod(0o600)  # a file --force replaced keeps no wider mode
            written.append(path)
    except OSError as exc:
        raise AgencyKeyProblem(i18n.text("agency.cannot_write", path=out, why=exc)) from None
    return written


# --- reading them back ----------------------------------------------------------------------


def fingerprint(public: bytes) -> str:
    """A key's short name, as ``sealcam keygen`` prints device keys: its first 8 bytes, hex;
    for a certificate, the first 8 bytes of the SHA-256 of its DER."""
    return public[:8].hex()


def cert_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()[:16]


def _pem_private(path: str, what: str, kind: type) -> object:
    from cryptography.hazmat.primitives import serialization

    data = read_regular(path, what, PEM_LIMIT)
    if len(data) == SEAL_KEY_SIZE and b"-----" not in data:
        raise AgencyKeyProblem(i18n.text("agency.raw_public", path=path, key=SEAL_KEY))
    try:
        key = serialization.load_pem_private_key(data, None)
    except (ValueError, TypeError):
        raise AgencyKeyProblem(
            i18n.text("agency.not_pem_key", path=path, what=said_what(what))
        ) from None
    if not isinstance(key, kind):
        raise AgencyKeyProblem(
            i18n.text(
                "agency.other_kind",
                path=path,
                kind=type(key).__name__.lstrip("_"),
                what=said_what(what),
            )
        )
    return key


class SealKey:
    """The agency's X25519 private key, which opens footage sealed to it (R-DEV-3)."""

    def __init__(self, private: bytes, public: bytes, path: str = "") -> None:
        self.private = private
        self.public = public
        self.path = path

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)


def load_seal_key(path: str) -> SealKey:
    """The agency seal key (``agency-seal.key``) at ``path``; AgencyKeyProblem if it is not."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519

    key = _pem_private(path, i18n.N_("file.what.agency_seal"), x25519.X25519PrivateKey)
    assert isinstance(key, x25519.X25519PrivateKey)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return SealKey(raw, public, path)


class SigningIdentity:
    """The agency's signing certificate chain and its private key, from a keygen folder."""

    def __init__(self, chain_pem: bytes, key: object, folder: str) -> None:
        from cryptography import x509

        self.chain_pem = chain_pem
        self.key = key
        self.folder = folder
        self.certs = x509.load_pem_x509_certificates(chain_pem)
        self.subject = self.certs[0].subject.rfc4514_string()
        self.issuer = self.certs[0].issuer.rfc4514_string()

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature of ``data`` with the signing certificate's key."""
        from cryptography.hazmat.primitives.asymmetric import ed25519

        assert isinstance(self.key, ed25519.Ed25519PrivateKey)
        return self.key.sign(bytes(data))

    @property
    def fingerprint(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return cert_fingerprint(self.certs[0].public_bytes(serialization.Encoding.DER))

    @property
    def expires(self) -> datetime.datetime:
        return self.certs[0].not_valid_after_utc


def load_signing(folder: str) -> SigningIdentity:
    """The signing identity in ``folder`` (``agency-sign.pem`` and ``agency-sign.key``, as
    ``sealcam keygen --agency`` writes them), checked: the key is the certificate's, and the
    certificate is valid today. AgencyKeyProblem in one line otherwise."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    root = Path(folder)
    if not root.is_dir():
        raise AgencyKeyProblem(
            i18n.text("agency.not_folder", path=folder, cert=SIGN_CERT, key=SIGN_KEY)
        )
    chain_pem = read_regular(str(root / SIGN_CERT), "agency signing certificate", PEM_LIMIT)
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise AgencyKeyProblem(i18n.text("agency.not_chain", path=root / SIGN_CERT)) from None
    key = _pem_private(str(root / SIGN_KEY), "agency signing key", ed25519.Ed25519PrivateKey)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    leaf = certs[0].public_key()
    if not isinstance(leaf, ed25519.Ed25519PublicKey) or leaf.public_bytes(
        *raw
    ) != key.public_key().public_bytes(*raw):
        raise AgencyKeyProblem(
            i18n.text("agency.key_not_cert", key=root / SIGN_KEY, cert=root / SIGN_CERT)
        )
    now = datetime.datetime.now(datetime.UTC)
    leaf_cert = certs[0]
    if not leaf_cert.not_valid_before_utc <= now <= leaf_cert.not_valid_after_utc:
        raise AgencyKeyProblem(
            i18n.text(
                "agency.not_valid_now",
                path=root / SIGN_CERT,
                start=leaf_cert.not_valid_before_utc,
                end=leaf_cert.not_valid_after_utc,
            )
        )
    return SigningIdentity(chain_pem, key, folder)


def load_anchor(path: str) -> bytes:
    """The PEM of the trust anchor at ``path``: an agency CA certificate file
    (``agency-ca.pem``) or the keygen folder that holds one."""
    from cryptography import x509

    p = Path(path)
    if p.is_dir():
        p = p / CA_CERT
    data = read_regular(str(p), "agency CA certificate", PEM_LIMIT)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise AgencyKeyProblem(i18n.text("agency.not_ca", path=p, ca=CA_CERT)) from None
    if not certs:
        raise AgencyKeyProblem(i18n.text("agency.no_cert", path=p))
    return data
