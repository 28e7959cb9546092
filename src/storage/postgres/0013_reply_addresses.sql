-- Reply notifications ask the address first (double opt-in): an address hears of replies only
-- once whoever reads it followed the confirmation link sent there. `asked_at` spaces the
-- confirmation mails (one a day per address and site), so typing someone else's address on
-- many comments cannot flood them. `email` is trimmed and lower-cased by the server.
CREATE TABLE reply_addresses (
    site_id      BIGINT NOT NULL REFERENCES sites(id),
    email        TEXT   NOT NULL,
    asked_at     TEXT,
    confirmed_at TEXT,
    PRIMARY KEY (site_id, email)
);
