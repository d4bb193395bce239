"""What a PDF sent as an attachment must be: structurally a PDF, and without active content.

A proof is a scan or a photograph made into a PDF; it is opened by staff on their computers. A file
that only starts with ``%PDF-`` and ends with ``%%EOF`` (an HTML page between them) is no PDF, and a
PDF may carry scripts, launch actions, forms that send themselves away, links to other files,
embedded files, rich media or XFA forms. Checked without a PDF library:

- **Structure**: the last ``startxref`` gives an offset within the file where a cross-reference
  table (``xref``) or a cross-reference stream (an object of ``/Type /XRef``) starts, ``%%EOF``
  follows it, and the file holds at least one object (``N G obj … endobj``).
- **Active content**: the names in ``ACTIVE`` (``/JavaScript``, ``/JS``, ``/Launch``,
  ``/SubmitForm``, ``/ImportData``, ``/GoToR``, ``/GoToE``, ``/EmbeddedFile(s)``, ``/RichMedia``,
  ``/XFA``, and the media a viewer plays: ``/Sound``, ``/Movie``, ``/Rendition``, ``/Screen``,
  ``/3D``) anywhere in the file's objects, with ``#xx`` escapes decoded (``/J#61vaScript``), and
  inside every stream a viewer may read as an object stream (where objects may be compressed): one
  whose dictionary names ``/ObjStm`` or has a ``/First`` (viewers read an object stream by its
  ``/N`` and ``/First``, some without its ``/Type``). Such a stream is decoded through its whole
  filter chain — ``/Filter`` and ``/DecodeParms`` a name or dictionary, an array of them, or an
  indirect reference to one (``/Filter 6 0 R``, ``/Filter [6 0 R]``; one level, the object written
  the same wherever the file defines it) — FlateDecode (zlib), ASCIIHexDecode, ASCII85Decode and
  RunLengthDecode, at most ``INFLATED_MAX`` bytes in all. ``/JS`` and ``/3D`` (``SHORT``) are looked
  for outside streams' data only (three bytes occur by chance in a large photo) and in the decoded object streams; the
  longer names everywhere. A link (``/URI``) is no active content.

Not covered: an object stream whose filter chain the check cannot decode (LZW, an image codec,
``/Crypt``, a predictor, a filter it cannot resolve), that does not decode (an encrypted PDF's are
encrypted), or whose dictionary cannot be read, is refused as not checkable rather than let through
unread; active content that a viewer would find only by repairing a damaged file (objects outside
any stream the structure names) is found all the same, since the whole file is searched; a name
written inside a string (a title) is taken for a name. Streams that are no object stream (pages,
pictures, fonts) are not decoded: they hold no dictionaries, and a scan's pictures inflate to far
more than ``INFLATED_MAX``.
"""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any, NamedTuple

# The names of active content: scripts, launching programs, forms that send or import data, links
# into other files (a remote PDF, an embedded one), embedded files, rich media, XFA forms, and the
# sounds, films and 3D models a viewer plays (a proof is a scan: it has none, and the players'
# decoders are where viewers' holes have been).
ACTIVE = frozenset(
    {
        b"JavaScript",
        b"JS",
        b"Launch",
        b"SubmitForm",
        b"ImportData",
        b"GoToR",
        b"GoToE",
        b"EmbeddedFile",
        b"EmbeddedFiles",
        b"RichMedia",
        b"XFA",
        b"Sound",
        b"Movie",
        b"Rendition",
        b"Screen",
        b"3D",
    }
)
# Names short enough to occur by chance in a photo's bytes: looked for outside streams' data only
# (and in the decoded object streams).
SHORT = frozenset({b"JS", b"3D"})
INFLATED_MAX = 64 * 1024 * 1024  # all object streams of one file together, inflated
OBJECT_STREAMS_MAX = 10_000  # in one file (a large PDF has a few hundred)
HEAD_MAX = 64 * 1024  # an object stream's dictionary, as written (a few dozen bytes in practice)

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
    """Each stream's (dictionary start, data start, data end): the dictionary from the last
    ``N G obj`` since the previous stream (else from that stream's end), the data to its
    ``/Length`` when that is a number and ``endstream`` follows it, else up to the next ``endstream``."""
    found = []
    pos = 0
    while m := _STREAM.search(content, pos):
        start = m.end()
        head_at = pos
        for header in _OBJ.finditer(content, pos, m.start()):
            head_at = header.end()
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


# --- reading a stream's dictionary ----------------------------------------------------------------


class _Name(bytes):
    """A name, its ``#xx`` escapes decoded, without the slash."""


class _Keyword(bytes):
    """``true``, ``false``, ``null``, or a word the check does not know."""


class _Ref(NamedTuple):
    number: int
    generation: int


class _UnreadableError(Exception):
    """A dictionary or an object the check cannot read as a viewer would."""


