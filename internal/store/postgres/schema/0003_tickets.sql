-- What the hand-off to agents keeps besides the conversation: transcripts, closed tickets,
-- and the threads where agents handle tickets.

-- transcripts holds the bot.Lines of every conversation, appended by CommitTurn, codes
-- already masked. id is the order of the lines.
CREATE TABLE transcripts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    at      timestamptz NOT NULL,
    role    text        NOT NULL,
    name    text        NOT NULL DEFAULT '',
    text    text        NOT NULL,
    node    text        NOT NULL DEFAULT '',   -- bot.Line.Node: for the funnel report
    miss    boolean     NOT NULL DEFAULT false -- bot.Line.Miss: a customer line not understood
);

-- For Transcript: a conversation's last lines.
CREATE INDEX transcripts_conversation ON transcripts (channel, user_id, id);
-- For Purge and LinesSince.
CREATE INDEX transcripts_at ON transcripts (at);

-- tickets archives the closed bot.Tickets, for reports and review. The columns repeat what
-- reports select and group by; ticket is the whole bot.Ticket.
CREATE TABLE tickets (
    id          text COLLATE "C" PRIMARY KEY,
    channel     text COLLATE "C" NOT NULL, -- the conversation's key
    user_id     text COLLATE "C" NOT NULL,
    state       text        NOT NULL,
    outcome     text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    agent       text        NOT NULL DEFAULT '',
    agent_name  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    claimed_at  timestamptz, -- NULL when never claimed
    resolved_at timestamptz, -- NULL when never resolved
    closed_at   timestamptz NOT NULL, -- bot.Ticket.ClosedAt, or when it was archived if zero
    rating      smallint,    -- 1 to 5; NULL when not rated
    staff       boolean     NOT NULL DEFAULT false,
    waited      boolean     NOT NULL DEFAULT false,
    ticket      json        NOT NULL
);

-- For Purge and reports by time.
CREATE INDEX tickets_closed_at ON tickets (closed_at);
-- For reviewing a conversation's tickets.
CREATE INDEX tickets_conversation ON tickets (channel, user_id);

-- threads links a ticket to the thread where agents handle it (a Slack channel and
-- thread): one thread per ticket, one ticket per thread.
CREATE TABLE threads (
    ticket_id text COLLATE "C" PRIMARY KEY,
    address   text COLLATE "C" NOT NULL UNIQUE,
    channel   text COLLATE "C" NOT NULL, -- the ticket's conversation
    user_id   text COLLATE "C" NOT NULL
);
