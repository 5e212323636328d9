"""The backtest for people (issue 14 item 6): the capture curves as a PNG plot (matplotlib), and one
self-contained HTML page with that plot inlined, the table of the rankings and the accidents left unattributed.
Both are made from the report of ``geo.backtest.run_backtest`` (the JSON the command prints for machines)."""

from __future__ import annotations

import base64
import html
import io

from geo.backtest import RANKINGS

COLOURS = {"model": "#c0392b", "expected": "#d35400", "size": "#2471a3", "industry": "#7d3c98", "random": "#7f8c8d"}
MARKS = (1, 5, 10, 20, 50)  # the top x % shown in the table
TEXT = {
    "zh": {"title": "风险排序回测：事故发生前的评分能否预见事故", "window": "时段", "radius": "就近归属半径",
           "accidents": "事故", "attributed": "已归属", "named": "事故记录指明场所", "nearest": "就近归属",
           "not_scored": "事故前该场所尚无评分", "sites": "参与排序的场所", "ranking": "排序方式",
           "area": "曲线下面积", "top": "前 {x}% 场所捕获的事故", "unattributed": "未能归属的事故",
           "none": "无", "reason": "原因", "date": "日期", "type": "类型", "id": "编号", "where": "位置",
           "best": "最佳朴素排序", "basis": "行业事故率依据", "ratio": "模型前 20% 捕获 ÷ 最佳朴素排序前 20% 捕获",
           "ratio_expected": "预期事故数前 20% 捕获 ÷ 最佳朴素排序前 20% 捕获",
           "rates": "各类场所事故率（每场所每年，由窗口前事故记录学得）",
           "names": {"model": "riskmap 评分", "expected": "riskmap 预期事故数", "size": "仅按规模",
                     "industry": "仅按行业", "random": "随机"},
           "how": "每起事故归属于事故记录指明的场所；未指明的，归属于半径内最近的、类别与事故类型相符的已评分场所。"
                  "各排序方式把全部场所从高到低排序，统计事故场所落在前 x% 的比例。",
           "synthetic": "合成数据：本回测的 {n} 起事故中有 {k} 起是演示用的合成事故，由文档所述的“真实危险”生成，"
                        "其中含有模型看不到的潜在因素（docs/demo.md），不是真实事故记录。以下结论只说明方法在这一模拟上的表现。",
           "verdict": "结论",
           "verdict_line": "{name}：前 20% 场所捕获 {top:.1f}% 的事故，最佳朴素排序（{best}）为 {best_top:.1f}%，"
                           "为其 {ratio} 倍；曲线下面积 {area:.3f}，{beats}。",
           "beats": "高于所有朴素排序", "not_beats": "未高于所有朴素排序",
           "goal": "基准目标（模型前 20% 捕获达到最佳朴素排序的 2 倍）：{result}。",
           "met": "达到", "not_met": "未达到",
           "hindsight": "窗口内的事故本身（窗口前无事故记录，属事后数据）",
           "earlier": "窗口前记录的 {n} 起事故",
           "reasons": {"named_site_missing": "事故记录指明的场所不在登记册中",
                       "no_fitting_site": "半径 {radius} 米内没有类别相符的已评分场所（{classes}）"},
           "classes": {"enterprise": "企业", "tailings_pond": "尾矿库", "pipeline": "管道", "venue": "人员密集场所",
                       "pipeline_segment": "管段"},
           "plot": "捕获曲线（图中文字为英文）", "list_sep": "、"},
    "en": {"title": "Risk ranking backtest: did the scores before each accident foresee it?", "window": "Window",
           "radius": "Nearest-site radius", "accidents": "Accidents", "attributed": "Attributed",
           "named": "named on the record", "nearest": "to the nearest fitting site",
           "not_scored": "at a site not yet scored then", "sites": "Sites ranked", "ranking": "Ranking",
           "area": "Area under the curve", "top": "Accidents at the top {x} % of sites",
           "unattributed": "Accidents not attributed", "none": "none", "reason": "Reason", "date": "Date",
           "type": "Type", "id": "Id", "where": "Where", "best": "Best naive ranking",
           "basis": "Industry accident rates from",
           "ratio": "Model's top 20 % capture ÷ best naive ranking's",
           "ratio_expected": "Expected accidents' top 20 % capture ÷ best naive ranking's",
           "rates": "Class accident rates (a site-year, learned from the accidents before the window)",
           "names": {"model": "riskmap score", "expected": "riskmap expected accidents", "size": "size alone",
                     "industry": "industry alone", "random": "random"},
           "how": "Each accident is attributed to the site named on it, else to the nearest scored site of a class "
                  "fitting its type within the radius. Each ranking orders every site from the highest risk down; "
                  "the curve is the share of accidents whose site was in the top x %.",
           "synthetic": "Synthetic data: {k} of the {n} accidents of this backtest are the demo's synthetic ones, "
                        "drawn from a documented \"true hazard\" with latent terms the model never sees "
                        "(docs/demo.md), not recorded accidents. The verdict below says how the method does on that "
                        "simulation only.",
           "verdict": "Verdict",
           "verdict_line": "{name}: its top 20 % of sites capture {top:.1f} % of the accidents, the best naive "
                           "ranking's ({best}) {best_top:.1f} %, {ratio} times as many; area under the curve "
                           "{area:.3f}, {beats}.",
           "beats": "above every naive ranking's", "not_beats": "not above every naive ranking's",
           "goal": "Benchmark goal (the model's top 20 % capture twice the best naive ranking's): {result}.",
           "met": "met", "not_met": "not met",
           "hindsight": "the window's own accidents (none was recorded before the window: hindsight)",
           "earlier": "{n} accidents recorded before the window",
           "reasons": {"named_site_missing": "the site named on it is not in the register",
                       "no_fitting_site": "no scored site of a fitting class ({classes}) within {radius} m"},
           "classes": {"enterprise": "enterprise", "tailings_pond": "tailings pond", "pipeline": "pipeline",
                       "venue": "venue", "pipeline_segment": "pipeline segment"},
           "plot": "capture curves", "list_sep": ", "},
}


