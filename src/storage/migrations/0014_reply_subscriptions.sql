-- Reply notifications (issue #25): a reader who ticked "notify me of replies" (opt-in only) is
-- e-mailed when a reply to that comment is published, until they unsubscribe; each reply is
-- announced once (reply_notices), whatever events its comment goes through.
CREATE TABLE reply_subscriptions (
    comment_id      INTEGER PRIMARY KEY REFERENCES comments(id),
    created_at      TEXT    NOT NULL,
    unsubscribed_at TEXT
);
CREATE TABLE reply_notices (
    reply_id INTEGER PRIMARY KEY REFERENCES comments(id),
    sent_at  TEXT    NOT NULL
);
