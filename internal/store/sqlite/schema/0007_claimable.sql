-- outbox_claimable lets ClaimOutgoing find the unfinished rows with no lease (the smallest
-- integer, before any time: never claimed, or given back by a retry or a park) or an
-- expired one by one range scan up to now, without reading the rows under a live lease:
-- under load most unfinished rows are leased, being delivered, and grouping them all cost
-- 7 ms a claim with 5,000 of them. Its cost is an index entry written with each row added
-- and each lease taken or given back, and removed when the row is finished.
CREATE INDEX outbox_claimable ON outbox (coalesce(lease_expires_at, -9223372036854775808)) WHERE finished_at IS NULL;
