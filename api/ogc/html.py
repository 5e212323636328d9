"""Plain HTML pages of the OGC documents for a person with a browser: no script, no outside address; every
value escaped."""

from __future__ import annotations

import json
from html import escape

STYLE = ("body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}"
         "th{background:#f3f3f3}.red{color:#c00}.orange{color:#d60}.yellow{color:#a80}.blue{color:#06c}")


def page(title: str, body: str, crumbs: list[tuple[str, str]]) -> str:
    nav = " / ".join(f'<a href="{escape(href)}">{escape(text)}</a>' for href, text in crumbs)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><nav>{nav}</nav><h1>{escape(title)}</h1>{body}</body></html>")


def _links(links: list[dict]) -> str:
    items = "".join(f'<li><a href="{escape(x["href"])}">{escape(x.get("title") or x["rel"])}</a> '
                    f'({escape(x["rel"])}, {escape(x["type"])})</li>' for x in links)
    return f"<ul>{items}</ul>"


def _crumbs(base: str) -> list[tuple[str, str]]:
    return [(f"{base}?f=html", "OGC API"), (f"{base}/collections?f=html", "Collections")]


def landing(doc: dict, base: str) -> str:
    return page(doc["title"], f"<p>{escape(doc['description'])}</p>{_links(doc['links'])}", _crumbs(base))


def conformance(doc: dict, base: str) -> str:
    items = "".join(f"<li>{escape(c)}</li>" for c in doc["conformsTo"])
    return page("Conformance", f"<ul>{items}</ul>", _crumbs(base))


def collections(doc: dict, base: str) -> str:
    rows = "".join(
        f'<tr><td><a href="{escape(base)}/collections/{escape(c["id"])}?f=html">{escape(c["id"])}</a></td>'
        f'<td>{escape(c["title"])}</td><td>{escape(c["description"])}</td>'
        f'<td><a href="{escape(base)}/collections/{escape(c["id"])}/items?f=html">items</a></td></tr>'
        for c in doc["collections"])
    return page("Collections", f"<table><tr><th>id</th><th>title</th><th>description</th><th></th></tr>{rows}"
                               "</table>", _crumbs(base))


def collection(doc: dict, base: str) -> str:
    spatial = doc["extent"].get("spatial")
    bbox = ", ".join(str(v) for v in spatial["bbox"][0]) if spatial else "none (no features)"
    temporal = doc["extent"].get("temporal")
    dates = " to ".join(str(v) for v in temporal["interval"][0]) if temporal else "none"
    props = "".join(f"<tr><td>{escape(name)}</td><td>{escape(p['type'])}</td><td>{escape(p['description'])}</td>"
                    "</tr>" for name, p in doc["properties"].items())
    body = (f"<p>{escape(doc['description'])}</p><p>Extent (CRS84): {escape(bbox)}<br>Dates: {escape(dates)}</p>"
            f'<p><a href="{escape(base)}/collections/{escape(doc["id"])}/items?f=html">Browse the features</a></p>'
            f"<h2>Properties</h2><table><tr><th>name</th><th>type</th><th>description</th></tr>{props}</table>"
            f"{_links(doc['links'])}")
    return page(doc["title"], body, _crumbs(base))


FIRST = ("name", "level", "score")  # what a person looks for first in a row: the risk before the attributes


def _value(v) -> str:
    if isinstance(v, (dict, list, bool)):  # (true / false as in the JSON, not Python's True / False)
        return escape(json.dumps(v, ensure_ascii=False))
    return "" if v is None else escape(str(v))


def items(title: str, collection_url: str, features: list[dict], links: list[dict], base: str,
          matched: int | None) -> str:
    names = list(dict.fromkeys(k for f in features for k in f["properties"]))
    names = [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = "".join(
        f'<tr><td><a href="{escape(collection_url)}/items/{escape(str(f["id"]))}?f=html">{escape(str(f["id"]))}'
        "</a></td>" + "".join(f'<td class="{_value(f["properties"].get(n)) if n == "level" else ""}">'
                              f'{_value(f["properties"].get(n))}</td>' for n in names) + "</tr>"
        for f in features)
    nav = " ".join(f'<a href="{escape(x["href"])}">{escape(x["rel"])}</a>' for x in links
                   if x["rel"] in ("prev", "next") and x["type"] == "text/html")
    count = f"{len(features)} features" + (f" of {matched}" if matched is not None else "")
    body = f"<p>{count}. {nav}</p><table><tr><th>id</th>{head}</tr>{rows}</table><p>{nav}</p>"
    return page(title, body, _crumbs(base) + [(f"{collection_url}?f=html", title)])


def feature(title: str, collection_url: str, feature_: dict, base: str) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{_value(v)}</td></tr>" for k, v in feature_["properties"].items())
    geometry = escape(json.dumps(feature_["geometry"])[:2000])
    body = f"<table>{rows}</table><h2>Geometry (GeoJSON, CRS84)</h2><pre>{geometry}</pre>"
    return page(f"{title} {feature_['id']}", body, _crumbs(base) + [(f"{collection_url}?f=html", title)])
