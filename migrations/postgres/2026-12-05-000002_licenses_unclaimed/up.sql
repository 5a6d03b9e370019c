-- The PAK batches waiting to be claimed, which every license page lists: read without the claimed ones.
CREATE INDEX licenses_unclaimed ON licenses (smart_account_id, id) WHERE claimed_at IS NULL;
