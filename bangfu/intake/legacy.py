"""The legacy-import sheet: existing paper or spreadsheet files in the national form's layout.

One row per person; the rows of a household share its file number (档案编号). Household fields
(category, causes, address, housing, union, bank) are read from the head's row; on the other rows
they may be left blank. Headers are the national form's Chinese column names (``COLUMNS``); a
header that is not one of them, or a required one that is missing, stops the import before any
row is read. Cells take the form's Chinese terms (户主, 汉族, 低保户, 商品房/自购房 …) or the
system's codes (``head``, ``01``, ``legacy_dibao`` …); a cause is its number (1–10) or its name.

The Chinese text in this module is the file format (headers and code-list terms of the national
form), not user-interface text.

Reading is python-calamine (fast, and it reads .xlsx, .xls and .ods); the downloadable template
is written with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import repeat
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from bangfu.common import sheets
from bangfu.common.ids import InvalidResidentId, build_resident_id
from bangfu.common.punctuation import join_list
from bangfu.common.text import clean_name, date_message, decimal_of, not_a_number, plain_amount, shortened
from bangfu.registry import codes
from bangfu.registry.inputs import BankAccountInput, HouseholdInput, MemberInput


@dataclass(frozen=True)
class Column:
    header: str
    key: str  # a HouseholdInput or MemberInput field, or "file_number" / "unit" / "bank" / "card_number"
    household: bool  # read from the head's row
    required: bool = False
    kind: str = "text"  # text | code | date | money | decimal | int | bool | causes
    sample: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("档案编号", "file_number", True, True, sample="5329232015000123"),
    Column("工会", "unit", True),
    Column("困难类别", "category", True, True, "code", "低保户"),
    Column("主要致困原因", "main_cause", True, True, "int", "患重特大疾病"),
    Column("次要致困原因", "secondary_causes", True, kind="causes", sample="下岗失业、子女上学"),
    Column("致困原因说明", "cause_note", True),
    Column("住址", "address", True, True, sample="云南省大理白族自治州祥云县祥城镇文化路12号"),
    Column("住房类型", "housing_type", True, True, "code", "承租单位公房"),
    Column("住房面积", "housing_area", True, kind="decimal", sample="46.5"),
    Column("建档日期", "filed_on", True, kind="date", sample="2015-03-20"),
    Column("是否农民工", "is_migrant_worker", True, kind="bool", sample="否"),
    Column("开户银行", "bank", True, sample="中国工商银行"),
    Column("银行卡号", "card_number", True, sample="6222021234567890123"),
    Column("姓名", "name", False, True, sample="张建国"),
    Column("与户主关系", "relationship", False, True, "code", "户主"),
    Column("身份证号", "id_number", False, True),
    Column("民族", "ethnicity", False, kind="code", sample="汉族"),
    Column("性别", "sex", False, kind="code", sample="男"),
    Column("出生日期", "birth_date", False, kind="date", sample="1972-03-09"),
    Column("健康状况", "health", False, kind="code", sample="恶性肿瘤"),
    Column("残疾类别", "disability_type", False, kind="code"),
    Column("残疾等级", "disability_grade", False, kind="int"),
    Column("就业状况", "work_status", False, kind="code", sample="下(待)岗"),
    Column("月收入", "monthly_income", False, kind="money", sample="800"),
    Column("婚姻状况", "marital", False, kind="code", sample="已婚"),
    Column("户口性质", "hukou", False, kind="code", sample="非农业"),
    Column("政治面貌", "political_status", False, kind="code", sample="群众"),
    Column("工作单位", "employer", False, sample="祥云县纺织厂"),
    Column("联系电话", "phone", False, sample="13800138000"),
)
BY_HEADER = {c.header: c for c in COLUMNS}
BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED = tuple(c.header for c in COLUMNS if c.required)

_ETHNIC_NAMES = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
]


def _terms(choices: Any, pairs: dict[str, str]) -> dict[str, str]:
    """Form term → code, plus each code itself."""
    out = {str(v): str(v) for v in choices.values}
    out.update(pairs)
    return out


TERMS: dict[str, dict[str, str]] = {
    "category": _terms(
        codes.HardshipCategory,
        {
            "深度困难": "deep",
            "深度困难职工": "deep",
            "相对困难": "relative",
            "相对困难职工": "relative",
            "意外致困": "accident",
            "意外致困职工": "accident",
            "低保户": "legacy_dibao",
            "低保边缘户": "legacy_dibao_edge",
            "意外致困户": "legacy_accident",
        },
    ),
    "relationship": _terms(
        codes.Relationship,
        {
            "户主": "head",
            "本人": "head",
            "配偶": "spouse",
            "妻子": "spouse",
            "丈夫": "spouse",
            "子": "son",
            "儿子": "son",
            "女": "daughter",
            "女儿": "daughter",
            "父亲": "father",
            "母亲": "mother",
            "公公": "father_in_law",
            "岳父": "father_in_law",
            "婆婆": "mother_in_law",
            "岳母": "mother_in_law",
            "祖父母": "grandparent",
            "祖父": "grandparent",
            "祖母": "grandparent",
            "外祖父": "grandparent",
            "外祖母": "grandparent",
            "孙子": "grandchild",
            "孙女": "grandchild",
            "外孙": "grandchild",
            "外孙女": "grandchild",
            "孙子女": "grandchild",
            "兄弟姐妹": "sibling",
            "兄": "sibling",
            "弟": "sibling",
            "姐": "sibling",
            "妹": "sibling",
            "儿媳": "child_in_law",
            "女婿": "child_in_law",
            "其他": "other",
        },
    ),
    "sex": _terms(codes.Sex, {"男": "M", "女": "F"}),
    "ethnicity": {
        **{str(v): str(v) for v in codes.Ethnicity.values},
        **{str(int(v)): str(v) for v in codes.Ethnicity.values},
        **{name: f"{i:02d}" for i, name in enumerate(_ETHNIC_NAMES, 1)},
        **{name + "族": f"{i:02d}" for i, name in enumerate(_ETHNIC_NAMES, 1)},
        "其他": "97",
        "其他未识别民族": "97",
        "外国血统中国籍人士": "98",
        "入籍": "98",
    },
    "health": _terms(
        codes.Health,
        {
            "良好": "good",
            "健康": "good",
            "恶性肿瘤": "malignant_tumour",
            "心血管病": "cardiovascular",
            "脑血管病": "cerebrovascular",
            "终末期肾病": "end_stage_renal",
            "精神病": "mental_illness",
            "肝病": "liver_disease",
            "血液病": "blood_disease",
            "糖尿病": "diabetes",
            "腰颈椎病": "spinal",
            "高血压病": "hypertension",
            "高血压": "hypertension",
            "肺病": "lung_disease",
            "深度昏迷": "deep_coma",
            "永久瘫痪": "permanent_paralysis",
            "严重阿尔茨海默病": "severe_alzheimers",
            "严重帕金森病": "severe_parkinsons",
            "一般疾病": "general_illness",
            "残疾": "disabled",
        },
    ),
    "disability_type": _terms(
        codes.DisabilityType,
        {
            "视力": "visual",
            "听力": "hearing",
            "言语": "speech",
            "智力": "intellectual",
            "肢体": "physical",
            "精神": "mental",
            "多重": "multiple",
            **{
                k + "残疾": v
                for k, v in [
                    ("视力", "visual"),
                    ("听力", "hearing"),
                    ("言语", "speech"),
                    ("智力", "intellectual"),
                    ("肢体", "physical"),
                    ("精神", "mental"),
                    ("多重", "multiple"),
                ]
            },
        },
    ),
    "work_status": _terms(
        codes.WorkStatus,
        {
            "在岗": "employed",
            "下(待)岗": "laid_off",
            "下岗": "laid_off",
            "待岗": "laid_off",
            "失(无)业": "unemployed",
            "失业": "unemployed",
            "无业": "unemployed",
            "退休": "retired",
            "病休": "sick_leave",
            "内退": "early_retired",
            "农民工": "migrant_worker",
        },
    ),
    "housing_type": _terms(
        codes.HousingType,
        {
            "承租单位公房": "unit_public_rental",
            "政府廉租房": "low_rent",
            "廉租房": "low_rent",
            "商品房/自购房": "commercial",
            "商品房": "commercial",
            "自购房": "commercial",
            "经济适用房": "affordable",
            "两限房": "price_capped",
            "自建房": "self_built",
            "租房": "rented",
            "无房": "none",
            "其他": "other",
        },
    ),
    "marital": _terms(codes.Marital, {"已婚": "married", "未婚": "single", "离异": "divorced", "丧偶": "widowed"}),
    "hukou": _terms(codes.Hukou, {"非农业": "non_agricultural", "农业": "agricultural", "农转居": "converted"}),
    "political_status": _terms(
        codes.Political,
        {"中共党员": "cpc", "共青团员": "cyl", "群众": "masses", "民主党派": "democratic_party", "其他": "other"},
    ),
}
CAUSE_TERMS: dict[str, int] = {
    **{str(int(c)): int(c) for c in codes.Cause},
    "无劳动能力": 1,
    "有劳动能力而未就业": 2,
    "下岗失业": 3,
    "未参加社会保险": 4,
    "社会保险待遇落实不到位": 5,
    "患重特大疾病": 6,
    "遭受自然灾害": 7,
    "遭受意外事故": 8,
    "子女上学": 9,
    "其他": 10,
}
GRADE_TERMS = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}

_OWN_LABELS = {
    # How a file number is read (``file_number_text``): what a cadre reads as one number is one.
    "file_number": gettext_lazy(
        "File number (read without spaces, in half width and in capitals: ５３２９ is 5329, b07 is B07)"
    ),
    "unit": gettext_lazy("Union (its name or code; blank: the union chosen for the import)"),
    "bank": gettext_lazy("Bank"),
    "card_number": gettext_lazy("Bank card number"),
    "id_number": gettext_lazy("ID number"),
    "name": gettext_lazy("Name of the person"),
    "filed_on": gettext_lazy("Date filed"),
    "secondary_causes": gettext_lazy("Secondary causes (several, separated by 、 or commas)"),
}


def _field_label(key: str) -> str:
    from bangfu.registry.models import Household, Member

    if key in _OWN_LABELS:
        return str(_OWN_LABELS[key])
    for model in (Household, Member):
        try:
            return str(getattr(model._meta.get_field(key), "verbose_name", key))
        except FieldDoesNotExist:  # not a field of this model
            continue
    return key


def allowed_terms(key: str) -> list[tuple[str, str]]:
    """What a coded column takes: the form's (Chinese) word for each value with the value's name
    in the reader's language; the codes themselves are taken too."""
    from bangfu.registry.models import Household, Member

    if key in {"main_cause", "secondary_causes"}:
        labels = {int(c): str(c.label) for c in codes.Cause}
        firsts: dict[int, str] = {}
        for term, n in CAUSE_TERMS.items():
            if not term.isdigit():
                firsts.setdefault(n, term)
        return [(firsts.get(n, str(n)), labels[n]) for n in sorted(labels)]
    if key == "disability_grade":
        grades = {int(g): str(g.label) for g in codes.DisabilityGrade}
        return [(term, grades[n]) for term, n in GRADE_TERMS.items()]
    terms = TERMS.get(key)
    if terms is None:
        return []
    choices: dict[str, str] = {}
    for model in (Household, Member):
        try:
            found = getattr(model._meta.get_field(key), "choices", None) or []
            choices = {str(v): str(label) for v, label in found}
            break
        except FieldDoesNotExist:  # not a field of this model
            continue
    firsts_code: dict[str, str] = {}
    for term, code in terms.items():
        if term != code and not term.isascii():
            firsts_code.setdefault(code, term)
    return [(firsts_code.get(code, code), label) for code, label in choices.items() if code]


