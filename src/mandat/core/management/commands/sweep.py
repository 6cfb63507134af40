from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the periodic sweeps once: expire mandates past their validity, remind employers "
        "of codes waiting to be redeemed, and expire requests past their deadline. "
        "Schedule it (cron, systemd timer) every few minutes; it is safe to run repeatedly."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from mandat.certification.issuing import requests_expire_due, requests_remind_due
        from mandat.mandates.services import mandates_expire_due

        expired_mandates = mandates_expire_due()
        reminded = requests_remind_due()
        expired_requests = requests_expire_due()
        self.stdout.write(
            f"mandates expired: {expired_mandates}; requests reminded: {reminded}; "
            f"requests expired: {expired_requests}"
        )
