-- live_owners lists the owners (processes, by the name they lease under) that hold their
-- liveness lock: a session-level advisory lock, which the server releases when the session
-- ends, however the process died. An owner listed here whose lock is free is dead, and its
-- leases are taken over at once instead of at their expiry. An owner never listed (an
-- older giftdesk, a tool) keeps lease expiry.
CREATE TABLE live_owners (
    owner text COLLATE "C" PRIMARY KEY,
    since timestamptz NOT NULL
);