@functools.cache
def _allowed_words(key: str) -> tuple[str, ...]:
    """``allowed_terms``' words alone (the same in every language: kept once per column)."""
    return tuple(term for term, _label in allowed_terms(key))


def column_guide() -> list[dict[str, Any]]:
    """The template's columns for the import page: header, meaning, whether required, and what a
    coded column takes."""
    return [
        {"header": c.header, "meaning": _field_label(c.key), "required": c.required, "allowed": allowed_terms(c.key)}
        for c in COLUMNS
    ]


YES = {"是", "有", "yes", "y", "true", "1", "√"}
NO = {"否", "无", "no", "n", "false", "0", ""}
_CAUSE_SPLIT = re.compile(r"[,，、;；/\s]+")


# The file as a whole cannot be imported (unreadable, protected, wrong headers).
SheetProblem = sheets.SheetProblem


@dataclass
class Issue:
    row: int
    column: str
    reason: str
    file_number: str = ""
    # A cell of a household skipped as already on record that says otherwise than its file
    # (``on_record.row_differences``): said, but the household is counted as on file, not as invalid.
    on_record: bool = False


@dataclass
class ParsedHousehold:
    file_number: str
    unit_code: str
    first_row: int
    rows: list[int]  # the sheet row of each member, in order
    data: HouseholdInput
    issues: list[Issue] = field(default_factory=list)

    @property
    def head_row(self) -> int:
        for row, m in zip(self.rows, self.data.members, strict=False):
            if m.relationship == codes.Relationship.HEAD:
                return row
        return self.first_row

    def locate(self, path: str) -> tuple[int, str]:
        """The sheet row and column of a validation path (``members.1.id_number``, ``main_cause``)."""
        parts = path.split(".")
        if parts[0] == "members" and len(parts) >= 3 and parts[1].isdigit():
            i = int(parts[1])
            row = self.rows[i] if i < len(self.rows) else self.first_row
            col = BY_KEY.get(parts[2])
            return row, col.header if col else ""
        if parts[0] == "members":
            return self.head_row, BY_KEY["relationship"].header
        if parts[:2] == ["bank_account", "holder_name"]:
            # The card's holder is the head (``_set_top``): the template has no column of its own for it.
            return self.head_row, BY_KEY["name"].header
        if parts[0] == "bank_account":
            key = "bank" if len(parts) > 1 and parts[1] in {"bank", "branch"} else "card_number"
            return self.head_row, BY_KEY[key].header
        if parts[0] == "unit_id":
            return self.head_row, BY_KEY["unit"].header
        col = BY_KEY.get(parts[0])
        return self.head_row, col.header if col else ""


