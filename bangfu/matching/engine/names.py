"""Name normalisation for the second matching signal.

Department files write the same name in different ways: full-width letters, spaces, a middle
dot in any of its Unicode forms or none at all (艾合买提·阿吉, 艾合买提•阿吉, 艾合买提・阿吉,
艾合买提阿吉 …; systems that cannot store the dot drop it, others put one into a Han name),
traditional characters. ``normalise_name`` maps all of them to one form; ``same_name`` compares
two names. The dot is dropped, not kept: it only separates the parts of a name, and the ID number
has already matched, so the name is a second check and not an identifier.

Traditional → simplified uses a small table of the characters common in personal names (below),
not a full converter: a name with a rarer traditional character compares as different and gives
a lower-confidence finding, never a dropped one.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import pyarrow as pa

# Every form of the separator seen in transliterated names; NFKC has already folded U+FF65.
_DOTS = (
    "\u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5\u2010\u2011\u2012\u2013\u2014\u2015"
    "\u2e31\u00b0\u0387\u16eb\u2981\ua78f\u002e\u002d\u30a0\uff0e\uff0d\u3002"
)

# Traditional → simplified for characters common in names.
_TRAD = (
    "張陳劉黃趙吳楊鄭謝馬蘇鍾葉羅許鄧蕭馮盧國華偉東軍紅麗寧龍鳳蘭雲義興買熱爾"
    "孫湯賈閻韓範鄒萬錢嚴顧龔蔣魯賴陸傅聶鄺衛藍譚關嶽溫鐘陶歐區喬齊瀋劉楊"
    "榮貴寶紀廣強慶書學愛傑輝進軍莊偉燕鵬傑銘濤亮靜雙鳳艷瑩霞嬌麗娟蓮瓊"
    "穎潔蘭鴻鑫權瑋嶺軒飛戰滿勝順連達遠運長開興豐壽聖禮樂詩勵綺聰讚"
    "賢彥樹國輝韻瀟曉鳴龍鶴鷹"
)
_SIMP = (
    "张陈刘黄赵吴杨郑谢马苏钟叶罗许邓萧冯卢国华伟东军红丽宁龙凤兰云义兴买热尔"
    "孙汤贾阎韩范邹万钱严顾龚蒋鲁赖陆傅聂邝卫蓝谭关岳温钟陶欧区乔齐沈刘杨"
    "荣贵宝纪广强庆书学爱杰辉进军庄伟燕鹏杰铭涛亮静双凤艳莹霞娇丽娟莲琼"
    "颖洁兰鸿鑫权玮岭轩飞战满胜顺连达远运长开兴丰寿圣礼乐诗励绮聪赞"
    "贤彦树国辉韵潇晓鸣龙鹤鹰"
)
_TABLE = str.maketrans({**dict(zip(_TRAD, _SIMP, strict=True)), **dict.fromkeys(_DOTS, "")})


def normalise_name(name: str | None) -> str:
    """NFKC, no whitespace, no middle dot, lower case, simplified characters."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", name).translate(_TABLE)
    text = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")
    return text.casefold()


def same_name(a: str | None, b: str | None) -> bool:
    """True when both names are present and equal after normalisation."""
    left, right = normalise_name(a), normalise_name(b)
    return bool(left) and left == right


# Names of Han characters only (basic block and extension A, which NFKC leaves alone) and
# none of the traditional forms of the table: their normalised form is the name itself. One
# character class, the two blocks with the traditional forms cut out, so one regular
# expression settles a name.
_HAN_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))


def _plain_han_class() -> str:
    holes = sorted({ord(ch) for ch in _TRAD})
    parts = []
    for first, last in _HAN_BLOCKS:
        start = first
        for hole in (h for h in holes if first <= h <= last):
            if start < hole:
                parts.append((start, hole - 1))
            start = hole + 1
        if start <= last:
            parts.append((start, last))
    return "[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in parts) + "]+"


_PLAIN_HAN = _plain_han_class()


def name_norm_fast_sql(column: str) -> str:
    """DuckDB SQL giving ``normalise_name(column)`` for NULL, empty and plain Han names (most
    names), and NULL for the others (dots, spaces, letters, traditional forms …), which are
    normalised with ``normalise_name`` once per distinct name."""
    return (
        f"CASE WHEN {column} IS NULL OR {column} = '' THEN '' "
        f"WHEN regexp_full_match({column}, '{_PLAIN_HAN}') THEN {column} END"
    )


# -- the name key -------------------------------------------------------------------------
# Snapshots store a 64-bit key of the normalised name (``name_key``) beside the name itself,
# so the name check of a match is an integer comparison and the match reads no name strings
# but the department's own (shown in the finding). An empty name has no key (NULL), which
# equals nothing. The key is DuckDB's ``hash`` of the normalised name shifted to 63 bits; that
# hash is not promised to stay the same across DuckDB versions, so every snapshot records the
# key of a fixed probe name (``NAME_KEY_TAG``) and the version of ``normalise_name``'s form
# (``NAME_FORM``), and a snapshot written with another one is refused (``backends.SnapshotTooOld``:
# import the file again).
NAME_KEY_META = "bangfu.name_key"
_PROBE = "艾合买提·阿吉张建国"
# The version of the normalised form: 2 since the middle dot is dropped (it was kept as "·").
NAME_FORM = 2


def name_key_sql(norm: str) -> str:
    """DuckDB SQL: the name key of the normalised name in ``norm`` (NULL when it is empty)."""
    return f"CASE WHEN {norm} <> '' THEN CAST(hash({norm}) >> 1 AS BIGINT) END"


@functools.cache
def name_key_tag() -> str:
    """What a snapshot written now records in its metadata under ``NAME_KEY_META``."""
    import duckdb

    with duckdb.connect() as con:
        row = con.execute(f"SELECT {name_key_sql('$1')}", [_PROBE]).fetchone()
    return f"duckdb-hash:{row[0] if row else ''};form:{NAME_FORM}"


def name_keys(norms: Sequence[str | None]) -> pa.Array:
    """``name_key_sql`` for a column of normalised names, as int64 (for snapshots built in Python)."""
    import duckdb

    with duckdb.connect() as con:
        con.register("norms", pa.table({"norm": pa.array(norms, pa.string())}))
        keys = con.sql(f"SELECT {name_key_sql('norm')} AS k FROM norms").to_arrow_table()  # noqa: S608 - constant
        return keys.column("k").combine_chunks()
