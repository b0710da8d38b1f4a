"""`msp report --format html`: one self-contained page (no script, no external reference, a
CSP that forbids scripts), inline SVG charts, every user text escaped; rendered in headless
Chromium and kept as a CI artifact (vscode-extension/test-artifacts/report.png)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from msp_server.core import commands as c
from tests.conftest import Msp
from tests.report_store import Clock, open_workspace, record_week
from tests.test_vscode_e2e import _require

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
WEEK = ("--since", "2026-11-23", "--until", "2026-11-29", "--format", "html")
HOSTILE = "<img src=x onerror=alert(1)>"
URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "srcset", "data", "poster", "background"}


class Page(HTMLParser):
    """Every tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def names(self) -> list[str]:
        return [tag for tag, _ in self.tags]


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture
def week(msp: Msp, monkeypatch: pytest.MonkeyPatch) -> Msp:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    record_week(msp.folder)
    clock = Clock("2026-11-27T11:00:00Z")  # a hostile decision and blocker, in the week
    ws = open_workspace(msp.folder, clock)
    try:
        ws.start(c.StartArgs(project=f"evil {HOSTILE}"))
        clock.at("2026-11-27T11:10:00Z")
        ws.decide(c.DecideArgs(text=HOSTILE, rationale='"><script>alert(2)</script>'))
        ws.block(c.BlockArgs(text="</td></table><script>alert(3)</script>"))
        ws.entity(c.EntityArgs(name="Evil<svg onload=alert(4)>", path="x.py"))
        clock.at("2026-11-27T11:30:00Z")
        ws.end(c.EndArgs(summary="<iframe src=//evil.example>"))
    finally:
        ws.close()
    return msp


def test_the_page_has_no_script_and_no_external_reference(week: Msp) -> None:
    page = parse(week.ok("report", *WEEK).out)
    names = page.names()
    assert "script" not in names and "iframe" not in names and "img" not in names
    assert "link" not in names  # no stylesheet, font or icon from anywhere
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in URL_ATTRIBUTES & attrs.keys():
            assert (attrs[name] or "").startswith("data:"), (tag, name, attrs[name])
    text = "".join(page.text)
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")


def test_a_csp_meta_forbids_scripts(week: Msp) -> None:
    page = parse(week.ok("report", *WEEK).out)
    csp = [
        a["content"] or ""
        for tag, a in page.tags
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert len(csp) == 1
    assert "script-src 'none'" in csp[0] and "default-src 'none'" in csp[0]


def test_charts_are_inline_svg(week: Msp) -> None:
    page = parse(week.ok("report", *WEEK).out)
    charts = [a for tag, a in page.tags if tag == "svg"]
    assert [a["aria-label"] for a in charts] == ["Hours per day", "Progress per project"]
    assert page.names().count("rect") >= 7  # the week's bars and the progress bars


def test_user_text_is_escaped(week: Msp) -> None:
    raw = week.ok("report", *WEEK).out
    assert HOSTILE not in raw and "&lt;img src=x onerror=alert(1)&gt;" in raw
    text = "".join(parse(raw).text)
    for shown in (HOSTILE, "</td></table><script>alert(3)</script>", "Evil<svg onload=alert(4)>"):
        assert shown in text  # the reader sees the text as typed


def test_markdown_escapes_html_too(week: Msp) -> None:
    text = week.ok("report", *WEEK[:-2]).out
    assert "\\<img src=x onerror=alert(1)>" in text
    assert re.search(r"(?<!\\)<", text) is None  # every < shown as text, never a tag


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_rendered_in_headless_chromium(
    msp: Msp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report of the recorded week, as a person would see it: kept as a CI artifact."""
    _require(CHROMIUM.exists(), f"needs Chromium ({CHROMIUM})")  # a failure in CI, not a skip
    monkeypatch.setenv("TZ", "Europe/Berlin")
    record_week(msp.folder)
    page = tmp_path / "report.html"
    msp.ok("report", *WEEK, "--output", str(page))
    artifacts = Path(os.environ.get("MSP_E2E_ARTIFACTS", ROOT / "vscode-extension/test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "report.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert _png_size(shot) == (1200, 1600)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    shutil.copy(page, artifacts / "report.html")


def test_long_lists_are_cut_with_a_count(week: Msp) -> None:
    """A quarter's hundreds of decisions: the page shows 100, the Markdown 8 (JSON has all)."""
    import json

    from msp_server.report import html, markdown

    data = json.loads(week.ok("report", *WEEK[:-2], "--format", "json").out)
    data["decisions"] = [dict(data["decisions"][0], content=f"Decision {i}") for i in range(150)]
    page = html.render(data)
    assert "<li>Decision 99 " in page and "<li>Decision 100 " not in page
    assert "… and 50 more" in page
    text = markdown.render(data)
    assert "Decision 7 " in text and "Decision 8 " not in text and "- … +142 more" in text


def test_print_css_keeps_sections_whole_and_colours(week: Msp) -> None:
    raw = week.ok("report", *WEEK).out
    style = raw[raw.index("<style>") : raw.index("</style>")]
    printed = style[style.index("@media print") :]
    assert "break-inside: avoid" in printed and "print-color-adjust: exact" in printed
