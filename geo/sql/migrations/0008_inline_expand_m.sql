-- 0008: riskmap_expand_m without STRICT, so that the planner can inline it.
--
-- PostgreSQL inlines a SQL function only if, when it is STRICT, its body is strict too; GREATEST and LEAST are
-- not, so the function of 0002 was never inlined: each query that used it set up and planned its body again
-- (about 0.2 ms, a twentieth of a near query).  The results are the same for every input, NULL included:
-- ST_Expand is strict, so a NULL geometry or distance still gives NULL.
CREATE OR REPLACE FUNCTION riskmap_expand_m(g geometry, metres double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_Expand(g,
                     metres / (111320.0 * cos(radians(least(89.0, greatest(abs(ST_YMin(g)), abs(ST_YMax(g))))))),
                     metres / 110574.0)
$$;
