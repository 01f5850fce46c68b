-- The message pipeline: webhook events go into the inbox, workers lease a conversation and
-- step its pending events, each turn's messages go into the outbox, deliverers send them.
-- Times are unix milliseconds (UTC).

-- inbox holds one bot.Event per platform event id. A row is pending until the turn that
-- answers it is committed (processed_at); then its event is blanked, because the customer's
-- text may hold a gift-card code, and the row stays only as the id that drops redeliveries.
CREATE TABLE inbox (
    -- seq is the arrival order, which breaks ties between events of the same millisecond.
    -- It is the rowid: AUTOINCREMENT never hands out a number again, even after pruning.
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE, -- bot.Event.ID: the key that drops redeliveries
    channel      TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    event        TEXT, -- JSON of the whole bot.Event, reply token included; NULL once processed
    at           INTEGER NOT NULL, -- bot.Event.At: the processing order
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    CHECK ((processed_at IS NULL) = (event IS NOT NULL))
) STRICT;

-- Pending events only, so that both stay small however many processed rows there are:
-- the first finds the conversation with the oldest pending event, the second a
-- conversation's pending events in order.
CREATE INDEX inbox_pending ON inbox (at, seq) WHERE processed_at IS NULL;
CREATE INDEX inbox_pending_conversation ON inbox (channel, user_id, at, seq) WHERE processed_at IS NULL;
-- For Purge.
CREATE INDEX inbox_processed ON inbox (processed_at) WHERE processed_at IS NOT NULL;

-- leases says which worker steps a conversation, until expires_at. A row whose expires_at
-- has passed is a lease its owner lost (it crashed or stalled); anyone may take it over.
CREATE TABLE leases (
    channel    TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id)
) STRICT;

-- outbox holds one bot.Outgoing per row, delivered in id order per conversation and
-- delivering channel (via): a turn adds a row for the customer and may add rows for other
-- channels (a ticket for agents in Slack).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel          TEXT    NOT NULL, -- the conversation's key
    user_id          TEXT    NOT NULL,
    via              TEXT    NOT NULL, -- bot.Outgoing.Via(): the channel that delivers it
    event_id         TEXT    NOT NULL, -- the inbox event the turn answered
    seq              INTEGER NOT NULL, -- bot.Outgoing.Seq
    payload          TEXT    NOT NULL, -- JSON: address, reply token, event time, messages
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0, -- claims so far
    failures         INTEGER NOT NULL DEFAULT 0, -- RetryOutgoing calls: attempts that surely failed
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    finished_at      INTEGER,
    outcome          TEXT -- "reply", "push", "failed"; NULL until finished
    -- (event_id, seq) is unique because an event is processed once, but not declared so: an
    -- event redelivered after Purge dropped its inbox row (the id that drops redeliveries)
    -- but not yet its outbox rows must not be a commit that fails forever.
) STRICT;

-- Unfinished rows only: the oldest unfinished row of each conversation and channel is the
-- one that may be claimed.
CREATE INDEX outbox_unfinished ON outbox (channel, user_id, via, id) WHERE finished_at IS NULL;
-- For Purge.
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE finished_at IS NOT NULL;

-- dead_letters keeps authentic requests that could not be understood, already redacted.
CREATE TABLE dead_letters (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    body    BLOB    NOT NULL,
    at      INTEGER NOT NULL
) STRICT;

-- For Purge.
CREATE INDEX dead_letters_at ON dead_letters (at);
