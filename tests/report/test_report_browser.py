"""report.html as a person sees it: opened in headless Chromium (Debian's chromium-headless-shell), it asks the
network for nothing, logs no console error, decodes every chart, and shows the first-screen table first."""

import pytest
from report import browser
from report.test_glance import SPEC, _close_race

from iftkit.report.render import write_report

pytestmark = pytest.mark.skipif(not browser.available(),
                                reason=f"{browser.CHROMIUM} is not installed (apt-get install chromium-headless-shell)")


def test_the_report_page_loads_offline_without_errors_and_draws_its_charts(tmp_path):
    rows, samples = _close_race()
    files = write_report(rows, tmp_path, SPEC, {"target_task": "t"}, samples=samples)
    seen = browser.visit(files.html)
    assert seen.requests and seen.requests[0] == files.html.resolve().as_uri()
    assert seen.remote == [], seen.remote
    assert seen.errors == [], seen.errors
    charts = {alt: (done, w, h) for alt, done, w, h in seen.images}
    assert set(charts) == {"tradeoff.png", "scores_vs_x.png"}
    assert all(done and w > 0 and h > 0 for done, w, h in charts.values()), charts
    # the answer table sits on the first screen (a 1280 x 800 window), above everything it restates
    assert seen.first_table_bottom is not None and seen.first_table_bottom <= seen.viewport[1]


def test_the_check_sees_a_remote_request_a_console_error_and_a_broken_image(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><html><body><img alt="gone" src="http://example.invalid/chart.png">'
                    '<script>console.error("drawn wrong")</script></body></html>')
    seen = browser.visit(page)
    assert seen.remote == ["http://example.invalid/chart.png"]
    assert "drawn wrong" in seen.errors
    assert [alt for alt, _, w, _ in seen.images if w == 0] == ["gone"]
