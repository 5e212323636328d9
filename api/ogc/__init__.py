"""OGC API – Features, Part 1 Core (issue 16): riskmap's layers as collections under ``/ogc``.

``layers`` says what each collection is (its table, its properties, its dates); ``items`` reads a page of one
(keyset paging, bbox, datetime); ``documents`` builds the JSON documents (landing page, conformance, collections,
queryables, the OpenAPI 3.0 description) and ``html`` their pages for a person with a browser.  The routes are in
api/routes/ogc.py; the SQL in api/sql/ogc_*.sql.
"""
