-- SQLite commits one writer at a time, in id order: the newest change's id
-- alone tells which changes a list saw. Nothing to record.
SELECT 1;
