"""Checking a staff table on a phone-width screen, for the browser tests: which of the cells a
reader needs cannot be read without scrolling sideways (off the screen, scrolled out of the
table's box, hidden, or cut short)."""

from __future__ import annotations

from typing import Any

# For each row of the table, each wanted column (by its header's text): what keeps it from being
# read at once. The table's box must not scroll sideways, nor the page. A row of one cell across
# the table (a person's further details under their row) has no columns to read.
_SCRIPT = """([selector, wanted]) => {
  const table = document.querySelector(selector);
  const problems = [];
  const page = document.documentElement;
  const width = page.clientWidth;
  if (page.scrollWidth > width) problems.push(`the page is ${page.scrollWidth} px wide`);
  const box = table.parentElement;
  if (box.scrollWidth > box.clientWidth) {
    problems.push(`the table is ${box.scrollWidth} px wide in ${box.clientWidth} px`);
  }
  const heads = [...table.tHead.rows[0].cells].map(c => c.innerText.trim());
  for (const name of wanted) {
    const i = heads.indexOf(name);
    if (i < 0) { problems.push(`no column headed ${name}: ${heads}`); continue; }
    for (const row of table.tBodies[0].rows) {
      if (row.cells.length === 1 && row.cells[0].colSpan > 1) continue; // a row across the table (more about a person)
      const cell = row.cells[i];
      const r = cell.getBoundingClientRect();
      const text = cell.innerText.trim();
      if (!cell.checkVisibility() || r.width === 0) problems.push(`${name} hidden: ${text}`);
      else if (r.left < 0 || r.right > width + 0.5) {
        problems.push(`${name} off the screen (${Math.round(r.left)}–${Math.round(r.right)}): ${text}`);
      } else if (cell.scrollWidth > cell.clientWidth + 1) problems.push(`${name} cut short: ${text}`);
    }
  }
  return problems;
}"""


def unreadable_cells(page: Any, table: str, wanted: list[str]) -> list[str]:
    """What keeps the ``wanted`` columns of the table ``table`` (a CSS selector) from being read on
    the page as it is shown, each named by its header; empty when all of them can be."""
    return list(page.evaluate(_SCRIPT, [table, wanted]))
