-- The transaction that made each assignment change, so that a list's
-- database snapshot tells which changes it saw (ids are allocated before
-- commit, so an id bound alone can miss a change still in flight).
-- Added without a default first, then given one: no rewrite of old rows,
-- which stay NULL (older than any list that can still be submitted).
ALTER TABLE assignment_events ADD COLUMN xact xid8;
ALTER TABLE assignment_events ALTER COLUMN xact SET DEFAULT pg_current_xact_id();
