"""The words of the records timeline (maps/timeline.py) for enforcement actions: a stopping measure (suspension,
closure) is in force until lifted; a fine or an order to rectify has nothing to lift and never reads as "in
force"."""

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
