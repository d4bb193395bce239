"""What the CSS and the script do for a keyboard and a weak eye, in a real Chromium: the contrast
of the menu bar, the buttons and the links (4.5:1, WCAG 2.2 AA), a focus one can see on the blue
bar, the focus after a number is revealed, and a row added to the file form named like the others."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.intake.tests.helpers import submitted
from bangfu.registry import services
from bangfu.testing.browser import sign_in
from bangfu.testing.factories import household_input

pytestmark = [pytest.mark.browser]

# The contrast ratio of an element's text against what is behind it: its colour and the opacity of
# it and its ancestors laid over the first opaque background found going up.
CONTRAST = """(el) => {
  function parse(c) {
    var p = c.match(/rgba?\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, under) {
    return [0, 1, 2].map(function (i) { return top[i] * top[3] + under[i] * (1 - top[3]); });
  }
  var layers = [], opacity = 1;
  for (var e = el; e; e = e.parentElement) {
    var st = getComputedStyle(e);
    opacity *= Number(st.opacity);
    var c = parse(st.backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  var back = [255, 255, 255];
  for (var i = layers.length - 1; i >= 0; i--) back = over(layers[i], back);
  var fg = parse(getComputedStyle(el).color);
  fg = over([fg[0], fg[1], fg[2], fg[3] * opacity], back);
  function lum(c) {
    var a = c.map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2];
  }
  var l1 = lum(fg), l2 = lum(back);
  return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
}"""


def _sign_in(page: Any, base: str, username: str) -> None:
    sign_in(page, base, username)


def _low_contrast(page: Any, selector: str) -> list[str]:
    found = page.locator(selector)
    assert found.count() > 0, selector
    low = []
    for i in range(found.count()):
        el = found.nth(i)
        ratio = el.evaluate(CONTRAST)
        if ratio < 4.5:
            low.append(f"{selector} {el.inner_text()!r}: {ratio:.2f}")
    return low


def test_text_is_readable_and_the_keyboard_focus_seen(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any]
) -> None:
    household = services.household_create(actor=users["admin"], data=household_input(tree["xiangyun_g"]))
    app = submitted(tree["xiangyun_g"])
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    _sign_in(page, base, "xiangyun_cadre")
    low = []
    # The menu bar: its links, the user's unions, the language and sign-out buttons.
    for selector in (".navbar .nav-link", ".navbar-text span", ".navbar .btn", ".navbar-brand"):
        low += _low_contrast(page, selector)
    # Links and outline buttons on the grey page.
    page.goto(f"{base}/applications/")
    low += _low_contrast(page, "main a.btn-outline-secondary")
    low += _low_contrast(page, "main .nav-tabs .nav-link:not(.active)")
    page.goto(f"{base}/applications/{app.pk}/")
    low += _low_contrast(page, "button[value=return]")  # 退回上一环节 (yellow on white)
    low += _low_contrast(page, "button[value=refuse]")
    low += _low_contrast(page, ".breadcrumb a")
    page.goto(f"{base}/households/{household.pk}/")
    low += _low_contrast(page, "main a:not(.btn)")
    assert low == []

    # The keyboard's focus on the blue bar: a white ring, not Bootstrap's blue one.
    page.goto(f"{base}/households/")
    link = page.locator(".navbar .nav-link").nth(1)
    page.keyboard.press("Tab")
    while not link.evaluate("el => el === document.activeElement"):
        page.keyboard.press("Tab")
    ring = link.evaluate(
        "el => { var s = getComputedStyle(el); return [s.outlineStyle, s.outlineColor, parseFloat(s.outlineWidth)]; }"
    )
    assert ring[0] == "solid" and ring[1] == "rgb(255, 255, 255)" and ring[2] >= 2, ring
    # The current page is underlined and bold, not only brighter.
    current = page.locator(".navbar .nav-link[aria-current=page]")
    assert current.evaluate("el => getComputedStyle(el).textDecorationLine") == "underline"

    # The phone pages' red bar.
    phone = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
    phone.goto(f"{base}/apply/login/")
    assert _low_contrast(phone, "header .btn") + _low_contrast(phone, "header a") == []


def test_a_revealed_number_takes_the_focus_and_an_added_row_is_named(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any]
) -> None:
    household = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    head = household.members.get(relationship="head")
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    _sign_in(page, base, "xiangyun_staff")
    page.goto(f"{base}/households/{household.pk}/")
    button = page.locator(f"#member-id-{head.pk} button")
    button.focus()
    page.keyboard.press("Enter")
    page.locator(f"#member-id-{head.pk} .revealed").wait_for()
    assert page.evaluate("document.activeElement.classList.contains('revealed')")
    assert page.evaluate("document.activeElement.closest('[id]').id") == f"member-id-{head.pk}"

    # A member row added by the script is a group numbered after the others, its remove box named.
    page.goto(f"{base}/households/{household.pk}/edit/")
    rows = page.locator("[data-formset=members] [data-formset-row]")
    before = rows.count()
    page.click("[data-formset=members] [data-formset-add]")
    added = rows.nth(before)
    assert added.locator("legend").inner_text() == f"Member {before + 1}"
    assert page.get_by_role("group", name=f"Member {before + 1}").count() == 1
    remove = added.locator("[data-formset-delete]")
    assert page.get_by_role("checkbox", name=f"Remove this row (Member {before + 1})").count() == 1
    assert remove.count() == 1
