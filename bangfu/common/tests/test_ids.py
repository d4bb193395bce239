"""ResidentId and the division table: pure tests, no database, no Django settings needed."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bangfu.common import divisions
from bangfu.common.ids import (
    InvalidResidentId,
    ResidentId,
    build_resident_id,
    compute_check_digit,
    mask_id,
)

ROOT = Path(__file__).resolve().parents[3]
TODAY = dt.date(2025, 6, 30)
LAST_BIRTH = dt.date(2024, 12, 31)  # generated birth dates stay in the past

# A real number often used in examples: 祥云县, born 1990-01-01, check digit 2.
XIANGYUN = build_resident_id("532923", dt.date(1990, 1, 1), 12, female=False)


def parse(raw: str) -> ResidentId:
    return ResidentId.parse(raw, today=TODAY)


# -- the division table ------------------------------------------------------------


def test_division_names_follow_the_years() -> None:
    assert divisions.division_name("530000") == "云南省"
    assert divisions.division_name("530100") == "昆明市"
    assert divisions.division_name("530126", 1990) == "路南彝族自治县"
    assert divisions.division_name("530126", 1998) == "石林彝族自治县"
    assert divisions.division_name("530126") == "石林彝族自治县"
    assert divisions.division_name("530126", 1982) is None
    assert divisions.division_name("110103") == "崇文区"  # withdrawn: its last name
    assert divisions.division_exists("110103", 2010)
    assert not divisions.division_exists("110103", 2011)
    assert not divisions.division_exists("999999")


@pytest.mark.parametrize("code", ["", "53", "5301000", "53010X", "５３０１００", None])
def test_odd_codes_are_unknown_not_errors(code: str) -> None:
    assert divisions.division_name(code) is None
    assert not divisions.division_exists(code, 2000)
    assert divisions.full_name(code) is None
    assert divisions.province_name(code) is None
    assert divisions.first_year_in_use(code, 1990) is None


def test_full_name_levels_and_children() -> None:
    assert divisions.full_name("532923") == "云南省大理白族自治州祥云县"
    assert divisions.full_name("530100") == "云南省昆明市"
    assert divisions.full_name("530000") == "云南省"
    assert divisions.full_name("110101") == "北京市东城区"  # 市辖区 is left out
    assert divisions.full_name("429004") == "湖北省仙桃市"  # 省直辖… is left out
    assert divisions.full_name("530126", 1990) == "云南省昆明市路南彝族自治县"
    assert divisions.province_name("532923") == "云南省"
    assert [divisions.level_of(c) for c in ("530000", "530100", "530126")] == [
        "province",
        "prefecture",
        "county",
    ]
    with pytest.raises(ValueError, match="6-digit"):
        divisions.level_of("5301")

    prefectures = divisions.children("530000", 2024)
    assert "530100" in prefectures
    assert "532900" in prefectures
    assert "530000" not in prefectures
    counties = divisions.children("530100", 2024)
    assert "530114" in counties  # 呈贡区, from 2011
    assert "530121" not in counties  # 呈贡县, until 2011
    assert "530101" not in counties  # 市辖区
    assert "530121" in divisions.children("530100", 1990)
    assert divisions.children("530126") == []


def test_first_year_in_use() -> None:
    assert divisions.first_year_in_use("530127", 1960) == 1983  # created 1983
    assert divisions.first_year_in_use("530127", 1990) == 1990
    assert divisions.first_year_in_use("110103", 2010) == 2010
    assert divisions.first_year_in_use("110103", 2011) is None  # withdrawn after 2010


# -- parsing: table of cases -------------------------------------------------------

VALID = [
    (XIANGYUN, XIANGYUN),
    ("  532923 19900101 1212  ", XIANGYUN),
    ("\u3000532923\u00a019900101\t1212\n", XIANGYUN),
    ("532923-19900101-1212", XIANGYUN),
    ("５３２９２３１９９００１０１１２１２", XIANGYUN),
    ("'532923199001011212", XIANGYUN),  # Excel's text marker
    ("\ufeff532923199001011212\u200b", XIANGYUN),  # BOM, zero-width space
    # 15-digit legacy number → 18 digits with the computed check digit
    ("532923900101121", XIANGYUN),
    # X as the check digit, in every spelling
    ("11010519491231002X", "11010519491231002X"),
    ("11010519491231002x", "11010519491231002X"),
    ("11010519491231002Ｘ", "11010519491231002X"),
    ("11010519491231002ｘ", "11010519491231002X"),
    # the code was created in 1983, the number assigned later: a 1960 birth is fine
    (build_resident_id("530127", dt.date(1960, 5, 1), 3, True), None),
    # the code was withdrawn after 2010; someone born before keeps the number
    (build_resident_id("110103", dt.date(1970, 1, 1), 8, False), None),
]


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_valid_numbers_are_normalised(raw: str, expected: str | None) -> None:
    rid = parse(raw)
    assert rid.value == (expected or raw)
    assert ResidentId.try_parse(raw, today=TODAY) == rid


INVALID = [
    ("", "empty", {}),
    (" \u3000 ", "empty", {}),
    ("53292319900101121A", "bad_characters", {"position": 18, "character": "A"}),
    ("5329231990010112１Ａ", "bad_characters", {"position": 18, "character": "Ａ"}),
    ("5329 2319-90a1011212", "bad_characters", {"position": 11, "character": "a"}),  # as read: no space, no hyphen
    ("5.32923E+17", "lost_digits", {}),
    ("53292319900101121", "bad_length", {"length": 17}),
    ("5329231990010112120", "bad_length", {"length": 19}),
    ("5329231990010X1212", "misplaced_x", {"position": 14}),
    ("53292390010112X", "misplaced_x", {"position": 15}),
    ("532923199001011219", "bad_checksum", {"expected": "2", "actual": "9"}),
    ("532923199002301212", "bad_date", {"date": "1990-02-30", "first": 7, "last": 14}),
    ("532923199013011212", "bad_date", {"date": "1990-13-01", "first": 7, "last": 14}),
    ("532923900230121", "bad_date", {"date": "1990-02-30", "first": 7, "last": 12}),  # the old format
    ("532923189912311212", "date_too_early", {"date": "1899-12-31"}),
    ("532923202507011212", "future_date", {"date": "2025-07-01"}),
    ("999999199001011212", "bad_region", {"region": "999999"}),
    (
        build_resident_id("110103", dt.date(2012, 3, 4), 5, False),
        "region_not_in_year",
        {"region": "110103", "name": "崇文区", "year": 2012},
    ),
]


@pytest.mark.parametrize(("raw", "code", "params"), INVALID)
def test_invalid_numbers_say_why(raw: str, code: str, params: dict[str, object]) -> None:
    with pytest.raises(InvalidResidentId) as caught:
        parse(raw)
    assert caught.value.code == code
    assert caught.value.params == params
    assert isinstance(caught.value, ValueError)
    assert ResidentId.try_parse(raw, today=TODAY) is None


def test_checksum_message_names_the_expected_character() -> None:
    with pytest.raises(InvalidResidentId) as caught:
        parse("110105194912310021")
    assert caught.value.params == {"expected": "X", "actual": "1"}
    assert "X" in str(caught.value)


def test_messages_fall_back_to_chinese_and_the_module_imports_no_django() -> None:
    """In a fresh interpreter without Django settings: no Django import, Chinese text."""
    code = (
        "import sys\n"
        "from bangfu.common.ids import ResidentId, InvalidResidentId\n"
        "assert 'django' not in sys.modules, 'ids.py must not import Django'\n"
        "try:\n"
        "    ResidentId.parse('532923199001011219')\n"
        "except InvalidResidentId as e:\n"
        "    print(e.message)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "身份证号的校验码（第18位）应为2，而不是9。"


# -- the value type ----------------------------------------------------------------


def test_properties() -> None:
    rid = parse(XIANGYUN)
    assert rid.birth_date == dt.date(1990, 1, 1)
    assert rid.sex == "M"
    assert rid.region_code == "532923"
    assert rid.birthplace == "云南省大理白族自治州祥云县"
    assert rid.masked == "5329**********1212"
    assert str(rid) == XIANGYUN
    assert XIANGYUN not in repr(rid)
    assert parse(build_resident_id("532923", dt.date(1990, 1, 1), 12, True)).sex == "F"
    # named as the code was first in use from the birth year on
    assert parse(build_resident_id("530127", dt.date(1960, 5, 1), 3, True)).birthplace == ("云南省昆明市嵩明县")


def test_equality_hashing_and_immutability() -> None:
    a, b = parse(XIANGYUN), parse(" " + XIANGYUN.lower())
    assert a == b
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.value = "x"  # type: ignore[misc]


def test_constructor_checks_shape_and_check_digit() -> None:
    assert ResidentId(XIANGYUN).value == XIANGYUN
    with pytest.raises(InvalidResidentId, match="bad_checksum"):
        ResidentId(XIANGYUN[:17] + "9")
    with pytest.raises(InvalidResidentId, match="bad_length"):
        ResidentId(XIANGYUN[:15])


def test_int64_key() -> None:
    rid = parse("11010519491231002X")
    key = rid.as_int64()
    assert key == 11010519491231002 * 11 + 10
    assert ResidentId.from_int64(key) == rid
    assert 99999999999999999 * 11 + 10 < 2**63  # the largest key fits in a signed int64


def test_compute_check_digit_and_builder() -> None:
    assert compute_check_digit("11010519491231002") == "X"
    assert compute_check_digit("53292319900101121") == "2"
    with pytest.raises(ValueError, match="17"):
        compute_check_digit("123")
    with pytest.raises(ValueError, match="seq"):
        build_resident_id("532923", dt.date(1990, 1, 1), 100, False)
    with pytest.raises(ValueError, match="region"):
        build_resident_id("5329", dt.date(1990, 1, 1), 1, False)


@pytest.mark.parametrize(
    ("value", "masked"),
    [(XIANGYUN, "5329**********1212"), ("532923900101121", "5329*******1121"), ("12345", "*****")],
)
def test_mask_id(value: str, masked: str) -> None:
    assert mask_id(value) == masked


# -- properties --------------------------------------------------------------------


def _usable_periods() -> list[tuple[str, int, int]]:
    """(county code, first year, last year) with a name valid in those years."""
    found = []
    for code, periods in divisions.division_table().items():
        if divisions.level_of(code) != "county":
            continue
        for p in periods:
            first, last = max(p.start or 1900, 1900), min(p.end or LAST_BIRTH.year, LAST_BIRTH.year)
            if first <= last:
                found.append((code, first, last))
    return found


USABLE = _usable_periods()


@st.composite
def valid_parts(draw: st.DrawFn, *, last_year: int = LAST_BIRTH.year) -> tuple[str, dt.date, int, bool]:
    """A region and a birth date in a year in which the region existed."""
    code, first, last = draw(st.sampled_from([u for u in USABLE if u[1] <= last_year]))
    birth = draw(st.dates(dt.date(first, 1, 1), dt.date(min(last, last_year), 12, 31)))
    return code, birth, draw(st.integers(0, 99)), draw(st.booleans())


@given(valid_parts())
def test_built_numbers_parse(parts: tuple[str, dt.date, int, bool]) -> None:
    region, birth, seq, female = parts
    rid = parse(build_resident_id(region, birth, seq, female))
    assert (rid.region_code, rid.birth_date, rid.sex) == (region, birth, "F" if female else "M")
    assert rid.birthplace
    assert ResidentId.from_int64(rid.as_int64()) == rid


NOISE = st.sampled_from([" ", "\u3000", "\u00a0", "\t", "-", "\u200b"])
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)} | {"X": "\uff38"}


@given(valid_parts(), st.data())
def test_spellings_of_a_number_parse_to_the_same_value(
    parts: tuple[str, dt.date, int, bool], data: st.DataObject
) -> None:
    value = build_resident_id(*parts)
    chars = list(value)
    for i in data.draw(st.sets(st.integers(0, 17))):
        chars[i] = FULL_WIDTH[chars[i]]
    if chars[17] == "X" and data.draw(st.booleans()):
        chars[17] = "x"
    for i in sorted(data.draw(st.sets(st.integers(0, 18), max_size=5)), reverse=True):
        chars.insert(i, data.draw(NOISE))
    assert parse("".join(chars)).value == value


@given(valid_parts(), st.integers(0, 17), st.data())
def test_any_single_substitution_is_rejected(
    parts: tuple[str, dt.date, int, bool], position: int, data: st.DataObject
) -> None:
    value = build_resident_id(*parts)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != value[position]]))
    changed = value[:position] + replacement + value[position + 1 :]
    with pytest.raises(InvalidResidentId):
        parse(changed)


@given(valid_parts(last_year=1999))
def test_fifteen_digit_numbers_become_the_same_eighteen(
    parts: tuple[str, dt.date, int, bool],
) -> None:
    region, birth, seq, female = parts
    value = build_resident_id(region, birth, seq, female)
    legacy = value[:6] + value[8:17]  # drop the century and the check digit
    rid = parse(legacy)
    assert rid.value == value
    assert rid.birth_date == birth


@given(valid_parts())
def test_masked_shows_at_most_eight_digits(parts: tuple[str, dt.date, int, bool]) -> None:
    rid = parse(build_resident_id(*parts))
    shown = [c for c in rid.masked if c != "*"]
    assert len(shown) <= 8
    assert rid.masked.startswith(rid.value[:4])
    assert rid.masked.endswith(rid.value[-4:])
