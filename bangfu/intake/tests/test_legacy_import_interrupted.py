"""A legacy import whose check or write lost its process (a MemoryError, a killed worker, request
or command) is marked failed, by the daily job or when the same file is uploaded again, and then
does not stand in the way of that file; one still at work, or waiting in the queue, is left alone.
Staff cancel a batch being checked or waiting. A small file holding many cells is checked in the
background, as a large one is."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.intake import imports, tasks
from bangfu.intake.models import ImportBatch, ImportState
from bangfu.intake.tests.test_api import api_urls, urls  # noqa: F401 - fixtures
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx

pytestmark = pytest.mark.django_db

INTERRUPTED = "The check was interrupted; upload the file again."


def _left_checking(tree: Any, users: Any, content: bytes, *, minutes_ago: int) -> ImportBatch:
    """A batch staged as the upload stages it, whose check then stopped moving ``minutes_ago``
    (the process checking it was killed)."""
    batch = imports._stage(
        actor=users["xiangyun_staff"],
        unit=tree["xiangyun"],
        name="stuck.xlsx",
        content=content,
        digest=imports.hashlib.sha256(content).hexdigest(),
        commit=False,
    )
    ImportBatch.objects.filter(pk=batch.pk).update(
        rows_total=3, rows_done=3, progress_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )
    return batch


def _upload(tree: Any, users: Any, content: bytes) -> ImportBatch:
    return imports.import_batch_create(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="again.xlsx", content=content
    )


def test_a_stale_batch_is_marked_failed_by_the_job_and_the_file_can_be_uploaded_again(
    tree: Any, users: Any, settings: Any
) -> None:
    settings.LANGUAGE_CODE = "en"
    content = xlsx(household_rows("S-0001"))
    stuck = _left_checking(tree, users, content, minutes_ago=31)
    assert tasks.fail_interrupted_imports_task.call() == 1
    stuck.refresh_from_db()
    assert (stuck.state, stuck.message) == (ImportState.FAILED, INTERRUPTED)
    again = _upload(tree, users, content)
    assert again.pk != stuck.pk and again.state == ImportState.VALIDATED and again.households_valid == 1
    assert tasks.fail_interrupted_imports_task.call() == 0


def test_a_live_batch_is_left_alone_and_the_same_file_gives_it_back(tree: Any, users: Any) -> None:
    content = xlsx(household_rows("S-0002"))
    live = _left_checking(tree, users, content, minutes_ago=5)
    assert imports.fail_interrupted() == 0
    again = _upload(tree, users, content)
    assert again.pk == live.pk and again.state == ImportState.VALIDATING


def test_the_upload_itself_gives_up_a_stale_batch_of_the_same_file(tree: Any, users: Any, tmp_path: Any) -> None:
    """No need to wait for the night's job: the command (as the page and the API) finds the stuck
    batch of the same file, marks it failed and imports the file anew."""
    content = xlsx(household_rows("S-0003"))
    stuck = _left_checking(tree, users, content, minutes_ago=45)
    path = tmp_path / "old.xlsx"
    path.write_bytes(content)
    out = io.StringIO()
    call_command(
        "intake",
        "--user",
        "xiangyun_staff",
        "import",
        str(path),
        "--unit",
        tree["xiangyun"].code,
        "--commit",
        stdout=out,
    )
    stuck.refresh_from_db()
    assert stuck.state == ImportState.FAILED
    new = ImportBatch.objects.exclude(pk=stuck.pk).get()
    assert new.state == ImportState.COMMITTED and new.households_created == 1


def test_the_page_shows_a_stale_batch_failed_and_a_live_one_with_a_cancel_button(tree: Any, users: Any) -> None:
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    stuck = _left_checking(tree, users, xlsx(household_rows("S-0004")), minutes_ago=60)
    page = staff.get(reverse("intake:import_detail", args=[stuck.pk])).content.decode()
    assert INTERRUPTED in page and 'id="cancel"' not in page
    live = _left_checking(tree, users, xlsx(household_rows("S-0005")), minutes_ago=1)
    page = staff.get(reverse("intake:import_detail", args=[live.pk])).content.decode()
    assert 'id="cancel"' in page


def test_a_crash_in_the_request_fails_the_batch_instead_of_leaving_it_checking(
    tree: Any, users: Any, monkeypatch: Any, settings: Any
) -> None:
    settings.LANGUAGE_CODE = "en"

    def out_of_memory(**kwargs: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(imports, "check", out_of_memory)
    content = xlsx(household_rows("S-0006"))
    with pytest.raises(MemoryError):
        _upload(tree, users, content)
    crashed = ImportBatch.objects.get()
    assert (crashed.state, crashed.message) == (ImportState.FAILED, INTERRUPTED)
    monkeypatch.undo()
    assert _upload(tree, users, content).state == ImportState.VALIDATED


def _queued(tree: Any, users: Any, settings: Any, capture: Any, number: str) -> ImportBatch:
    """A file's check sent to the real task queue (django-tasks-db), as a large upload is."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with capture(execute=True):
        batch = imports.import_batch_create(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="big.xlsx",
            content=xlsx(household_rows(number)),
            run_async=True,
        )
    batch.refresh_from_db()
    return batch


