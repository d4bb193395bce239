"""Department data for the demo: six synthetic department files about the demo province's people,
written as departments write them (GBK, ID numbers in odd forms, traditional characters and
middle dots in names, people who are not on any file), imported, and a first recheck run."""

from __future__ import annotations

import csv
import datetime as dt
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import timezone

from bangfu.common import crypto
from bangfu.common.ids import build_resident_id
from bangfu.org.models import OrgUnit
from bangfu.registry.codes import OPEN_STATES
from bangfu.registry.models import Member

from . import services
from .models import Dataset, MatchRun

_FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
_TRADITIONAL = str.maketrans("张国华红军丽刘陈杨马东龙凤兴", "張國華紅軍麗劉陳楊馬東龍鳳興")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "建国华明丽芳伟强军平秀英红梅志刚海燕玉兰文斌"


def _dirty_id(number: str, rng: random.Random) -> str:
    """The number as a department file may hold it."""
    form = rng.random()
    if form < 0.06:
        return number.translate(_FULL_WIDTH)
    if form < 0.12:
        return f"{number[:6]} {number[6:14]} {number[14:]}"
    if form < 0.16:
        return " " + number.lower() + " "
    if form < 0.20 and number[6:8] == "19":
        return number[:6] + number[8:17]  # the old 15-digit form
    if form < 0.23:
        return "'" + number  # Excel's text marker
    return number


def _dirty_name(name: str, rng: random.Random) -> str:
    form = rng.random()
    if form < 0.08:
        return name.translate(_TRADITIONAL)
    if form < 0.11 and len(name) > 1:
        return f"{name[0]} {name[1:]}"
    return name


class _Outsiders:
    """People who are on no file: valid ID numbers of the province's regions, plausible names."""

    def __init__(self, regions: list[str], rng: random.Random) -> None:
        self.regions, self.rng = regions, rng

    def __call__(self) -> tuple[str, str]:
        rng = self.rng
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
        number = build_resident_id(rng.choice(self.regions), birth, rng.randrange(100), rng.random() < 0.5)
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
        return number, name


