"""Issuing at scale: codes and letters for 1,000 transmitted requests, then one print batch.

    .venv/bin/python bench/letters.py [--requests 1000] [--sample 40]

Runs on a fresh SQLite database in a temporary MANDAT_DATA_DIR (or on PostgreSQL when
DATABASE_URL is set). The world is bulk-loaded (employers with their spaces and
transmitted requests, every third with two delegated domains); what is timed goes
through the real services: ``issuing.request_issue`` for each request (codes, both
letters rendered with WeasyPrint, encrypted, stored, audited), then
``documents.batch_create`` and the batch PDF and manifest.

The peer, measured in the same run on a sample of the same letters, is WeasyPrint
alone: the same HTML and stylesheet laid out the way its documentation shows,
``HTML(string=...).write_pdf(stylesheets=[CSS(...)], font_config=...)``, with
nothing else around it. The ratio says how much the whole issuing path costs
per letter beyond the PDF engine itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import django

BATCH = 500
REPRESENTATIVES = 10


def setup(data_dir: str) -> str:
    os.environ["MANDAT_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mandat.settings.base")
    os.environ.setdefault("MANDAT_DEBUG", "0")
    os.environ.setdefault("MANDAT_LOG_LEVEL", "WARNING")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return connection.vendor


def load(requests: int) -> list[int]:
    """Employers, their spaces, and one transmitted request each; returns the request ids."""
    from django.db import transaction

    from mandat.accounts.models import User
    from mandat.catalog.models import Domain, Institution, Level
    from mandat.certification.models import (
        CertificationRequest,
        Delegation,
        RequestStatus,
        SignatureMethod,
    )
    from mandat.core import time as clock
    from mandat.registry.identifiers import Scheme
    from mandat.registry.models import Employer, Organisation, Representative
    from mandat.spaces.models import Space, SpaceKind

    now = clock.now()
    with transaction.atomic():
        ccss = Institution.objects.get(code="CCSS")
        domains = {d.code: d for d in Domain.objects.filter(institution=ccss)}
        filer = User.objects.create_user("bench-filer", "filer@bench.invalid", None)
        User.objects.create_user("bench-agent", "agent@bench.invalid", None, is_agent=True)
        organisations = Organisation.objects.bulk_create(
            (
                Organisation(
                    name=f"Bench Employer {i} S.à r.l.",
                    identifier_scheme=Scheme.LU_NATIONAL,
                    identifier=f"{20000000000 + i}",
                )
                for i in range(requests + REPRESENTATIVES)
            ),
            batch_size=BATCH,
        )
        representatives = Representative.objects.bulk_create(
            Representative(
                organisation=org,
                registration_number=f"{2020000000000 + i}",
                denomination=f"Fiduciaire Bench {i} S.A.",
                address_line1="2, rue du Fiduciaire",
                postcode="2000",
                city="Luxembourg",
            )
            for i, org in enumerate(organisations[requests:])
        )
        employers = Employer.objects.bulk_create(
            (
                Employer(
                    organisation=org,
                    institution=ccss,
                    employer_number=org.identifier,
                    name=org.name,
                    language=("fr", "de", "en")[i % 3],
                    address_line1=f"{i % 90 + 1}, rue du Banc d'essai",
                    postcode=f"{1000 + (i * 37) % 8999}",
                    city=("Luxembourg", "Esch-sur-Alzette", "Differdange", "Ettelbruck")[i % 4],
                )
                for i, org in enumerate(organisations[:requests])
            ),
            batch_size=BATCH,
        )
        spaces = Space.objects.bulk_create(
            (
                Space(kind=SpaceKind.PROFESSIONAL, organisation=e.organisation, name=e.name)
                for e in employers
            ),
            batch_size=BATCH,
        )
        rows = CertificationRequest.objects.bulk_create(
            (
                CertificationRequest(
                    space=space,
                    institution=ccss,
                    employer=employer,
                    created_by=filer,
                    status=RequestStatus.TRANSMITTED,
                    consent_at=now,
                    filer_name="Bench Filer",
                    filer_email="filer@bench.invalid",
                    filer_phone="+352 000 000",
                    employer_number_typed=employer.employer_number,
                    employer_name_typed=employer.name,
                    has_representative=i % 3 == 0,
                    same_representative=True if i % 3 == 0 else None,
                    security_code_hash="bench-not-a-hash",
                    signature_method=SignatureMethod.SEAL,
                    signed_at=now,
                    signed_by=filer,
                    transmitted_at=now,
                )
                for i, (employer, space) in enumerate(zip(employers, spaces, strict=True))
            ),
            batch_size=BATCH,
        )
        Delegation.objects.bulk_create(
            (
                Delegation(
                    request=row,
                    domain=domains[code],
                    representative=representatives[i % REPRESENTATIVES],
                    registration_number_typed=representatives[
                        i % REPRESENTATIVES
                    ].registration_number,
                    name_typed=representatives[i % REPRESENTATIVES].denomination,
                    level=level,
                )
                for i, row in enumerate(rows)
                if i % 3 == 0
                for code, level in (("AFFILIATIONS", Level.ACT), ("BILLING", Level.CONSULT))
            ),
            batch_size=BATCH,
        )
    return [row.pk for row in rows]


def issue_all(request_ids: list[int]) -> dict[str, Any]:
    from mandat.accounts.models import User
    from mandat.certification.issuing import request_issue
    from mandat.certification.models import CertificationRequest
    from mandat.documents.models import Letter

    agent = User.objects.get(username="bench-agent")
    per_request = []
    start = time.perf_counter()
    for request_id in request_ids:
        began = time.perf_counter()
        request_issue(by=agent, request=CertificationRequest(pk=request_id))
        per_request.append(time.perf_counter() - began)
    seconds = time.perf_counter() - start
    letters = Letter.objects.count()
    return {
        "requests": len(request_ids),
        "letters": letters,
        "pages": sum(Letter.objects.values_list("pages", flat=True)),
        "seconds": seconds,
        "per_request_ms": 1000 * seconds / len(request_ids),
        "per_request_median_ms": 1000 * statistics.median(per_request),
        "per_letter_ms": 1000 * seconds / letters,
        "letters_per_second": letters / seconds,
    }


def sample_html(request_ids: list[int], sample: int) -> list[str]:
    """The HTML of ``sample`` letters like the ones issued (fresh codes, same employers)."""
    from mandat.catalog.models import Domain
    from mandat.certification.issuing import reference
    from mandat.certification.models import CertificationRequest
    from mandat.core import codes
    from mandat.core import time as clock
    from mandat.documents import rendering
    from mandat.documents.content import CodeLetter, CodeLine, Recipient

    def code() -> str:
        return codes.display(codes.generate())

    domains = list(Domain.objects.filter(institution__code="CCSS").order_by("position"))
    pages: list[str] = []
    step = max(1, len(request_ids) // sample)
    for request_id in request_ids[::step]:
        request = CertificationRequest.objects.select_related("employer").get(pk=request_id)
        employer = request.employer
        assert employer is not None
        recipient = Recipient(
            employer.name,
            employer.address_line1,
            employer.address_line2,
            employer.postcode,
            employer.city,
            employer.country,
        )
        letters = [
            (
                "holder_codes",
                tuple(
                    CodeLine(domain=d, access_code=code(), revocation_code=code()) for d in domains
                ),
            )
        ]
        delegated = list(request.delegations.select_related("domain", "representative"))
        if delegated:
            letters.append(
                (
                    "representative_codes",
                    tuple(
                        CodeLine(
                            domain=d.domain,
                            access_code=code(),
                            level=d.level,
                            representative=str(d.representative),
                        )
                        for d in delegated
                    ),
                )
            )
        for kind, lines in letters:
            content = CodeLetter(
                kind=kind,
                language=employer.language,
                reference=reference(request),
                employer_name=employer.name,
                employer_number=employer.employer_number,
                recipient=recipient,
                issued_at=clock.now(),
                activation_deadline=clock.now(),
                lines=lines,
            )
            pages.append(rendering.letter_html(content))
        if len(pages) >= sample:
            break
    return pages[:sample]


def time_each(render: Callable[[str], object], htmls: list[str]) -> float:
    render(htmls[0])  # warm-up: imports, font loading
    start = time.perf_counter()
    for html in htmls:
        render(html)
    return 1000 * (time.perf_counter() - start) / len(htmls)


def weasyprint_alone(html: str) -> bytes:
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from mandat.documents.rendering import STYLESHEET

    fonts = FontConfiguration()
    return bytes(
        HTML(string=html, base_url=str(STYLESHEET.parent)).write_pdf(
            stylesheets=[CSS(filename=str(STYLESHEET), font_config=fonts)], font_config=fonts
        )
    )


def print_batch() -> dict[str, Any]:
    from mandat.accounts.models import User
    from mandat.documents import batch as printing
    from mandat.documents.services import batch_create

    agent = User.objects.get(username="bench-agent")
    start = time.perf_counter()
    batch = batch_create(by=agent)
    created = time.perf_counter()
    pdf = printing.batch_pdf(batch)
    merged = time.perf_counter()
    manifest = printing.batch_manifest_csv(batch)
    done = time.perf_counter()
    return {
        "letters": batch.letter_count,
        "pdf_mb": len(pdf) / 1e6,
        "manifest_rows": manifest.count("\n") - 1,
        "create_seconds": created - start,
        "pdf_seconds": merged - created,
        "manifest_seconds": done - merged,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=40, help="letters for the peer comparison")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="mandat-bench-letters-")
    try:
        vendor = setup(data_dir)
        load_average = os.getloadavg()[0]
        print(
            f"letters: {args.requests} requests on {vendor}, {os.cpu_count()} CPUs, "
            f"load average {load_average:.1f} at start",
            flush=True,
        )
        ids = load(args.requests)
        issued = issue_all(ids)
        print(
            f"  issue (codes + letters, full path): {issued['seconds']:.1f} s for "
            f"{issued['requests']} requests = {issued['per_request_ms']:.0f} ms/request "
            f"(median {issued['per_request_median_ms']:.0f}), {issued['letters']} letters, "
            f"{issued['pages']} pages, {issued['letters_per_second']:.2f} letters/s",
            flush=True,
        )
        from mandat.documents.rendering import html_to_pdf

        htmls = sample_html(ids, args.sample)
        alone_ms = time_each(weasyprint_alone, htmls)
        ours_ms = time_each(html_to_pdf, htmls)
        print(
            f"  peer, WeasyPrint alone on {len(htmls)} of the same letters: "
            f"{alone_ms:.0f} ms/letter; our rendering only (stylesheet parsed once): "
            f"{ours_ms:.0f} ms/letter",
            flush=True,
        )
        ratio = issued["per_letter_ms"] / alone_ms
        print(
            f"  ratio full issue path / WeasyPrint alone, per letter: {ratio:.2f}x "
            f"({issued['per_letter_ms']:.0f} ms vs {alone_ms:.0f} ms)",
            flush=True,
        )
        batch = print_batch()
        print(
            f"  print batch of {batch['letters']} letters: create {batch['create_seconds']:.2f} s, "
            f"one PDF {batch['pdf_seconds']:.1f} s ({batch['pdf_mb']:.1f} MB), "
            f"manifest {batch['manifest_seconds']:.2f} s ({batch['manifest_rows']} rows)",
            flush=True,
        )
        result = {
            "vendor": vendor,
            "cpus": os.cpu_count(),
            "load_average_at_start": load_average,
            "issue": issued,
            "peer": {
                "letters": len(htmls),
                "weasyprint_alone_ms": alone_ms,
                "ours_render_ms": ours_ms,
            },
            "ratio_issue_vs_weasyprint": ratio,
            "batch": batch,
        }
        print("RESULT " + json.dumps(result, sort_keys=True))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