def test_the_task_queue_says_which_background_batch_is_alive(
    tree: Any, users: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    batch = _queued(tree, users, settings, django_capture_on_commit_callbacks, "S-0007")
    assert batch.state == ImportState.VALIDATING and batch.task_id
    task = DBTaskResult.objects.get(pk=batch.task_id)
    long_ago = timezone.now() - dt.timedelta(hours=3)
    ImportBatch.objects.filter(pk=batch.pk).update(progress_at=long_ago)
    # Queued, never taken by a worker: it waits, however long.
    assert imports.fail_interrupted() == 0
    # Taken by a worker that has not moved it since: the worker is gone.
    DBTaskResult.objects.filter(pk=task.pk).update(status="RUNNING", started_at=long_ago)
    assert imports.fail_interrupted() == 1
    batch.refresh_from_db()
    assert batch.state == ImportState.FAILED


def test_a_task_that_ended_without_a_word_fails_its_batch_at_once(
    tree: Any, users: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    batch = _queued(tree, users, settings, django_capture_on_commit_callbacks, "S-0008")
    DBTaskResult.objects.filter(pk=batch.task_id).update(status="FAILED", finished_at=timezone.now())
    assert imports.fail_interrupted() == 1  # its progress moved a moment ago, but its task is over


def test_cancel_stops_a_waiting_batch_is_logged_and_is_refused_for_a_committed_one(
    tree: Any, users: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    staff = users["xiangyun_staff"]
    content = xlsx(household_rows("S-0009"))
    with django_capture_on_commit_callbacks(execute=True):
        batch = imports.import_batch_create(
            actor=staff, unit_id=tree["xiangyun"].pk, name="big.xlsx", content=content, run_async=True
        )
    with pytest.raises(Http404):  # another county's batch
        imports.import_batch_cancel(actor=users["dalishi_staff"], batch_id=batch.pk)
    cancelled = imports.import_batch_cancel(actor=staff, batch_id=batch.pk)
    assert cancelled.state == ImportState.FAILED and staff.username in cancelled.message
    entry = AuditEntry.objects.filter(target_type="intake.import_batch", target_id=str(batch.pk)).get()
    assert entry.after is not None and entry.before is not None
    assert entry.after["cancelled"] is True and entry.before["state"] == ImportState.VALIDATING
    # The worker takes the task afterwards: it leaves the cancelled batch as it is.
    assert imports.import_batch_execute(batch_id=batch.pk, commit=False).state == ImportState.FAILED
    # The same file again is imported anew; a committed batch cannot be cancelled.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    new = imports.import_file(actor=staff, unit_id=tree["xiangyun"].pk, name="a.xlsx", content=content, commit=True)
    assert new.pk != batch.pk and new.state == ImportState.COMMITTED
    with pytest.raises(DomainError) as refused:
        imports.import_batch_cancel(actor=staff, batch_id=new.pk)
    assert refused.value.code == "import_not_running"


def test_cancel_from_the_page_the_api_and_the_command(urls: str, tree: Any, users: Any) -> None:  # noqa: F811
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    one = _left_checking(tree, users, xlsx(household_rows("S-0010")), minutes_ago=1)
    staff.post(reverse("intake:import_cancel", args=[one.pk]))
    one.refresh_from_db()
    assert one.state == ImportState.FAILED
    two = _left_checking(tree, users, xlsx(household_rows("S-0011")), minutes_ago=1)
    other = Client()
    other.force_login(users["dalishi_staff"])
    assert other.post(f"/api/imports/{two.pk}/cancel").status_code == 404
    r = staff.post(f"/api/imports/{two.pk}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "failed"
    r = staff.post(f"/api/imports/{two.pk}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "import_not_running"
    three = _left_checking(tree, users, xlsx(household_rows("S-0012")), minutes_ago=1)
    out = io.StringIO()
    call_command("intake", "--user", "xiangyun_staff", "cancel", str(three.pk), stdout=out)
    three.refresh_from_db()
    assert three.state == ImportState.FAILED and str(three.pk) in out.getvalue()
    with pytest.raises(CommandError):
        call_command("intake", "--user", "xiangyun_staff", "cancel", str(three.pk), stdout=out)
    with pytest.raises(CommandError):
        call_command("intake", "--user", "dalishi_staff", "cancel", str(one.pk), stdout=out)


def test_a_small_file_of_many_cells_is_checked_in_the_background(
    tree: Any, users: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The file is a few KB, far under the 256 KB rule; its cells are over the cells' rule."""
    content = xlsx(household_rows("S-0013") + household_rows("S-0014"))  # 5 rows × 29 columns
    assert len(content) < 256 * 1024
    settings.BANGFU_INTAKE_IMPORT_BACKGROUND_CELLS = 5 * 29 - 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch = _upload(tree, users, content)
    assert len(callbacks) == 1
    settings.BANGFU_INTAKE_IMPORT_BACKGROUND_CELLS = 5 * 29
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        other = imports.import_batch_create(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="b.xlsx",
            content=xlsx(household_rows("S-0015") + household_rows("S-0016")),
        )
    assert callbacks == [] and other.state == ImportState.VALIDATED
    batch.refresh_from_db()
    assert batch.state == ImportState.VALIDATED
    # Checked in the background, it is imported there too (its file is still small).
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        imports.import_batch_commit(actor=users["xiangyun_staff"], batch_id=batch.pk)
    assert len(callbacks) == 1
    batch.refresh_from_db()
    assert batch.state == ImportState.COMMITTED and batch.households_created == 2


def test_a_batch_being_written_offers_no_cancel_and_shows_no_count(tree: Any, users: Any) -> None:
    # The write is one transaction: a cancel clicked then waited for it and was refused, after a
    # button that said nothing would be written; and the bar showed the check's full count.
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    writing = _left_checking(tree, users, xlsx(household_rows("S-0009")), minutes_ago=1)
    ImportBatch.objects.filter(pk=writing.pk).update(state=ImportState.COMMITTING)
    page = staff.get(reverse("intake:import_detail", args=[writing.pk])).content.decode()
    assert 'id="cancel"' not in page and 'id="writing"' in page and "aria-valuenow" not in page


def test_the_page_says_when_no_worker_takes_a_queued_batch(
    tree: Any, users: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A batch queued while no worker runs waited on its page behind a progress bar, saying nothing."""
    settings.LANGUAGE_CODE = "en"
    batch = _queued(tree, users, settings, django_capture_on_commit_callbacks, "S-0009")
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    url = reverse("intake:import_detail", args=[batch.pk])
    assert 'id="worker-waiting"' not in c.get(url).content.decode()  # just queued: nothing to say yet
    queued = timezone.now() - dt.timedelta(minutes=5)
    DBTaskResult.objects.filter(pk=batch.task_id).update(enqueued_at=queued)
    page = c.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'id="worker-waiting"' in page and "bangfu db_worker" in page
    assert timezone.localtime(queued).strftime("%Y-%m-%d %H:%M") in page
    DBTaskResult.objects.filter(pk=batch.task_id).update(status="RUNNING", started_at=timezone.now())
    assert 'id="worker-waiting"' not in c.get(url).content.decode()  # taken up: the progress says the rest
