"""An import's problems are kept in the language of the cadre who uploaded the file, and read in
the reader's: the error report, the API's batch and the status page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import ngettext

from bangfu.common import retranslate
from bangfu.common.punctuation import join_list
from bangfu.intake import imports
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch_in_chinese(tree: Any, users: Any) -> Any:
    retranslate._in_language.cache_clear()
    with translation.override("zh-hans"):
        return imports.import_batch_create(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="a.xlsx",
            content=xlsx(household_rows("L-0001", 住房类型="城堡")),
            run_async=False,
        )


def test_the_problems_are_kept_as_written(batch_in_chinese: Any) -> None:
    # One problem for the cell: not also "required" for the value that could not be read.
    (stored,) = batch_in_chinese.issues.values_list("reason", flat=True)
    assert stored.startswith("“城堡”不是允许的取值：")


def test_the_error_report_reads_in_the_readers_language(users: Any, batch_in_chinese: Any) -> None:
    with translation.override("en"):
        content, _type = imports.error_report(actor=users["xiangyun_staff"], batch_id=batch_in_chinese.pk, fmt="csv")
    text = content.decode("utf-8-sig")
    assert "“城堡” is not one of the allowed values: " in text and "不是允许的取值" not in text


def test_the_api_and_the_page_read_in_the_readers_language(users: Any, batch_in_chinese: Any) -> None:
    client = Client()
    client.force_login(users["xiangyun_staff"])
    api = client.get(f"/api/v1/imports/{batch_in_chinese.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == 200, api.content
    reasons = [i["reason"] for i in api.json()["first_issues"]]
    assert [r.split(":")[0] for r in reasons] == ["“城堡” is not one of the allowed values"]
    assert "承租单位公房" in reasons[0]  # the words the column takes, as the template writes them
    page = client.get(f"/applications/import/{batch_in_chinese.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "“城堡” is not one of the allowed values: " in page.content.decode()


def test_the_timeline_reads_in_the_readers_language(tree: Any, users: Any) -> None:
    from bangfu.registry.models import Household

    retranslate._in_language.cache_clear()
    with translation.override("zh-hans"):
        imports.import_file(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="b.xlsx",
            content=xlsx(household_rows("T-0001")),
            commit=True,
        )
    h = Household.objects.get(file_number="T-0001")
    assert h.timeline.get().summary == "从b.xlsx导入"
    client = Client()
    client.force_login(users["xiangyun_staff"])
    page = client.get(f"/households/{h.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "Imported from b.xlsx" in page.content.decode()
    api = client.get(f"/api/v1/households/{h.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == 200 and api.json()["timeline"][0]["summary"] == "Imported from b.xlsx"


def test_the_same_file_uploaded_again_says_it_was_uploaded_before(tree: Any, users: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["xiangyun_staff"])
    content = xlsx(household_rows("U-0001"))

    def upload() -> Any:
        return client.post(
            "/applications/import/",
            {"unit_id": tree["xiangyun"].pk, "file": SimpleUploadedFile("u.xlsx", content)},
            follow=True,
        )

    first = upload()
    assert first.status_code == 200 and "uploaded before" not in first.content.decode()
    again = upload()
    assert again.redirect_chain[-1][0] == first.redirect_chain[-1][0]
    assert "This file was uploaded before (u.xlsx" in again.content.decode()


def test_the_command_reads_in_its_language_and_counts_one_problem_as_one(
    tree: Any, users: Any, batch_in_chinese: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """The file uploaded on a Chinese page, then given to the command in English: the reasons in
    English, and "1 problem" (was "1 problems")."""
    import io

    from django.core.management import call_command

    path = tmp_path / "a.xlsx"
    path.write_bytes(xlsx(household_rows("L-0001", 住房类型="城堡")))
    monkeypatch.setenv("BANGFU_LANGUAGE", "en")
    out = io.StringIO()
    with translation.override("en"):
        call_command(
            "intake", "--user", "xiangyun_staff", "import", str(path), "--unit", tree["xiangyun"].code, stdout=out
        )
    text = out.getvalue()
    assert "1 problem." in text and "“城堡” is not one of the allowed values: " in text and "不是允许的取值" not in text


def test_a_cases_history_reads_in_the_readers_language(tree: Any, users: Any) -> None:
    """Notes the system writes on a case's history ("signed on paper", the cross-check's counts)
    are kept in the language of the moment and read in the reader's, on the page and in the API."""
    from bangfu.intake import steps
    from bangfu.intake.models import ApplicationEvent, ApplicationState
    from bangfu.intake.tests.helpers import submitted, to_state

    retranslate._in_language.cache_clear()
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.ECONOMIC_CHECK, users)
    with translation.override("zh-hans"):
        steps.authorisation_sign(actor=users["xiangyun_staff"], application_id=app.pk, agreed=True, ip=None)
    assert ApplicationEvent.objects.filter(application=app, reason="纸质签署").exists()
    client = Client()
    client.force_login(users["xiangyun_staff"])
    page = client.get(f"/applications/{app.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "signed on paper" in page and "纸质签署" not in page
    api = client.get(f"/api/v1/applications/{app.pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert "signed on paper" in [e["reason"] for e in api["events"]]


def _notes_read(users: Any, batch: Any, language: str) -> tuple[list[str], str]:
    """The batch's notes as the API gives them and the status page's list of notes, in ``language``."""
    client = Client()
    client.force_login(users["xiangyun_staff"])
    api = client.get(f"/api/v1/imports/{batch.pk}", HTTP_ACCEPT_LANGUAGE=language)
    assert api.status_code == 200, api.content
    page = client.get(f"/applications/import/{batch.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    html = page.content.decode()
    return api.json()["notes"], html[html.index('id="import-notes"') :]


@pytest.mark.parametrize("totals", [1, 2])
@pytest.mark.parametrize(("written", "read"), [("zh-hans", "en"), ("en", "zh-hans")])
def test_a_note_that_counts_rows_is_read_in_the_readers_language(
    tree: Any, users: Any, written: str, read: str, totals: int
) -> None:
    """A note with a count (the totals under the table; the households skipped as on record) is
    kept in the uploader's language and read in the reader's, in the form of its count and with the
    reader's marks between its rows: "Row 5 is a total…", "Rows 5, 7 are totals…" (it stayed in the
    uploader's language)."""
    from bangfu.intake.tests.test_legacy_import import _row

    retranslate._in_language.cache_clear()
    staff, unit = users["xiangyun_staff"], tree["xiangyun"]
    on_record = household_rows("N-0001", members=1)
    imports.import_file(actor=staff, unit_id=unit.pk, name="n.xlsx", content=xlsx(on_record), commit=True)
    # Rows 2–3 a new household, 4 the one on record, then a total (5), or two (5, 7) round a blank.
    total = _row(档案编号="合计", 月收入=1503)
    under = [total] if totals == 1 else [total, [], total]
    rows = [*household_rows("N-0002"), *on_record, *under]
    with translation.override(written):
        batch = imports.import_batch_create(
            actor=staff, unit_id=unit.pk, name="m.xlsx", content=xlsx(rows), run_async=False
        )
    kept: list[str] = []
    expected: list[str] = []
    for language, out in ((written, kept), (read, expected)):
        with translation.override(language):
            out += [
                ngettext(
                    "Row %(rows)s is a total or a note, not a household: it was not read.",
                    "Rows %(rows)s are totals or notes, not households: they were not read.",
                    totals,
                )
                % {"rows": join_list(["5", "7"][:totals])},
                ngettext(
                    "Row %(rows)s is of a file already on record and was skipped: nothing on the file was changed. "
                    "Where it says otherwise than the file, the problems say so (change a file on its page).",
                    "Rows %(rows)s are of files already on record and were skipped: nothing on the files was "
                    "changed. Where they say otherwise than the files, the problems say so (change a file on its "
                    "page).",
                    1,
                )
                % {"rows": "4"},
            ]
    assert batch.notes == kept
    assert kept != expected  # the test means something
    notes, page = _notes_read(users, batch, read)
    assert notes == expected
    for note in expected:
        assert escape(note) in page