# --- reading the workbook ---------------------------------------------------------------------------


def open_rows(content: bytes, name: str = "") -> sheets.SheetRows:
    """The rows of the first sheet that has the template's headers (a cover or title sheet put first
    is passed over: ``sheets.first_sheet_rows``), with the rows and columns hidden in it; a
    ``SheetProblem`` with a specific message for a file that cannot be read."""
    return sheets.first_sheet_rows(content, name, has_header=_has_template_header)


def _has_template_header(head: list[list[Any]]) -> bool:
    if not head:
        return False
    return not _header_problems([_header(h) for h in head[header_index(head)]])


HEADER_SEARCH_ROWS = 10
_SPACES = re.compile(r"\s+")
_NOTE = re.compile(r"[（(][^（()）]*[)）]$")


def _header(value: Any) -> str:
    """A header cell as the template names it: without spaces or line breaks, a required mark
    (``*``) or a note in brackets (``身份证号（18位）``, ``月收入(元)``)."""
    text = _SPACES.sub("", _text(value)).strip("*＊")
    if text in BY_HEADER:
        return text
    bare = _NOTE.sub("", text).strip("*＊")
    return bare if bare in BY_HEADER else text


def header_index(rows: list[list[Any]]) -> int:
    """The position of the header row among the first rows: a title, the union's name or a row of
    merged group names often stands above it. The row naming the most template columns; the first
    row when none names any."""
    best, best_count = 0, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        count = len({h for h in map(_header, row) if h in BY_HEADER})
        if count > best_count:
            best, best_count = i, count
    return best


# Columns counties add to the template that carry nothing for the file: a running number, remarks
# and notes. They are left out, and the batch says so; any other column not in the template still
# refuses the file (a misspelled template column must not vanish without a word).
IGNORED_HEADERS = ("序号", "备注", "说明")


def _ignored(header: str) -> bool:
    return header in IGNORED_HEADERS or _NOTE.sub("", header).strip("*＊") in IGNORED_HEADERS


# A header quoted in a message is cut to this many characters: a template header is far shorter,
# and a cell of a whole page (a megabyte) would make a message of a megabyte.
HEADER_QUOTED = 40


def _quoted_header(header: str) -> str:
    return shortened(header, HEADER_QUOTED)


def _header_problems(headers: list[str]) -> list[str]:
    """What is wrong with a header row (its cells as ``_header`` gives them): the missing, unknown
    and doubled columns, each kind in a phrase; none when it is the template's."""
    headers = list(headers)
    while headers and not headers[-1]:
        headers.pop()
    unknown = [_quoted_header(h) for h in headers if h and h not in BY_HEADER and not _ignored(h)]
    missing = [h for h in REQUIRED if h not in headers]
    dupes = sorted({h for h in headers if h in BY_HEADER and headers.count(h) > 1})
    parts = []
    if missing:
        parts.append(_("missing columns: %(names)s") % {"names": join_list(missing)})
    if unknown:
        parts.append(_("unknown columns: %(names)s") % {"names": join_list(unknown)})
    if dupes:
        parts.append(_("columns given twice: %(names)s") % {"names": join_list(dupes)})
    return parts


def check_headers(header_row: list[Any], row: int = 1, looked_at: tuple[str, ...] = ()) -> list[Column | None]:
    """The column of each header cell (None: a blank or ignored one, ``IGNORED_HEADERS``); wrong
    headers name the missing and the unknown ones. ``row``: the header's row in the sheet (1 = the
    first); ``looked_at``: the sheets looked at for the header, when none had it."""
    headers = [_header(h) for h in header_row]
    while headers and not headers[-1]:
        headers.pop()
    parts = _header_problems(headers)
    if parts:
        # Translators: between the kinds of header problems (a full-width semicolon in Chinese).
        problems = _("; ").join(parts)
        if len(looked_at) > 1:
            message = _(
                "None of the sheets (%(sheets)s) has the template's headers; on the first, %(problems)s. "
                "Download the template."
            ) % {"sheets": join_list(map(_quoted_header, looked_at)), "problems": problems}
        elif row == 1:
            message = _("The first row does not have the template's headers (%(problems)s). Download the template.") % {
                "problems": problems
            }
        else:
            message = _("Row %(row)s does not have the template's headers (%(problems)s). Download the template.") % {
                "problems": problems,
                "row": row,
            }
        raise SheetProblem(
            "wrong_headers",
            message,
            missing=[h for h in REQUIRED if h not in headers],
            unknown=[_quoted_header(h) for h in headers if h and h not in BY_HEADER and not _ignored(h)],
        )
    return [BY_HEADER.get(h) if h else None for h in headers]


