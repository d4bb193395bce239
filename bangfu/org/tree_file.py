"""A province's union tree as a table (a CSV or Excel file read by ``bangfu org load``, or one row
given by ``bangfu org add``): one row per union, with its code, name and parent's code, read into
``UnitRow`` for ``services.org_tree_load``.

Columns, by header (English or Chinese; case and spaces do not matter):

* ``code`` (代码, 单位代码, 编码): a federation's six-digit administrative-division code, or a
  grassroots union's own code (up to 32 characters, unique in the tree). Required.
* ``name`` (名称, 单位名称): required.
* ``parent_code`` (上级代码, 上级单位代码): empty for the province's federation; the parent may be a
  row of the same file (in any order) or a union already in the tree.
* ``level`` (级别): ``province``/省, ``city``/市, ``county``/县, ``grassroots``/基层. Optional: a code
  that is a division in use is a federation of its level (``XX0000`` province, ``XXYY00`` city,
  any other county), any other code a grassroots union.
* ``kind`` (类型): ``federation``/总工会, ``enterprise``/企业, ``industry``/行业, ``street``/街道,
  ``community``/社区, and the Bingtuan's ``division``/师, ``regiment``/团, ``company``/连. Optional:
  federations are ``federation``; a grassroots union is ``street`` or ``community`` when its name
  says 街道 or 社区, else ``enterprise``.
* ``division_code`` (行政区划代码, 区划代码): optional; a federation's is its code, a grassroots union's
  its parent's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from bangfu.common.punctuation import join_list

from .models import OrgKind, OrgLevel

FIELDS = ("code", "name", "parent_code", "level", "kind", "division_code")
REQUIRED = ("code", "name", "parent_code")
HEADERS: dict[str, set[str]] = {
    "code": {"code", "unit_code", "代码", "单位代码", "编码", "单位编码", "工会代码"},
    "name": {"name", "名称", "单位名称", "工会名称"},
    "parent_code": {"parent_code", "parent", "上级代码", "上级单位代码", "上级编码", "上级工会代码"},
    "level": {"level", "级别", "层级"},
    "kind": {"kind", "类型", "单位类型"},
    "division_code": {"division_code", "行政区划代码", "区划代码"},
}
LEVELS = {
    OrgLevel.PROVINCE: {"province", "省", "省级", "2"},
    OrgLevel.CITY: {"city", "市", "市级", "地市", "州", "3"},
    OrgLevel.COUNTY: {"county", "县", "县级", "区县", "4"},
    OrgLevel.GRASSROOTS: {"grassroots", "基层", "5"},
}
KINDS = {
    OrgKind.FEDERATION: {"federation", "总工会"},
    OrgKind.ENTERPRISE: {"enterprise", "企业"},
    OrgKind.INDUSTRY: {"industry", "行业"},
    OrgKind.STREET: {"street", "街道"},
    OrgKind.COMMUNITY: {"community", "社区"},
    OrgKind.BINGTUAN_DIVISION: {"division", "师"},
    OrgKind.BINGTUAN_REGIMENT: {"regiment", "团"},
    OrgKind.BINGTUAN_COMPANY: {"company", "连", "连队"},
}


@dataclass(frozen=True)
class UnitRow:
    """One union as given; ``line`` is its row in the file (the header is row 1), ``columns`` the
    file's header (or the option) of each field, to name it in a message."""

    line: int
    code: str
    name: str
    parent_code: str = ""
    level: str = ""
    kind: str = ""
    division_code: str = ""
    columns: dict[str, str] = field(default_factory=dict, compare=False)


def _key(header: str) -> str:
    return "".join(str(header).split()).casefold().replace("-", "_")


def tree_rows(table: list[list[str]]) -> list[UnitRow]:
    """The rows of a table whose first non-blank row is the header; a missing or repeated column is
    refused naming the columns it knows."""
    lines = [(n, row) for n, row in enumerate(table, start=1)]
    while lines and not any(str(c).strip() for c in lines[0][1]):
        lines.pop(0)
    if not lines:
        raise ValidationError({"file": _("The file has no rows.")})
    _header_line, header = lines[0]
    columns: dict[str, int] = {}
    names: dict[str, str] = {}
    for index, title in enumerate(header):
        key = _key(title)
        found = next((f for f, titles in HEADERS.items() if key in {_key(t) for t in titles}), None)
        if found is None:
            continue
        if found in columns:
            raise ValidationError(
                {
                    "file": _("Two columns are the %(field)s: %(first)s and %(second)s.")
                    % {"field": found, "first": names[found], "second": str(title).strip()}
                }
            )
        columns[found] = index
        names[found] = str(title).strip()
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise ValidationError(
            {
                "file": _("The header row lacks the columns %(missing)s (one row of headers first: %(known)s).")
                % {
                    "missing": join_list(missing),
                    "known": join_list(f"{f} ({'/'.join(sorted(HEADERS[f] - {f}))})" for f in FIELDS),
                }
            }
        )
    rows = []
    for line, cells in lines[1:]:
        if not any(str(c).strip() for c in cells):
            continue
        values = {
            f: (str(cells[i]).strip() if i < len(cells) and cells[i] is not None else "") for f, i in columns.items()
        }
        rows.append(UnitRow(line=line, columns=names, **values))
    if not rows:
        raise ValidationError({"file": _("The file has a header row but no unions under it.")})
    return rows


def level_from(row: UnitRow, *, division_in_use: bool) -> OrgLevel | None:
    """The level a row gives (None: not one of ``LEVELS``), or the one its code implies."""
    if row.level:
        key = _key(row.level)
        return next((lv for lv, names in LEVELS.items() if key in {_key(n) for n in names}), None)
    if division_in_use:
        return {"0000": OrgLevel.PROVINCE}.get(
            row.code[2:], OrgLevel.CITY if row.code.endswith("00") else OrgLevel.COUNTY
        )
    return OrgLevel.GRASSROOTS


def kind_from(row: UnitRow, level: int) -> str | None:
    """The kind a row gives (None: not one of ``KINDS``), or the default of its level and name."""
    if row.kind:
        key = _key(row.kind)
        return next((k.value for k, names in KINDS.items() if key in {_key(n) for n in names}), None)
    if level < OrgLevel.GRASSROOTS:
        return OrgKind.FEDERATION.value
    if "社区" in row.name:
        return OrgKind.COMMUNITY.value
    if "街道" in row.name:
        return OrgKind.STREET.value
    return OrgKind.ENTERPRISE.value
