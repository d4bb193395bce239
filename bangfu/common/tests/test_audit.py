from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from bangfu.common.audit import audit_record, audit_verify
from bangfu.common.models import AuditEntry


def _chain(n: int) -> None:
    for i in range(n):
        audit_record(actor="test", action="update", target_type="household", target_id=i, after={"n": i})


def _without_guard(sql: str, params: list[Any]) -> None:
    """Tamper the way a database owner could: switch the append-only trigger off first."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET session_replication_role = replica")  # superuser: triggers off
            cur.execute(sql, params)
            cur.execute("SET session_replication_role = origin")
        else:
            cur.execute("DROP TRIGGER common_auditentry_no_update")
            cur.execute("DROP TRIGGER common_auditentry_no_delete")
            cur.execute(sql, params)


@pytest.mark.django_db
def test_intact_chain_verifies() -> None:
    _chain(5)
    assert audit_verify() is None
    call_command("audit", "verify")


@pytest.mark.django_db
def test_database_refuses_update_and_delete() -> None:
    _chain(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=1).update(note="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=1).delete()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "seq", "kind"),
    [
        ("UPDATE common_auditentry SET note = %s WHERE seq = 3", 3, "edited"),
        ("DELETE FROM common_auditentry WHERE seq = 3 AND note <> %s", 4, "missing"),
        ("UPDATE common_auditentry SET prev_hash = %s WHERE seq = 4", 4, "inserted"),
    ],
)
def test_tampering_is_found_at_the_first_bad_row(sql: str, seq: int, kind: str, capsys: Any) -> None:
    _chain(6)
    _without_guard(sql, ["x" * 64])
    problem = audit_verify()
    assert problem is not None and (problem.seq, problem.kind) == (seq, kind)
    with pytest.raises(SystemExit) as exc:
        call_command("audit", "verify")
    assert exc.value.code == 1
    assert f"row {seq}" in capsys.readouterr().err
