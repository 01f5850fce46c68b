-- conversations_updated_at served no query, yet every save of a conversation updated it.
DROP INDEX conversations_updated_at;

-- The queue tables churn: every event inserts an inbox row and updates it, every message an
-- outbox row, and each update leaves a dead tuple whose index entries the claims' scans of
-- the partial indexes walk until a vacuum removes them (a claim over 1 live row visited
-- 4,763 dead entries under load). Vacuum them after a fixed number of changes, not a
-- fraction of the table, and without the cost delay.
ALTER TABLE inbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE leases SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0);
