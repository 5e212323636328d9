"""The words of enforcement measures: on the records timeline (maps/timeline.py) a stopping measure (suspension,
closure) is in force until lifted, and a fine or an order to rectify has nothing to lift and never reads as "in
force"; on the printed plan and the field form a lifted measure is named in words, not by its code."""

from __future__ import annotations

import datetime as dt

import pytest

from maps.timeline import timeline_section


def action(measure: str, lifted_on=None, fine_yuan=None) -> dict:
    return {"event": "enforcement_action", "id": 1, "on": dt.date(2026, 3, 1), "measure": measure,
            "lifted_on": lifted_on, "fine_yuan": fine_yuan, "notes": None}


@pytest.mark.parametrize(("event", "shown", "not_shown"), [
    (action("fine", fine_yuan=50000), "罚款 · 罚款 50,000 元", "未解除"),
    (action("rectify_order"), "责令整改", "未解除"),
    (action("suspension"), "停产整顿 · 未解除", "解除 "),
    (action("suspension", lifted_on=dt.date(2026, 4, 1)), "停产整顿 · 2026-04-01 解除", "未解除"),
    (action("closure"), "关闭取缔 · 未解除", "2026"),
])
def test_enforcement_words(event, shown, not_shown):
    row = timeline_section([event], "zh").split("<tbody>")[1]
    assert shown in row and not_shown not in row.split("</td><td>", 2)[2]


@pytest.mark.parametrize(("language", "words"), [("zh", "停产整顿"), ("en", "suspension")])
def test_a_lifted_measure_is_named_in_words_on_the_plan_and_the_form(language, words):
    """A look-back after a lifted suspension reads 停产整顿 (suspension), not its code, on the printed plan and
    on the field form; a danger's description is kept as written."""
    from maps import inspection_form, plan_page

    lifted = {"reason": "enforcement_lifted", "record": "enforcement_action", "source_id": "EA-1",
              "date": "2026-05-01", "detail": "suspension"}
    overdue = {"reason": "danger_overdue", "record": "hidden_danger", "source_id": "HD-1", "date": "2026-04-01",
               "detail": "rectify_order 字样的隐患描述"}
    note = plan_page.look_back_note([lifted, overdue], plan_page.TEXT[language])
    assert f"EA-1 {words}" in note and "rectify_order 字样的隐患描述" in note
    form = inspection_form._look_back([lifted], inspection_form.TEXT[language])
    assert f"2026-05-01: {words}" in form
