"""Reading a page as a screen reader would, for the accessibility tests: the elements of its HTML
as a small tree, the ids that ARIA attributes and labels point at, the name a field is read with
and the groups (fieldsets, role=group) around it. Only what the tests need; no browser."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Attributes holding ids of other elements (space-separated).
REFERENCES = ("aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage")


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = field(default=None, repr=False)
    children: list[Node | str] = field(default_factory=list, repr=False)

    def get(self, name: str, default: str = "") -> str:
        return self.attrs.get(name, default)

    def text(self) -> str:
        """Its text as read (hidden elements and templates left out), white space folded."""
        parts: list[str] = []
        for c in self.children:
            if isinstance(c, str):
                parts.append(c)
            elif c.tag not in {"template", "script", "style"} and "hidden" not in c.attrs:
                parts.append(c.text())
        return " ".join(" ".join(parts).split())

    def iter(self) -> Iterator[Node]:
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def ancestors(self) -> Iterator[Node]:
        p = self.parent
        while p is not None:
            yield p
            p = p.parent

    def classes(self) -> list[str]:
        return self.get("class").split()


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v if v is not None else "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, {k: v if v is not None else "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:  # an end tag without its start is ignored
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


class Page:
    def __init__(self, html: str) -> None:
        builder = _Builder()
        builder.feed(html)
        builder.close()
        self.root = builder.root
        self.by_id: dict[str, Node] = {}
        for n in self.root.iter():
            if "id" in n.attrs:
                self.by_id.setdefault(n.attrs["id"], n)

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements of ``tag`` (any when None) with these attribute values (``_`` for ``-``)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            n
            for n in self.root.iter()
            if (tag is None or n.tag == tag) and all(n.attrs.get(k) == v for k, v in wanted.items())
        ]

    def in_template(self, node: Node) -> bool:
        return any(a.tag == "template" for a in node.ancestors())

    def broken_references(self) -> list[str]:
        """``attribute=id`` for every id an ARIA attribute or a label's ``for`` names that no
        element of the page has (a template's content counts as its own page)."""
        missing = []
        for n in self.root.iter():
            targets = [(a, i) for a in REFERENCES for i in n.get(a).split()]
            if n.tag == "label" and n.get("for"):
                targets.append(("for", n.get("for")))
            for attr, ref in targets:
                if ref not in self.by_id:
                    missing.append(f"{n.tag} {attr}={ref}")
        return missing

    def fields(self) -> list[Node]:
        """The form fields a person fills in (not hidden inputs, not buttons), templates left out."""
        return [
            n
            for n in self.root.iter()
            if n.tag in {"input", "select", "textarea"}
            and n.get("type") not in {"hidden", "submit", "button", "reset"}
            and not self.in_template(n)
        ]

    def name_of(self, node: Node) -> str:
        """The accessible name: aria-labelledby, aria-label, a label for it or around it, then a
        title or a placeholder; a button's or a link's own text."""
        if ids := node.get("aria-labelledby").split():
            return " ".join(self.by_id[i].text() for i in ids if i in self.by_id)
        if node.get("aria-label"):
            return node.get("aria-label")
        if node.tag in {"input", "select", "textarea"}:
            ident = node.get("id")
            if ident:
                for label in self.all("label"):
                    if label.get("for") == ident:
                        return label.text()
            for a in node.ancestors():
                if a.tag == "label":
                    return a.text()
            return node.get("title") or node.get("placeholder")
        return node.text() or node.get("title")

    def description_of(self, node: Node) -> str:
        """What is read after the name: its aria-describedby's text, else (a box of a list) its
        fieldset's, read on entering the group."""
        own = " ".join(self.by_id[i].text() for i in node.get("aria-describedby").split() if i in self.by_id)
        if own:
            return own
        group = next((a for a in node.ancestors() if a.tag == "fieldset"), None)
        return self.description_of(group) if group is not None else ""

    def groups_of(self, node: Node) -> list[str]:
        """The names of the groups around ``node``, innermost first: a fieldset's legend, a
        role=group's aria-label or aria-labelledby."""
        names = []
        for a in node.ancestors():
            if a.tag == "fieldset":
                legend = next((c for c in a.children if isinstance(c, Node) and c.tag == "legend"), None)
                names.append(self.name_of(a) if a.get("aria-label") else legend.text() if legend else "")
            elif a.get("role") == "group":
                names.append(self.name_of(a))
        return names

    def read_as(self, node: Node) -> str:
        """What a screen reader says on reaching a field: its groups (outermost first) and its name."""
        return " / ".join([*reversed([g for g in self.groups_of(node) if g]), self.name_of(node)])
