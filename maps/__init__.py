"""riskmap's pages: the main map, the detail pages and the static export (folium, Leaflet)."""

from maps import plain_text  # noqa: F401 (installs the plain-text rendering of every page: maps/plain_text.py)
