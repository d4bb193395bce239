"""The checking centre's answer to a request file: an answer that is not to this union's request
(another union's, two mixed, hashes made with another key) is refused with what is wrong and
leaves nothing; an empty one and one with a row twice are said as such."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from bangfu.common.errors import DomainError
from bangfu.matching import services
from bangfu.matching.models import ColumnMapping, Dataset, Finding
from bangfu.registry import services as registry_services
from bangfu.registry.models import Household

HEADER = ["id_key", "号牌号码", "车辆类型"]


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    """The messages are compared in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


def _request(actor: Any, tmp_path: Path, name: str, unit: Any = None) -> list[dict[str, str]]:
    path = tmp_path / name
    services.exchange_request_export(actor=actor, target=path, unit=unit)
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _answer(tmp_path: Path, rows: list[list[Any]]) -> Path:
    path = tmp_path / "answer.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def _refused(actor: Any, path: Path, media: Path) -> DomainError:
    """Refused, with nothing left: no dataset, no stored file, no saved column mapping."""
    with pytest.raises(DomainError) as caught:
        services.dataset_import(actor=actor, kind="vehicles", path=path, source="核对中心")
    assert caught.value.code == "dataset_import_failed"
    assert not Dataset.objects.exists() and not ColumnMapping.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]
    return caught.value


@pytest.fixture
def asked(make_household: Any, users: dict[str, Any], tmp_path: Path) -> list[dict[str, str]]:
    """Xiangyun's request: the three members of a Xiangyun file (and a Dali file exists too)."""
    make_household()
    make_household(unit="dalishi_g")
    return _request(users["xiangyun_staff"], tmp_path, "request.csv")


def test_an_answer_hashed_with_another_key_is_refused(
    asked: list[dict[str, str]], users: dict[str, Any], tmp_path: Path, media: Path
) -> None:
    """The centre hashed with a key of its own: the rows matched nobody, and were imported as a
    dataset that could only ever find nothing."""
    rows = [[str(int(a["id_key"]) ^ 0x5A5A5A5A), f"云L{i}", "轿车"] for i, a in enumerate(asked)]
    error = _refused(users["xiangyun_staff"], _answer(tmp_path, rows), media)
    assert error.details == {"problem": "not_requested", "rows": 3, "not_on_file": 3}
    assert "another key" in error.message and "祥云县总工会" in error.message


def test_an_answer_to_another_unions_request_is_refused(
    asked: list[dict[str, str]], users: dict[str, Any], tmp_path: Path, media: Path
) -> None:
    dali = _request(users["dalishi_staff"], tmp_path, "dali.csv")
    error = _refused(users["xiangyun_staff"], _answer(tmp_path, [[dali[0]["id_key"], "云L8", "轿车"]]), media)
    assert "another union's request" in error.message
    # Dali's own centre imports it.
    ds = services.dataset_import(
        actor=users["dalishi_staff"], kind="vehicles", path=_answer(tmp_path, [[dali[0]["id_key"], "云L8", "轿车"]])
    )
    assert ds.rows_taken == 1


def test_an_answer_with_rows_of_persons_not_asked_about_is_refused_naming_them(
    asked: list[dict[str, str]], users: dict[str, Any], tmp_path: Path, media: Path
) -> None:
    dali = _request(users["dalishi_staff"], tmp_path, "dali.csv")
    rows = [[asked[1]["id_key"], "云L1", "轿车"], [dali[0]["id_key"], "云L8", "轿车"]]
    rows.append([dali[1]["id_key"], "云L9", "轿车"])
    error = _refused(users["xiangyun_staff"], _answer(tmp_path, rows), media)
    assert error.details == {"problem": "not_requested", "rows": 3, "not_on_file": 2}
    assert "2 of the 3 rows" in error.message and "(rows 3, 4)" in error.message


def test_an_empty_answer_says_so(
    asked: list[dict[str, str]], users: dict[str, Any], tmp_path: Path, media: Path
) -> None:
    error = _refused(users["xiangyun_staff"], _answer(tmp_path, []), media)
    assert error.message == "The file has a header but no rows."


def test_a_row_twice_in_an_answer_is_taken_once_and_counted(
    asked: list[dict[str, str]], users: dict[str, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    rows = [[asked[1]["id_key"], "云L1", "轿车"], [asked[1]["id_key"], "云L1", "轿车"]]
    ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=_answer(tmp_path, rows))
    assert (ds.rows_total, ds.rows_taken, ds.rows_duplicate) == (2, 1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.match_run(actor=users["xiangyun_staff"], dataset_ids=[ds.pk])
    assert Finding.objects.get().record_key == "云L1"


def test_an_answer_about_a_file_closed_since_the_request_is_taken(
    asked: list[dict[str, str]], users: dict[str, Any], tmp_path: Path
) -> None:
    """The request went out while the file was open; it exited before the answer came back."""
    staff = users["xiangyun_staff"]
    household_id = Household.objects.get(unit__name="祥云县纺织厂工会").pk
    registry_services.household_state_change(actor=staff, household_id=household_id, to_state="exited", reason="脱困")
    answer = _answer(tmp_path, [[asked[0]["id_key"], "云L1", "轿车"]])
    ds = services.dataset_import(actor=staff, kind="vehicles", path=answer)
    assert ds.rows_taken == 1


def test_keys_a_spreadsheet_stored_as_numbers_are_rejected_with_that_reason(
    asked: list[dict[str, str]], users: dict[str, Any], tmp_path: Path
) -> None:
    """An answer opened and saved in Excel holds its keys as 1.23E+18: a cast read them as some
    other number (and rounded 1.5), so the rows were blamed on "another union's request"."""
    from bangfu.matching import selectors

    key = asked[1]["id_key"]
    rows = [[a["id_key"], f"云L{i}", "轿车"] for i, a in enumerate(asked)]
    rows += [[f"{int(key) / 1e18:.2f}E+18", "云L8", "轿车"], ["1.5", "云L9", "轿车"]]
    ds = services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=_answer(tmp_path, rows))
    assert (ds.rows_taken, ds.rows_rejected) == (3, 2)
    rejected = selectors.dataset_rejected_csv(actor=users["xiangyun_staff"], dataset_id=ds.pk).decode()
    assert rejected.count("was stored as a number (for example by Excel) and its last digits are lost") == 2
    assert "E+18 was stored" in rejected and "1.5 was stored" in rejected