def sheet_header(rows: list[list[Any]]) -> tuple[int, list[Column | None]]:
    """The position of the header row among ``rows`` and the column of each of its cells; a
    ``SheetProblem`` naming what is wrong (and the sheets looked at, for a workbook none of whose
    sheets has the template's headers)."""
    at = header_index(rows)
    return at, check_headers(rows[at] if rows else [], at + 1, getattr(rows, "looked_at", ()))


# --- cells ------------------------------------------------------------------------------------------


def _not_allowed(value: str, key: str) -> str:
    """The value is not one the column takes: say which it takes (the words of the form)."""
    allowed = _allowed_words(key)
    value = shortened(value)
    if not allowed:
        return _("“%(value)s” is not one of the allowed values.") % {"value": value}
    shown = join_list(allowed[:_ALLOWED_SHOWN]) + ("…" if len(allowed) > _ALLOWED_SHOWN else "")
    return _("“%(value)s” is not one of the allowed values: %(allowed)s.") % {"value": value, "allowed": shown}


_ALLOWED_SHOWN = 12  # the ethnicities are 58: the import page lists them all


def _text(value: Any) -> str:
    """A cell as text: a whole number without its ``.0``, a date as YYYY-MM-DD; text as names are
    kept (``clean_name``: no zero-width characters or byte-order marks, no-break and other spaces
    as one space, none at either end), so that no value kept, compared or looked up holds what
    shows nothing."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return clean_name(str(value))


def file_number_text(value: Any) -> str:
    """A file number as the import keeps it: ``_text``, then in half width (an input method's
    full-width mode types ``Ｚ１``), without spaces (``5329 2320 1500 0123``, grouped as read
    aloud) and in upper case: what a cadre reads as one number is one number. Only invisible
    characters: no number (missing)."""
    text = _text(value)
    if not text.isascii() or " " in text:
        text = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    return text.upper()


def _id_stored_as_number(value: Any) -> bool:
    """An ID number Excel kept as a number: past 15 digits a number keeps only its first 15
    (``5.32923199001011E+17``), so the last ones are lost, and a lucky check digit may pass."""
    return type(value) in {int, float} and abs(value) >= 2**53


# Columns of long numbers that are names, not quantities: a bank card number (16 to 19 digits) or a
# file number (16 in the national form). Excel keeps 15 significant digits of a number, so one
# typed into a cell not formatted as text loses the rest, and a wrong but well-formed number would
# be taken: a card that pays someone else, a file number of another household.
_DIGIT_KEYS = frozenset({"card_number", "file_number"})


def _lost_digits(value: Any) -> bool:
    """A long number kept as a number: past its 15th digit Excel has put zeros."""
    return type(value) in {int, float} and abs(value) >= 10**15


def lost_digits_message() -> str:
    return _(
        "The number was stored as a number, so Excel kept only its first 15 digits: "
        "format the column as text and type the number again."
    )


def id_stored_as_number_message() -> str:
    """The ID number's reason (``ids.InvalidResidentId``), the same wherever it is shown."""
    return InvalidResidentId("lost_digits").message


# Excel counts days from 1899-12-30; a date cell that lost its format shows this number. Numbers
# from 3,000 (1908) to 99,999 (2173) are taken as such (smaller ones may be years, larger ones
# 20190305).
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_SERIALS = (3000, 100_000)


_MIDNIGHT = re.compile(r"(?<=\d)[ T]+0?0:00(?::00(?:\.0+)?)?$")


class _Cells:
    """Reads one row's cells into typed values, noting each unreadable cell as an issue."""

    def __init__(self, row: int, issues: list[Issue]) -> None:
        self.row = row
        self.issues = issues

    def bad(self, col: Column, reason: str) -> None:
        self.issues.append(Issue(self.row, col.header, reason))

    def read(self, col: Column, value: Any) -> Any:
        if col.kind == "text":
            if col.key == "id_number" and _id_stored_as_number(value):
                self.bad(col, id_stored_as_number_message())
            elif col.key in _DIGIT_KEYS and _lost_digits(value):
                self.bad(col, lost_digits_message())
            return _text(value)
        text = _text(value)
        if col.kind == "code":
            if not text:
                return ""
            code = TERMS[col.key].get(text) or TERMS[col.key].get(text.replace(" ", ""))
            if code is None:
                self.bad(col, _not_allowed(text, col.key))
                return ""
            return code
        if col.kind == "int":
            if not text:
                return None
            if col.key == "main_cause":
                n: int | None = CAUSE_TERMS.get(text)
            elif col.key == "disability_grade":
                n = GRADE_TERMS.get(text) or (int(text) if text.isascii() and text.isdigit() else None)
            else:
                n = int(text) if text.isascii() and text.isdigit() else None
            if n is None:
                self.bad(col, _not_allowed(text, col.key))
            return n
        if col.kind == "causes":
            out = []
            for part in _CAUSE_SPLIT.split(text):
                if not part:
                    continue
                n = CAUSE_TERMS.get(part)
                if n is None:
                    self.bad(col, _not_allowed(part, col.key))
                else:
                    out.append(n)
            return out
        if col.kind in {"money", "decimal"}:
            if not text:
                return Decimal(0) if col.kind == "money" else None
            plain = plain_amount(text)  # full-width (４６．５), with the currency or unit (1,800元, 46.5㎡)
            try:
                d = decimal_of(plain)
            except InvalidOperation:
                self.bad(col, not_a_number(plain))
                return Decimal(0) if col.kind == "money" else None
            if col.kind == "money" and d.is_finite():
                d = d.quantize(Decimal("0.01")) if d == d.quantize(Decimal("0.01")) else d
            return d
        if col.kind == "date":
            if isinstance(value, dt.datetime):
                return value.date()
            if isinstance(value, dt.date):
                return value
            if type(value) in {int, float} and _EXCEL_SERIALS[0] <= value < _EXCEL_SERIALS[1]:
                return _EXCEL_EPOCH + dt.timedelta(days=int(value))
            if not text:
                return None
            # A date cell turned text keeps the time a spreadsheet shows with it (2019/3/5 0:00:00):
            # midnight is the date alone; any other time is not a date of the form, and is refused.
            if not text.isascii():  # typed in full width (２０２０－０３－０５), as file numbers are read
                text = unicodedata.normalize("NFKC", text)
            text = _MIDNIGHT.sub("", text)
            for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"):
                try:
                    return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
                except ValueError:
                    continue
            self.bad(col, date_message(text))
            return None
        if col.kind == "bool":
            low = text.lower()
            if low in YES:
                return True
            if low not in NO:
                self.bad(col, _("Write 是 or 否."))
            return False
        raise AssertionError(col.kind)


