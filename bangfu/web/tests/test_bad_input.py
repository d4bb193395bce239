"""Every page, given an id or a page number too large for any integer, or the NUL character in its
query: a specific 400 (or 404), never a server error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

HUGE = str(10**20)


def _patterns(resolver: Any = None, prefix: str = "") -> list[str]:
    out: list[str] = []
    for p in (resolver or get_resolver()).url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            out += _patterns(p, route)
        elif isinstance(p, URLPattern):
            out.append(route)
    return out


def _pages() -> tuple[list[str], list[str]]:
    """Page routes with integer ids (filled with a huge one), and those without any parameter."""
    with_ids, plain = [], []
    for route in _patterns():
        if route.startswith(("api/", "admin/", "static/", "^")):
            continue
        if "<" not in route:
            plain.append("/" + route)
        elif re.fullmatch(r"([^<]|<int:\w+>)*", route):
            with_ids.append("/" + re.sub(r"<int:\w+>", HUGE, route))
    return with_ids, plain


@pytest.fixture
def admin_client(users: dict[str, Any]) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["admin"])
    return c


def test_pages_with_ids_too_large_answer_400_or_404(admin_client: Client) -> None:
    with_ids, _plain = _pages()
    assert len(with_ids) > 20
    problems = []
    for url in with_ids:
        response = admin_client.get(url)
        if response.status_code >= 500:
            problems.append(f"GET {url}: {response.status_code}")
        response = admin_client.post(url, {"reason": "x"})
        if response.status_code >= 500:
            problems.append(f"POST {url}: {response.status_code}")
        response = admin_client.post(url, {"reason": "x", "unit_id": "²", "objection_id": "²", "version": "²"})
        if response.status_code >= 500:
            problems.append(f"POST {url} (non-ASCII digits): {response.status_code}")
    assert not problems, "\n".join(problems)


def test_pages_given_a_huge_page_or_nul_in_the_query_answer_without_a_server_error(admin_client: Client) -> None:
    _with_ids, plain = _pages()
    problems = []
    for url in plain:
        if "logout" in url:
            continue
        for query in (
            {"page": HUGE},
            {"q": "王\x00"},
            {"page": "-1"},
            {"unit": HUGE},
            {"unit_id": HUGE},
            # Digits that are not ASCII: "²".isdigit() is true but int("²") fails.
            *({key: "²"} for key in ("page", "unit", "unit_id", "selected", "dataset", "q")),
        ):
            response = admin_client.get(url, query)
            if response.status_code >= 500:
                problems.append(f"GET {url} {query!r}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_nul_in_a_search_is_named_on_the_page(admin_client: Client) -> None:
    response = admin_client.get("/households/", {"q": "王\x00"})
    assert response.status_code == 400
    assert "“q” holds the NUL character" in response.content.decode()


def test_nul_in_a_json_field_is_named_with_its_path(users: dict[str, Any]) -> None:
    from bangfu.org.services import token_create

    token = token_create(actor=users["admin"], user=users["admin"], name="t")
    response = Client().post(
        "/api/v1/households",
        '{"unit_id": 1, "members": [{"name": "王\\u0000"}]}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "bad_request"
    assert list(body["fields"]) == ["members.0.name"]
    # Half of a character pair on its own cannot be stored as text either (it was a server error);
    # a whole pair (an emoji) is text.
    for text, status in (("\\ud800x", 400), ("x\\udfff", 400), ("\\ud83d\\ude00", 422)):
        response = Client().post(
            "/api/v1/households",
            '{"unit_id": 1, "address": "' + text + '"}',
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        )
        assert response.status_code == status, (text, response.content)
        if status == 400:
            assert list(response.json()["error"]["fields"]) == ["address"]


def test_nul_on_a_phone_page_answers_with_the_phone_layout() -> None:
    response = Client(headers={"Accept-Language": "en"}).get("/apply/", {"x": "a\x00"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Back to my applications" in page and "Back to the household files" not in page


def test_the_server_error_page_stands_alone() -> None:
    from django.test import RequestFactory
    from django.views.defaults import server_error

    page = server_error(RequestFactory().get("/")).content.decode()
    assert "it has been logged" in page and "bootstrap.min.css" in page


def test_a_url_the_api_does_not_have_answers_in_json() -> None:
    response = Client(headers={"Accept-Language": "en"}).get("/api/v1/households/")  # the slash is not ours
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}, "details": {}}}
    page = Client(headers={"Accept-Language": "en"}).get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_form_data_that_cannot_be_read_is_a_specific_400_in_the_api(users: dict[str, Any]) -> None:
    client = Client()
    client.force_login(users["xiangyun_staff"])
    response = client.generic("POST", "/api/v1/imports", b"--x\r\n", content_type="multipart/form-data")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "bad_request" and "form data cannot be read" in body["error"]["message"]


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ({"DATA_UPLOAD_MAX_NUMBER_FILES": 1}, "The request sends too many files."),
        ({"DATA_UPLOAD_MAX_NUMBER_FIELDS": 1}, "The request sends too many fields."),
    ],
)
def test_a_request_django_refuses_before_the_view_answers_the_api_in_json(
    users: dict[str, Any], settings: Any, limit: dict[str, int], message: str
) -> None:
    """Too many files or fields in one request: Django refuses it before any view. The API
    answers in its own body; the staff site keeps its page."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    for key, value in limit.items():
        setattr(settings, key, value)
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["xiangyun_staff"])
    files = [SimpleUploadedFile(f"u{i}.xlsx", b"x") for i in range(2)]
    response = client.post("/api/v1/imports", {"file": files, "unit_id": "1", "commit": "0"})
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "bad_request", "message": message, "fields": {}, "details": {}}
    page = client.post("/applications/import/", {"file": files, "unit_id": "1"})
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("formset", ["web", "intake_members", "intake_amounts"])
def test_a_tampered_form_count_builds_no_more_forms_than_allowed(formset: str) -> None:
    """A form saying it has 1,000 members is refused without building them (it took 9–15 s and a
    4 MB page at 300)."""
    from bangfu.intake.forms import AmountFormSet
    from bangfu.intake.forms import MemberFormSet as IntakeMembers
    from bangfu.web.forms import MemberFormSet

    cls, prefix, cap = {
        "web": (MemberFormSet, "members", 50),
        "intake_members": (IntakeMembers, "m", 20),
        "intake_amounts": (AmountFormSet, "a", 20),
    }[formset]
    bound = cls({f"{prefix}-TOTAL_FORMS": "1000", f"{prefix}-INITIAL_FORMS": "0"}, prefix=prefix)
    assert len(bound.forms) <= cap
    assert not bound.is_valid()
    assert bound.non_form_errors()


def test_a_file_with_a_very_long_name_is_refused_saying_so(users: dict[str, Any]) -> None:
    """A photo named with 500 Chinese characters was refused as form data that "cannot be read"."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["xiangyun_staff"])
    boundary = "b0undary"
    name = ("图" * 500 + ".jpg").encode()
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff0\r\n'
        + f"--{boundary}--\r\n".encode()
    )
    response = client.generic("POST", "/api/v1/imports", body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400 and "name is too long" in response.json()["error"]["message"]
