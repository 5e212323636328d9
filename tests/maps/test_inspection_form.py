"""The inspectors' field form (GET /inspect/{kind}/{id}) on a phone: headless Chromium at 390 × 844 with touch,
against a real server and PostGIS.  Each test fills the form as an inspector would, then reads what was stored back
from the API (or checks that nothing was)."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import psycopg2
import pytest

from api.access import key_fingerprint
from api.settings import Settings
from maps.inspection_form import inspection_form
from tests.api.conftest import demo_database
from tests.api.test_records_api import png
from tests.maps.conftest import LiveServer, screenshot

KEY = "field-form-key-a1b2c3d4e5f6"
AS_OF = "2026-06-20"  # the page's day (deadlines, supervision, the form's default date): fixed, never today


@pytest.fixture(scope="module")
def field_db_url(cluster):
    """The scored demo in a database of this module's own: the form writes records, other map tests must not see
    them."""
    with demo_database(cluster) as url:
        yield url


@pytest.fixture(scope="module")
def field_server(field_db_url):
    # a photo limit of 1 MB (10 by default): the page must refuse by the limit the server is set to
    with LiveServer(Settings(anonymous_reads=True, database_url=field_db_url, basemap="none", api_keys=KEY,
                             photo_max_mb=1)) as live:
        yield live


@pytest.fixture(scope="module")
def api(field_server):
    with httpx.Client(base_url=field_server.url, headers={"X-API-Key": KEY}, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def sites(field_db_url):
    """Scored enterprises, a different one for each test (the records of one do not show on another's page)."""
    conn = psycopg2.connect(field_db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT feature_id FROM feature_risk WHERE kind = 'enterprise' ORDER BY score DESC, "
                        "feature_id LIMIT 10")
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def count_records(db_url: str, site_id: int) -> dict[str, int]:
    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM inspection WHERE site_kind = 'enterprise' AND site_id = %(id)s),"
                        " (SELECT count(*) FROM hidden_danger WHERE site_kind = 'enterprise' AND site_id = %(id)s),"
                        " (SELECT count(*) FROM hidden_danger_photo p JOIN hidden_danger d ON d.id = "
                        "  p.hidden_danger_id WHERE d.site_kind = 'enterprise' AND d.site_id = %(id)s)",
                        {"id": site_id})
            inspections, dangers, photos = cur.fetchone()
    finally:
        conn.close()
    return {"inspections": inspections, "dangers": dangers, "photos": photos}


def open_form(page, server, site_id: int, lang: str = "zh"):
    response = page.goto(f"{server.url}/inspect/enterprise/{site_id}?as_of={AS_OF}&lang={lang}")
    page.wait_for_selector("#rm-inspection")
    return response


def fill_inspection(page, *, deadline: str, photo: bytes) -> None:
    """The inspection and one major hidden danger with a photo, tapped and typed as on a phone, until the photo is
    listed under its danger."""
    page.tap("#f-api_key")
    page.fill("#f-api_key", KEY)
    page.fill("#f-team", "路北区第一检查组")
    page.select_option("#f-inspection_type", "special")
    page.select_option("#f-outcome", "dangers_found")
    page.fill("#f-notes", "储罐区专项检查")
    page.tap("#rm-add-danger")
    danger = '[data-field="hidden_dangers.0"]'
    page.fill(f"{danger} [name=description]", "储罐区可燃气体报警器失效")
    page.fill(f"{danger} [name=category]", "设备设施")
    page.select_option(f"{danger} [name=grade]", "major")
    page.fill(f"{danger} [name=deadline]", deadline)
    page.fill(f"{danger} [name=responsible_unit]", "唐山某化工有限公司")
    page.fill(f"{danger} [name=responsible_person]", "王五")
    page.set_input_files(f"{danger} [name=photos]",
                         files=[{"name": "报警器.png", "mimeType": "image/png", "buffer": photo}])
    # the page checks a photo's bytes before it lists it (asynchronously): the inspector sees it listed, then goes on
    page.locator(f"{danger} .rm-photo-list li").first.wait_for()


