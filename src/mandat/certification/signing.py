"""Electronic signature of the request document (procedure B, step 7).

Two ways, both PDF signatures that any PAdES validator checks:

- the filer's own certificate (a PKCS#12 file, for instance from a LuxTrust
  product): a PAdES baseline B-B signature in the filer's name;
- otherwise the platform seal signs the document, and the signature's name and
  reason record who was authenticated when it was signed (full name, username,
  user id) and when.

No timestamp authority is called (the platform runs without outbound network),
so the signing time is the signer's claim, bound into the signed attributes.

The seal's key and certificate are PEM files named by ``SEAL_KEY_FILE`` and
``SEAL_CERT_FILE``. When those are unset (development, tests), a self-signed seal
is made once in ``DATA_DIR / "seal"`` and reused.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.certification.models import SignatureMethod
from mandat.core import time
from mandat.core.errors import ApplicationError

if TYPE_CHECKING:
    from pyhanko.sign.signers import SimpleSigner

    from mandat.certification.services import SignerCertificate

SIGNATURE_FIELD = "Signature1"
SEAL_COMMON_NAME = "mandat platform seal (development)"


@dataclass(frozen=True)
class SignedDocument:
    pdf: bytes
    method: str
    signer_name: str


def _invalid_certificate() -> ApplicationError:
    return ApplicationError(
        _(
            "This certificate file cannot be used: check the passphrase, and that the file "
            "holds your certificate and its private key (PKCS#12, .p12 or .pfx)."
        ),
        code="certificate_invalid",
        field="certificate",
    )


def _pkcs12_signer(certificate: SignerCertificate) -> tuple[SimpleSigner, x509.Certificate]:
    """The filer's signer, or ``certificate_invalid`` for anything that cannot sign now."""
    from pyhanko.sign.signers import SimpleSigner

    try:
        key, cert, _chain = pkcs12.load_key_and_certificates(
            certificate.pkcs12, certificate.passphrase or None
        )
    except (ValueError, TypeError):
        raise _invalid_certificate() from None
    if key is None or cert is None:
        raise _invalid_certificate()
    moment = time.now()
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise ApplicationError(
            _("This certificate is not valid today (it has expired or is not valid yet)."),
            code="certificate_invalid",
            field="certificate",
        )
    try:
        signer = SimpleSigner.load_pkcs12_data(
            certificate.pkcs12, other_certs=(), passphrase=certificate.passphrase or None
        )
    except ValueError:
        raise _invalid_certificate() from None
    return signer, cert


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode()


def _seal_paths() -> tuple[Path, Path]:
    if settings.SEAL_KEY_FILE and settings.SEAL_CERT_FILE:
        return Path(settings.SEAL_KEY_FILE), Path(settings.SEAL_CERT_FILE)
    folder = Path(settings.DATA_DIR) / "seal"
    if not (folder / "cert.pem").exists():
        _make_development_seal(folder)
    return folder / "key.pem", folder / "cert.pem"


def _make_development_seal(folder: Path) -> None:
    """A self-signed seal, written whole into a fresh directory that is then renamed into
    place, so two processes starting at once never pair one's key with the other's
    certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SEAL_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mandat"),
        ]
    )
    start = time.now() - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".seal-", dir=folder.parent))
    (staging / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(staging / "key.pem", 0o600)
    (staging / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    try:
        os.rename(staging, folder)
    except OSError:  # another process made the seal first: keep theirs
        for child in staging.iterdir():
            child.unlink()
        staging.rmdir()


@functools.cache
def _seal_signer(key_file: Path, cert_file: Path) -> tuple[SimpleSigner, str]:
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    # The certificate file may carry the seal's chain after the seal itself: it is embedded.
    pem = cert_file.read_bytes()
    seal, *chain = load_certs_from_pemder_data(pem)
    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # untyped upstream
    registry.register_multiple(chain)
    signer = SimpleSigner(
        signing_cert=seal,
        signing_key=load_private_key_from_pemder_data(key_file.read_bytes(), passphrase=None),
        cert_registry=registry,
    )
    return signer, _common_name(x509.load_pem_x509_certificate(pem))


def seal_certificate_pem() -> bytes:
    """The platform seal's certificate, for whoever validates a sealed document."""
    return _seal_paths()[1].read_bytes()


def _sign(pdf: bytes, signer: SimpleSigner, *, name: str, reason: str, location: str) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        name=name,
        reason=reason,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    output = signers.sign_pdf(writer, metadata, signer=signer)
    return bytes(output.getvalue())


def _person(user: User) -> str:
    return user.get_full_name() or user.get_username()


def sign_request_pdf(
    pdf: bytes, *, signer: User, certificate: SignerCertificate | None
) -> SignedDocument:
    """Sign the request document with the filer's certificate, or seal it for them."""
    if certificate is not None:
        pkcs12_signer, cert = _pkcs12_signer(certificate)
        holder = _common_name(cert)
        signed = _sign(
            pdf,
            pkcs12_signer,
            name=holder,
            reason=gettext("Certification request signed by %(name)s") % {"name": holder},
            location="mandat",
        )
        return SignedDocument(pdf=signed, method=SignatureMethod.PADES, signer_name=holder)
    seal, seal_name = _seal_signer(*_seal_paths())
    person = _person(signer)
    reason = gettext(
        "Sealed by %(seal)s for the authenticated signer %(name)s "
        "(username %(username)s, user id %(id)s) at %(time)s"
    ) % {
        "seal": seal_name,
        "name": person,
        "username": signer.get_username(),
        "id": signer.pk,
        "time": time.utc_iso(time.now()),
    }
    signed = _sign(pdf, seal, name=person, reason=reason, location="mandat")
    return SignedDocument(pdf=signed, method=SignatureMethod.SEAL, signer_name=person)
