"""Background work of the certification procedure (django-tasks, database backend)."""

from __future__ import annotations

from django_tasks import task

from mandat.certification.issuing import request_issue, requests_expire_due, requests_remind_due
from mandat.certification.models import CertificationRequest, RequestStatus


@task()
def auto_issue_request(request_id: int) -> bool:
    """Issue a transmitted request without an agent (when ``MANDAT_AUTO_ISSUE`` is on)."""
    request = CertificationRequest.objects.filter(
        pk=request_id, status=RequestStatus.TRANSMITTED
    ).first()
    if request is None:
        return False
    request_issue(by=None, request=request)
    return True


@task()
def certification_sweep() -> dict[str, int]:
    """The daily sweep: reminders a week before the deadline, then expiry after it."""
    return {"reminded": requests_remind_due(), "expired": requests_expire_due()}
