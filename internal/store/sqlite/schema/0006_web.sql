-- The web chat (package internal/web): each conversation's log of what its page shows,
-- numbered per conversation for Server-Sent Events to resume from, deduplicated by ref (a
-- resent message, a retried delivery); and the key that signs the web chat's cookies when
-- none is configured.
CREATE TABLE web_log (
    conv TEXT    NOT NULL, -- bot.Key.User of the web channel
    seq  INTEGER NOT NULL,
    ref  TEXT    NOT NULL,
    at   INTEGER NOT NULL, -- unix milliseconds
    data TEXT    NOT NULL, -- the entry, JSON
    PRIMARY KEY (conv, seq),
    UNIQUE (conv, ref)
) STRICT;

CREATE TABLE web_secret (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB    NOT NULL
) STRICT;
