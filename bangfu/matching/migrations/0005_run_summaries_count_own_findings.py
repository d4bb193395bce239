"""The summaries of the rechecks already run, counted again from the findings each one recorded.

A summary counted every record the matching found, findings an earlier recheck had recorded
included: a union's second recheck repeated the first one's counts. Each finished run's counts by
union, department data and severity are now those of its own findings (``Finding.run``), by the
union their file is in today, in whatever status; the files checked per union stay as recorded.
"""

from collections import defaultdict
from typing import Any

from django.db import migrations
from django.db.models import Count


def recount(apps: Any, schema_editor: Any) -> None:
    MatchRun = apps.get_model("matching", "MatchRun")
    Finding = apps.get_model("matching", "Finding")
    OrgUnit = apps.get_model("org", "OrgUnit")
    counts: dict[int, list[tuple[int, str, str, int]]] = defaultdict(list)
    rows = (
        Finding.objects.filter(run__status="done")
        .values_list("run_id", "household__unit_id", "kind", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    for run_id, unit_id, kind, severity, n in rows.iterator(chunk_size=5000):
        counts[run_id].append((unit_id, kind, severity, n))
    names = dict(OrgUnit.objects.values_list("pk", "name"))
    changed = []
    for run in MatchRun.objects.filter(status="done").only("pk", "summary").iterator(chunk_size=500):
        old = run.summary or {}
        files = {row.get("unit_id"): row for row in old.get("by_unit") or []}
        by_unit: dict[Any, dict[str, int]] = defaultdict(dict)
        by_kind: dict[str, dict[str, int]] = defaultdict(dict)
        by_severity: dict[str, int] = {}
        for unit_id, kind, severity, n in counts.get(run.pk, []):
            by_unit[unit_id][severity] = by_unit[unit_id].get(severity, 0) + n
            by_kind[kind][severity] = by_kind[kind].get(severity, 0) + n
            by_severity[severity] = by_severity.get(severity, 0) + n
        units = sorted(set(files) | set(by_unit), key=lambda u: (u is None, u or 0))
        summary = {
            "by_unit": [
                {
                    "unit_id": uid,
                    "unit": (files.get(uid) or {}).get("unit") or names.get(uid, ""),
                    "households": (files.get(uid) or {}).get("households", 0),
                    "findings": dict(sorted(by_unit.get(uid, {}).items())),
                }
                for uid in units
            ],
            "by_kind": {kind: dict(sorted(c.items())) for kind, c in sorted(by_kind.items())},
            "by_severity": dict(sorted(by_severity.items())),
        }
        if summary != old:
            run.summary = summary
            changed.append(run)
    MatchRun.objects.bulk_update(changed, ["summary"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0004_one_active_run_per_unit"),
    ]

    operations = [migrations.RunPython(recount, migrations.RunPython.noop)]
