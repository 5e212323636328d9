"""`riskmap backtest` through typer's CliRunner on the constructed data set of tests/geo/test_backtest.py: JSON for
machines, an HTML page and a PNG plot for people, and the refusals of bad usage."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from api.cli import app
from tests.geo.risk.record_rows import add_accident, add_enterprise
from tests.geo.test_backtest import constructed  # noqa: F401 (the fixture)

WINDOW = ["--from", "2026-01-01", "--to", "2026-04-30"]


@pytest.fixture
def invoke(db_url):
    def _invoke(*args):
        return CliRunner().invoke(app, ["backtest", *[str(a) for a in args]], env={"RISKMAP_DATABASE_URL": db_url})

    return _invoke


def test_json_on_standard_output(constructed, invoke):  # noqa: F811
    """Without --out the report is JSON on standard output, with the hand-worked model area of the data set."""
    result = invoke(*WINDOW)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rankings"]["model"]["area"] == pytest.approx(0.7625)
    assert report["unattributed"]["count"] == 3 and report["window"] == {"from": "2026-01-01", "to": "2026-04-30"}


def test_html_page_and_png_plot(constructed, invoke, tmp_path):  # noqa: F811
    """--out page.html writes one self-contained page (the plot inlined, the rankings' table, the unattributed
    accidents listed); --format png writes the plot, a real PNG image."""
    page = tmp_path / "backtest.html"
    result = invoke(*WINDOW, "--out", page, "--lang", "en")
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert "data:image/png;base64," in text and "<script" not in text and "://" not in text  # (no network)
    assert "0.762" in text and "size alone" in text and "Accidents not attributed (3)" in text
    assert "riskmap expected accidents" in text and "0.537" in text  # (the expected-accidents ranking's area)
    assert "the site named on it is not in the register" in text
    assert "<h2>Verdict</h2>" in text and "Benchmark goal" in text and ": not met." in text
    plot = tmp_path / "curve.png"
    result = invoke(*WINDOW, "--format", "png", "--out", plot)
    assert result.exit_code == 0, result.output
    with Image.open(io.BytesIO(plot.read_bytes())) as image:
        assert image.format == "PNG" and image.width > 400 and image.height > 300


def test_the_chinese_page_states_its_verdict_in_chinese_and_flags_synthetic_accidents(constructed, invoke, db,  # noqa: F811
                                                                                    tmp_path):
    """The page (zh) opens with the verdict in words: each of the two rankings from the model against the best
    naive ranking at 20 % and by area, and whether the benchmark's 2x goal is met; the reasons an accident was not
    attributed are in Chinese.  No banner while the accidents are recorded ones; once they are synthetic (the
    demo's), a banner says so before the verdict."""
    page = tmp_path / "backtest.html"
    assert invoke(*WINDOW, "--out", page).exit_code == 0
    text = page.read_text(encoding="utf-8")
    report = json.loads(invoke(*WINDOW).stdout)
    assert report["synthetic_accidents"] == 0 and "合成数据" not in text
    assert "<h2>结论</h2>" in text and "基准目标（模型前 20% 捕获达到最佳朴素排序的 2 倍）：未达到。" in text
    model = report["rankings"]["model"]
    assert f"前 20% 场所捕获 {100 * model['top_20']:.1f}% 的事故" in text
    assert "事故记录指明的场所不在登记册中" in text and "半径 500 米内没有类别相符的已评分场所（尾矿库）" in text
    assert "the site named on it" not in text and "no scored" not in text
    with db.cursor() as cur:
        cur.execute("UPDATE accident SET synthetic = true")
    db.commit()
    assert invoke(*WINDOW, "--out", page).exit_code == 0
    text = page.read_text(encoding="utf-8")
    n = report["accidents"]
    assert f"合成数据：本回测的 {n} 起事故中有 {n} 起是演示用的合成事故" in text
    assert text.index("合成数据") < text.index("<h2>结论</h2>")


@pytest.mark.parametrize(("args", "named"), [
    (["--from", "2026-05-01", "--to", "2026-04-30"], "--to"),
    (["--from", "2026-13-01", "--to", "2026-04-30"], "--from"),
    ([*WINDOW, "--format", "png"], "--out"),
    ([*WINDOW, "--format", "pdf"], "--format"),
    ([*WINDOW, "--radius-m", "0"], "--radius-m"),
])
def test_bad_usage_exits_2_naming_the_option(invoke, args, named):
    """A window that ends before it starts, a bad date, a png with nowhere to go, an unknown format or a zero
    radius: exit code 2 and the option named."""
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert named in result.output


def test_accidents_without_any_score_history_exit_3(db, invoke):
    """Accidents at sites never scored: nothing to rank by; exit 3 saying to score first."""
    site = add_enterprise(db, 118.1, 39.6)
    add_accident(db, 118.1, 39.6, dt.date(2026, 2, 1), site=("enterprise", site))
    result = invoke(*WINDOW)
    assert result.exit_code == 3, result.output
    assert "riskmap score --as-of" in " ".join(result.output.split())
