-- The web chat (package internal/web): each conversation's log of what its page shows,
-- numbered per conversation for Server-Sent Events to resume from, deduplicated by ref (a
-- resent message, a retried delivery); and the key that signs the web chat's cookies when
-- none is configured.
CREATE TABLE web_log (
    conv text COLLATE "C" NOT NULL, -- bot.Key.User of the web channel
    seq  bigint      NOT NULL,
    ref  text COLLATE "C" NOT NULL,
    at   timestamptz NOT NULL,
    data text        NOT NULL, -- the entry, JSON
    PRIMARY KEY (conv, seq),
    UNIQUE (conv, ref)
);

CREATE TABLE web_secret (
    id     integer PRIMARY KEY CHECK (id = 1),
    secret bytea   NOT NULL
);
