"""Snapshot files in Django's default storage, and the registry's persons snapshot for a run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.files import File
from django.core.files.storage import default_storage

from bangfu.common import crypto
from bangfu.org.models import OrgUnit
from bangfu.registry.codes import OPEN_STATES
from bangfu.registry.models import Member

from .engine.backends import PERSON_COLUMNS
from .engine.names import name_keys, normalise_name

DATASET_DIR = "datasets"


def store(local: Path, name: str) -> str:
    """Copy a local file into storage; returns the stored name."""
    with local.open("rb") as fh:
        return default_storage.save(name, File(fh, name=Path(name).name))


def remove(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


@contextmanager
def local_path(name: str) -> Iterator[str]:
    """A local file path for a stored file: the file itself on disk storage, else a temporary copy."""
    try:
        direct = default_storage.path(name)
    except NotImplementedError:
        direct = ""
    if direct and Path(direct).is_file():
        yield direct
        return
    with tempfile.TemporaryDirectory(prefix="bangfu-match-") as tmp:
        target = Path(tmp) / Path(name).name
        with default_storage.open(name, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        yield str(target)


_SCHEMA = pa.schema(
    [
        ("member_id", pa.int64()),
        ("household_id", pa.int64()),
        ("id_key", pa.int64()),
        ("name_key", pa.int64()),
        ("monthly_income", pa.float64()),
        ("household_size", pa.int32()),
    ]
)
assert tuple(_SCHEMA.names) == PERSON_COLUMNS  # noqa: S101 - the engine and this adapter agree


def persons_rows(unit: OrgUnit) -> Iterator[tuple[int, int, str, str, object, int, int]]:
    """Members on open files in ``unit``'s subtree, alive: the persons a run checks."""
    return (
        Member.objects.filter(
            household__unit__path__startswith=unit.path, household__state__in=OPEN_STATES, deceased=False
        )
        .order_by()
        .values_list(
            "id",
            "household_id",
            "id_cipher",
            "name",
            "monthly_income",
            "household__members_living_together",
            "household__unit_id",
        )
        .iterator(chunk_size=20000)
    )


def _id_int(cipher: str) -> int | None:
    """The integer form of a member's ID number; None (matches nothing) if it is not a normalised one."""
    try:
        return crypto.resident_id_int(crypto.decrypt(cipher))
    except ValueError:
        return None


def write_persons(unit: OrgUnit, target: Path) -> tuple[dict[int, int], int]:
    """Write the persons snapshot; returns household id → unit id (for the summary) and the count.

    The matching key (``crypto.keyed_hash64``) is computed here from the decrypted ID number, for
    the whole column at once; the plaintext never leaves this function. The name is stored only
    as the key of its normalised form (``names.name_key_sql``)."""
    cols: dict[str, list[object]] = {n: [] for n in PERSON_COLUMNS if n not in ("id_key", "name_key")}
    numbers: list[int | None] = []
    norms: list[str] = []
    household_unit: dict[int, int] = {}
    for member_id, household_id, cipher, name, income, size, unit_id in persons_rows(unit):
        cols["member_id"].append(member_id)
        cols["household_id"].append(household_id)
        numbers.append(_id_int(cipher))
        norms.append(normalise_name(name))
        cols["monthly_income"].append(float(income or 0))  # type: ignore[arg-type]
        cols["household_size"].append(size)
        household_unit[household_id] = unit_id
    _write(cols, numbers, norms, target)
    return household_unit, len(numbers)


def _write(cols: dict[str, list[object]], numbers: list[int | None], norms: list[str], target: Path) -> None:
    keys = crypto.keyed_hash64_arrow(pa.array(numbers, pa.int64()))
    table = pa.table({**cols, "id_key": keys, "name_key": name_keys(norms)}).select(list(PERSON_COLUMNS)).cast(_SCHEMA)
    pq.write_table(table, target)


def write_person_rows(rows: list[tuple[int, int, str, str, float, int]], target: Path) -> int:
    """A persons snapshot of given persons (member id, household id, normalised ID number, name,
    monthly income, household size) — for checking people not yet on a file."""
    numbers: list[int | None] = []
    for row in rows:
        try:
            numbers.append(crypto.resident_id_int(row[2]))
        except ValueError:
            numbers.append(None)  # matches nothing
    cols: dict[str, list[object]] = {
        "member_id": [r[0] for r in rows],
        "household_id": [r[1] for r in rows],
        "monthly_income": [float(r[4]) for r in rows],
        "household_size": [r[5] for r in rows],
    }
    _write(cols, numbers, [normalise_name(r[3]) for r in rows], target)
    return len(rows)
