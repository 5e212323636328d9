"""Pages keep the text they are given as text: nothing in a feature's name, address or notes runs on the server.

folium (through branca) builds a page by rendering each element's Jinja macros and then wrapping the result in
``branca.element.Element(text)``, which compiles that text as a Jinja template and renders it again.  The text
holds the data: a GeoJSON layer's features with their names, a detail page's body.  A register is imported from
outside, so a name such as ``{{ 7 * 191 }}`` came out as ``1337``, and template code could reach Python's
objects.  It also compiled a template for every part of every page (an eighth of the server's time under load).

``RawHtml`` is an element whose text is put into the page exactly as given.  Importing this module (``maps``
does) makes branca's ``MacroElement.render``, which every folium layer and control goes through, and folium's
``Popup.render`` add their rendered parts as ``RawHtml``: the same page, without the second pass.  (folium 0.20,
branca 0.8: the two methods are replaced whole, as they are small; ``tests/maps/test_plain_text.py`` checks a
layer's data, tooltips, popups and a detail page's body.)  And as only template texts are compiled now, each
text's compiled code is kept (``_compile_once``): a page no longer compiles the same templates again.
"""

from __future__ import annotations

from functools import lru_cache

import branca.element
import folium.map
import jinja2
from folium.template import Template


class RawHtml(branca.element.Element):
    """HTML put into a page exactly as given, never read as a template."""

    _template = Template("{{ this.html }}")

    def __init__(self, html_text: str):
        super().__init__()
        self.html = html_text


def _render_macro(self, **kwargs) -> None:
    """branca's MacroElement.render, with the rendered header, html and script parts kept as plain text."""
    figure = self.get_root()
    assert isinstance(figure, branca.element.Figure), "You cannot render this Element if it is not in a Figure."
    macros = self._template.module.__dict__
    for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
        macro = macros.get(part)
        if macro is not None:
            target.add_child(RawHtml(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


def _render_popup(self, **kwargs) -> None:
    """folium's Popup.render (it wraps its rendered script the same way), with the script kept as plain text."""
    for child in self._children.values():
        child.render(**kwargs)
    figure = self.get_root()
    assert isinstance(figure, branca.element.Figure), "You cannot render this Element if it is not in a Figure."
    figure.script.add_child(RawHtml(self._template.render(this=self, kwargs=kwargs)), name=self.get_name())


_compile = jinja2.Environment.compile


@lru_cache(maxsize=512)
def _compiled(env: jinja2.Environment, source: str, name: str | None, filename: str | None, defer_init: bool):
    return _compile(env, source, name, filename, False, defer_init)


def _compile_once(self, source, name=None, filename=None, raw=False, defer_init=False):
    """jinja2's Environment.compile, remembering the code of each template text: folium and branca build their
    elements' templates from the same few texts for every page (a map, a layer's tooltip style), and compiled them
    anew each time.  Only template texts reach it now (the data goes in as RawHtml), a bounded set."""
    if raw or not isinstance(source, str):
        return _compile(self, source, name, filename, raw, defer_init)
    return _compiled(self, source, name, filename, defer_init)


branca.element.MacroElement.render = _render_macro
folium.map.Popup.render = _render_popup
jinja2.Environment.compile = _compile_once