def capture_plot_png(report: dict) -> bytes:
    """The capture curves of the model and the naive rankings, with the diagonal of no knowledge, as PNG bytes
    (English labels: the plot needs no CJK font)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 5.0), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    x = [0, *range(1, 101)]
    for name in RANKINGS:
        r = report["rankings"][name]
        ax.plot(x, [0.0, *[100 * c for c in r["capture"]]], color=COLOURS[name],
                linewidth=2.4 if name in ("model", "expected") else 1.4,
                label=f"{TEXT['en']['names'][name]} (area {r['area']:.3f})")
    ax.plot([0, 100], [0, 100], color="#bbbbbb", linestyle=":", linewidth=1)
    ax.axvline(20, color="#dddddd", linewidth=1)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Top x % of sites by risk")
    ax.set_ylabel("Accidents captured (%)")
    w = report["window"]
    ax.set_title(f"Capture curves, {w['from']} to {w['to']} ({report['attributed']['total']} accidents, "
                 f"{report['sites']} sites)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def reason_text(missing: dict, radius_m: float, t: dict) -> str:
    """Why an accident was not attributed, in the page's language."""
    code = missing.get("reason_code")
    if code not in t["reasons"]:
        return missing["reason"]
    return t["reasons"][code].format(radius=f"{radius_m:g}", classes=t["list_sep"].join(
        t["classes"].get(c, c) for c in missing.get("fitting_classes") or ()))