_WHITE = rb"\x00\t\n\x0c\r "  # as written in a pattern
_WHITESPACE = b"\x00\t\n\x0c\r "  # as bytes
# White space and comments, then one token (none at the end): a delimiter, a hex string, a name, a
# number or keyword. A literal string is read from its ``(`` on (``_Reader._string``).
_TOKEN = re.compile(
    rb"(?:[%s]+|%%[^\r\n]*)*"
    rb"(<<|>>|\[|\]|\(|<[0-9A-Fa-f%s]*>|/(?:[^%s/\[\]()<>{}%%]|#[0-9A-Fa-f]{2})*|[^%s/\[\]()<>{}%%]+|\Z)"
    % (_WHITE, _WHITE, _WHITE, _WHITE)
)
_REF_TAIL = re.compile(rb"[%s]+([0-9]+)[%s]+R(?![^%s/\[\]()<>{}%%])" % (_WHITE, _WHITE, _WHITE))
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_STRING_PART = re.compile(rb"\\.|[()]", re.DOTALL)  # an escape, or a parenthesis that counts
_DEPTH_MAX = 32


class _Reader:
    """The PDF objects written in ``data``, read one after another (``value``)."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def _token(self) -> bytes | None:
        m = _TOKEN.match(self.data, self.pos)
        if m is None:
            raise _UnreadableError(f"unexpected {self.data[self.pos : self.pos + 1]!r}")
        self.pos = m.end()
        return m[1] or None

    def _string(self) -> None:
        depth, pos = 1, self.pos
        while depth:
            m = _STRING_PART.search(self.data, pos)
            if m is None:
                raise _UnreadableError("a string without its end")
            pos = m.end()
            if m[0] == b"(":
                depth += 1
            elif m[0] == b")":
                depth -= 1
        self.pos = pos

    def value(self, depth: int = 0) -> Any:
        """The next object; ``StopIteration`` at the end of ``data``."""
        if depth > _DEPTH_MAX:
            raise _UnreadableError("nested too deep")
        token = self._token()
        if token is None:
            raise StopIteration
        if token == b"<<":
            found: dict[bytes, Any] = {}
            while (key := self._token()) != b">>":
                if key is None or not key.startswith(b"/"):
                    raise _UnreadableError("a dictionary key that is no name")
                found[_name(key)] = self.value(depth + 1)
            return found
        if token == b"[":
            items: list[Any] = []
            while True:
                at = self.pos
                if self._token() == b"]":
                    return items
                self.pos = at
                items.append(self.value(depth + 1))
        if token == b"(":
            self._string()
            return b""
        if token.startswith(b"<"):
            return b""  # a hex string
        if token.startswith(b"/"):
            return _name(token)
        if token in {b">>", b"]"}:
            raise _UnreadableError(f"{token!r} where an object was expected")
        if _INTEGER.fullmatch(token):
            if (ref := _REF_TAIL.match(self.data, self.pos)) is not None:
                self.pos = ref.end()
                return _Ref(int(token), int(ref[1]))
            return int(token)
        return _Keyword(token)


def _name(token: bytes) -> _Name:
    return _Name(_HEX.sub(lambda m: bytes([int(m[1], 16)]), token[1:]))


def _dictionary(head: bytes) -> dict[bytes, Any] | None:
    """The dictionary written last in ``head`` (a stream's, just before ``stream``), if any."""
    reader, last = _Reader(head), None
    try:
        while True:
            last = reader.value()
    except StopIteration:
        pass
    except _UnreadableError as exc:
        raise PdfRefusedError("unchecked", f"a stream dictionary not read: {exc}") from exc
    return last if isinstance(last, dict) else None


class _Objects:
    """The file's objects written ``N G obj`` outside streams' data, read when a stream's filter
    chain refers to one (found once, on the first reference)."""

    def __init__(self, content: bytes, streams: list[tuple[int, int, int]]) -> None:
        self.content, self.streams = content, streams
        self.index: dict[_Ref, list[int]] | None = None

    def _find(self, ref: _Ref) -> list[int]:
        if self.index is None:
            self.index = {}
            pos = 0
            for _head, start, end in [*self.streams, (len(self.content), len(self.content), 0)]:
                for m in _OBJ.finditer(self.content, pos, start):
                    number, generation = re.findall(rb"[0-9]+", m[0])[:2]
                    self.index.setdefault(_Ref(int(number), int(generation)), []).append(m.end())
                pos = end
        return self.index.get(ref, [])

    def resolve(self, value: Any) -> Any:
        """``value``, or the object it refers to: written the same wherever the file defines it."""
        if not isinstance(value, _Ref):
            return value
        found = []
        for at in self._find(value):
            try:
                found.append(_Reader(self.content, at).value())
            except (_UnreadableError, StopIteration) as exc:
                raise PdfRefusedError("unchecked", f"object {value.number} not read") from exc
        if not found or any(other != found[0] for other in found):
            raise PdfRefusedError("unchecked", f"object {value.number} not found, or defined differently")
        if isinstance(found[0], _Ref):
            raise PdfRefusedError("unchecked", f"object {value.number} refers on")
        return found[0]


def _null(value: Any) -> bool:
    return value is None or (isinstance(value, _Keyword) and value == b"null")


def _filter_chain(stream: dict[bytes, Any], objects: _Objects) -> list[tuple[bytes, dict[bytes, Any] | None]]:
    """The stream's filters in order, each with its decoding parameters (a dictionary or None):
    ``/Filter`` a name or an array of names, ``/DecodeParms`` a dictionary or an array of them
    (``null`` for none), each of them, and each item of an array, possibly an indirect reference."""
    filters = objects.resolve(stream.get(b"Filter"))
    parms = objects.resolve(stream.get(b"DecodeParms"))
    if _null(filters):
        return []
    if not isinstance(filters, list):
        filters = [filters]
    if _null(parms):
        parms = []
    elif not isinstance(parms, list):
        parms = [parms]
    if len(parms) > len(filters):
        raise PdfRefusedError("unchecked", "decoding parameters that match no filter")
    chain = []
    for i, item in enumerate(filters):
        name = objects.resolve(item)
        parm = objects.resolve(parms[i]) if i < len(parms) else None
        if not isinstance(name, _Name):
            raise PdfRefusedError("unchecked", "a filter that is no name")
        if not (_null(parm) or isinstance(parm, dict)):
            raise PdfRefusedError("unchecked", "decoding parameters that are no dictionary")
        chain.append((bytes(name), parm if isinstance(parm, dict) else None))
    return chain


def _inflate(data: bytes, parms: dict[bytes, Any] | None, budget: int) -> bytes:
    predictor = (parms or {}).get(b"Predictor", 1)
    if not isinstance(predictor, int) or predictor > 1:
        raise PdfRefusedError("unchecked", "an object stream with a predictor")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, budget + 1)
    except zlib.error as exc:
        raise PdfRefusedError("unchecked", "an object stream that does not inflate") from exc
    if len(out) > budget or inflater.unconsumed_tail:
        raise PdfRefusedError("unchecked", "object streams larger than the check reads")
    return out


