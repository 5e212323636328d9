-- The data version of the tiles: the last committed scoring run and the last change record (risk_dirty, written
-- by the change triggers of migrations 0002/0011 in the transaction of every insert, update or delete of a feature
-- or an area).  Every change of a feature adds a change record; every change of a score, an area's risk or a
-- pipeline's segments is made by a scoring run, which writes its score_run row in the same transaction and takes
-- (deletes) the change records it scored.  So the pair only ever grows (by run first, then by change record) and
-- changes whenever anything a tile shows changes.  Both are primary-key lookups.
SELECT (SELECT coalesce(max(id), 0) FROM score_run)::text || '.' || (SELECT coalesce(max(id), 0) FROM risk_dirty)::text
