"""Parse a replyguard Atom feed with feedparser (PyPI), as feed readers do, and print what it
found as JSON: whether the document was well-formed (bozo), the feed's title and links, and each
entry's title, link, author, content type and value.

usage: python3 feed_check.py URL
"""
import json
import sys
import urllib.request

import feedparser

raw = urllib.request.urlopen(sys.argv[1]).read()
parsed = feedparser.parse(raw)
print(json.dumps({
    "bozo": bool(parsed.bozo),
    "bozo_exception": str(parsed.get("bozo_exception", "")),
    "version": parsed.version,
    "title": parsed.feed.get("title"),
    "links": [(l.get("rel"), l.get("href")) for l in parsed.feed.get("links", [])],
    "entries": [
        {
            "title": e.get("title"),
            "id": e.get("id"),
            "link": e.get("link"),
            "author": e.get("author"),
            "updated": e.get("updated"),
            "content_type": e.content[0].type if e.get("content") else None,
            "content": e.content[0].value if e.get("content") else None,
        }
        for e in parsed.entries
    ],
}))
