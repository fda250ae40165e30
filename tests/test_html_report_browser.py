"""``report --html`` in a real browser: headless Chromium, network off, the page from ``file://``: the plots drew,
the best checkpoint is marked, no script error, and a screenshot was taken."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_html_report import HOSTILE, _run

from lightning_lora.__main__ import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium; "
                                                         "scripts/setup.sh installs it where it is root)")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium headless with every background network feature off and a fresh profile."""
    profile.mkdir(exist_ok=True)
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_page_renders_in_chromium(tmp_path):
    logs = _run(tmp_path, completion=HOSTILE + "\n" + "A" * 200_000)
    page = tmp_path / "report.html"
    assert main(["report", "--html", str(page), "--runs", str(logs)]) == 0
    url = page.resolve().as_uri()
    dom = _chromium(tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-js="ran"' in html, "the inline script did not run"
    assert re.search(r'<html[^>]*data-js-errors="0"', html), re.findall(r'data-js-error-last="[^"]*"', html)
    assert not re.search(r"Uncaught|CONSOLE\(\d+\).*(Error|error)", dom.stderr), dom.stderr[-2000:]
    plots = re.findall(r'<svg class="plot" data-metric="([^"]+)"[^>]*data-drawn="(yes|no)"', html)
    assert {m for m, _ in plots} >= {"loss", "benchmark/pass@1"} and all(d == "yes" for _, d in plots), plots
    assert len(re.findall(r"<polyline ", html)) >= 3 and '<g class="best" data-step="40">' in html
    assert '<tr class="best"><td>★ best: step 40</td>' in html
    assert "alert(1)" in html and "<img" not in html  # the hostile completion is in the DOM as text only
    shot = tmp_path / "shot.png"
    result = _chromium(tmp_path / "profile-shot", "--window-size=1280,1400", f"--screenshot={shot}", url)
    assert result.returncode == 0 and shot.is_file() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
