from __future__ import annotations

import datetime as dt
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.certification import signing
from mandat.certification.models import RequestStatus, SignatureMethod
from mandat.certification.services import SignerCertificate, request_sign
from mandat.core.errors import ApplicationError
from mandat.documents import rendering
from tests import factories
from tests.documents import builders

pytestmark = pytest.mark.django_db

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


@pytest.fixture
def signer() -> User:
    return factories.user("aschmit", first_name="Anne", last_name="Schmit")


@pytest.fixture
def summary(signer: User) -> bytes:
    filed = builders.filed_request(admin=signer, sign=False)
    return rendering.render_request_summary(filed.request)


def _key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Test Qualified CA"))
        .issuer_name(_name("Test Qualified CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_p12(
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    *,
    common_name: str = "Anne Schmit",
    passphrase: bytes = PASSPHRASE,
    valid_days: tuple[int, int] = (-1, 365),
) -> bytes:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=valid_days[0]))
        .not_valid_after(now + dt.timedelta(days=valid_days[1]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"anne", key, cert, [ca_cert], serialization.BestAvailableEncryption(passphrase)
    )


def load_cert_from_pemder_bytes(pem: bytes):  # type: ignore[no-untyped-def]
    from asn1crypto import pem as asn1pem
    from asn1crypto import x509 as asn1x509

    _type, _headers, der = asn1pem.unarmor(pem)
    return asn1x509.Certificate.load(der)


def validate(pdf: bytes, *, trust: bytes) -> PdfSignatureStatus:
    """Validate the document's only signature, trusting ``trust`` (a PEM certificate)."""
    reader = PdfFileReader(BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    context = ValidationContext(trust_roots=[load_cert_from_pemder_bytes(trust)])
    return validate_pdf_signature(reader.embedded_signatures[0], context)


def signature_dictionary(pdf: bytes) -> dict[str, str]:
    sig = PdfFileReader(BytesIO(pdf)).embedded_signatures[0].sig_object
    return {key: str(sig.get(key)) for key in ("/Name", "/Reason", "/SubFilter", "/Location")}


def tampered(pdf: bytes) -> bytes:
    """The PDF with one byte changed inside the first content stream it signed."""
    signed_up_to = PdfFileReader(BytesIO(pdf)).embedded_signatures[0].byte_range[1]
    at = pdf.index(b"stream", 200) + 40
    assert at < signed_up_to
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def test_the_platform_seal_signs_for_the_authenticated_signer(signer: User, summary: bytes) -> None:
    signed = signing.sign_request_pdf(summary, signer=signer, certificate=None)

    assert signed.method == SignatureMethod.SEAL == "seal"
    assert signed.signer_name == "Anne Schmit"
    assert signed.pdf.startswith(summary), "the signature is an incremental update"
    status = validate(signed.pdf, trust=signing.seal_certificate_pem())
    assert status.intact and status.valid and status.trusted and status.bottom_line
    sig = signature_dictionary(signed.pdf)
    assert sig["/Name"] == "Anne Schmit"
    assert "aschmit" in sig["/Reason"] and f" {signer.pk}" in sig["/Reason"]
    assert "Anne Schmit" in sig["/Reason"]
    assert sig["/SubFilter"] == "/ETSI.CAdES.detached"
    assert status.signer_reported_dt is not None
    assert abs(status.signer_reported_dt - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_one_changed_byte_breaks_the_seal(signer: User, summary: bytes) -> None:
    signed = signing.sign_request_pdf(summary, signer=signer, certificate=None).pdf
    status = validate(tampered(signed), trust=signing.seal_certificate_pem())
    assert not status.intact
    assert not status.bottom_line


def test_a_seal_from_another_key_is_not_trusted(signer: User, summary: bytes) -> None:
    signed = signing.sign_request_pdf(summary, signer=signer, certificate=None).pdf
    _key, stranger = make_ca()
    status = validate(signed, trust=stranger.public_bytes(serialization.Encoding.PEM))
    assert status.intact
    assert not status.trusted and not status.bottom_line


def test_the_development_seal_is_made_once_and_reused(
    signer: User, summary: bytes, tmp_path: Path
) -> None:
    signing.sign_request_pdf(summary, signer=signer, certificate=None)
    first = (tmp_path / "seal" / "cert.pem").read_bytes()
    assert (tmp_path / "seal" / "key.pem").stat().st_mode & 0o077 == 0
    second = signing.sign_request_pdf(summary, signer=signer, certificate=None).pdf
    assert (tmp_path / "seal" / "cert.pem").read_bytes() == first
    assert validate(second, trust=first).bottom_line


def test_a_configured_seal_is_used(
    signer: User, summary: bytes, settings: Settings, tmp_path: Path
) -> None:
    ca = make_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("CCSS e-seal"))
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(_key_usage(), critical=True)
        .sign(ca[0], hashes.SHA256())
    )
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    chain = [
        cert.public_bytes(serialization.Encoding.PEM),
        ca[1].public_bytes(serialization.Encoding.PEM),
    ]
    (tmp_path / "c.pem").write_bytes(b"".join(chain))
    settings.SEAL_KEY_FILE, settings.SEAL_CERT_FILE = (
        str(tmp_path / "k.pem"),
        str(tmp_path / "c.pem"),
    )

    signed = signing.sign_request_pdf(summary, signer=signer, certificate=None).pdf

    assert not (tmp_path / "seal").exists()
    status = validate(signed, trust=ca[1].public_bytes(serialization.Encoding.PEM))
    assert status.bottom_line
    assert status.signing_cert.subject.native["common_name"] == "CCSS e-seal"
    assert "CCSS e-seal" in signature_dictionary(signed)["/Reason"]
    embedded = PdfFileReader(BytesIO(signed)).embedded_signatures[0].signed_data["certificates"]
    assert len(embedded) == 2, "the seal's chain travels with the signature"


def test_the_signers_own_certificate_makes_a_pades_signature(signer: User, summary: bytes) -> None:
    ca = make_ca()
    certificate = SignerCertificate(pkcs12=make_p12(ca), passphrase=PASSPHRASE)

    signed = signing.sign_request_pdf(summary, signer=signer, certificate=certificate)

    assert signed.method == SignatureMethod.PADES == "pades"
    assert signed.signer_name == "Anne Schmit"
    status = validate(signed.pdf, trust=ca[1].public_bytes(serialization.Encoding.PEM))
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.signing_cert.subject.native["common_name"] == "Anne Schmit"
    assert signature_dictionary(signed.pdf)["/SubFilter"] == "/ETSI.CAdES.detached"
    # PAdES baseline B-B: the signed attributes carry the ESS signing-certificate-v2.
    signed_data = PdfFileReader(BytesIO(signed.pdf)).embedded_signatures[0].signed_data
    attributes = signed_data["signer_infos"][0]["signed_attrs"].native
    assert any(a["type"] == "signing_certificate_v2" for a in attributes)

    broken = validate(tampered(signed.pdf), trust=ca[1].public_bytes(serialization.Encoding.PEM))
    assert not broken.intact and not broken.bottom_line


@pytest.mark.parametrize(
    "make",
    [
        lambda ca: SignerCertificate(pkcs12=make_p12(ca), passphrase=b"wrong passphrase"),
        lambda ca: SignerCertificate(pkcs12=make_p12(ca), passphrase=b""),
        lambda ca: SignerCertificate(pkcs12=b"not a PKCS#12 file", passphrase=PASSPHRASE),
        lambda ca: SignerCertificate(
            pkcs12=make_p12(ca, valid_days=(-30, -1)), passphrase=PASSPHRASE
        ),
        lambda ca: SignerCertificate(
            pkcs12=pkcs12.serialize_key_and_certificates(
                b"ca only", None, ca[1], None, serialization.BestAvailableEncryption(PASSPHRASE)
            ),
            passphrase=PASSPHRASE,
        ),
    ],
    ids=["wrong-passphrase", "no-passphrase", "not-pkcs12", "expired", "no-private-key"],
)
def test_an_unusable_certificate_is_refused(signer: User, summary: bytes, make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApplicationError) as caught:
        signing.sign_request_pdf(summary, signer=signer, certificate=make(make_ca()))
    assert caught.value.code == "certificate_invalid"
    assert caught.value.field == "certificate"
    assert str(caught.value)


def test_the_refusal_reads_in_the_active_language(signer: User, summary: bytes) -> None:
    from django.utils import translation

    certificate = SignerCertificate(pkcs12=b"garbage", passphrase=b"x")
    messages = {}
    for language in ("fr", "de", "en"):
        with pytest.raises(ApplicationError) as caught:
            signing.sign_request_pdf(summary, signer=signer, certificate=certificate)
        with translation.override(language):
            messages[language] = str(caught.value)
    assert messages["fr"].startswith("Ce fichier de certificat ne peut pas être utilisé")
    assert messages["de"].startswith("Diese Zertifikatsdatei kann nicht verwendet werden")
    assert messages["en"].startswith("This certificate file cannot be used")


def test_request_sign_keeps_the_pades_signed_summary(signer: User) -> None:
    ca = make_ca()
    filed = builders.filed_request(admin=signer, sign=False)
    request = request_sign(
        by=signer,
        request=filed.request,
        certificate=SignerCertificate(pkcs12=make_p12(ca), passphrase=PASSPHRASE),
    )
    assert request.status == RequestStatus.SIGNED
    assert request.signature_method == SignatureMethod.PADES
    pdf = bytes(request.signed_pdf or b"")
    assert validate(pdf, trust=ca[1].public_bytes(serialization.Encoding.PEM)).bottom_line
    assert filed.employer.employer_number in builders.pdf_text(pdf)


def test_a_wrong_passphrase_leaves_the_request_unsigned(signer: User) -> None:
    filed = builders.filed_request(admin=signer, sign=False)
    with factories.refused("certificate_invalid"):
        request_sign(
            by=signer,
            request=filed.request,
            certificate=SignerCertificate(pkcs12=make_p12(make_ca()), passphrase=b"nope"),
        )
    filed.request.refresh_from_db()
    assert filed.request.status == RequestStatus.DRAFT
    assert filed.request.signed_pdf is None
