-- What the serving model has learned, in order: every moderation decision that changes the
-- labeled example a comment stands for (domain::training_label) appends the old example with
-- sign -1 and the new one with sign +1, in the same transaction as the status change; Akismet
-- submit-spam / submit-ham without a stored check append their example. Every replica folds this
-- log, in id order, into its model, so all of them converge on the same one.
CREATE TABLE learning_log (
    id         INTEGER PRIMARY KEY,
    comment_id INTEGER REFERENCES comments(id),
    label      TEXT    NOT NULL CHECK (label IN ('spam', 'ham')),
    sign       INTEGER NOT NULL CHECK (sign IN (1, -1)),
    record     TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    at         TEXT    NOT NULL
);
