-- What the hand-off to agents keeps besides the conversation: transcripts, closed tickets,
-- and the threads where agents handle tickets. Times are unix milliseconds (UTC).

-- transcripts holds the bot.Lines of every conversation, appended by CommitTurn, codes
-- already masked. id is the order of the lines.
CREATE TABLE transcripts (
    id      INTEGER PRIMARY KEY,
    channel TEXT    NOT NULL,
    user_id TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    role    TEXT    NOT NULL,
    name    TEXT    NOT NULL DEFAULT '',
    text    TEXT    NOT NULL,
    node    TEXT    NOT NULL DEFAULT '', -- bot.Line.Node: for the funnel report
    miss    INTEGER NOT NULL DEFAULT 0   -- bot.Line.Miss: a customer line not understood
) STRICT;

-- For Transcript: a conversation's last lines.
CREATE INDEX transcripts_conversation ON transcripts (channel, user_id, id);
-- For Purge.
CREATE INDEX transcripts_at ON transcripts (at);

-- tickets archives the closed bot.Tickets, for reports and review. The columns repeat what
-- reports select and group by; ticket is the whole bot.Ticket as JSON.
CREATE TABLE tickets (
    id          TEXT    PRIMARY KEY,
    channel     TEXT    NOT NULL, -- the conversation's key
    user_id     TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    outcome     TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    agent       TEXT    NOT NULL DEFAULT '',
    agent_name  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    claimed_at  INTEGER, -- NULL when never claimed
    resolved_at INTEGER, -- NULL when never resolved
    closed_at   INTEGER NOT NULL, -- bot.Ticket.ClosedAt, or when it was archived if zero
    rating      INTEGER, -- 1 to 5; NULL when not rated
    staff       INTEGER NOT NULL DEFAULT 0,
    waited      INTEGER NOT NULL DEFAULT 0,
    ticket      TEXT    NOT NULL
) STRICT;

-- For Purge and reports by time.
CREATE INDEX tickets_closed_at ON tickets (closed_at);
-- For reviewing a conversation's tickets.
CREATE INDEX tickets_conversation ON tickets (channel, user_id);

-- threads links a ticket to the thread where agents handle it (a Slack channel and
-- thread): one thread per ticket, one ticket per thread.
CREATE TABLE threads (
    ticket_id TEXT PRIMARY KEY,
    address   TEXT NOT NULL UNIQUE,
    channel   TEXT NOT NULL, -- the ticket's conversation
    user_id   TEXT NOT NULL
) STRICT;
