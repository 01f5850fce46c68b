-- conversations holds one bot.Conversation per customer and channel. Keys and ids use the
-- "C" collation: they are compared and ordered byte by byte, as in SQLite, whatever the
-- database's default collation. path, answers, vars and ticket are json (not jsonb): json
-- keeps the text as given, and accepts the \u0000 escape that jsonb rejects.
CREATE TABLE conversations (
    channel       text COLLATE "C" NOT NULL,
    user_id       text COLLATE "C" NOT NULL,
    name          text        NOT NULL DEFAULT '', -- the customer's display name, when known
    address       text        NOT NULL DEFAULT '', -- where the channel pushes to the customer
    lang          text        NOT NULL,
    status        text        NOT NULL,
    node          text        NOT NULL,
    path          json        NOT NULL DEFAULT '[]', -- array of node names
    answers       json        NOT NULL DEFAULT '[]', -- array of bot.Answer
    vars          json        NOT NULL DEFAULT '{}', -- object of strings
    misses        integer     NOT NULL DEFAULT 0,
    ticket        json, -- the open bot.Ticket; NULL when there is none
    -- Copied from ticket by every save, so that WaitingTickets can use an index; NULL when
    -- there is no ticket.
    ticket_state  text,        -- bot.Ticket.State
    ticket_since  timestamptz, -- bot.Ticket.CreatedAt
    ticket_waited boolean,     -- bot.Ticket.Waited
    flow_version  text        NOT NULL,
    revision      bigint      NOT NULL CHECK (revision > 0),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (channel, user_id),
    CHECK ((ticket IS NULL) = (ticket_state IS NULL))
);

-- For finding idle conversations to expire or follow up.
CREATE INDEX conversations_updated_at ON conversations (updated_at);

-- For WaitingTickets: only the tickets waiting for an agent whose customer has not been
-- told about the wait, oldest first. WaitingTickets repeats this WHERE clause.
CREATE INDEX conversations_waiting ON conversations (ticket_since, channel, user_id)
    WHERE ticket_state = 'waiting' AND NOT ticket_waited;
