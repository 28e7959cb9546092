-- E-mail addresses are stored lowercase (ASCII letters, as SQLite's lower() and new comments fold
-- them: `COLLATE "C"`), so that the rules that know a reader by address find every spelling.
UPDATE comments SET author_email = lower(author_email COLLATE "C")
    WHERE author_email <> lower(author_email COLLATE "C");
