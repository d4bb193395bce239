"""``seed_run``: build a province's union tree and fill it with synthetic household files, in one
transaction, with one audit entry for the whole run."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common import divisions
from bangfu.common.audit import audit_record
from bangfu.common.errors import DomainError, ErrorCode
from bangfu.common.models import AuditAction
from bangfu.org.models import OrgLevel, OrgUnit
from bangfu.registry.models import FileNumberSequence, Household

from . import load
from .generate import Counters, Generator
from .tree import build_tree

CHUNK = 5000


@dataclass(frozen=True)
class SeedResult:
    province_path: str
    units_created: int
    grassroots_units: int
    households: int
    persons: int
    seconds: float


def seed_run(
    *,
    households: int,
    random_seed: int,
    province: str = "530000",
    progress: Callable[[int, int], None] | None = None,
) -> SeedResult:
    """Seed ``households`` synthetic files into ``province``'s tree (created if missing).

    Refuses (``DomainError`` CONFLICT) when the province already has household files, so a seed
    never mixes with real or earlier data; the same count and seed always give the same data.
    """
    if households < 0:
        raise DomainError(ErrorCode.INVALID, _("The number of households cannot be negative."))
    if divisions.division_name(province) is None or divisions.level_of(province) != "province":
        raise DomainError(ErrorCode.INVALID, _("%(code)s is not a province code.") % {"code": province})
    load.check_columns()
    started = time.perf_counter()
    with transaction.atomic():
        existing = OrgUnit.objects.filter(code=province, level=OrgLevel.PROVINCE).first()
        if existing is not None and Household.objects.filter(unit__path__startswith=existing.path).exists():
            raise DomainError(
                ErrorCode.CONFLICT,
                _("%(unit)s already has household files; seed only into an empty province.") % {"unit": existing},
            )
        tree = build_tree(province, random.Random(f"tree:{random_seed}"))
        counters = Counters(
            next_id=load.next_ids(),
            file_numbers=dict(FileNumberSequence.objects.values_list("prefix", "last")),
        )
        before = dict(counters.file_numbers)
        generator = Generator(seed=random_seed, units=tree.grassroots, counters=counters, now=timezone.now())
        done = persons = 0
        with load.Writer() as writer:
            for chunk in generator.chunks(households, CHUNK):
                writer.put(chunk.rows)
                done += chunk.households
                persons += chunk.persons
                if progress is not None:
                    progress(done, households)
        load.reset_sequences()
        FileNumberSequence.objects.bulk_create(
            [
                FileNumberSequence(prefix=prefix, last=last)
                for prefix, last in sorted(counters.file_numbers.items())
                if before.get(prefix) != last
            ],
            update_conflicts=True,
            unique_fields=["prefix"],
            update_fields=["last"],
        )
        audit_record(
            actor=None,
            action=AuditAction.CREATE,
            target_type="seed",
            target_id=province,
            unit_path=tree.province.path,
            after={"households": done, "persons": persons, "seed": random_seed, "province": province},
        )
    load.analyze()
    return SeedResult(
        province_path=tree.province.path,
        units_created=tree.created,
        grassroots_units=len(tree.grassroots),
        households=done,
        persons=persons,
        seconds=time.perf_counter() - started,
    )
