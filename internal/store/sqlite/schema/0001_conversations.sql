-- conversations holds one bot.Conversation per customer and channel.
-- Times are unix milliseconds (UTC). path, answers, vars and ticket are JSON text.
CREATE TABLE conversations (
    channel      TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '', -- the customer's display name, when known
    address      TEXT    NOT NULL DEFAULT '', -- where the channel pushes to the customer
    lang         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    node         TEXT    NOT NULL,
    path         TEXT    NOT NULL DEFAULT '[]', -- JSON array of node names
    answers      TEXT    NOT NULL DEFAULT '[]', -- JSON array of bot.Answer
    vars         TEXT    NOT NULL DEFAULT '{}', -- JSON object of strings
    misses       INTEGER NOT NULL DEFAULT 0,
    ticket       TEXT, -- JSON of the open bot.Ticket; NULL when there is none
    -- Copied from ticket by every save, so that WaitingTickets can use an index; NULL when
    -- there is no ticket.
    ticket_state  TEXT,    -- bot.Ticket.State
    ticket_since  INTEGER, -- bot.Ticket.CreatedAt
    ticket_waited INTEGER, -- bot.Ticket.Waited: 1 once the customer was told, else 0
    flow_version TEXT    NOT NULL,
    revision     INTEGER NOT NULL CHECK (revision > 0),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id),
    CHECK ((ticket IS NULL) = (ticket_state IS NULL))
) STRICT;

-- For finding idle conversations to expire or follow up.
CREATE INDEX conversations_updated_at ON conversations (updated_at);

-- For WaitingTickets: only the tickets waiting for an agent whose customer has not been
-- told about the wait, oldest first. WaitingTickets must spell out this WHERE clause, with
-- the literals, for SQLite to use the index.
CREATE INDEX conversations_waiting ON conversations (ticket_since, channel, user_id)
    WHERE ticket_state = 'waiting' AND ticket_waited = 0;
