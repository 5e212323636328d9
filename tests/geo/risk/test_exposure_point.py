"""The heatmap's point text (migrations 0024, 0033, 0038): the same text as the operator-built one, inlined."""

OLD = ("SELECT '[' || round(%(x)s::float8::numeric, 5) || ',' || round(%(y)s::float8::numeric, 5) || ',' "
       "|| round(%(v)s::float8::numeric, 3) || ']'")


def test_point_text_as_before(db):
    cases = [(118.123456789, 39.5, 12.3), (-0.000004, 0.000005, 0.0005), (179.999995, -89.999999, 99.9995),
             (0.0, 0.0, 0.0), (1e-9, -1e-9, 1.0), (116.3912757, 39.9064902, 1.0004999999)]
    with db.cursor() as cur:
        for x, y, v in cases:
            cur.execute(OLD, {"x": x, "y": y, "v": v})
            expected = cur.fetchone()[0]
            cur.execute("SELECT riskmap_exposure_point(%s, %s, %s)", (x, y, v))
            assert cur.fetchone()[0] == expected
        # and over many values: random points and values, compared in SQL
        cur.execute("SELECT count(*) FROM (SELECT random() * 360 - 180 AS x, random() * 180 - 90 AS y, "
                    "random() * 1000 AS v FROM generate_series(1, 20000)) r "
                    "WHERE riskmap_exposure_point(x, y, v) IS DISTINCT FROM '[' || round(x::numeric, 5) || ',' "
                    "|| round(y::numeric, 5) || ',' || round(v::numeric, 3) || ']'")
        assert cur.fetchone()[0] == 0


def test_point_text_inlined(db):
    """Its body is as immutable as the function, so the planner inlines it (no call per row)."""
    with db.cursor() as cur:
        cur.execute("EXPLAIN (VERBOSE) SELECT riskmap_exposure_point(x, 2.0, 3.0) FROM generate_series(1, 2) x")
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "riskmap_exposure_point" not in plan
    assert "round(" in plan
