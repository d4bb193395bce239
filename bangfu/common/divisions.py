"""Administrative-division codes of China (GB/T 2260), with their history.

The codes come from python-stdnum's ``stdnum/cn/loc.dat`` (compiled from the Wikipedia
lists of every code used since the first edition of GB/T 2260 in 1980), so updating
python-stdnum updates the table. A line of that file looks like::

    53 province="云南省"
      0126 county="[1983-1997]路南彝族自治县,[1998-]石林彝族自治县"

A name may carry the years it was valid, ``[start-end]``, both inclusive, either open.

Levels: ``XX0000`` is a province, ``XXYY00`` a prefecture (or a grouping such as 市辖区
or 省直辖县级行政单位), anything else a county-level unit.

Pure Python: no Django import, so rule and matching code can use it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

from stdnum import numdb

__all__ = [
    "Period",
    "children",
    "division_exists",
    "division_name",
    "division_table",
    "first_year_in_use",
    "full_name",
    "level_of",
    "province_name",
]

Level = Literal["province", "prefecture", "county"]

_CODE_RE = re.compile(r"[0-9]{6}")
_NAME_RE = re.compile(r"(?:\[(?P<start>[0-9]{4})?-(?P<end>[0-9]{4})?\])?(?P<name>[^\[\],]+)")

# Names of grouping codes that are not places; full_name() leaves them out.
_PLACEHOLDERS = frozenset({"市辖区", "县", "市", "区"})


class Period(NamedTuple):
    """One name of a code and the years (inclusive, None = open) it was valid."""

    name: str
    start: int | None
    end: int | None

    def covers(self, year: int) -> bool:
        return (self.start is None or self.start <= year) and (self.end is None or year <= self.end)


def _parse_names(value: str) -> tuple[Period, ...]:
    periods = []
    for part in value.split(","):
        match = _NAME_RE.fullmatch(part.strip())
        if match is None:  # never seen in the data; skip rather than fail the whole table
            continue
        start, end = match["start"], match["end"]
        periods.append(Period(match["name"], int(start) if start else None, int(end) if end else None))
    return tuple(periods)


@functools.cache
def division_table() -> Mapping[str, tuple[Period, ...]]:
    """Code (6 digits) → its names over time (read-only). Built once, on first use."""
    table: dict[str, tuple[Period, ...]] = {}
    # numdb's tree: prefixes are (length, low, high, props, children); in loc.dat every
    # province is one 2-digit prefix and every code below it one 4-digit child.
    for _, low, high, props, subs in numdb.get("cn/loc").prefixes:
        if low != high:  # pragma: no cover - ranges are not used in loc.dat
            continue
        for _, sub_low, sub_high, sub_props, _ in subs:
            if sub_low != sub_high or "county" not in sub_props:  # pragma: no cover
                continue
            table[low + sub_low] = _parse_names(sub_props["county"])
        # Every province has a "0000" line today; else fall back to the province name.
        if "province" in props:
            table.setdefault(low + "0000", (Period(props["province"], None, None),))
    return MappingProxyType(table)


def _periods(code: str) -> tuple[Period, ...]:
    """The names of ``code``; empty for unknown or malformed codes (never raises)."""
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        return ()
    return division_table().get(code, ())


def level_of(code: str) -> Level:
    """``province`` (XX0000), ``prefecture`` (XXYY00) or ``county``.

    ValueError if ``code`` is not 6 digits.
    """
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise ValueError(f"not a 6-digit division code: {code!r}")
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def division_name(code: str, year: int | None = None) -> str | None:
    """The name ``code`` had in ``year``; with no year, its current (or last) name.

    None if the code is unknown or was not in use that year.
    """
    periods = _periods(code)
    if not periods:
        return None
    if year is not None:
        return next((p.name for p in periods if p.covers(year)), None)
    current = [p for p in periods if p.end is None]
    if current:
        return max(current, key=lambda p: p.start or 0).name
    return max(periods, key=lambda p: p.end or 0).name


def division_exists(code: str, year: int | None = None) -> bool:
    """Whether ``code`` was in use in ``year``; with no year, whether it ever was."""
    return division_name(code, year) is not None


def first_year_in_use(code: str, since: int) -> int | None:
    """The first year from ``since`` on in which ``code`` was in use; None if none.

    This is the test for the region of an ID number: the region is the household
    registration when the number was *assigned* (1984 at the earliest), which can be years
    after birth. So a code created after the birth year is fine; a code withdrawn before
    the birth year is not.
    """
    years = [max(since, p.start or since) for p in _periods(code) if p.end is None or p.end >= since]
    return min(years, default=None)


def province_name(code: str) -> str | None:
    """The (current) name of the province of any code, e.g. 云南省 for 532923."""
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        return None
    return division_name(code[:2] + "0000")


def full_name(code: str, year: int | None = None) -> str | None:
    """Province + prefecture + county, e.g. 云南省大理白族自治州祥云县 for 532923.

    Names as of ``year`` (current names when None); None if ``code`` itself was not in
    use then. A prefecture missing in that year, or a grouping such as 市辖区, is left out.
    """
    name = division_name(code, year)
    if name is None:
        return None
    level = level_of(code)
    province_code = code[:2] + "0000"
    parts = [division_name(province_code, year) or province_name(code) or ""]
    if level != "province":
        prefecture_code = code[:4] + "00"
        prefecture = division_name(prefecture_code, year)
        if prefecture and not _is_placeholder(prefecture):
            parts.append(prefecture)
        if level == "county":
            parts.append(name)
    # Repeated parts (a county-level city named like its prefecture) are kept once.
    return "".join(dict.fromkeys(p for p in parts if p))


def children(code: str, year: int | None = None) -> list[str]:
    """Direct child codes in use in ``year`` (ever in use when None), sorted.

    A province's children are its prefectures XXYY00; a prefecture's are its counties,
    without the XXYY01 市辖区 group; a county has none.
    """
    level = level_of(code)
    if level == "county":
        return []
    if level == "province":
        prefix = code[:2]
        candidates = (c for c in division_table() if c[:2] == prefix and c[4:] == "00" and c != code)
    else:
        prefix = code[:4]
        candidates = (c for c in division_table() if c[:4] == prefix and c[4:] not in ("00", "01"))
    return sorted(c for c in candidates if division_exists(c, year))


def _is_placeholder(name: str) -> bool:
    return name in _PLACEHOLDERS or "直辖" in name
