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

from bangfu.org.models import OrgUnit
from bangfu.registry.codes import OPEN_STATES
from bangfu.registry.models import Member

from .engine.backends import PERSON_COLUMNS

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


def id_key_from_hash(id_hash: str) -> int:
    """``crypto.keyed_hash64`` of the ID number, from the stored 128-bit keyed hash (same HMAC)."""
    return int.from_bytes(bytes.fromhex(id_hash[:16]), "big", signed=True)


_SCHEMA = pa.schema(
    [
        ("member_id", pa.int64()),
        ("household_id", pa.int64()),
        ("id_key", pa.int64()),
        ("name", pa.string()),
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
            "id_hash",
            "name",
            "monthly_income",
            "household__members_living_together",
            "household__unit_id",
        )
        .iterator(chunk_size=20000)
    )


def write_persons(unit: OrgUnit, target: Path) -> tuple[dict[int, int], int]:
    """Write the persons snapshot; returns household id → unit id (for the summary) and the count."""
    cols: dict[str, list[object]] = {n: [] for n in PERSON_COLUMNS}
    household_unit: dict[int, int] = {}
    for member_id, household_id, id_hash, name, income, size, unit_id in persons_rows(unit):
        cols["member_id"].append(member_id)
        cols["household_id"].append(household_id)
        cols["id_key"].append(id_key_from_hash(id_hash))
        cols["name"].append(name)
        cols["monthly_income"].append(float(income or 0))  # type: ignore[arg-type]
        cols["household_size"].append(size)
        household_unit[household_id] = unit_id
    pq.write_table(pa.table(cols, schema=_SCHEMA), target)
    return household_unit, len(cols["member_id"])
