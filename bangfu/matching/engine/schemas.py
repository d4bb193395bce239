"""Dataset kinds and their columns: what an import looks for and what a snapshot holds.

Every snapshot (one Parquet file per dataset) has the common columns ``row_no`` (line in the
source file), ``id_key`` (BIGINT: the 64-bit keyed hash of the normalised ID number; nothing
else of the number is kept), ``name`` (as the department wrote it), the record's key (plate,
certificate … or ``row <n>``: ``rk_hi`` and ``rk_lo``, two BIGINTs holding a key of up to 16
bytes, else the text in ``record_key``; see ``record_keys``), then the kind's own typed columns
below, and ``name_key`` (BIGINT: the key of the normalised name, ``names.name_key_sql``). Its
footer records the name key's form (``names.NAME_KEY_META``) and whether its records are unique
per ID and record key (``record_keys.UNIQUE_META``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

FieldType = Literal["text", "number", "date"]


class DatasetKind(StrEnum):
    VEHICLES = "vehicles"
    REAL_ESTATE = "real_estate"
    BUSINESS_ROLES = "business_roles"
    SOCIAL_INSURANCE = "social_insurance"
    HOUSING_FUND = "housing_fund"
    HUKOU_DEATH = "hukou_death"
    DIBAO_ROLL = "dibao_roll"
    TAX = "tax"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    headers: tuple[str, ...]  # header names recognised by default (case- and space-insensitive)
    required: bool = False


# Columns every kind may have. ``id_number`` or ``id_key`` (pre-hashed) must be present.
ID_NUMBER = FieldSpec(
    "id_number", "text", ("身份证号", "身份证号码", "公民身份号码", "证件号码", "证件号", "id_number", "id")
)
ID_KEY = FieldSpec("id_key", "text", ("id_key", "id_hash64", "keyed_hash"))
NAME = FieldSpec("name", "text", ("姓名", "name", "户主姓名", "人员姓名", "权利人", "权利人姓名", "所有人"))
COMMON: tuple[FieldSpec, ...] = (ID_NUMBER, ID_KEY, NAME)

KIND_FIELDS: dict[DatasetKind, tuple[FieldSpec, ...]] = {
    DatasetKind.VEHICLES: (
        FieldSpec("record_key", "text", ("号牌号码", "车牌号码", "车牌号", "plate", "record_key")),
        FieldSpec("vehicle_type", "text", ("车辆类型", "使用性质", "车辆用途", "vehicle_type"), required=True),
    ),
    DatasetKind.REAL_ESTATE: (
        FieldSpec("record_key", "text", ("不动产权证号", "产权证号", "不动产单元号", "certificate", "record_key")),
        FieldSpec("area", "number", ("建筑面积", "面积", "floor_area", "area"), required=True),
        FieldSpec("purchase_date", "date", ("登记日期", "购买日期", "登簿日期", "purchase_date")),
    ),
    DatasetKind.BUSINESS_ROLES: (
        FieldSpec("record_key", "text", ("统一社会信用代码", "注册号", "credit_code", "record_key")),
        FieldSpec("company", "text", ("企业名称", "单位名称", "company"), required=True),
        FieldSpec("role", "text", ("职务", "角色", "人员类型", "role")),
        FieldSpec("company_status", "text", ("经营状态", "登记状态", "企业状态", "company_status", "status")),
    ),
    DatasetKind.SOCIAL_INSURANCE: (
        FieldSpec("record_key", "text", ("参保单位", "单位名称", "employer", "record_key")),
        FieldSpec("contribution_base", "number", ("缴费基数", "月缴费基数", "contribution_base"), required=True),
    ),
    DatasetKind.HOUSING_FUND: (
        FieldSpec("record_key", "text", ("缴存单位", "单位名称", "employer", "record_key")),
        FieldSpec("deposit_base", "number", ("缴存基数", "月缴存基数", "deposit_base"), required=True),
    ),
    DatasetKind.HUKOU_DEATH: (
        FieldSpec("record_key", "text", ("户号", "注销编号", "record_key")),
        FieldSpec("death_date", "date", ("死亡日期", "注销日期", "death_date"), required=True),
    ),
    DatasetKind.DIBAO_ROLL: (
        FieldSpec("record_key", "text", ("低保证号", "救助证号", "certificate", "record_key")),
        FieldSpec("status", "text", ("救助状态", "保障状态", "人员状态", "status")),
        FieldSpec("programme", "text", ("救助类型", "保障类型", "programme")),
    ),
    DatasetKind.TAX: (
        FieldSpec("record_key", "text", ("纳税人识别号", "扣缴义务人", "record_key")),
        FieldSpec(
            "taxable_income", "number", ("收入额", "年收入", "年度收入", "taxable_income", "income"), required=True
        ),
    ),
}

# Company states that mean "not active" (a role in such a company does not disqualify).
INACTIVE_COMPANY_WORDS: tuple[str, ...] = ("注销", "吊销", "撤销", "迁出", "歇业", "cancelled", "revoked", "closed")


def fields_for(kind: DatasetKind) -> tuple[FieldSpec, ...]:
    return (*COMMON, *KIND_FIELDS[kind])


# What departments put around a header's name: a mark for a required column (*身份证号), a colon
# after it (身份证号码：), a unit or note in brackets after it (建筑面积(㎡), 身份证号（必填）).
_HEADER_DECORATION = re.compile(r"^[*#]+|[:*]+$|\([^()]*\)$|\[[^\[\]]*\]$|【[^【】]*】$")


def normalise_header(text: str) -> str:
    """The header's name for recognising it: without white space, a byte-order mark or
    decoration, in lower case, full-width letters, digits and brackets as their ASCII forms."""
    name = "".join(unicodedata.normalize("NFKC", str(text)).split()).lower().lstrip("\ufeff")
    while (bare := _HEADER_DECORATION.sub("", name)) != name and bare:
        name = bare
    return name


def default_mapping(kind: DatasetKind, headers: list[str]) -> dict[str, str]:
    """field → header, for the fields whose header is recognised."""
    by_norm: dict[str, str] = {}
    for given in headers:
        by_norm.setdefault(normalise_header(given), given)
    mapping: dict[str, str] = {}
    for spec in fields_for(kind):
        for candidate in spec.headers:
            header = by_norm.get(normalise_header(candidate))
            if header is not None and header not in mapping.values():
                mapping[spec.name] = header
                break
    return mapping
