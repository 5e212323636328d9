"""The campaign's records (issue 14; design.md "The campaign's loop", domain.md §8): inspections, the hidden
dangers (事故隐患) they find, enforcement actions and accidents, stored beside the features (migration 0013).

- ``kinds``: the four record kinds, described once like the feature kinds of geo/kinds.py (attributes, Chinese
  column names and values); the importer (geo/importer.py) imports them through the same ``import_file``.
- ``checks``, ``accident_class``, ``transitions``: the pure rules (dates in order, the accident class of State
  Council Decree No. 493, the allowed status changes of a hidden danger).
- ``references``: resolving the sites (and inspections) a chunk of records names, one query per chunk and kind.
- ``store``: reading a record with its history, changing a danger's status, adding and reading photos.
"""