def _write(path: Path, header: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _files(
    people: list[tuple[str, str]], outsider: Callable[[], tuple[str, str]], rng: random.Random, tmp: Path
) -> list[tuple[str, str, Path]]:
    """(kind, source, file) for each department file. ``people``: (ID number, name) of those on file."""
    today = timezone.localdate()

    def some(share: float) -> list[tuple[str, str]]:
        return rng.sample(people, max(1, int(len(people) * share)))

    def who(p: tuple[str, str]) -> tuple[str, str]:
        # A few records carry another name than the file's: a lower-confidence finding to look at.
        return _dirty_id(p[0], rng), (rng.choice(_SURNAMES) + "某" if rng.random() < 0.03 else _dirty_name(p[1], rng))

    vehicles = [
        [
            *who(p),
            f"云{rng.choice('ABCDLK')}{rng.randrange(10000, 99999)}",
            rng.choice(("小型轿车", "小型轿车", "轻型货车", "残疾人专用车", "三轮汽车")),
        ]
        for p in some(0.015)
    ]
    vehicles += [[*outsider(), f"云A{rng.randrange(10000, 99999)}", "小型轿车"] for _ in range(8000)]
    homes = [
        [
            *who(p),
            f"云({today.year - 3 + n})不动产权第{rng.randrange(10**6, 10**7)}号",
            rng.randrange(60, 160),
            (today - dt.timedelta(days=rng.randrange(30, 3000))).isoformat(),
        ]
        for p in some(0.006)
        for n in range(2)
    ]
    homes += [
        [*outsider(), f"云(2020)不动产权第{rng.randrange(10**6, 10**7)}号", rng.randrange(40, 140), "2020-05-01"]
        for _ in range(5000)
    ]
    roles = [
        [
            *who(p),
            f"91532923MA{rng.randrange(10**7, 10**8)}X",
            "大理某某商贸有限公司",
            rng.choice(("法定代表人", "股东", "监事")),
            rng.choice(("存续", "在业", "注销")),
        ]
        for p in some(0.005)
    ]
    roles += [
        [*outsider(), f"91530100MA{rng.randrange(10**7, 10**8)}X", "昆明某某公司", "股东", "存续"] for _ in range(3000)
    ]
    deaths = [
        [*who(p), f"ZX{rng.randrange(10**6, 10**7)}", (today - dt.timedelta(days=rng.randrange(10, 300))).isoformat()]
        for p in some(0.001)
    ]
    deaths += [[*outsider(), f"ZX{rng.randrange(10**6, 10**7)}", "2025-03-01"] for _ in range(1000)]
    dibao = [
        [*who(p), f"DB{rng.randrange(10**6, 10**7)}", rng.choice(("在保", "在保", "停保")), "城市低保"]
        for p in some(0.01)
    ]
    dibao += [[*outsider(), f"DB{rng.randrange(10**6, 10**7)}", "在保", "城市低保"] for _ in range(3000)]
    insurance = [[*who(p), "祥云县某某公司", rng.randrange(3500, 9000)] for p in some(0.01)]
    insurance += [[*outsider(), "昆明某某公司", rng.randrange(2000, 9000)] for _ in range(5000)]
    for rows in (vehicles, homes, roles, deaths, dibao, insurance):
        rng.shuffle(rows)
    vehicles.insert(len(vehicles) // 2, ["53292319800101001X", "某某", "云L00001", "小型轿车"])  # a wrong check digit
    return [
        (
            "vehicles",
            "省公安厅交警总队",
            _write(tmp / "机动车登记.csv", ["身份证号", "所有人", "号牌号码", "车辆类型"], vehicles, "gb18030"),
        ),
        (
            "real_estate",
            "省自然资源厅",
            _write(tmp / "不动产登记.csv", ["身份证号", "权利人", "不动产权证号", "建筑面积", "登记日期"], homes),
        ),
        (
            "business_roles",
            "省市场监管局",
            _write(
                tmp / "企业人员.csv", ["身份证号", "姓名", "统一社会信用代码", "企业名称", "职务", "经营状态"], roles
            ),
        ),
        (
            "hukou_death",
            "省公安厅户政",
            _write(tmp / "死亡注销.csv", ["身份证号", "姓名", "注销编号", "死亡日期"], deaths),
        ),
        (
            "dibao_roll",
            "省民政厅",
            _write(tmp / "低保名册.csv", ["身份证号", "姓名", "低保证号", "救助状态", "救助类型"], dibao, "gb18030"),
        ),
        (
            "social_insurance",
            "省人社厅",
            _write(tmp / "社保缴费.csv", ["身份证号", "姓名", "参保单位", "缴费基数"], insurance),
        ),
    ]


def seed_demo_datasets(*, actor: Any, unit: OrgUnit, seed: int = 2026) -> MatchRun | None:
    """Import the demo's department files at ``unit`` (the province) as ``actor`` and run a first
    recheck of its files against them, unless department data is there already."""
    if Dataset.objects.exists():
        return None
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    rows = Member.objects.filter(
        household__unit__path__startswith=unit.path, household__state__in=OPEN_STATES, deceased=False
    ).values_list("id_cipher", "name")
    people = [(crypto.decrypt(cipher), name) for cipher, name in rows.order_by("id").iterator(chunk_size=5000)]
    if not people:
        return None
    regions = sorted({number[:6] for number, _name in people})
    with tempfile.TemporaryDirectory(prefix="bangfu-demo-") as tmp:
        files = _files(people, _Outsiders(regions, rng), rng, Path(tmp))
        datasets = [
            services.dataset_import(actor=actor, kind=kind, path=path, source=source, unit=unit)
            for kind, source, path in files
        ]
    run = services.match_run(actor=actor, unit=unit, dataset_ids=[d.pk for d in datasets])
    return services.match_run_execute(run_id=run.pk)
