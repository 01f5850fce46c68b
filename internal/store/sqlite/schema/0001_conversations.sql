-- conversations holds one bot.Conversation per customer and channel.
-- Times are unix milliseconds (UTC). path, answers and vars are JSON text.
CREATE TABLE conversations (
    channel      TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '', -- the customer's display name, when known
    lang         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    node         TEXT    NOT NULL,
    path         TEXT    NOT NULL DEFAULT '[]', -- JSON array of node names
    answers      TEXT    NOT NULL DEFAULT '[]', -- JSON array of bot.Answer
    vars         TEXT    NOT NULL DEFAULT '{}', -- JSON object of strings
    misses       INTEGER NOT NULL DEFAULT 0,
    flow_version TEXT    NOT NULL,
    revision     INTEGER NOT NULL CHECK (revision > 0),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id)
) STRICT;

-- For finding idle conversations to expire or follow up.
CREATE INDEX conversations_updated_at ON conversations (updated_at);
