-- Fewer pages written per turn: every page a transaction changes is written again to the
-- WAL at commit, and under load most of a turn's cost is there.
--
-- conversations_updated_at served no query, yet every save moved the conversation's entry
-- in it (a page removed from, a page added to).
DROP INDEX conversations_updated_at;

-- Leases on conversations are kept in each process's memory now (see leaseTable): taking
-- and ending one wrote two pages per turn.
DROP TABLE leases;
