"""The HTML report: self-contained, escaped, and loaded in a real headless browser.

The browser test needs Chromium (Debian's `chromium` package; `.ci/run` installs it). Without
it the test is skipped with the reason, except in CI (`CI=true`), where a missing browser fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import sovereign_advisor as sa
from sovereign_advisor.cli import main
from sovereign_advisor.views import chart

from . import browser
from .conftest import AS_OF, PROFILES, ROOT

EXAMPLES = sorted(PROFILES.glob("*.yaml"))
SCREENSHOT = ROOT / "docs" / "html-report.png"
"""The committed screenshot: `python -m tests.browser insurer.html docs/html-report.png`."""


def _html(profile: Path, out: Path) -> str:
    argv = ["advise", str(profile), "--as-of", "2026-11-23", "--format", "html"]
    assert main([*argv, "--output", str(out)]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("html")
    out = {}
    for p in EXAMPLES:
        _html(p, folder / f"{p.stem}.html")
        out[p.stem] = folder / f"{p.stem}.html"
    return out


def test_every_report_is_self_contained(reports: dict[str, Path]) -> None:
    for name, path in reports.items():
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>"), name
        assert "<script" not in text.lower(), name
        assert "Content-Security-Policy" in text and "default-src 'none'" in text
        # nothing is fetched: no src=, no stylesheet link, no url(...) but data: ones
        assert not re.search(r"""\ssrc=["']""", text), name
        assert "<link" not in text and not re.search(r"url\((?!#|data:)", text), name
        assert ("<svg" in text) == chart.available(), f"{name}: the chart is inline"
        assert ("Summary" in text and "Excluded, by cause" in text) or "Nearest change" in text


def test_profile_text_is_escaped(tmp_path: Path) -> None:
    source = (PROFILES / "bank_strict.yaml").read_text(encoding="utf-8")
    hostile = source.replace("Banque Exemple SA", "<script>alert('x')</script> & Co")
    assert hostile != source
    profile = tmp_path / "hostile.yaml"
    profile.write_text(hostile, encoding="utf-8")
    text = _html(profile, tmp_path / "hostile.html")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in text


def test_render_html_needs_only_the_advice(kb: sa.KnowledgeBase) -> None:
    advice = sa.advise(sa.load_profile(EXAMPLES[0]), kb=kb, as_of=AS_OF)
    text = sa.render_html(advice)
    assert "<svg" not in text and advice.organisation in text


def _browser_or_skip() -> None:
    if browser.executable() is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but no chromium: install Debian's chromium package (.ci/run does)")
    pytest.skip("no chromium on this machine (apt-get install chromium); CI runs this test")


def test_every_report_loads_in_a_browser_without_error(reports: dict[str, Path]) -> None:
    _browser_or_skip()
    names = sorted(reports)
    pages = browser.load_all([reports[n] for n in names])
    for name, page in zip(names, pages, strict=True):
        assert page.errors == [], (name, page.errors)
        assert page.title.startswith("LLM deployment advice: "), name
        assert "Summary" in page.text and "Monthly cost by query volume" in page.text, name
        if chart.available():
            assert "<svg" in reports[name].read_text(encoding="utf-8")
        assert "deciding constraint" in page.text, name
        assert page.screenshot[:8] == b"\x89PNG\r\n\x1a\n" and len(page.screenshot) > 20_000


def test_a_network_request_would_be_caught(tmp_path: Path) -> None:
    """The check has teeth: a page that fetches a script from a CDN reports an error."""
    _browser_or_skip()
    page = tmp_path / "cdn.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'\"><title>t</title>"
        '<script src="https://cdn.example.invalid/x.js"></script></head><body>x</body></html>',
        encoding="utf-8",
    )
    assert browser.load(page).errors


def test_the_screenshot_is_committed() -> None:
    assert SCREENSHOT.exists(), "python -m tests.browser REPORT.html docs/html-report.png"
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
