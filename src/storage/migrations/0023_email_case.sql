-- E-mail addresses are stored lowercase, as new comments store them: the rules that know a reader
-- by address compare it as stored, and a spammer's `Seller@X.org` was a stranger to the
-- `seller@x.org` a moderator had marked spam. (SQLite's lower() folds ASCII letters only: an older
-- address with non-ASCII capitals keeps them; `erase` looks for both spellings.)
UPDATE comments SET author_email = lower(author_email) WHERE author_email <> lower(author_email);
