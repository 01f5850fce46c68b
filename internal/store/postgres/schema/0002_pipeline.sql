-- The message pipeline: webhook events go into the inbox, workers lease a conversation and
-- step its pending events, each turn's messages go into the outbox, deliverers send them.

-- inbox holds one bot.Event per platform event id. A row is pending until the turn that
-- answers it is committed (processed_at); then its event is blanked, because the customer's
-- text may hold a gift-card code, and the row stays only as the id that drops redeliveries.
-- seq is the arrival order, which breaks ties between events of the same millisecond.
-- AddEvents draws it from inbox_seq in the order of its batch, and inserts the batch in
-- the order of id, so that concurrent batches lock ids in one order and cannot deadlock.
CREATE SEQUENCE inbox_seq AS bigint;
CREATE TABLE inbox (
    seq          bigint PRIMARY KEY DEFAULT nextval('inbox_seq'),
    id           text COLLATE "C" NOT NULL UNIQUE, -- bot.Event.ID: the key that drops redeliveries
    channel      text COLLATE "C" NOT NULL,
    user_id      text COLLATE "C" NOT NULL,
    event        json, -- the whole bot.Event, reply token included; NULL once processed
    at           timestamptz NOT NULL, -- bot.Event.At: the processing order
    received_at  timestamptz NOT NULL,
    processed_at timestamptz,
    CHECK ((processed_at IS NULL) = (event IS NOT NULL))
);
ALTER SEQUENCE inbox_seq OWNED BY inbox.seq;

-- Pending events only, so that both stay small however many processed rows there are:
-- the first finds the conversation with the oldest pending event, the second a
-- conversation's pending events in order.
CREATE INDEX inbox_pending ON inbox (at, seq) WHERE processed_at IS NULL;
CREATE INDEX inbox_pending_conversation ON inbox (channel, user_id, at, seq) WHERE processed_at IS NULL;
-- For Purge.
CREATE INDEX inbox_processed ON inbox (processed_at) WHERE processed_at IS NOT NULL;

-- leases says which worker steps a conversation, until expires_at. AddEvents adds a row,
-- free, for every conversation that receives an event, and rows are never deleted:
-- ClaimConversation locks the row of the conversation it picks (FOR UPDATE SKIP LOCKED),
-- so the row must exist before anyone claims. A row whose expires_at has passed is free:
-- released ('-infinity'), or a lease its owner lost (it crashed or stalled).
CREATE TABLE leases (
    channel    text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    owner      text        NOT NULL DEFAULT '',
    expires_at timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (channel, user_id)
);

-- outbox holds one bot.Outgoing per row, delivered in id order per conversation and
-- delivering channel (via).
CREATE TABLE outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel          text COLLATE "C" NOT NULL, -- the conversation's key
    user_id          text COLLATE "C" NOT NULL,
    via              text COLLATE "C" NOT NULL, -- bot.Outgoing.Via(): the channel that delivers it
    event_id         text COLLATE "C" NOT NULL, -- the inbox event the turn answered
    seq              integer     NOT NULL,      -- bot.Outgoing.Seq
    payload          json        NOT NULL,      -- address, reply token, event time, messages
    created_at       timestamptz NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0, -- claims so far
    failures         integer     NOT NULL DEFAULT 0, -- RetryOutgoing calls: attempts that surely failed
    next_attempt_at  timestamptz NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    finished_at      timestamptz,
    outcome          text -- "reply", "push", "failed"; NULL until finished
    -- (event_id, seq) is unique because an event is processed once, but not declared so: an
    -- event redelivered after Purge dropped its inbox row but not yet its outbox rows must
    -- not be a commit that fails forever.
);

-- Unfinished rows only: the oldest unfinished row of each conversation and channel is the
-- one that may be claimed.
CREATE INDEX outbox_unfinished ON outbox (channel, user_id, via, id) WHERE finished_at IS NULL;
-- For Purge.
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE finished_at IS NOT NULL;

-- dead_letters keeps authentic requests that could not be understood, already redacted.
CREATE TABLE dead_letters (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel text        NOT NULL,
    reason  text        NOT NULL,
    body    bytea       NOT NULL,
    at      timestamptz NOT NULL
);

-- For Purge.
CREATE INDEX dead_letters_at ON dead_letters (at);
