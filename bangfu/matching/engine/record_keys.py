"""A department record's key (plate, certificate, credit code …) as two integers in a snapshot.

A national file holds tens of millions of distinct record keys, and a match needs the key only of
the few rows that belong to registry persons (about 3 % of them); decoding every key as text was
the match's largest cost after the join itself. So a snapshot keeps a key of up to 16 bytes of
UTF-8 (every plate and certificate number seen; ``row <n>`` for a record without one) as two
BIGINTs, ``rk_hi`` and ``rk_lo``: its bytes padded with zero bytes to 16, read as two signed
big-endian 64-bit integers. A longer key, or one holding a zero byte, stays text in
``record_key`` (NULL where the integers hold the key). Integers are read and carried through the
join without decoding; the text is made again for the matched rows only (``with_record_keys``
after the findings query; ``unpack_sql`` inside it where a rule lists keys).

Snapshots written before this have ``record_key`` only; the engine reads both (``snapshot_view``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PACKED_BYTES = 16
# Metadata of a snapshot: "1" when no two of its records share an ID key and a record key, so a
# finding's key is never repeated and the findings need no choice among duplicates.
UNIQUE_META = "bangfu.unique_records"


def pack(keys: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """``(rk_hi, rk_lo, record_key)`` for an array of record keys (text): the two integers where
    the key fits, else the key as text (and NULL integers). A NULL key gives three NULLs."""
    n = len(keys)
    text = keys.cast(pa.string()) if keys.type != pa.string() else keys
    raw = text.cast(pa.large_binary())
    valid = raw.is_valid().to_numpy(zero_copy_only=False)
    ends = np.frombuffer(raw.buffers()[1], np.int64, n + 1, raw.offset * 8) if n else np.zeros(1, np.int64)
    starts, lengths = ends[:-1], np.diff(ends)
    data_buffer = raw.buffers()[2]
    # the bytes, with room to read 16 past the last key's start
    data = np.zeros((data_buffer.size if data_buffer is not None else 0) + 2 * PACKED_BYTES, np.uint8)
    if data_buffer is not None:
        data[: data_buffer.size] = np.frombuffer(data_buffer, np.uint8)
    hi, lo = _load_be64(data, starts), _load_be64(data, starts + 8)
    hi_mask, lo_mask = _MASKS[np.minimum(lengths, 8)], _MASKS[np.clip(lengths - 8, 0, 8)]
    hi &= hi_mask
    lo &= lo_mask
    # A zero byte inside a key would be taken for padding: such a key stays text.
    fits = valid & (lengths <= PACKED_BYTES) & ~_has_zero_byte(hi | ~hi_mask) & ~_has_zero_byte(lo | ~lo_mask)
    absent = ~fits
    return (
        pa.array(hi.view(np.int64), pa.int64(), mask=absent),
        pa.array(lo.view(np.int64), pa.int64(), mask=absent),
        pc.if_else(pa.array(absent), text, pa.scalar(None, pa.string())),
    )


# _MASKS[n]: the first n bytes (most significant first) of a 64-bit word.
_MASKS = np.array([((1 << 64) - 1) ^ ((1 << (64 - 8 * n)) - 1) for n in range(9)], np.uint64)
_ONES, _HIGHS = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)


def _load_be64(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The big-endian 64-bit words of ``data`` starting at the byte positions ``at``: read from
    eight aligned views of the bytes, one per position modulo 8."""
    out = np.empty(len(at), np.uint64)
    residue, index = at & 7, at >> 3
    for k in range(8):
        rows = np.flatnonzero(residue == k)
        if len(rows):
            out[rows] = np.frombuffer(data, "<u8", (len(data) - k) // 8, k)[index[rows]]
    return out.byteswap() if np.little_endian else out


def _has_zero_byte(words: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return ((words - _ONES) & ~words & _HIGHS) != 0


def unpack(hi: pa.Array, lo: pa.Array) -> pa.Array:
    """The keys of ``pack``'s integers (NULL where ``hi`` is NULL)."""
    n = len(hi)
    words = np.empty((n, 2), ">i8")
    words[:, 0] = pc.fill_null(hi, 0).to_numpy(zero_copy_only=False)
    words[:, 1] = pc.fill_null(lo, 0).to_numpy(zero_copy_only=False)
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(PACKED_BYTES), n, [None, pa.py_buffer(words.tobytes())])
    text = pc.utf8_rtrim(fixed.cast(pa.binary()).cast(pa.string()), characters="\x00")
    return pc.if_else(pc.is_null(hi), pa.scalar(None, pa.string()), text)


def unpack_sql(hi: str, lo: str, text: str) -> str:
    """DuckDB SQL of the key of a row: ``text`` where it is set, else the two integers decoded."""
    return f"COALESCE({text}, rtrim(decode(unhex(lpad(hex({hi}), 16, '0') || lpad(hex({lo}), 16, '0'))), chr(0)))"


def with_record_keys(table: pa.Table, limit: int = 200) -> pa.Table:
    """``table`` with ``rk_hi``, ``rk_lo`` and ``record_key`` made one text column ``record_key``
    (at most ``limit`` characters), in ``record_key``'s place."""
    hi = table.column("rk_hi").combine_chunks()
    lo = table.column("rk_lo").combine_chunks()
    given = table.column("record_key").combine_chunks().cast(pa.string())
    keys = pc.utf8_slice_codeunits(pc.coalesce(given, unpack(hi, lo)), 0, limit)
    at = table.schema.get_field_index("record_key")
    table = table.set_column(at, "record_key", keys)
    return table.drop_columns(["rk_hi", "rk_lo"])


def packed_reader(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader``'s batches with the text column ``record_key`` as a snapshot holds it (``pack``):
    ``rk_hi``, ``rk_lo`` and ``record_key`` in its place."""
    at = reader.schema.get_field_index("record_key")
    fields = [*reader.schema]
    packed = [pa.field("rk_hi", pa.int64()), pa.field("rk_lo", pa.int64()), pa.field("record_key", pa.string())]
    schema = pa.schema([*fields[:at], *packed, *fields[at + 1 :]])

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            columns = list(batch.columns)
            columns[at : at + 1] = pack(columns[at])
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())
