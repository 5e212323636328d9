"""The staffing layer of the allocation page in headless Chromium (issue 14 item 4): every county of the demo
shows its yearly need in inspector-days, the numbers of GET /supervision/staffing, and the layer can be hidden."""

from __future__ import annotations

import httpx

from tests.maps.conftest import screenshot


def test_the_staffing_layer_shows_each_countys_need(page, server):
    """GET /allocations as html: one staffing label per county on the map, each showing the inspector-days a year
    that GET /supervision/staffing gives for it (one decimal); the staffing table lists the same; unticking the
    layer in the layer control hides the labels."""
    need = httpx.get(f"{server.url}/supervision/staffing", timeout=60).json()
    expected = {a["admin_code"]: f"{a['inspector_days']:,.1f}" for a in need["areas"]}
    assert len(expected) == 14 and all(a["inspector_days"] > 0 for a in need["areas"])
    page.goto(f"{server.url}/allocations?teams=16&format=html&lang=en")
    page.wait_for_selector(".riskmap-staff-label")
    shown = page.eval_on_selector_all(
        ".riskmap-staff-label", "els => els.map(e => [e.dataset.area, e.textContent, e.offsetWidth > 0])")
    assert {code: text for code, text, _ in shown} == expected
    assert all(visible for *_, visible in shown)
    table = page.eval_on_selector_all(".riskmap-staffing tbody tr",
                                      "rows => rows.map(r => [r.dataset.staffArea, "
                                      "r.querySelector('.riskmap-staff-days').textContent])")
    assert dict(table) == expected
    screenshot(page, "allocation-staffing")
    page.locator(".leaflet-control-layers-overlays label", has_text="Inspector-days needed a year").locator(
        "input").click()
    page.wait_for_function("() => document.querySelectorAll('.riskmap-staff-label').length === 0")
    assert page.locator(".riskmap-alloc-label").count() == 14  # the teams stay
    assert page.log.errors() == []
