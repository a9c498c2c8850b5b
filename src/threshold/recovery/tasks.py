"""Background work of the recovery app (run by the configured TASKS backend)."""

from __future__ import annotations

from django.tasks import TaskContext, task

from threshold.core.context import RequestContext
from threshold.recovery import sending
from threshold.recovery.services.closure import close_due_accounts as close_due
from threshold.recovery.services.export_archive import build_data_export as build
from threshold.recovery.services.export_archive import delete_expired_exports
from threshold.recovery.services.recovery_completion import mark_due_recoveries_ready


@task()
def close_due_accounts() -> int:
    """Close every account whose window has ended (see ``services.closure.close_due_accounts``), and
    delete expired data exports, so none outlives its 24 hours when no new one is asked for.

    Enqueue it daily from a scheduler, or run ``threshold close_due_accounts`` from cron.
    """
    delete_expired_exports()
    return close_due()


@task()
def build_data_export(export_id: int) -> bool:
    """Build one "Download your data" ZIP (see ``services.export_archive.build_data_export``)."""
    return build(export_id=export_id)


@task()
def ready_due_recoveries() -> dict[str, int]:
    """Mark account recoveries whose waiting period is over ready (mailing the "ready" notice),
    and expire those past their end (see ``services.recovery_completion.mark_due_recoveries_ready``).

    Idempotent. Enqueue it hourly from a scheduler, or run ``threshold ready_due_recoveries``
    from cron: a recovery becomes ready at most that much after its waiting period ends.
    """
    readied, expired = mark_due_recoveries_ready()
    return {"ready": readied, "expired": expired}


@task(takes_context=True)
def send_password_reset_code(
    context: TaskContext, user_id: int | None, target: str, flow: str, ip: str, user_agent: str
) -> bool:
    """Send a password reset code, if ``target`` is the account's (``sending.send_password_reset_code``)."""
    return sending.send_password_reset_code(
        run_key=f"task:{context.task_result.id}",
        user_id=user_id,
        target=target,
        flow=flow,
        context=RequestContext(ip=ip, user_agent=user_agent),
    )


@task(takes_context=True)
def send_recovery_email_code(context: TaskContext, account_email: str, address: str, flow: str) -> bool:
    """Mail an account recovery code, if ``address`` is the account's (``sending``)."""
    return sending.send_recovery_email_code(
        run_key=f"task:{context.task_result.id}", account_email=account_email, address=address, flow=flow
    )


@task(takes_context=True)
def send_recovery_phone_code(context: TaskContext, account_email: str, number: str, flow: str) -> bool:
    """Text an account recovery code, if ``number`` is the account's (``sending``)."""
    return sending.send_recovery_phone_code(
        run_key=f"task:{context.task_result.id}", account_email=account_email, number=number, flow=flow
    )