_MEMBER_KEYS = {c.key for c in COLUMNS if not c.household}
_NOT_GIVEN = (None, "")


def _read_column(col: Column, values: list[Any], household: bool) -> tuple[list[Any], dict[int, list[str]]]:
    """``_Cells.read`` of each cell of a column (a household column's blank cells are not read and
    come back as ``_SKIP``): the values, and the problems by position. A cell's result depends
    only on the cell, so each distinct cell is read once (most columns hold a few distinct values)."""
    out: list[Any] = []
    bad: dict[int, list[str]] = {}
    if col.kind == "text":
        for i, v in enumerate(values):
            if household and v in _NOT_GIVEN:
                out.append(_SKIP)
            elif type(v) is str:
                out.append(clean_name(v))
            else:
                if col.key == "id_number" and _id_stored_as_number(v):
                    bad[i] = [id_stored_as_number_message()]
                elif col.key in _DIGIT_KEYS and _lost_digits(v):
                    bad[i] = [lost_digits_message()]
                out.append(_text(v))
        return out, bad
    if len(set(map(type, values)) & _NUMBER_TYPES) <= 1:
        return _read_distinct(col, values, household)
    memo: dict[Any, tuple[Any, list[str]]] = {}
    append = out.append
    for i, v in enumerate(values):
        if household and v in _NOT_GIVEN:
            append(_SKIP)
            continue
        # True == 1 == 1.0 as dict keys, but they read differently: key on the type too.
        key = v if type(v) is str else (type(v), v)
        hit = memo.get(key)
        if hit is None:
            issues: list[Issue] = []
            value = _Cells(0, issues).read(col, v)
            hit = memo[key] = (value, [x.reason for x in issues])
        if hit[1]:
            bad[i] = hit[1]
        value = hit[0]
        # Mutable results (lists) are not shared between households.
        append(list(value) if type(value) is list else value)
    return out, bad


# Cell types that are equal as dict keys while they read differently (True == 1 == 1.0).
_NUMBER_TYPES = frozenset({bool, int, float})


def _read_distinct(col: Column, values: list[Any], household: bool) -> tuple[list[Any], dict[int, list[str]]]:
    """``_read_column`` for a column whose distinct cells are told apart by the cell alone (at
    most one of bool, int and float in it): each distinct cell read once, then looked up."""
    results: dict[Any, Any] = {}
    problems: dict[Any, list[str]] = {}
    for v in dict.fromkeys(values):
        if household and v in _NOT_GIVEN:
            results[v] = _SKIP
            continue
        issues: list[Issue] = []
        results[v] = _Cells(0, issues).read(col, v)
        if issues:
            problems[v] = [x.reason for x in issues]
    out = list(map(results.__getitem__, values))
    if any(type(value) is list for value in results.values()):
        out = [list(value) if type(value) is list else value for value in out]  # not shared between households
    bad = {i: problems[v] for i, v in enumerate(values) if v in problems} if problems else {}
    return out, bad


class _Skip:
    """A household cell left blank (not read)."""


_SKIP: Any = _Skip()


@dataclass
class Sheet:
    """A sheet's data rows (blank ones left out) with their sheet row numbers and file numbers,
    to be parsed whole or a part at a time (``parse``)."""

    cols: list[Column | None]
    kept: list[list[Any]]
    rownums: list[int]
    file_numbers: list[str]
    # Positions whose file number came as a long number (``_lost_digits``): each such row gets a problem.
    lost: frozenset[int] = frozenset()
    # The problems of the rows hidden in the file (not read), and how many households are only in them.
    hidden: list[Issue] = field(default_factory=list)
    hidden_households: int = 0
    # What the batch is told of the file as a whole: the sheet read, columns left out or hidden,
    # totals and notes passed over.
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.kept)

    @property
    def keys(self) -> frozenset[str]:
        """The template's columns the sheet has (their keys)."""
        return frozenset(c.key for c in self.cols if c is not None)

    @property
    def rows_read(self) -> int:
        """The data rows, the hidden ones with them."""
        return len(self.kept) + len(self.hidden)

    def cuts(self, first: int, size: int) -> list[int]:
        """Row positions that part the rows, about ``first`` rows then ``size`` rows a part, with
        no household on both sides of a cut (its rows need not be next to each other)."""
        numbers = self.file_numbers
        last = {number: i for i, number in enumerate(numbers) if number}
        cuts, reach, target = [0], -1, first
        for i, number in enumerate(numbers):
            if number:
                reach = max(reach, last[number])
            if reach <= i and i + 1 - cuts[-1] >= target:
                cuts.append(i + 1)
                target = size
        if cuts[-1] != len(numbers):
            cuts.append(len(numbers))
        return cuts

    def parse(self, start: int = 0, end: int | None = None) -> tuple[list[ParsedHousehold], list[Issue]]:
        """The households of rows ``start`` to ``end`` (in order of first appearance; rows of a
        household must not lie outside them: see ``cuts``) and the issues of their rows without a
        file number."""
        cols = self.cols
        kept = self.kept[start:end]
        rownums = self.rownums[start:end]
        file_numbers = self.file_numbers[start:end]
        count = len(kept)
        loose: list[Issue] = []
        # Column by column: (column index, column, values, problems by position).
        read: list[tuple[int, Column, list[Any], dict[int, list[str]]]] = []
        for i, col in enumerate(cols):
            if col is None or col.key == "file_number":
                continue
            values, bad = _read_column(col, [r[i] for r in kept], col.household)
            read.append((i, col, values, bad))
        members = _member_inputs({col.key: values for _i, col, values, _bad in read if not col.household}, count)
        top_cols = [(col.key, values) for _i, col, values, _bad in read if col.household]
        bad_cols = [(col.header, bad) for _i, col, _values, bad in read if bad]

        households: dict[str, ParsedHousehold] = {}
        head = codes.Relationship.HEAD
        lost = {i - start for i in self.lost if start <= i < (self.count if end is None else end)}
        for pos, (rownum, file_number) in enumerate(zip(rownums, file_numbers, strict=True)):
            if not file_number:
                loose.append(Issue(rownum, "档案编号", _("This field is required.")))
                continue
            h = households.get(file_number)
            issues = h.issues if h is not None else []
            if pos in lost:
                issues.append(Issue(rownum, "档案编号", lost_digits_message()))
            for header_name, bad in bad_cols:
                reasons = bad.get(pos)
                if reasons:
                    issues.extend(Issue(rownum, header_name, r) for r in reasons)
            m = members[pos]
            if h is None:
                h = _new_household(file_number, rownum, issues)
                households[file_number] = h
                _set_top(h, {k: v[pos] for k, v in top_cols if v[pos] is not _SKIP}, m)
            elif m.relationship == head:
                _set_top(h, {k: v[pos] for k, v in top_cols if v[pos] is not _SKIP}, m)
            h.rows.append(rownum)
            h.data.members.append(m)
        return _finished(households), loose


