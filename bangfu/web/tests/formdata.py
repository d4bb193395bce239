"""Read a page's form the way a browser submits it: inputs, checked boxes, selected options.
Content of ``<template>`` elements (the formsets' empty rows) is not part of the form."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormParser(HTMLParser):
    def __init__(self, form_class: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_class = form_class
        self.in_form = False
        self.in_template = 0
        self.select: str | None = None
        self.select_first: str | None = None
        self.select_chosen = False
        self.textarea: str | None = None
        self.data: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form_class in a.get("class", "").split():
            self.in_form = True
        if not self.in_form:
            return
        if tag == "template":
            self.in_template += 1
        if self.in_template:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.data.append((name, a.get("value") or "on"))
            elif kind not in {"submit", "button"}:
                self.data.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self.select, self.select_first, self.select_chosen = name, None, False
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            if self.select_first is None:
                self.select_first = value
            if "selected" in a and not self.select_chosen:
                self.data.append((self.select, value))
                self.select_chosen = True
        elif tag == "textarea" and name:
            self.textarea = name
            self.data.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self.textarea is not None and not self.in_template:
            name, value = self.data.pop()
            self.data.append((name, value + data))

    def handle_endtag(self, tag: str) -> None:
        if not self.in_form:
            return
        if tag == "template":
            self.in_template -= 1
        elif tag == "select" and self.select is not None and not self.in_template:
            if not self.select_chosen and self.select_first is not None:
                self.data.append((self.select, self.select_first))
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.in_form = False


def form_data(html: str, form_class: str = "household-form") -> dict[str, list[str]]:
    parser = _FormParser(form_class)
    parser.feed(html)
    out: dict[str, list[str]] = {}
    for name, value in parser.data:
        out.setdefault(name, []).append(value)
    return out
