"""Following the keyset pages of a GeoJSON endpoint (/features, /areas) in tests."""

from __future__ import annotations


def walk(client, url: str, params: dict) -> tuple[list[dict], int]:
    """Follow `next` links from the first page; returns every feature seen and the number of pages, checking
    each page's GeoJSON envelope (media type, numberReturned, the self and next links) on the way."""
    seen, pages = [], 0
    r = client.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/geo+json")
        body = r.json()
        assert body["type"] == "FeatureCollection"
        pages += 1
        seen += body["features"]
        assert body["numberReturned"] == len(body["features"])
        if body["next"] is None:
            assert all(link["rel"] != "next" for link in body["links"])
            return seen, pages
        assert {"rel": "next", "href": body["next"], "type": "application/geo+json"} in body["links"]
        r = client.get(body["next"])
