-- Signed-in moderators, by the SHA-256 of their session id (the id itself is only in the
-- cookie): every server on the database honours a sign-in, and a restart keeps it.
CREATE TABLE admin_sessions (
    id_sha256  TEXT    PRIMARY KEY,
    csrf       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