def read_sheet(rows: Iterable[list[Any]]) -> Sheet:
    """The data rows of a sheet (``rows`` is the whole sheet; the header is found among its first
    rows: ``header_index``), ready to parse. Rows hidden in the file (``sheets.SheetRows``) are not
    read, each a problem of its own; totals and notes (``_footer``) are passed over with a note."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        raise SheetProblem("empty", _("The sheet is empty."))
    at, cols = sheet_header(rows)
    width = len(cols)
    fn_index = next(i for i, c in enumerate(cols) if c is not None and c.key == "file_number")
    name_index = next(i for i, c in enumerate(cols) if c is not None and c.key == "name")
    required = [i for i, c in enumerate(cols) if c is not None and c.required]
    hidden_rows: frozenset[int] = getattr(rows, "hidden_rows", frozenset())
    kept: list[list[Any]] = []
    rownums: list[int] = []
    hidden: list[tuple[int, list[Any]]] = []
    footer: list[int] = []
    after_blank = False
    for rownum, raw in enumerate(rows[at + 1 :], start=at + 2):
        if not any(raw[:width]) and not any(v not in _NOT_GIVEN for v in raw[:width]):
            after_blank = True
            continue  # blank rows are skipped (the second test keeps a row of zeros or FALSE)
        if len(raw) < width:
            raw = [*raw, *([""] * (width - len(raw)))]
        if hidden_rows and rownum in hidden_rows:
            hidden.append((rownum, raw))
            continue
        # Only a row whose file number or name could begin a total or a note is looked at closely.
        number, name = raw[fn_index], raw[name_index]
        if (
            after_blank
            or (type(number) is str and number[:1] in _FOOTER_STARTS)
            or (type(name) is str and name[:1] in _TOTAL_STARTS)
        ) and _footer(raw[:width], fn_index, name_index, required, after_blank):
            footer.append(rownum)
            continue
        after_blank = False
        kept.append(raw)
        rownums.append(rownum)
    numbers = [r[fn_index] for r in kept]
    lost = frozenset(i for i, v in enumerate(numbers) if type(v) is not str and _lost_digits(v))
    sheet = Sheet(cols, kept, rownums, [file_number_text(v) for v in numbers], lost)
    if hidden:
        given = set(sheet.file_numbers)
        hidden_numbers = {file_number_text(raw[fn_index]) for _row, raw in hidden} - {""}
        sheet.hidden_households = len(hidden_numbers - given)
        reason = sheets.hidden_row_message()
        sheet.hidden = [Issue(row, "", reason, file_number_text(raw[fn_index])) for row, raw in hidden]
    sheet.notes = _sheet_notes(rows, at, cols, footer)
    return sheet


# A total (合计 in the file number's or the name's column, or in the row's first cell) or a note
# under the table (填表人：…, 注：…) is not a household. The first characters that can begin one,
# looked at for every row (the rest of the test only for the rows that pass it).
_TOTAL_WORDS = ("合计", "总计", "小计")
_NOTE_WORDS = (
    "注",
    "说明",
    "备注",
    "填表人",
    "填报人",
    "制表人",
    "审核人",
    "负责人",
    "单位负责人",
    "填报单位",
    "填表单位",
    "联系电话",
    "联系人",
    "填表日期",
    "填报日期",
    "制表日期",
)
_TOTAL_STARTS = frozenset(w[0] for w in _TOTAL_WORDS) | frozenset(" \u3000")
_FOOTER_STARTS = _TOTAL_STARTS | frozenset(w[0] for w in _NOTE_WORDS) | {""}


def _footer(raw: list[Any], fn_index: int, name_index: int, required: list[int], after_blank: bool) -> bool:
    """Whether a row is a total or a note rather than a household: 合计, 总计 or 小计 in its first
    cell that is not blank, its file number or its name; a single cell beginning as a note does
    (注, 说明, 填表人 …); or, after a blank row, none of the template's required values."""
    cells = [_SPACES.sub("", _text(v)) for v in raw if v not in _NOT_GIVEN]
    cells = [c for c in cells if c]
    if not cells:
        return False
    for text in (cells[0], _SPACES.sub("", _text(raw[fn_index])), _SPACES.sub("", _text(raw[name_index]))):
        if text.startswith(_TOTAL_WORDS):
            return True
    if len(cells) == 1 and cells[0].startswith(_NOTE_WORDS):
        return True
    return after_blank and all(raw[i] in _NOT_GIVEN for i in required)