def _hex(data: bytes) -> bytes:
    digits = re.sub(rb"[%s]" % _WHITE, b"", data.split(b">", 1)[0])
    try:
        return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
    except ValueError as exc:
        raise PdfRefusedError("unchecked", "an object stream that does not decode (ASCIIHex)") from exc


def _ascii85(data: bytes) -> bytes:
    try:
        return base64.a85decode(data.split(b"~>", 1)[0], ignorechars=_WHITESPACE)
    except ValueError as exc:
        raise PdfRefusedError("unchecked", "an object stream that does not decode (ASCII85)") from exc


def _run_length(data: bytes, budget: int) -> bytes:
    out, pos = bytearray(), 0
    while pos < len(data) and data[pos] != 128:
        length = data[pos]
        if length < 128:
            out += data[pos + 1 : pos + 2 + length]
            pos += 2 + length
        else:
            out += data[pos + 1 : pos + 2] * (257 - length)
            pos += 2
        if len(out) > budget:
            raise PdfRefusedError("unchecked", "object streams larger than the check reads")
    return bytes(out)


def _decode(data: bytes, chain: list[tuple[bytes, Any]], budget: int) -> bytes:
    """``data`` through the filter chain, at most ``budget`` bytes at each step."""
    for name, parms in chain:
        if name in {b"FlateDecode", b"Fl"}:
            data = _inflate(data, parms, budget)
        elif name in {b"ASCIIHexDecode", b"AHx"}:
            data = _hex(data)
        elif name in {b"ASCII85Decode", b"A85"}:
            data = _ascii85(data)
        elif name in {b"RunLengthDecode", b"RL"}:
            data = _run_length(data, budget)
        else:
            raise PdfRefusedError("unchecked", f"an object stream filtered by {name.decode('latin-1')}")
        if len(data) > budget:
            raise PdfRefusedError("unchecked", "object streams larger than the check reads")
    return data


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
    names |= _names(content) - SHORT
    budget = INFLATED_MAX
    objects = _Objects(content, streams)
    read = 0
    for head_at, start, end in streams:
        head = content[head_at : content.rindex(b"stream", head_at, start)]
        if not _names(head) & {b"First", b"ObjStm"}:
            continue  # no object stream (the names read without reading the dictionary)
        read += 1
        if read > OBJECT_STREAMS_MAX:
            raise PdfRefusedError("unchecked", "more object streams than the check reads")
        if len(head) > HEAD_MAX:
            raise PdfRefusedError("unchecked", "an object stream's dictionary larger than the check reads")
        stream = _dictionary(head)
        if stream is None or not (b"First" in stream or objects.resolve(stream.get(b"Type")) == b"ObjStm"):
            continue  # no object stream: a viewer reads no objects from it
        data = _decode(content[start:end], _filter_chain(stream, objects), budget)
        budget -= len(data)
        names |= _names(data)
    active = names & ACTIVE
    if active:
        raise PdfRefusedError("active", ", ".join(sorted(n.decode("latin-1") for n in active)))
