"""journal.html in headless Chromium: every Hangul text drawn in the embedded font, the leaderboard as a table."""

from __future__ import annotations

from pathlib import Path

import pytest
from journal_samples import HANGUL_RE, HANGUL_RECORDS, write_hangul_journal

pytestmark = [pytest.mark.browser]


@pytest.fixture()
def hangul_journal(outputs) -> tuple[Path, Path]:
    """``journal.md`` and ``journal.html`` of three rounds whose classes are 학생, 책상, 시태."""
    return write_hangul_journal(outputs)


@pytest.fixture()
def chromium() -> str:
    """The system Chromium and Playwright; skipped (outside CI) when either is missing."""
    from jupyterlab_session import require_chromium

    return require_chromium()


def test_journal_draws_every_hangul_text_in_its_embedded_font_in_chromium(chromium, hangul_journal):
    """Headless Chromium opens journal.html offline; CDP reports the fonts that drew each element's glyphs."""
    from jupyterlab_session import chromium_browser

    from yolo_workbook.core.fonts import FAMILY

    html_path = hangul_journal[1]
    with chromium_browser(chromium) as browser:
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.goto(html_path.as_uri())
        page.evaluate("() => document.fonts.ready.then(() => document.fonts.status)")
        cdp = context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        document = cdp.send("DOM.getDocument", {"depth": -1})
        children = _children_by_id(document["root"])
        elements = cdp.send("DOM.querySelectorAll", {"nodeId": document["root"]["nodeId"], "selector": "body *"})
        with_hangul = {}
        for node_id in elements["nodeIds"]:
            own_text = "".join(c["nodeValue"] for c in children.get(node_id, []) if c["nodeType"] == 3)
            if HANGUL_RE.search(own_text):
                with_hangul[node_id] = own_text.strip()
        assert len(with_hangul) >= 10, with_hangul  # headings, table cells, why / expect, lineage
        fallbacks = {}
        for node_id, text in with_hangul.items():
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
            assert sum(f["glyphCount"] for f in fonts) > 0, text
            others = [f for f in fonts if not (f["isCustomFont"] and f["familyName"] == FAMILY)]
            if others:
                fallbacks[text] = others
        assert not fallbacks, f"drawn partly in a fallback font, not the embedded {FAMILY}: {fallbacks}"

        table = page.locator("table.leaderboard")
        assert table.count() == 1
        numbers = table.locator("td.num")
        assert numbers.count() == len(HANGUL_RECORDS) * 8
        aligns = numbers.evaluate_all("cells => cells.map(c => getComputedStyle(c).textAlign)")
        assert set(aligns) == {"right"}
        best = table.locator("td.best")
        assert best.count() >= 1
        weights = best.evaluate_all("cells => cells.map(c => Number(getComputedStyle(c).fontWeight))")
        assert min(weights) >= 700
        sitae = table.locator("td.best[title^='best AP50 시태']")
        assert sitae.count() == 1 and sitae.inner_text() == "0.612"
        assert "higher is better" in table.locator("caption").inner_text()
        context.close()


def _children_by_id(node: dict) -> dict[int, list[dict]]:
    """Every node's children in a ``DOM.getDocument`` tree, by node id."""
    found = {node["nodeId"]: node.get("children", [])}
    for child in node.get("children", []):
        found.update(_children_by_id(child))
    return found
