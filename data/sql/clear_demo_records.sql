-- Before the demo's synthetic history is loaded again (data/loader.py load_history): the records an earlier load
-- left, which are synthetic and carry the demo's ids (demo-insp-, demo-hd-, demo-ea-, demo-acc-).  Another seed or
-- another version of the generator gives the same ids other contents, which a re-import may not apply (a verified
-- danger does not go back to open), so the demo's records are replaced, in the transaction that imports the new
-- ones; their history keeps the deletions.  Records that are not synthetic are never touched.
DELETE FROM hidden_danger WHERE synthetic AND source_id LIKE 'demo-hd-%';
DELETE FROM enforcement_action WHERE synthetic AND source_id LIKE 'demo-ea-%';
DELETE FROM accident WHERE synthetic AND source_id LIKE 'demo-acc-%';
DELETE FROM inspection WHERE synthetic AND source_id LIKE 'demo-insp-%';
