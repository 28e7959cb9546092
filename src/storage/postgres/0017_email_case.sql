-- E-mail addresses are stored lowercase, as new comments store them, so that the rules that know a
-- reader by address find every spelling. Folded as SQLite's migration folds them (ASCII letters,
-- `COLLATE "C"`), so both backends hold older addresses alike.
UPDATE comments SET author_email = lower(author_email COLLATE "C")
    WHERE author_email <> lower(author_email COLLATE "C");
