-- A comment written in Isso's widget (posted through the Isso API) is Markdown, as Isso stores
-- it: the text stays as typed (so the author's edit gets it back) and is rendered when shown.
ALTER TABLE comments ADD COLUMN markdown INTEGER NOT NULL DEFAULT 0 CHECK (markdown IN (0, 1));
