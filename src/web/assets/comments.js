// replyguard comments.js: progressive enhancement of the reply form.
//
// Without this script everything works through plain form posts and page loads ("Reply" links go
// to ?replytocom=ID). With it, "Reply" moves the form under the comment, and posting does not
// reload the page: the form is sent with fetch and the server's own re-rendered sections
// (#comments, #respond) replace the old ones. The script never builds markup from user text; all
// HTML it inserts was rendered and escaped by the server, and user text it shows goes through
// textContent. Any failure falls back to the plain form post.
// A link to a comment (`#comment-N`, an old site's `#comment-N` or `#isso-N`) that landed on a
// page of a paged thread without it: ask the server which comment page shows it, and go there.
(function () {
  "use strict";
  var anchor = location.hash.slice(1);
  var slug = /^\/articles\/([^\/]+)$/.exec(location.pathname);
  var paged = document.querySelector("a[rel=prev], a[rel=next]");
  if (!slug || !paged || !window.fetch || !/^(comment|isso)-[0-9]+$/.test(anchor) ||
      document.getElementById(anchor) || /[?&]located=1/.test(location.search)) {
    return;
  }
  fetch("/api/v1/articles/" + slug[1] + "/comments/locate?anchor=" + encodeURIComponent(anchor))
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (found) {
      if (found && typeof found.url === "string" && found.url.charAt(0) === "/") {
        location.replace(found.url);
      }
    })
    .catch(function () {});
})();

(function () {
  "use strict";
  var respond = document.getElementById("respond");
  if (!respond || !window.fetch || !window.DOMParser || !window.URLSearchParams) {
    return;
  }
  // Where the form lives when it is not replying to anyone.
  var home = document.createComment("respond-home");
  respond.parentNode.insertBefore(home, respond);

  function byId(id) {
    return document.getElementById(id);
  }

  function setParent(id, author) {
    var parent = byId("comment_parent");
    var replyTo = byId("reply-to");
    var name = byId("reply-to-name");
    if (parent) {
      parent.value = id ? String(id) : "0";
    }
    if (name && author) {
      name.textContent = author;
    }
    if (replyTo) {
      replyTo.hidden = !id;
    }
  }

  function moveHome() {
    home.parentNode.insertBefore(respond, home.nextSibling);
    respond.classList.remove("inline");
  }

  function commentIds() {
    var ids = {};
    var items = document.querySelectorAll("li.comment");
    for (var i = 0; i < items.length; i++) {
      ids[items[i].id] = true;
    }
    return ids;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) {
      return;
    }
    var reply = target.closest("a.reply");
    if (reply) {
      var id = reply.getAttribute("data-comment");
      var item = byId("comment-" + id);
      if (!item) {
        return;
      }
      event.preventDefault();
      setParent(id, reply.getAttribute("data-author"));
      reply.parentNode.insertBefore(respond, reply.nextSibling);
      respond.classList.add("inline");
      var text = byId("comment");
      if (text) {
        text.focus();
      }
      return;
    }
    if (target.closest("#cancel-reply")) {
      event.preventDefault();
      setParent(null, null);
      moveHome();
    }
  });

  respond.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var status = byId("form-status");
    if (button) {
      button.disabled = true;
    }
    if (status) {
      status.textContent = "Posting your comment…";
    }
    var before = commentIds();
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        return response.text().then(function (html) {
          return { response: response, html: html };
        });
      })
      .then(function (result) {
        var page = new DOMParser().parseFromString(result.html, "text/html");
        var newRespond = page.getElementById("respond");
        var newComments = page.getElementById("comments");
        if (!newRespond || !newComments) {
          // Not an article page (an error page, say): let the browser show it.
          form.submit();
          return;
        }
        if (!result.response.ok) {
          // Rejected, invalid or too fast: the server re-rendered the form with every field as
          // typed and the reason; show it where the form is now.
          respond.innerHTML = newRespond.innerHTML;
          var notice = respond.querySelector("[role=alert]");
          if (notice) {
            notice.setAttribute("tabindex", "-1");
            notice.focus();
          }
          return;
        }
        // Published or held: the server redirected to the article with the new comment on it.
        byId("comments").replaceWith(newComments);
        respond.innerHTML = newRespond.innerHTML;
        moveHome();
        var added = null;
        var items = document.querySelectorAll("li.comment");
        for (var i = 0; i < items.length; i++) {
          if (!before[items[i].id]) {
            added = items[i];
          }
        }
        var url = result.response.url;
        if (added) {
          added.classList.add("new");
          added.scrollIntoView({ block: "center" });
          url += "#" + added.id;
        }
        history.replaceState(null, "", url);
      })
      .catch(function () {
        form.submit();
      })
      .finally(function () {
        var again = respond.querySelector("button[type=submit]");
        if (again) {
          again.disabled = false;
        }
        var done = byId("form-status");
        if (done && done.textContent === "Posting your comment…") {
          done.textContent = "";
        }
      });
  });
})();

// The moderation queue's keyboard shortcuts (on /admin only): j / k move to the next / previous
// comment, a approves, s marks spam, t trashes the current one (the row's own form is submitted,
// CSRF token and all). Keys typed into a field are left alone.
(function () {
  "use strict";
  var rows = document.querySelectorAll("tr.comment-row");
  if (!rows.length) {
    return;
  }
  var current = 0;
  function select(i) {
    rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows[current].classList.add("current");
    rows[current].scrollIntoView({ block: "nearest" });
  }
  select(0);
  var keys = { a: "approve", s: "spam", t: "trash" };
  document.addEventListener("keydown", function (e) {
    var tag = e.target && e.target.tagName;
    if (e.ctrlKey || e.metaKey || e.altKey || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      return;
    }
    if (e.key === "j") {
      select(current + 1);
    } else if (e.key === "k") {
      select(current - 1);
    } else if (keys[e.key]) {
      var button = rows[current].querySelector('button[data-action="' + keys[e.key] + '"]');
      if (button) {
        e.preventDefault();
        button.form.submit();
      }
    }
  });
})();
