-- Room on every page for in-place (HOT) updates of the rows every sync updates without
-- touching an indexed column: the settling window's account insight days (their value and
-- read time are written again on each read) and a running job's progress. An update that
-- stays on its page adds no index entries, and its dead version is pruned when the page is
-- next read, with or without vacuum. Pages already full get the room when vacuum frees them.
ALTER TABLE account_insight_days SET (fillfactor = 80);
ALTER TABLE jobs SET (fillfactor = 80);
