-- Fewer pages written per turn: every page a transaction changes is written again to the
-- WAL at commit, and under load most of a turn's cost is there.
--
-- conversations_updated_at served no query, yet every save moved the conversation's entry
-- in it (a page removed from, a page added to).
DROP INDEX conversations_updated_at;

-- A lease is looked up by its key only: keep its rows in the key's b-tree (WITHOUT ROWID)
-- instead of a rowid table plus an index on the key, so that taking and ending a lease
-- changes one page, not two. Leases are short-lived: live ones are carried over.
CREATE TABLE leases_new (
    channel    TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id)
) STRICT, WITHOUT ROWID;
INSERT INTO leases_new (channel, user_id, owner, expires_at) SELECT channel, user_id, owner, expires_at FROM leases;
DROP TABLE leases;
ALTER TABLE leases_new RENAME TO leases;
