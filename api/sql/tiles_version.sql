-- The data version of the tiles: the last committed scoring run, the last change record (risk_dirty, written by
-- the change triggers of migrations 0002/0011 in the transaction of every insert, update or delete of a feature or
-- an area), the last change of a record (record_history, migration 0013: hidden dangers and the other records) and
-- the last stored inspection plan (plans are only ever added, never changed or deleted: their routes are the
-- plan_route layer).
-- Every change of a feature adds a change record; every change of a score, an area's risk or a pipeline's segments
-- is made by a scoring run, which writes its score_run row in the same transaction and takes (deletes) the change
-- records it scored; every change of a hidden danger adds a row of its history.  So the four numbers only ever grow (a
-- run may lower the second number, never without raising the first) and changes whenever anything a tile shows
-- changes.  Each is a primary-key lookup.
SELECT (SELECT coalesce(max(id), 0) FROM score_run)::text || '.' || (SELECT coalesce(max(id), 0) FROM risk_dirty)::text
       || '.' || (SELECT coalesce(max(id), 0) FROM record_history)::text
       || '.' || (SELECT coalesce(max(id), 0) FROM inspection_plan)::text