def open_danger(card) -> None:
    """Opens a hidden danger's line as an inspector would: "show all" first when it waits behind it, then its
    line."""
    if card.evaluate("el => !!el.closest('.rm-more:not([open])')"):
        card.page.locator(".rm-more > summary").tap()
    card.locator("summary").tap()


def form_top(page) -> float:
    """How far down the page the inspection form starts, in CSS pixels."""
    return page.evaluate("document.getElementById('rm-inspection').getBoundingClientRect().top + window.scrollY")


def js_errors(page) -> list[str]:
    """Script errors and anything the page's Content-Security-Policy refused (a request the API refuses is logged by
    the browser as a console error too; that is not one)."""
    return [text for kind, text in page.log.console
            if kind == "pageerror" or "Content Security Policy" in text]


def test_form_fits_a_phone_and_loads_nothing_from_elsewhere(phone_page, field_server, api, sites):
    """On a 390 px screen the page scrolls only downwards, its buttons and fields are at least 44 px high, every
    request goes to riskmap itself (and its security policy allows no other script), and it shows the site's
    supervision light and next due date as GET /supervision/{kind}/{id} gives them."""
    site = sites[0]
    response = open_form(phone_page, field_server, site)
    page = phone_page
    assert "script-src 'self';" in response.headers["content-security-policy"]  # the page holds a key
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    heights = page.eval_on_selector_all(
        "#rm-inspection input:not([type=file]), #rm-inspection select, #rm-inspection button",
        "els => els.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 44
    assert all(u.startswith(field_server.url) or u.startswith("data:") for u in page.log.requests)
    supervision = api.get(f"/supervision/enterprise/{site}", params={"as_of": AS_OF}).json()
    section = page.locator(".rm-supervision")
    assert section.get_attribute("data-light") == supervision["light"]
    assert section.get_attribute("data-next-due") == (supervision["next_due"] or "")
    assert page.locator(".rm-site h1").inner_text().strip() == supervision["name"]
    # the date pickers offer no day after the page's day (the API refuses dates after today); a deadline may be
    maxima = page.eval_on_selector_all('input[name="inspected_on"], input[name="on"]', "els => els.map(e => e.max)")
    assert maxima and set(maxima) == {AS_OF}
    assert js_errors(page) == []
    screenshot(page, "inspection-form-phone")


def test_inspection_with_a_danger_and_a_photo_is_stored_and_read_back(phone_page, field_server, field_db_url, api,
                                                                     sites):
    """An inspection filled and submitted on the phone, with a major hidden danger and a photo from the camera
    input, is read back from the API as entered: the inspection, its danger (open, found on the inspection's date,
    with its deadline and responsible unit and person), and the photo byte for byte; the writer is the key typed
    into the page, which is kept in the tab's sessionStorage and nowhere else."""
    site = sites[1]
    photo = png(32, 24, noise=b"alarm")
    page = phone_page
    open_form(page, field_server, site)
    fill_inspection(page, deadline="2026-07-20", photo=photo)
    assert page.locator(".rm-photo-list li").count() == 1
    page.tap("button.rm-primary")
    page.wait_for_selector("#rm-done:not([hidden])")
    inspection_id = page.get_attribute("#rm-done", "data-inspection-id")

    inspection = api.get(f"/inspections/{inspection_id}").json()
    assert (inspection["site_kind"], inspection["site_id"]) == ("enterprise", site)
    assert (inspection["inspected_on"], inspection["team"], inspection["inspection_type"], inspection["outcome"],
            inspection["notes"]) == (AS_OF, "路北区第一检查组", "special", "dangers_found", "储罐区专项检查")
    assert inspection["source_id"].startswith("form-")
    [summary] = inspection["hidden_dangers"]
    danger = api.get(summary["href"]).json()
    assert (danger["description"], danger["category"], danger["grade"], danger["status"], danger["found_on"],
            danger["deadline"], danger["responsible_unit"], danger["responsible_person"]) == (
        "储罐区可燃气体报警器失效", "设备设施", "major", "open", AS_OF, "2026-07-20", "唐山某化工有限公司", "王五")
    assert danger["inspection_id"] == int(inspection_id)
    [stored] = danger["photos"]
    got = api.get(stored["href"])
    assert got.headers["content-type"] == "image/png" and got.content == photo
    history = api.get(f"/inspections/{inspection_id}/history").json()["changes"]
    assert history[0]["changed_by"] == f"api:{key_fingerprint(KEY)}"
    assert page.evaluate("sessionStorage.getItem('riskmap.apiKey')") == KEY
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
    assert page.evaluate(f"sessionStorage.getItem('riskmap.inspect.enterprise.{site}')") is None  # no draft left
    assert count_records(field_db_url, site) == {"inspections": 1, "dangers": 1, "photos": 1}
    assert js_errors(page) == []
    screenshot(page, "inspection-form-stored")

    # the page made again lists the new danger among those not closed, with its photo
    open_form(page, field_server, site, lang="en")
    card = page.locator(f'.rm-danger[data-danger-id="{danger["id"]}"]')
    open_danger(card)
    assert card.get_attribute("data-status") == "open" and "photos: 1" in card.inner_text()
    assert page.input_value("#f-api_key") == KEY  # typed once for the tab


def test_deadline_before_the_found_date_is_shown_at_its_field_and_nothing_is_written(phone_page, field_server,
                                                                                      field_db_url, sites):
    """A danger whose deadline is before the inspection's date: the API's 422 is shown at that danger's deadline
    field (and nowhere else), nothing is stored (no inspection, danger or photo), and the form stays filled; once
    the deadline is corrected, the same form goes through with its photo."""
    site = sites[2]
    page = phone_page
    open_form(page, field_server, site, lang="en")
    fill_inspection(page, deadline="2026-06-01", photo=png(8, 8, noise=b"exit"))
    page.tap("button.rm-primary")
    page.wait_for_selector(".rm-invalid")
    invalid = page.eval_on_selector_all(".rm-invalid", "els => els.map(e => e.dataset.field)")
    assert invalid == ["hidden_dangers.0.deadline"]
    error = page.locator('[data-field="hidden_dangers.0.deadline"] .rm-error')
    # in plain words with the field's label, the server's own text beside them in small print
    assert error.locator(".rm-plain").inner_text() == ("Hidden danger 1 · Rectification deadline: the deadline "
                                                      "cannot be before the date found (the inspection's date).")
    detail = error.locator(".rm-detail").inner_text()
    assert "2026-06-01" in detail and "before" in detail
    assert page.evaluate("document.activeElement.name") == "deadline"  # the field is focused, to correct it
    message = page.inner_text("#rm-form-message")
    assert "correct the 1 marked field" in message and "nothing was written" in message
    assert count_records(field_db_url, site) == {"inspections": 0, "dangers": 0, "photos": 0}
    assert page.input_value('[data-field="hidden_dangers.0.description"] textarea') == "储罐区可燃气体报警器失效"
    assert page.locator(".rm-photo-list li").count() == 1
    screenshot(page, "inspection-form-bad-deadline")

    page.fill('[data-field="hidden_dangers.0.deadline"] input', "2026-07-01")
    page.tap("button.rm-primary")
    page.wait_for_selector("#rm-done:not([hidden])")
    assert page.locator(".rm-invalid").count() == 0
    assert count_records(field_db_url, site) == {"inspections": 1, "dangers": 1, "photos": 1}
    assert js_errors(page) == []


def test_a_failed_post_loses_nothing_and_is_never_stored_twice(phone_page, field_server, field_db_url, api, sites):
    """With the server out of reach the form stays filled and says so; reloaded (as a phone reloads a tab in the
    background) it comes back from the tab's storage; when a post reached the server but its answer was lost,
    sending again stores nothing twice (the API's 409 on the form's own register id) and says it is stored."""
    site = sites[3]
    page = phone_page
    open_form(page, field_server, site, lang="en")
    fill_inspection(page, deadline="2026-07-10", photo=png(8, 8, noise=b"pipe"))
    page.route("**/inspections", lambda route: route.abort("internetdisconnected"))
    page.tap("button.rm-primary")
    page.locator("#rm-form-message", has_text="could not be reached").wait_for()
    assert count_records(field_db_url, site)["inspections"] == 0
    assert page.input_value("#f-notes") == "储罐区专项检查"

    page.reload()
    page.wait_for_selector('[data-field="hidden_dangers.0"]')
    assert "restored" in page.inner_text("#rm-form-message")
    assert page.input_value("#f-team") == "路北区第一检查组"
    assert page.input_value('[data-field="hidden_dangers.0.deadline"] input') == "2026-07-10"
    assert page.input_value('[data-field="hidden_dangers.0.grade"] select') == "major"

    def answer_lost(route):  # the request reaches the server, the answer never reaches the phone
        route.fetch()
        route.abort("connectionreset")

    page.unroute("**/inspections")
    page.route("**/inspections", answer_lost)
    page.tap("button.rm-primary")
    page.locator("#rm-form-message", has_text="could not be reached").wait_for()
    assert count_records(field_db_url, site) == {"inspections": 1, "dangers": 1, "photos": 0}
    page.unroute("**/inspections")
    page.tap("button.rm-primary")
    page.locator("#rm-form-message", has_text="earlier attempt").wait_for()
    assert count_records(field_db_url, site) == {"inspections": 1, "dangers": 1, "photos": 0}

    # the photo can then be added to the stored danger from the reloaded page
    open_form(page, field_server, site, lang="en")
    card = page.locator(".rm-danger").first
    open_danger(card)
    card.locator("[name=photo]").set_input_files(files=[{"name": "pipe.png", "mimeType": "image/png",
                                                          "buffer": png(8, 8, noise=b"pipe")}])
    card.locator(".rm-message", has_text="Photo stored").wait_for()
    assert count_records(field_db_url, site)["photos"] == 1
    assert js_errors(page) == []


def test_status_changes_follow_the_allowed_transitions_and_a_refused_one_shows_the_api_message(
        phone_page, field_server, api, sites):
    """A danger not yet closed is listed with its deadline (overdue on the page's day) and the changes allowed;
    marking it rectified moves it on (the buttons become verify and reopen; no longer overdue); a change the API
    refuses because the danger moved on meanwhile (verified by someone else) shows the API's own message, and the
    card then shows the danger as it is; a date before the danger's last change is shown at the date field."""
    site = sites[4]
    r = api.post("/hidden-dangers", json={"site_kind": "enterprise", "site_id": site, "description": "安全出口上锁",
                                          "grade": "general", "found_on": "2026-05-01", "deadline": "2026-06-01"})
    assert r.status_code == 201
    danger = r.json()
    page = phone_page
    open_form(page, field_server, site, lang="en")
    page.fill("#f-api_key", KEY)
    page.dispatch_event("#f-api_key", "change")
    card = page.locator(f'.rm-danger[data-danger-id="{danger["id"]}"]')
    assert card.get_attribute("data-overdue") == "true" and "2026-06-01" in card.inner_text()

    def buttons() -> list[str]:
        return card.locator(".rm-action").evaluate_all("els => els.map(e => e.dataset.status)")

    assert buttons() == ["rectified"]
    open_danger(card)
    card.locator("[name=on]").fill("2026-06-10")
    card.locator('.rm-action[data-status="rectified"]').tap()
    page.locator(f'.rm-danger[data-danger-id="{danger["id"]}"][data-status="rectified"]').wait_for()
    assert buttons() == ["verified", "reopened"]
    assert card.get_attribute("data-overdue") == "false"  # rectified: no longer late
    stored = api.get(danger["href"]).json()
    assert (stored["status"], stored["rectified_on"]) == ("rectified", "2026-06-10")

    # someone else verifies it meanwhile; the page still offers verification
    assert api.patch(danger["href"], json={"status": "verified", "on": "2026-06-15"}).status_code == 200
    card.locator('.rm-action[data-status="verified"]').tap()
    page.locator(f'.rm-danger[data-danger-id="{danger["id"]}"][data-status="verified"]').wait_for()
    refused = api.patch(danger["href"], json={"status": "verified", "on": AS_OF})
    assert refused.status_code == 409
    assert refused.json()["detail"] in card.locator(".rm-message").inner_text()
    assert buttons() == ["reopened"]
    card.scroll_into_view_if_needed()
    screenshot(page, "inspection-form-refused-transition")

    card.locator("[name=on]").fill("2026-06-12")  # before its verification on the 15th
    card.locator('.rm-action[data-status="reopened"]').tap()
    card.locator('[data-field="on"].rm-invalid').wait_for()
    assert "before the danger's last status change" in card.locator('[data-field="on"] .rm-error').inner_text()
    assert api.get(danger["href"]).json()["status"] == "verified"
    assert js_errors(page) == []
    screenshot(page, "inspection-form-change-date-refused")


def test_feature_page_links_to_the_form_which_knows_only_sites(api, sites):
    """The feature page of a site links to its field form (the map popup's link: tests/maps/test_map_click.py); the
    form of an unknown site is a 404, and of a class records cannot name (a settlement) a 422."""
    site = sites[0]
    feature_page = api.get(f"/features/enterprise/{site}", params={"format": "html", "lang": "en"}).text
    assert f'href="/inspect/enterprise/{site}?lang=en"' in feature_page
    assert api.get("/inspect/enterprise/999999999").status_code == 404
    assert api.get("/inspect/settlement/1").status_code == 422


def test_page_escapes_what_the_register_holds():
    """A site's name, a danger's description and the like are text, never markup: escaped in the page and in the
    script's configuration; the page names only riskmap's own assets."""
    feature = {"properties": {"kind": "enterprise", "id": 5, "source_id": "E-5", "name": "<script>alert(1)</script>",
                              "level": "red", "score": 50.0, "synthetic": False,
                              "factors": [{"factor": "f", "title": "<b>t</b>", "points": 5}]}}
    danger = {"id": 9, "source_id": "d", "description": "</script><img src=x onerror=alert(2)>", "category": None,
              "grade": "major", "found_on": dt.date(2026, 5, 1), "deadline": None, "status": "open",
              "status_changed_on": dt.date(2026, 5, 1), "responsible_unit": "<i>u</i>", "responsible_person": None,
              "photos": 0}
    for lang in ("zh", "en"):
        page = inspection_form(feature, None, [danger], dt.date(2026, 6, 20), lang)
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>t</b>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert page.count("</script>") == 2  # the configuration's and the script's own
        assert "http://" not in page and "https://" not in page
    with pytest.raises(ValueError, match="language"):
        inspection_form(feature, None, [], dt.date(2026, 6, 20), "fr")


def test_a_photo_over_the_limit_or_not_an_image_is_refused_in_the_page_and_never_posted(phone_page, field_server,
                                                                                       field_db_url, api, sites):
    """A photo over the server's limit (1 MB here, served into the page) or not a JPEG, PNG or WebP image (judged by
    its first bytes, as the server judges it, whatever its name) is refused by the page before anything is posted:
    a message next to the photo input names the file and what is wrong, it joins no list, and no request reaches
    the photo route, for a danger being recorded as for one already stored; a good photo beside them goes through."""
    site = sites[5]
    r = api.post("/hidden-dangers", json={"site_kind": "enterprise", "site_id": site, "description": "消防通道堵塞",
                                          "grade": "general", "found_on": "2026-06-01"})
    assert r.status_code == 201
    too_large = png(8, 8, noise=b"x" * (1024 * 1024 + 512 * 1024))  # a real PNG of 1.5 MB
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    page = phone_page
    open_form(page, field_server, site)
    fill_inspection(page, deadline="2026-07-20", photo=png(8, 8, noise=b"ok"))
    danger = '[data-field="hidden_dangers.0"]'
    field = page.locator('[data-field="hidden_dangers.0.photos"]')
    page.set_input_files(f"{danger} [name=photos]",
                         files=[{"name": "全景.png", "mimeType": "image/png", "buffer": too_large}])
    field.locator(".rm-error-line", has_text="全景.png").wait_for()
    assert field.locator(".rm-error").inner_text() == "“全景.png”有 1.5 MB，超过上限 1 MB，未添加：请压缩或重新拍摄。"
    assert "rm-invalid" in field.get_attribute("class").split()
    page.set_input_files(f"{danger} [name=photos]",  # a GIF, whatever its name and declared type say
                         files=[{"name": "出口.jpg", "mimeType": "image/jpeg", "buffer": gif}])
    field.locator(".rm-error-line", has_text="出口.jpg").wait_for()
    assert field.locator(".rm-error").inner_text() == ("“出口.jpg”不是 JPEG、PNG 或 WebP 图片，未添加："
                                                       "请拍照或选择照片。")
    assert page.locator(".rm-photo-list li").count() == 1  # only the good photo of fill_inspection
    screenshot(page, "inspection-form-photo-refused")

    # the same at a danger already stored: refused, named, nothing posted
    card = page.locator(f'.rm-danger[data-danger-id="{r.json()["id"]}"]')
    open_danger(card)
    card.locator("[name=photo]").set_input_files(files=[{"name": "整改后.webp", "mimeType": "image/webp",
                                                          "buffer": b"RIFF\x00\x00\x00\x00WAVEfmt "}])
    card.locator('[data-field="file"] .rm-error-line').wait_for()
    assert "“整改后.webp”不是 JPEG、PNG 或 WebP 图片" in card.locator('[data-field="file"] .rm-error').inner_text()
    assert not card.locator("[name=photo]").is_disabled()  # ready for the next photo
    assert not [u for u in page.log.requests if "/photos" in u]
    assert count_records(field_db_url, site)["photos"] == 0

    page.tap("button.rm-primary")  # the inspection goes through with its one good photo
    page.wait_for_selector("#rm-done:not([hidden])")
    assert count_records(field_db_url, site) == {"inspections": 1, "dangers": 2, "photos": 1}
    assert js_errors(page) == []


def test_the_apis_422_is_shown_at_the_field_it_names_in_plain_chinese(phone_page, field_server, field_db_url, sites):
    """On the Chinese page a 422 of the API is shown at the field it names, scrolled to and focused, in plain
    Chinese with the field's label, the server's own text beside it in small print: an empty date (the API: field
    required) at the date; a danger's found date the API refuses (the page sends none: the API takes the
    inspection's date) at the inspection's date.  Nothing is stored."""
    site = sites[6]
    page = phone_page
    open_form(page, field_server, site)
    fill_inspection(page, deadline="2026-07-20", photo=png(8, 8, noise=b"date"))
    page.fill("#f-inspected_on", "")
    page.tap("button.rm-primary")
    page.wait_for_selector(".rm-invalid")
    assert page.eval_on_selector_all(".rm-invalid", "els => els.map(e => e.dataset.field)") == ["inspected_on"]
    error = page.locator('[data-field="inspected_on"] .rm-error')
    assert error.locator(".rm-plain").inner_text() == "检查日期：必须填写。"
    assert "Field required" in error.locator(".rm-detail").inner_text()
    assert page.evaluate("document.activeElement.id") == "f-inspected_on"
    top = page.evaluate("document.getElementById('f-inspected_on').getBoundingClientRect().top")
    assert 0 <= top <= 844  # scrolled to it
    assert page.locator("#rm-form-message .rm-plain").inner_text() == "未保存：请修改标出的 1 处后重新提交。"
    screenshot(page, "inspection-form-date-required")

    # the danger's found date as the API names it (hidden_dangers.0.found_on): the real server's answer to the body
    # the page sends with a found date added
    def with_found_on(route):
        body = route.request.post_data_json
        body["hidden_dangers"][0]["found_on"] = "2026-02-30"
        route.continue_(post_data=json.dumps(body))

    page.route("**/inspections", with_found_on)
    page.fill("#f-inspected_on", AS_OF)
    page.tap("button.rm-primary")
    page.locator("#rm-form-message .rm-detail", has_text="hidden_dangers.0.found_on").wait_for()
    assert "hidden_dangers.0.found_on: " in page.inner_text('[data-field="inspected_on"] .rm-detail')
    assert page.eval_on_selector_all(".rm-invalid", "els => els.map(e => e.dataset.field)") == ["inspected_on"]
    assert page.locator('[data-field="inspected_on"] .rm-plain').inner_text() == "检查日期：日期无效，请重新选择。"
    page.unroute("**/inspections")
    assert count_records(field_db_url, site) == {"inspections": 0, "dangers": 0, "photos": 0}
    assert js_errors(page) == []


def test_many_open_dangers_leave_the_form_within_two_phone_screens(phone_page, field_server, api, sites):
    """A site with 14 hidden dangers not closed lists them one line each, the first three shown and the rest behind
    "show all", and its look-back reason repeated for each overdue danger is one line with a count: the form starts
    within two screens of a 390 × 844 phone; "show all" lists every one, and a line opens to the danger's details
    and buttons."""
    site = sites[7]
    for n in range(14):
        r = api.post("/hidden-dangers", json={
            "site_kind": "enterprise", "site_id": site, "grade": "major" if n % 5 == 0 else "general",
            "description": f"第 {n + 1} 号储罐区防火堤破损，雨水排放阀常开，未按规定设置可燃气体检测报警装置",
            "found_on": "2026-05-01", "deadline": f"2026-06-{n + 10:02d}", "responsible_unit": "唐山某化工有限公司"})
        assert r.status_code == 201
    page = phone_page
    open_form(page, field_server, site)
    assert page.locator(".rm-dangers h2 small").inner_text() == "(14)"
    assert page.locator(".rm-danger").count() == 14
    assert page.locator(".rm-danger:visible").count() == 3
    heights = [card.bounding_box()["height"] for card in page.locator(".rm-danger:visible").all()]
    assert max(heights) <= 52  # one line each (44 px tap target and its border)
    assert page.locator(".rm-look-back > summary").inner_text() == "隐患逾期未整改 · 10 项，最早 2026-06-10"
    screenshot(page, "inspection-form-many-dangers")
    assert form_top(page) < 2 * 844

    page.locator(".rm-more > summary").tap()
    assert page.locator(".rm-danger:visible").count() == 14
    card = page.locator(".rm-danger").nth(10)
    open_danger(card)
    assert card.locator(".rm-action").first.is_visible() and "唐山某化工有限公司" in card.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert js_errors(page) == []


def test_a_viewers_token_is_refused_at_the_token_field_saying_the_role_does_not_allow_it(
        phone_page, field_server, field_db_url, sites):
    """A token of a viewer (it may read, not record): the 403 is shown at the token field in plain words about the
    role, nothing is stored, and an inspector's token then records the same form."""
    from geo import store, users

    conn = store.connect(field_db_url)
    try:
        _, viewer = users.add(conn, "form-viewer", "viewer", [], "test")
        _, inspector = users.add(conn, "form-inspector", "inspector", [], "test")
    finally:
        conn.close()
    site = sites[4]
    before = count_records(field_db_url, site)
    page = phone_page
    open_form(page, field_server, site, lang="en")
    fill_inspection(page, deadline="2026-07-01", photo=png(8, 8, noise=b"role"))
    page.fill("#f-api_key", viewer)
    page.dispatch_event("#f-api_key", "change")
    page.tap("button.rm-primary")
    page.wait_for_selector(".rm-invalid")
    error = page.locator('[data-field="api_key"] .rm-error .rm-plain').inner_text()
    assert "role or areas do not allow this record" in error
    assert count_records(field_db_url, site) == before
    page.fill("#f-api_key", inspector)
    page.dispatch_event("#f-api_key", "change")
    page.tap("button.rm-primary")
    page.wait_for_selector("#rm-done:not([hidden])")
    assert count_records(field_db_url, site) == {k: v + 1 for k, v in before.items()}