def row_runs(numbers: list[int]) -> str:
    """Row numbers as runs: 7、9–11."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return join_list(str(a) if a == b else f"{a}–{b}" for a, b in runs)


_ROW_RUN = re.compile(r"([0-9]+)(?:–([0-9]+))?")
_LIST_MARKS = re.compile(r"[、,，\s]*")  # between the runs, in either language's list


def _runs_read(runs: str) -> list[tuple[int, int]] | None:
    """The runs of ``row_runs`` joined in either language ("7、9–11", "7, 9–11"); None for text
    that is no such list."""
    found: list[tuple[int, int]] = []
    at = 0
    for m in _ROW_RUN.finditer(runs):
        if not _LIST_MARKS.fullmatch(runs, at, m.start()) or (found and m.start() == at):
            return None
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            return None
        found.append((first, last))
        at = m.end()
    return found if found and at == len(runs) else None


def row_count(runs: str) -> int | None:
    """How many rows ``row_runs`` named in ``runs``, joined in either language ("7、9–11" and
    "7, 9–11" are 4); None for text that is no such list. A note kept in its writer's language is
    read in the reader's in the form of this count (``common.retranslate.COUNTS``, registered for
    the placeholder ``rows`` in ``IntakeConfig.ready``)."""
    found = _runs_read(runs)
    return None if found is None else sum(last - first + 1 for first, last in found)


def row_runs_again(runs: str) -> str | None:
    """``runs`` (made by ``row_runs`` in any language) joined in the active language's marks: a
    note written in Chinese ("5、7–8") read in English says "5, 7–8" (``common.retranslate.VALUES``)."""
    found = _runs_read(runs)
    return None if found is None else join_list(str(a) if a == b else f"{a}–{b}" for a, b in found)


def _sheet_notes(rows: list[list[Any]], at: int, cols: list[Column | None], footer: list[int]) -> list[str]:
    """What the batch is told of the sheet read: which sheet, when not the first; the columns left
    out (``IGNORED_HEADERS``); the template's columns hidden in the file, read all the same; the
    totals and notes passed over."""
    notes = []
    if isinstance(rows, sheets.SheetRows) and not rows.first:
        notes.append(
            _("The sheet “%(sheet)s” was read: the sheets before it do not have the template's headers.")
            % {"sheet": _quoted_header(rows.sheet)}
        )
    header = [_header(h) for h in rows[at]]
    ignored = [_quoted_header(h) for h, c in zip(header, cols, strict=False) if c is None and h]
    if ignored:
        notes.append(
            _("Columns not in the template were left out: %(names)s.") % {"names": join_list(dict.fromkeys(ignored))}
        )
    if isinstance(rows, sheets.SheetRows) and rows.hidden_column_runs:
        hidden = [c.header for i, c in enumerate(cols) if c is not None and rows.column_hidden(i)]
        if hidden:
            notes.append(
                _("Columns hidden in the file were read like the others: %(names)s.") % {"names": join_list(hidden)}
            )
    if footer:
        notes.append(
            ngettext(
                "Row %(rows)s is a total or a note, not a household: it was not read.",
                "Rows %(rows)s are totals or notes, not households: they were not read.",
                len(footer),
            )
            % {"rows": row_runs(footer)}
        )
    return notes


def parse(rows: Iterable[list[Any]], progress: Any = None) -> tuple[list[ParsedHousehold], list[Issue], int]:
    """Households of the sheet (in order of first appearance), issues of rows without a file
    number, and the number of data rows. ``rows`` starts with the header row.

    The cells are read a column at a time (each distinct cell once), then the rows are put
    together in order; problems come out as a row-by-row reading would give them."""
    sheet = read_sheet(rows)
    count = sheet.count
    if progress is not None and count:
        progress(count // 2)
    households, loose = sheet.parse()
    if progress is not None and count:
        progress(count)
    return households, sorted(loose + sheet.hidden, key=lambda i: i.row), count


def parse_by_row(rows: Iterable[list[Any]], progress: Any = None) -> tuple[list[ParsedHousehold], list[Issue], int]:
    """``parse`` one cell at a time, row by row: the plain reading that ``parse`` must equal
    (kept for the tests that compare them)."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        raise SheetProblem("empty", _("The sheet is empty."))
    at = header_index(rows)
    cols = check_headers(rows[at], at + 1)
    households: dict[str, ParsedHousehold] = {}
    loose: list[Issue] = []
    count = 0
    width = len(cols)
    fn_index = next(i for i, c in enumerate(cols) if c is not None and c.key == "file_number")
    for rownum, raw in enumerate(rows[at + 1 :], start=at + 2):
        if not any(v not in (None, "") for v in raw[:width]):
            continue  # blank rows are skipped
        count += 1
        if progress is not None and count % 5000 == 0:
            progress(count)
        file_number = file_number_text(raw[fn_index]) if fn_index < len(raw) else ""
        if not file_number:
            loose.append(Issue(rownum, "档案编号", _("This field is required.")))
            continue
        h = households.get(file_number)
        issues = h.issues if h is not None else []
        if _lost_digits(raw[fn_index]):
            issues.append(Issue(rownum, "档案编号", lost_digits_message()))
        cells = _Cells(rownum, issues)
        member: dict[str, Any] = {}
        top: dict[str, Any] = {}
        for col, value in zip(cols, raw, strict=False):
            if col is None or col.key == "file_number":
                continue
            if col.household:
                if value not in (None, ""):
                    top[col.key] = cells.read(col, value)
            else:
                member[col.key] = cells.read(col, value)
        m = _member_input(member)
        if h is None:
            h = _new_household(file_number, rownum, issues)
            households[file_number] = h
            _set_top(h, top, m)
        elif m.relationship == codes.Relationship.HEAD:
            _set_top(h, top, m)
        h.rows.append(rownum)
        h.data.members.append(m)
    return _finished(households), loose, count


def _finished(households: dict[str, ParsedHousehold]) -> list[ParsedHousehold]:
    """The households of a parse, each issue naming its file number, a too long number refused."""
    for h in households.values():
        _shared_number(h)
        for issue in h.issues:
            issue.file_number = h.file_number
        if len(h.file_number) > 24:
            h.issues.append(
                Issue(h.first_row, "档案编号", _("A file number has at most 24 characters."), h.file_number)
            )
    return list(households.values())


