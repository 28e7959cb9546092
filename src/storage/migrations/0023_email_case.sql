-- E-mail addresses are stored lowercase (ASCII letters), as new comments store them: the rules
-- that know a reader by address compare it as stored, and a spammer's `Seller@X.org` was a
-- stranger to the `seller@x.org` a moderator had marked spam.
UPDATE comments SET author_email = lower(author_email) WHERE author_email <> lower(author_email);
