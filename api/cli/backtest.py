"""`riskmap backtest`: how well the risk ranking foresaw the recorded accidents (geo/backtest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, app, out, parse_date

FORMATS = ("json", "html", "png")


@app.command("backtest")
def backtest_cmd(
    first: Annotated[str, typer.Option("--from", help="First day of the window, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last day of the window, YYYY-MM-DD.")],
    radius_m: Annotated[float | None, typer.Option(
        "--radius-m", help="An accident naming no site goes to the nearest scored site of a fitting class within "
                           "this distance (metres; default: the model's [backtest] radius_m, 500).")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", help="json (for machines), html (a page with the plot and tables) or png (the plot); by "
                         "default from the --out file's suffix, else json.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="The file to write (default: standard output; "
                                                                "png needs a file).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random ranking.")] = 0,
    lang: Annotated[str, typer.Option(help="The html page's language: zh or en.")] = "zh",
    model: Annotated[Path | None, typer.Option(help="Risk-model file (for its [backtest] section).")] = None,
) -> None:
    """Rank every site by the score it had before each accident of the window (from the score history) and
    report the capture curve (the share of accidents at the top x % of sites) and its area, against naive
    rankings by size, by industry and at random; accidents that cannot be attributed are counted and listed."""
    from api.database import open_database
    from geo.backtest import BacktestSettings, run_backtest
    from geo.risk.config import load_model

    day0, day1 = parse_date(first, "--from"), parse_date(last, "--to")
    kind = format or (out_file.suffix.lower().lstrip(".") if out_file and out_file.suffix else "json")
    if kind not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}, got {kind!r}", param_hint="--format")
    if kind == "png" and out_file is None:
        raise typer.BadParameter("a png plot needs a file to go to", param_hint="--out")
    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"expected zh or en, got {lang!r}", param_hint="--lang")
    with _reported():
        settings = _settings()
        risk_model = load_model(model or settings.risk_model)
        radius = radius_m if radius_m is not None else float(risk_model.get("backtest", {}).get("radius_m", 500.0))
        options = BacktestSettings(day0, day1, radius, seed)
        conn = open_database(settings)
        try:
            report = run_backtest(conn, options, risk_model)
        finally:
            conn.close()
        if kind == "json":
            text = json.dumps(report, ensure_ascii=False, indent=1)
            if out_file is None:
                print(text)
                return
            out_file.write_text(text + "\n", encoding="utf-8")
        else:
            from maps.backtest_page import backtest_page, capture_plot_png

            png = capture_plot_png(report)
            if kind == "png":
                out_file.write_bytes(png)
            else:
                page = backtest_page(report, lang, png)
                if out_file is None:
                    print(page)
                    return
                out_file.write_text(page, encoding="utf-8")
        model_r, best = report["rankings"]["model"], report["rankings"][report["best_naive"]]
        expected = report["rankings"]["expected"]
        out.print(f"wrote {out_file}: {report['attributed']['total']} of {report['accidents']} accidents attributed; "
                  f"model area {model_r['area']:.3f}, top 20 % {100 * model_r['top_20']:.1f} %; expected accidents "
                  f"{expected['area']:.3f}, {100 * expected['top_20']:.1f} % "
                  f"(best naive, {report['best_naive']}: {best['area']:.3f}, {100 * best['top_20']:.1f} %)",
                  highlight=False)