def _shared_number(h: ParsedHousehold) -> None:
    """Two households given one file number: the rows of the number come in two places, each
    with a head. Named at the second place (the registry also finds two heads)."""
    rows = h.rows
    if len(rows) < 2 or rows[-1] - rows[0] + 1 == len(rows):  # one run of rows (almost every household)
        return
    heads = [row for row, m in zip(h.rows, h.data.members, strict=True) if m.relationship == codes.Relationship.HEAD]
    if len(heads) < 2:
        return
    for before, row in zip(h.rows, h.rows[1:], strict=False):
        if row > before + 1 and row in heads:
            h.issues.append(
                Issue(
                    row,
                    "档案编号",
                    _("File number %(file)s is already used from row %(row)s: give each household its own number.")
                    % {"file": shortened(h.file_number), "row": h.first_row},
                )
            )
            return


def _member_input(member: dict[str, Any]) -> MemberInput:
    """A member from the values read off its row (by column key)."""
    return MemberInput(
        relationship=member.get("relationship", ""),
        name=member.get("name", ""),
        id_number=member.get("id_number", ""),
        ethnicity=member.get("ethnicity") or "01",
        sex=member.get("sex", ""),
        birth_date=member.get("birth_date"),
        health=member.get("health") or "good",
        disability_type=member.get("disability_type", ""),
        disability_grade=member.get("disability_grade"),
        work_status=member.get("work_status", ""),
        monthly_income=member.get("monthly_income", Decimal(0)),
        marital=member.get("marital", ""),
        hukou=member.get("hukou", ""),
        political_status=member.get("political_status", ""),
        employer=member.get("employer", ""),
        phone=member.get("phone", ""),
    )


def _member_inputs(columns: dict[str, list[Any]], count: int) -> list[MemberInput]:
    """``_member_input`` of each row, from the values read off the rows column by column."""

    def given(key: str, default: Any) -> Any:
        values = columns.get(key)
        return repeat(default, count) if values is None else values

    def given_or(key: str, default: Any) -> Any:
        values = columns.get(key)
        return repeat(default, count) if values is None else [v or default for v in values]

    def member(
        relationship: str, name: str, id_number: str, ethnicity: str, sex: str, birth_date: dt.date | None,
        health: str, disability_type: str, disability_grade: int | None, work_status: str,
        monthly_income: Decimal, marital: str, hukou: str, political_status: str, employer: str, phone: str,
    ) -> MemberInput:  # fmt: skip
        return MemberInput(
            relationship=relationship, name=name, id_number=id_number, ethnicity=ethnicity, sex=sex,
            birth_date=birth_date, health=health, disability_type=disability_type,
            disability_grade=disability_grade, work_status=work_status, monthly_income=monthly_income,
            marital=marital, hukou=hukou, political_status=political_status, employer=employer, phone=phone,
        )  # fmt: skip

    return list(
        map(
            member,
            given("relationship", ""),
            given("name", ""),
            given("id_number", ""),
            given_or("ethnicity", "01"),
            given("sex", ""),
            given("birth_date", None),
            given_or("health", "good"),
            given("disability_type", ""),
            given("disability_grade", None),
            given("work_status", ""),
            given("monthly_income", Decimal(0)),
            given("marital", ""),
            given("hukou", ""),
            given("political_status", ""),
            given("employer", ""),
            given("phone", ""),
        )
    )


def _new_household(file_number: str, rownum: int, issues: list[Issue]) -> ParsedHousehold:
    return ParsedHousehold(
        file_number=file_number,
        unit_code="",
        first_row=rownum,
        rows=[],
        data=HouseholdInput(unit_id=None, category="", main_cause=None, address="", housing_type="", members=[]),
        issues=issues,
    )


def _set_top(h: ParsedHousehold, top: dict[str, Any], head: MemberInput) -> None:
    """Household fields from this row (the head's, or the first row until the head's is seen)."""
    d = h.data
    h.unit_code = top.get("unit", h.unit_code)
    d.category = top.get("category", d.category)
    d.main_cause = top.get("main_cause", d.main_cause)
    d.secondary_causes = top.get("secondary_causes", d.secondary_causes)
    d.cause_note = top.get("cause_note", d.cause_note)
    d.address = top.get("address", d.address)
    d.housing_type = top.get("housing_type", d.housing_type)
    d.housing_area = top.get("housing_area", d.housing_area)
    d.filed_on = top.get("filed_on", d.filed_on)
    d.is_migrant_worker = top.get("is_migrant_worker", d.is_migrant_worker)
    if top.get("card_number") or top.get("bank"):
        d.bank_account = BankAccountInput(
            bank=top.get("bank", ""), holder_name=head.name, card_number=top.get("card_number", "")
        )


# --- the template -----------------------------------------------------------------------------------


SAMPLE_SHEET = "示例（不导入）"


def template_xlsx() -> bytes:
    """The template: the headers on the first sheet (required ones in bold), which the import
    reads; one sample household on a second sheet, which it does not (a sample left above a
    cadre's rows would be imported as a household)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    if ws is None:  # a new workbook always has its first sheet
        raise RuntimeError("openpyxl made no sheet")
    ws.title = "建档立卡"
    sample = wb.create_sheet(SAMPLE_SHEET)
    head = {c.header: c.sample for c in COLUMNS}
    head["身份证号"] = build_resident_id("532923", dt.date(1972, 3, 9), 12, False)
    spouse = {
        "档案编号": "5329232015000123",
        "姓名": "李秀英",
        "与户主关系": "配偶",
        "身份证号": build_resident_id("532923", dt.date(1974, 8, 2), 23, True),
        "民族": "彝族",
        "性别": "女",
        "就业状况": "在岗",
        "月收入": "1200",
    }
    for sheet in (ws, sample):
        sheet.append([c.header for c in COLUMNS])
        for cell, col in zip(sheet[1], COLUMNS, strict=True):
            cell.font = Font(bold=col.required)
        for i, col in enumerate(COLUMNS, start=1):
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(10, len(col.sample) + 2)
    sample.append([head[c.header] for c in COLUMNS])
    sample.append([spouse.get(c.header, "") for c in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
