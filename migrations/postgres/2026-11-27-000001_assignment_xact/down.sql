ALTER TABLE assignment_events DROP COLUMN xact;
