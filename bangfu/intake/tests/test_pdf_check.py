"""A PDF attachment must be structurally a PDF and hold no active content (scripts, launch actions,
embedded files, rich media, XFA), on every upload path: the worker's phone page and API, the staff's
counter page and API (proofs, home-visit photos, minutes, answers)."""

from __future__ import annotations

import base64
import io
import zlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from bangfu.intake import otp, services, steps
from bangfu.intake.models import Applicant
from bangfu.intake.pdfcheck import PdfRefusedError, check_pdf
from bangfu.intake.tests.helpers import sign_in
from bangfu.testing.factories import pdf_file

JS_ACTION = b"<< /Type /Action /S /JavaScript /JS (app.alert('xss')) >>"
SCRIPT = "This PDF contains scripts or embedded content and cannot be attached"
NOT_A_PDF = "This file is not a readable PDF"


def _kind(content: bytes) -> str:
    with pytest.raises(PdfRefusedError) as refused:
        check_pdf(content)
    return refused.value.kind


def _xref_stream_pdf(
    object_stream: bytes, filters: bytes = b"/Filter /FlateDecode", kind: bytes = b"/Type /ObjStm", more: bytes = b""
) -> bytes:
    """A PDF 1.5 whose catalog's action sits compressed in an object stream, with a
    cross-reference stream (as modern producers write them); ``more`` objects after the
    cross-reference stream, numbered from 6."""
    out = bytearray(b"%PDF-1.5\n")
    offsets = [len(out)]
    out += b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>\nendobj\n"
    offsets.append(len(out))
    out += b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    offsets.append(len(out))
    out += b"3 0 obj\n<< %s /N 1 /First 4 %s /Length %d >>\nstream\n" % (kind, filters, len(object_stream))
    out += object_stream + b"\nendstream\nendobj\n"
    xref_at = len(out)
    rows = b"".join(bytes([1]) + o.to_bytes(4, "big") + b"\x00" for o in offsets)
    out += b"4 0 obj\n<< /Type /XRef /Size 6 /W [1 4 1] /Index [1 3] /Root 1 0 R /Length %d >>\nstream\n" % len(rows)
    out += rows + b"\nendstream\nendobj\n"
    out += b"".join(
        b"%d 0 obj\n%s\nendobj\n" % (number, body) for number, body in enumerate(more.split(b"|"), 6) if body
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def test_a_plain_pdf_passes_and_binary_data_is_not_read_as_names() -> None:
    check_pdf(pdf_file())
    # A picture's bytes may hold "/JS " by chance: stream data is not read for the short names.
    noise = b"\xff\xd8\x00/JS \x10\x80/3D\x00" * 50
    image = b"<< /Type /XObject /Subtype /Image /Length %d >>\nstream\n%s\nendstream" % (len(noise), noise)
    check_pdf(pdf_file(image))
    check_pdf(_xref_stream_pdf(zlib.compress(b"5 0 << /S /URI /URI (https://example.org) >>")))


@pytest.mark.parametrize(
    "content",
    [
        pdf_file(JS_ACTION, catalog=b"/OpenAction 4 0 R"),
        pdf_file(b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>"),  # names written with #xx escapes
        pdf_file(b"<< /S /Launch /F (cmd.exe) >>"),
        pdf_file(b"<< /Names << /EmbeddedFiles 5 0 R >> >>"),
        pdf_file(b"<< /Type /EmbeddedFile /Length 3 >>\nstream\nabc\nendstream"),
        pdf_file(b"<< /Type /Annot /Subtype /RichMedia >>"),
        pdf_file(b"<< /Fields [] /XFA 5 0 R >>"),
        # Media a viewer plays: a sound, a film, a rendition, a screen annotation, a 3D model.
        pdf_file(b"<< /S /Sound /Sound 5 0 R >>", catalog=b"/OpenAction 4 0 R"),
        pdf_file(b"<< /Type /Annot /Subtype /Movie /Movie << /F (x.avi) >> >>"),
        pdf_file(b"<< /S /Rendition /OP 0 /R 5 0 R >>", catalog=b"/OpenAction 4 0 R"),
        pdf_file(b"<< /Type /Annot /Subtype /Screen /Rect [0 0 10 10] >>"),
        pdf_file(b"<< /Type /Annot /Subtype /3D /3DD 5 0 R >>"),
        _xref_stream_pdf(zlib.compress(b"5 0 " + JS_ACTION)),  # compressed in an object stream
    ],
)
def test_active_content_is_refused(content: bytes) -> None:
    assert _kind(content) == "active"


HIDDEN = b"5 0 " + JS_ACTION


@pytest.mark.parametrize(
    "content",
    [
        # The filter written as an object of its own, alone or in an array: the stream was read raw.
        _xref_stream_pdf(zlib.compress(HIDDEN), filters=b"/Filter 6 0 R", more=b"/FlateDecode"),
        _xref_stream_pdf(zlib.compress(HIDDEN), filters=b"/Filter [6 0 R]", more=b"/FlateDecode"),
        _xref_stream_pdf(zlib.compress(HIDDEN), filters=b"/Filter 6 0 R", more=b"[/FlateDecode]"),
        _xref_stream_pdf(zlib.compress(HIDDEN), filters=b"/F#69lter /Fl#61teDecode"),
        # No /Type /ObjStm: viewers read an object stream by its /N and /First.
        _xref_stream_pdf(zlib.compress(HIDDEN), kind=b""),
        # The other filters a viewer decodes, in a chain.
        _xref_stream_pdf(zlib.compress(HIDDEN).hex().encode() + b">", filters=b"/Filter [/AHx /FlateDecode]"),
        _xref_stream_pdf(
            base64.a85encode(zlib.compress(HIDDEN), wrapcol=40) + b"~>",
            filters=b"/Filter [/ASCII85Decode 6 0 R] /DecodeParms [null 7 0 R]",
            more=b"/FlateDecode|<< /Predictor 1 >>",
        ),
        _xref_stream_pdf(bytes([len(HIDDEN) - 1]) + HIDDEN + b"\x80", filters=b"/Filter /RunLengthDecode"),
        # Actions that send a form away, import data or open another file.
        pdf_file(b"<< /S /SubmitForm /F (https://example.org/collect) >>", catalog=b"/OpenAction 4 0 R"),
        pdf_file(b"<< /S /ImportData /F (data.fdf) >>", catalog=b"/OpenAction 4 0 R"),
        pdf_file(b"<< /S /GoToR /F (\\\\\\\\host\\\\share\\\\x.pdf) /D [0 /Fit] >>", catalog=b"/OpenAction 4 0 R"),
        _xref_stream_pdf(
            zlib.compress(b"5 0 << /S /SubmitForm /F (https://example.org) >>"),
            filters=b"/Filter 6 0 R",
            more=b"/FlateDecode",
        ),
    ],
)
def test_active_content_behind_an_indirect_or_other_filter_is_refused(content: bytes) -> None:
    assert _kind(content) == "active"


@pytest.mark.parametrize(
    "content",
    [
        _xref_stream_pdf(zlib.compress(HIDDEN), filters=b"/Filter 9 0 R"),  # the filter's object is nowhere
        _xref_stream_pdf(zlib.compress(HIDDEN), filters=b"/Filter 6 0 R", more=b"7 0 R|/FlateDecode"),  # two levels
        _xref_stream_pdf(
            zlib.compress(HIDDEN),
            filters=b"/Filter [/FlateDecode] /DecodeParms 6 0 R",
            more=b"<< /Predictor 12 /Columns 4 >>",
        ),
        _xref_stream_pdf(
            zlib.compress(HIDDEN), filters=b"/Filter /FlateDecode /DecodeParms << /Predictor 6 0 R >>", more=b"1"
        ),
        _xref_stream_pdf(b"5 0 << >>", filters=b"/Filter /ASCIIHexDecode", kind=b""),  # not hex
        _xref_stream_pdf(b"5 0 << >>", filters=b"/Filter [/LZWDecode]", kind=b""),
        _xref_stream_pdf(b"5 0 << >>", filters=b"/Filter (FlateDecode"),  # a dictionary not read
    ],
)
def test_an_object_stream_whose_filters_cannot_be_followed_is_refused(content: bytes) -> None:
    assert _kind(content) == "unchecked"


def test_what_an_object_stream_does_not_hide_passes() -> None:
    check_pdf(
        _xref_stream_pdf(
            zlib.compress(b"5 0 << /S /URI /URI (https://example.org) >>"),
            filters=b"/Filter 6 0 R",
            more=b"/FlateDecode",
        )
    )
    check_pdf(_xref_stream_pdf(b"5 0 << /Type /Annot >>", filters=b"", kind=b""))
    # A picture with a predictor is no object stream: it is not decoded, and passes.
    picture = (
        b"<< /Type /XObject /Subtype /Image /Filter /FlateDecode /DecodeParms << /Predictor 15 /Columns 2 >>"
        b" /Length 4 >>\nstream\nabcd\nendstream"
    )
    check_pdf(pdf_file(picture))


def test_what_is_not_a_pdf_is_refused() -> None:
    assert _kind(b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF") == "structure"
    good = pdf_file()
    at = good.rindex(b"startxref")
    assert _kind(good[:at] + b"startxref\n12\n%%EOF\n") == "structure"  # points at no xref
    assert _kind(good[:at] + b"startxref\n999999\n%%EOF\n") == "structure"  # beyond the file
    assert _kind(b"%PDF-1.4\nxref\n0 1\ntrailer\n<< >>\nstartxref\n9\n%%EOF\n") == "structure"  # no object


def test_object_streams_the_check_cannot_read_are_refused() -> None:
    assert _kind(_xref_stream_pdf(b"not deflated at all")) == "unchecked"
    assert _kind(_xref_stream_pdf(b"5 0 << >>", filters=b"/Filter /LZWDecode")) == "unchecked"


def test_every_upload_path_refuses_a_pdf_with_a_script(tree: dict, users: dict[str, Any]) -> None:
    bad = pdf_file(JS_ACTION, catalog=b"/OpenAction 4 0 R")
    applicant = Applicant.objects.create(phone="13912345601")
    app = services.application_create(actor=applicant, unit_id=tree["xiangyun_g"].pk)
    worker_api = Client().post(
        f"/api/v1/applicant/applications/{app.pk}/attachments",
        {"file": io.BytesIO(bad)},
        headers={"Authorization": f"Bearer {otp.token_for(applicant)}", "Accept-Language": "en"},
    )
    assert worker_api.status_code == 422
    assert SCRIPT in worker_api.json()["error"]["fields"]["file"][0]
    hidden = _xref_stream_pdf(zlib.compress(b"5 0 " + JS_ACTION), filters=b"/Filter [6 0 R]", more=b"/FlateDecode")
    worker_api = Client().post(
        f"/api/v1/applicant/applications/{app.pk}/attachments",
        {"file": io.BytesIO(hidden)},
        headers={"Authorization": f"Bearer {otp.token_for(applicant)}", "Accept-Language": "en"},
    )
    assert worker_api.status_code == 422
    assert SCRIPT in worker_api.json()["error"]["fields"]["file"][0]
    phone = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant)
    page = phone.post(f"/apply/{app.pk}/upload/", {"file": _named(bad, "proof.pdf")}, follow=True)
    assert SCRIPT in page.content.decode()

    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    counter = staff.post(
        f"/applications/{app.pk}/upload/", {"file": _named(bad, "v.pdf"), "kind": "visit_photo"}, follow=True
    )
    assert SCRIPT in counter.content.decode()
    fake = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF"
    for actor in (applicant, users["xiangyun_staff"]):
        with pytest.raises(ValidationError) as refused:
            steps.attachment_add(actor=actor, application_id=app.pk, name="x.pdf", content=fake)
        assert NOT_A_PDF in refused.value.message_dict["file"][0]
    assert not app.attachments.exists()
    # A real one still goes in.
    assert steps.attachment_add(actor=applicant, application_id=app.pk, name="ok.pdf", content=pdf_file()).pk


def _named(content: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(content)
    f.name = name
    return f
