"""The score history of past dates (geo/risk/backfill.py) against real scoring runs: on the demo with its synthetic
records, backfilling three month ends gives, as of each, the history that three full scoring runs as of those
dates give, and leaves the stored scores as the last run stores them."""

from __future__ import annotations

import datetime as dt

import pytest

from data.demo.history import HISTORY_START
from data.loader import load_demo, load_history, start_levels
from geo import store
from geo.errors import InvalidSetting
from geo.risk.backfill import backfill
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.conftest import throwaway_database

DATES = (dt.date(2025, 3, 31), dt.date(2025, 4, 30), dt.date(2025, 5, 31))
STATE = """
SELECT DISTINCT ON (kind, feature_id) kind, feature_id, round(score::numeric, 9), level
FROM score_history WHERE as_of <= %s AND kind IN ('enterprise', 'tailings_pond', 'venue', 'pipeline')
ORDER BY kind, feature_id, as_of DESC, run DESC"""


@pytest.fixture(scope="module")
def records_template(cluster):
    """A database holding the demo, scored in full as of the eve of its history, and the history's records."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        try:
            load_demo(conn)
            score(conn, load_model(), HISTORY_START - dt.timedelta(days=1), full=True)
            load_history(conn, start_levels(conn))
        finally:
            conn.close()
        yield url


def clone(template_url: str):
    server = template_url.rsplit("/", 1)[0] + "/postgres"
    return throwaway_database(server, template=template_url.rsplit("/", 1)[1])


def states(conn) -> dict:
    out = {}
    with conn.cursor() as cur:
        for day in DATES:
            cur.execute(STATE, (day,))
            out[day] = {(k, i): (s, lv) for k, i, s, lv in cur.fetchall()}
        # (pipeline segments get new ids each time a full run cuts the lines again)
        cur.execute("SELECT kind, feature_id, round(score::numeric, 9), level FROM feature_risk "
                    "WHERE kind <> 'pipeline_segment'")
        out["stored"] = {(k, i): (s, lv) for k, i, s, lv in cur.fetchall()}
    return out


def test_backfill_gives_the_history_of_full_runs_as_of_each_date(records_template):
    """As of each of three month ends, every enterprise's, pond's, venue's and pipeline's score and level in the
    history equal those of a full scoring run as of that date (the pipelines' records move them too); the stored
    scores after the backfill equal the last run's; and the history's latest state is the stored one (no stale
    row: a site back to an earlier score has its row)."""
    with clone(records_template) as a_url, clone(records_template) as b_url:
        a, b = store.connect(a_url), store.connect(b_url)
        try:
            summary = backfill(a, load_model(), DATES)
            for day in DATES:
                score(b, load_model(), day, full=True)
            got, want = states(a), states(b)
        finally:
            a.close()
            b.close()
    assert summary.dates == 3 and summary.rows > 0 and summary.run.full
    for day in DATES:
        assert got[day] == want[day], day
        assert len(got[day]) > 3000
    assert got["stored"] == want["stored"]
    assert all(got["stored"][key] == value for key, value in got[DATES[-1]].items())
    changed = sum(got[DATES[0]][k] != got[DATES[1]][k] for k in got[DATES[0]])
    assert changed > 100  # the records move scores from month to month
    lines = [k for k in got[DATES[0]] if k[0] == "pipeline"]
    assert len(lines) > 20 and any(got[DATES[0]][k] != got[DATES[1]][k] for k in lines)


def test_backfill_refuses_dates_out_of_order_or_before_the_last_run(records_template):
    """Dates not ascending, or before the last run's date, are refused naming the problem; nothing is written."""
    with clone(records_template) as url:
        conn = store.connect(url)
        try:
            with pytest.raises(InvalidSetting, match="ascending"):
                backfill(conn, load_model(), [DATES[1], DATES[0]])
            with pytest.raises(InvalidSetting, match="before the last scoring run"):
                backfill(conn, load_model(), [HISTORY_START - dt.timedelta(days=30)])
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM score_run")
                assert cur.fetchone()[0] == 1
        finally:
            conn.close()

