-- Before the demo's history is loaded again (data/loader.py load_demo_history): the score history of its two
-- years (%(first)s … %(last)s) from an earlier load, which was computed from that load's records.  Another seed or
-- generator version gives other records, and the rows of the earlier load would otherwise mix with the new ones
-- (a month where the new load changed nothing would show the earlier load's score).  The history of other dates
-- is kept; the run rows stay as the log of what ran.
DELETE FROM score_history WHERE as_of BETWEEN %(first)s AND %(last)s;
