"""The union tree of a province from the division table: the province federation, a city federation
per prefecture, a county federation per county, and 2-6 grassroots unions under each county."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bangfu.common import divisions
from bangfu.org.models import OrgKind, OrgLevel, OrgUnit
from bangfu.org.services import org_unit_create

from . import data

# The tree is as of this year's division table (current names and codes).
TREE_YEAR = 2025


@dataclass(frozen=True)
class Grassroots:
    id: int
    path: str
    division_code: str  # the county's code


@dataclass
class Tree:
    province: OrgUnit
    grassroots: list[Grassroots]
    created: int


def _is_placeholder(name: str) -> bool:
    """Groupings such as 市辖区 or 省直辖县级行政单位 are not places with a federation."""
    return name in {"市辖区", "县", "市", "区", ""} or "直辖" in name


def _federation_name(name: str) -> str:
    # 大理白族自治州 → 大理白族自治州总工会; a 市 or 县 keeps its full name.
    return f"{name}总工会"


def _get_or_create(
    code: str, *, name: str, level: int, division_code: str, parent: OrgUnit | None, kind: str
) -> tuple[OrgUnit, bool]:
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is not None:
        return unit, False
    unit = org_unit_create(name=name, level=level, division_code=division_code, parent=parent, kind=kind, code=code)
    return unit, True


def _grassroots_names(rng: random.Random, county: str, count: int) -> list[tuple[str, str]]:
    """(name, kind) of ``count`` distinct grassroots unions of a county."""
    names: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(names) < count:
        roll = rng.random()
        if roll < 0.5:
            name, kind = f"{county}{rng.choice(data.ENTERPRISES)}工会", OrgKind.ENTERPRISE
        elif roll < 0.8:
            name, kind = f"{county}{rng.choice(data.STREETS)}街道工会", OrgKind.STREET
        else:
            name, kind = f"{county}{rng.choice(data.COMMUNITIES)}社区工会", OrgKind.COMMUNITY
        if name not in seen:
            seen.add(name)
            names.append((name, kind))
    return names


def build_tree(province_code: str, rng: random.Random) -> Tree:
    """Create (or find, by unit code) every unit of the province's tree; grassroots unions get the
    codes ``<county>-G01``…, so running again finds the same units."""
    created = 0
    province_name = divisions.division_name(province_code) or province_code
    province, new = _get_or_create(
        province_code,
        name=_federation_name(province_name),
        level=OrgLevel.PROVINCE,
        division_code=province_code,
        parent=None,
        kind=OrgKind.FEDERATION,
    )
    created += new
    grassroots: list[Grassroots] = []
    for prefecture in divisions.children(province_code, TREE_YEAR):
        if _is_placeholder(divisions.division_name(prefecture) or ""):
            continue
        city, new = _get_or_create(
            prefecture,
            name=_federation_name(divisions.division_name(prefecture) or prefecture),
            level=OrgLevel.CITY,
            division_code=prefecture,
            parent=province,
            kind=OrgKind.FEDERATION,
        )
        created += new
        for county_code in divisions.children(prefecture, TREE_YEAR):
            county_name = divisions.division_name(county_code) or county_code
            if _is_placeholder(county_name):
                continue
            county, new = _get_or_create(
                county_code,
                name=_federation_name(county_name),
                level=OrgLevel.COUNTY,
                division_code=county_code,
                parent=city,
                kind=OrgKind.FEDERATION,
            )
            created += new
            names = _grassroots_names(rng, county_name, rng.randint(2, 6))
            for i, (name, kind) in enumerate(names, start=1):
                unit, new = _get_or_create(
                    f"{county_code}-G{i:02d}",
                    name=name,
                    level=OrgLevel.GRASSROOTS,
                    division_code=county_code,
                    parent=county,
                    kind=kind,
                )
                created += new
                grassroots.append(Grassroots(unit.pk, unit.path, county_code))
    return Tree(province, grassroots, created)
