"""What a PDF sent as an attachment must be: structurally a PDF, and without active content.

A proof is a scan or a photograph made into a PDF; it is opened by staff on their computers. A file
that only starts with ``%PDF-`` and ends with ``%%EOF`` (an HTML page between them) is no PDF, and a
PDF may carry scripts, launch actions, embedded files, rich media or XFA forms. Checked without a
PDF library:

- **Structure**: the last ``startxref`` gives an offset within the file where a cross-reference
  table (``xref``) or a cross-reference stream (an object of ``/Type /XRef``) starts, ``%%EOF``
  follows it, and the file holds at least one object (``N G obj … endobj``).
- **Active content**: the names ``/JavaScript``, ``/JS``, ``/Launch``, ``/EmbeddedFile(s)``,
  ``/GoToE``, ``/RichMedia`` and ``/XFA`` anywhere in the file's objects, with ``#xx`` escapes
  decoded (``/J#61vaScript``), and inside object streams (``/Type /ObjStm``, where objects may be
  compressed) inflated with zlib (FlateDecode), at most ``INFLATED_MAX`` bytes in all. ``/JS`` is
  looked for outside streams' data only (three bytes occur by chance in a large photo); the longer
  names everywhere.

Not covered: an object stream compressed otherwise than by FlateDecode alone, or with a predictor,
or that does not inflate (an encrypted PDF's are encrypted), is refused as not checkable rather than
read; active content that a viewer would find only by repairing a damaged file (objects outside
any stream the structure names) is found all the same, since the whole file is searched; a name
written inside a string (a title) is taken for a name.
"""

from __future__ import annotations

import re
import zlib

# The names of active content: scripts, launching programs, embedded files, rich media, XFA forms.
ACTIVE = frozenset({b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"GoToE", b"RichMedia", b"XFA"})
INFLATED_MAX = 64 * 1024 * 1024  # all object streams of one file together, inflated

_NAME = re.compile(rb"/((?:[^\x00\t\n\x0c\r /\[\]()<>{}%#]|#[0-9A-Fa-f]{2})+)")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"\bstream(?:\r\n|\n|\r)")
_OBJ = re.compile(rb"(?<![0-9])[0-9]+[\x00\t\n\x0c\r ]+[0-9]+[\x00\t\n\x0c\r ]+obj\b")
_STARTXREF = re.compile(rb"startxref[\x00\t\n\x0c\r ]+([0-9]{1,12})[\x00\t\n\x0c\r ]+%%EOF")
_LENGTH = re.compile(rb"/Length[\x00\t\n\x0c\r ]+([0-9]+)(?![\x00\t\n\x0c\r ]+[0-9]+[\x00\t\n\x0c\r ]+R)")


class PdfRefusedError(Exception):
    """Why a PDF is refused: ``kind`` is ``structure``, ``active`` or ``unchecked``."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def _names(data: bytes) -> set[bytes]:
    return {_HEX.sub(lambda m: bytes([int(m[1], 16)]), m[1]) for m in _NAME.finditer(data)}


def _streams(content: bytes) -> list[tuple[int, int, int]]:
    """Each stream's (dictionary start, data start, data end): its ``/Length`` when that is a number
    and ``endstream`` follows it, else up to the next ``endstream``."""
    found = []
    pos = 0
    while m := _STREAM.search(content, pos):
        start = m.end()
        head_at = max(content.rfind(b"obj", 0, m.start()), content.rfind(b"endstream", 0, m.start()), 0)
        head = content[head_at : m.start()]
        end = -1
        if (length := _LENGTH.search(head)) is not None:
            candidate = start + int(length[1])
            if content[candidate : candidate + 12].lstrip(b"\r\n \t").startswith(b"endstream"):
                end = candidate
        if end < 0:
            end = content.find(b"endstream", start)
            if end < 0:
                raise PdfRefusedError("structure", "a stream without endstream")
        found.append((head_at, start, end))
        pos = end
    return found


def _check_structure(content: bytes) -> None:
    found = list(_STARTXREF.finditer(content, max(0, len(content) - 4096)))
    if not found:
        raise PdfRefusedError("structure", "no startxref")
    offset = int(found[-1][1])
    if offset >= len(content):
        raise PdfRefusedError("structure", "startxref beyond the file")
    at = content[offset : offset + 4096].lstrip(b"\x00\t\n\x0c\r ")
    if at.startswith(b"xref"):
        if b"trailer" not in content[offset:]:
            raise PdfRefusedError("structure", "an xref table without trailer")
    else:
        obj = _OBJ.match(at)
        if obj is None or b"XRef" not in _names(at[obj.end() : at.find(b"stream")]):
            raise PdfRefusedError("structure", "startxref points at no cross-reference")
    if _OBJ.search(content) is None or b"endobj" not in content:
        raise PdfRefusedError("structure", "no object")


def check_pdf(content: bytes) -> None:
    """Raises ``PdfRefusedError`` if ``content`` is not structurally a PDF or holds active content."""
    _check_structure(content)
    streams = _streams(content)
    outside, pos = [], 0
    for _head, start, end in streams:
        outside.append(content[pos:start])
        pos = end
    outside.append(content[pos:])
    names = _names(b"".join(outside))
    # The longer names, in the streams' data too: a stream the check reads wrongly hides nothing.
    names |= _names(content) - {b"JS"}
    budget = INFLATED_MAX
    for head_at, start, end in streams:
        head = content[head_at:start]
        head_names = _names(head)
        if b"ObjStm" not in head_names:
            continue
        filters = head_names & {
            b"FlateDecode",
            b"Fl",
            b"LZWDecode",
            b"LZW",
            b"ASCII85Decode",
            b"A85",
            b"ASCIIHexDecode",
            b"AHx",
            b"RunLengthDecode",
            b"RL",
            b"Crypt",
        }
        data = content[start:end]
        if filters - {b"FlateDecode", b"Fl"} or b"Predictor" in head_names:
            raise PdfRefusedError("unchecked", "an object stream not compressed by FlateDecode alone")
        if filters:
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(data, budget + 1)
            except zlib.error as exc:
                raise PdfRefusedError("unchecked", "an object stream that does not inflate") from exc
            if len(data) > budget or inflater.unconsumed_tail:
                raise PdfRefusedError("unchecked", "object streams larger than the check reads")
            budget -= len(data)
        names |= _names(data)
    active = names & ACTIVE
    if active:
        raise PdfRefusedError("active", ", ".join(sorted(n.decode("latin-1") for n in active)))