def verdict_html(report: dict, t: dict) -> str:
    """The verdict in words: for the score and its expected accidents, the top 20 % capture against the best
    naive ranking's and whether the area beats every naive ranking's; and whether the benchmark's 2x goal is met."""
    best = report["best_naive"]
    best_top = report["rankings"][best]["top_20"]
    lines = []
    for name, key in (("model", "model_top_20_vs_best_naive"), ("expected", "expected_top_20_vs_best_naive")):
        r = report["rankings"][name]
        ratio = report.get(key)
        beats = report.get("area_beats_every_naive", {}).get(name)
        lines.append(t["verdict_line"].format(
            name=t["names"][name], top=100 * r["top_20"], best=t["names"][best], best_top=100 * best_top,
            ratio="–" if ratio is None else f"{ratio:.2f}", area=r["area"],
            beats=t["beats"] if beats else t["not_beats"]))
    ratio = report.get("model_top_20_vs_best_naive")
    lines.append(t["goal"].format(result=t["met"] if ratio is not None and ratio >= 2 else t["not_met"]))
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def backtest_page(report: dict, lang: str = "zh", png: bytes | None = None) -> str:
    """One self-contained HTML page of the backtest (the plot inlined as a data URL; no script, no network)."""
    t = TEXT[lang]
    e = html.escape
    png = png if png is not None else capture_plot_png(report)
    image = base64.b64encode(png).decode("ascii")
    att = report["attributed"]
    rows = []
    for name in RANKINGS:
        r = report["rankings"][name]
        cells = "".join(f"<td>{100 * r['capture'][x - 1]:.1f} %</td>" for x in MARKS)
        rows.append(f"<tr class='{name}'><th>{e(t['names'][name])}</th><td>{r['area']:.3f}</td>{cells}</tr>")
    heads = "".join(f"<th>{e(t['top'].format(x=x))}</th>" for x in MARKS)
    missing = report["unattributed"]["accidents"]
    if missing:
        listed = "".join(
            f"<tr><td>{e(str(m['source_id']))}</td><td>{e(m['occurred_on'])}</td><td>{e(m['accident_type'] or '')}</td>"
            f"<td>{m['lon']:.5f}, {m['lat']:.5f}</td><td>{e(reason_text(m, report['radius_m'], t))}</td></tr>"
            for m in missing)
        unattributed = (f"<table><tr><th>{t['id']}</th><th>{t['date']}</th><th>{t['type']}</th><th>{t['where']}</th>"
                        f"<th>{t['reason']}</th></tr>{listed}</table>")
    else:
        unattributed = f"<p>{t['none']}</p>"
    ratio = report.get("model_top_20_vs_best_naive")
    ratio_expected = report.get("expected_top_20_vs_best_naive")
    rates = ", ".join(f"{t['classes'].get(k, k)} {v:.4g}"
                      for k, v in report.get("expected_basis", {}).get("class_rates_per_site_year", {}).items())
    basis = (t["earlier"].format(n=report["earlier_accidents"]) if report.get("earlier_accidents")
             else t["hindsight"])
    synthetic = report.get("synthetic_accidents", 0)
    banner = (f"<p class='synthetic' role='note'>{e(t['synthetic'].format(n=report['accidents'], k=synthetic))}</p>"
              if synthetic else "")
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(t['title'])}</title>
<style>
body {{ font-family: system-ui, "WenQuanYi Micro Hei", sans-serif; margin: 1.5em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.8em 0; }} th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; }}
td {{ text-align: right; }} tr.model th {{ color: #c0392b; }} tr.expected th {{ color: #d35400; }}
img {{ max-width: 100%; }}
.synthetic {{ background: #fff4d6; border: 1px solid #e0b040; padding: 0.6em 0.9em; }}
.verdict {{ border-left: 4px solid #c0392b; padding: 0.1em 1em; background: #fbf3f2; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }} dt {{ font-weight: bold; }}
</style></head><body>
<h1>{e(t['title'])}</h1>
{banner}
<section class="verdict"><h2>{t['verdict']}</h2>{verdict_html(report, t)}</section>
<p>{e(t['how'])}</p>
<dl>
<dt>{t['window']}</dt><dd>{e(report['window']['from'])} – {e(report['window']['to'])}</dd>
<dt>{t['radius']}</dt><dd>{report['radius_m']:g} m</dd>
<dt>{t['sites']}</dt><dd>{report['sites']}</dd>
<dt>{t['accidents']}</dt><dd>{report['accidents']}</dd>
<dt>{t['attributed']}</dt><dd>{att['total']} ({t['named']} {att['named']}, {t['nearest']} {att['nearest']};
{t['not_scored']} {att['not_scored_before']})</dd>
<dt>{t['best']}</dt><dd>{e(t['names'][report['best_naive']])}</dd>
<dt>{t['basis']}</dt><dd>{e(basis)}</dd>
<dt>{t['ratio']}</dt><dd>{'–' if ratio is None else f'{ratio:.2f}'}</dd>
<dt>{t['ratio_expected']}</dt><dd>{'–' if ratio_expected is None else f'{ratio_expected:.2f}'}</dd>
<dt>{t['rates']}</dt><dd>{e(rates) or '–'}</dd>
</dl>
<table><tr><th>{t['ranking']}</th><th>{t['area']}</th>{heads}</tr>{''.join(rows)}</table>
<img alt="{e(t['plot'])}" src="data:image/png;base64,{image}">
<h2>{t['unattributed']} ({report['unattributed']['count']})</h2>
{unattributed}
</body></html>
"""
