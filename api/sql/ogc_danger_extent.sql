-- The extent of the hidden_danger layer for /ogc/collections/hidden_danger: the bounding box in WGS 84 of the sites
-- with hidden danger records and the range of the days they were found, as the request's user sees them.
SELECT ST_XMin(e.box), ST_YMin(e.box), ST_XMax(e.box), ST_YMax(e.box), e.first, e.last
FROM (SELECT ST_Extent(s.geom) AS box, min(h.found_on) AS first, max(h.found_on) AS last
      FROM hidden_danger h
      CROSS JOIN LATERAL (
          SELECT geom FROM enterprise WHERE h.site_kind = 'enterprise' AND id = h.site_id
          UNION ALL SELECT geom FROM tailings_pond WHERE h.site_kind = 'tailings_pond' AND id = h.site_id
          UNION ALL SELECT geom FROM venue WHERE h.site_kind = 'venue' AND id = h.site_id
          UNION ALL SELECT geom FROM pipeline WHERE h.site_kind = 'pipeline' AND id = h.site_id) AS s) AS e
