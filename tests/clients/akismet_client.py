"""Drive a running replyguard with the published Akismet client from PyPI (`akismet`, by James
Bennett), unmodified. Its base URL is a constant (https://rest.akismet.com); the only change is the
HTTP client it is handed, whose transport sends each request to replyguard instead.

usage: python3 akismet_client.py BASE_URL API_KEY BLOG_URL      (prints "ok" when every step passed)
"""
import sys

import akismet
import httpx

HAM = "Thanks for the write-up, the part about the data centres was new to me."
SPAM = "CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz"


class ToReplyguard(httpx.BaseTransport):
    """Rewrites the Akismet host to the replyguard under test."""

    def __init__(self, base):
        self.base = httpx.URL(base)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request):
        request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
        return self.inner.handle_request(request)


def main():
    base, key, blog = sys.argv[1:4]
    http = httpx.Client(transport=ToReplyguard(base))
    config = akismet.Config(key=key, url=blog)
    client = akismet.SyncClient.validated_client(config=config, http_client=http)

    assert client.verify_key(key, blog) is True, "verify-key with the right key"
    assert client.verify_key("0" * 24, blog) is False, "verify-key with a wrong key"

    person = dict(comment_type="comment", comment_author="Reader", comment_author_email="reader@example.org",
                  user_agent="Mozilla/5.0", referrer="https://blog.example.com/post")
    ham = client.comment_check(user_ip="203.0.113.9", comment_content=HAM, **person)
    assert ham == akismet.CheckResponse.HAM, f"ham check returned {ham!r}"
    spam = client.comment_check(user_ip="203.0.113.9", comment_content=SPAM, **person)
    assert spam == akismet.CheckResponse.DISCARD, f"spam check returned {spam!r}"
    test_only = client.comment_check(user_ip="203.0.113.9", comment_content=SPAM, is_test=1, **person)
    assert test_only, f"is_test check returned {test_only!r}"

    assert client.submit_ham(user_ip="203.0.113.9", comment_content=SPAM, **person) is True
    assert client.submit_spam(user_ip="203.0.113.9", comment_content="Cheap watches www.replica.example", **person) is True

    usage = client.usage_limit()
    assert usage["limit"] == "none" and usage["usage"] == 2 and usage["throttled"] is False, usage
    print("ok")


if __name__ == "__main__":
    main()
