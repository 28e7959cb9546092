// replyguard embed.js (v1): a comment thread on a page replyguard does not serve.
//
//   <div id="replyguard-thread"></div>
//   <script src="https://comments.example/embed/v1/embed.js"
//           data-replyguard="https://comments.example/" defer></script>
//
// Optional attributes on the script or the div: data-uri (the thread; default the page's path),
// data-title (the thread's title on its first comment; default the page's title). Links or
// elements with data-replyguard-count (value or href = a page path) get "N comments".
//
// It talks to replyguard's Isso-compatible API (/isso/) with credentials; the page's origin must
// be one of the site's origins. No framework, no eval, no inline style or script: it runs under
// a strict Content-Security-Policy that allows replyguard's origin for script, style and connect.
// Readers' text is inserted with textContent; comment bodies are HTML sanitized by the server.
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[data-replyguard]");
  if (!script) {
    return;
  }
  var base = script.getAttribute("data-replyguard") || new URL(".", script.src).href.replace(/embed\/v1\/$/, "");
  if (base.charAt(base.length - 1) !== "/") {
    base += "/";
  }
  var api = base + "isso/";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined && text !== null) {
      e.textContent = text;
    }
    return e;
  }

  function call(method, path, body) {
    var init = { method: method, credentials: "include", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(api + path, init).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (e) {
          data = { error: text };
        }
        return { status: resp.status, data: data };
      });
    });
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  // The stylesheet, from replyguard's origin (no inline style).
  if (!document.querySelector("link[data-replyguard-style]")) {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = base + "embed/v1/embed.css";
    css.setAttribute("data-replyguard-style", "");
    document.head.appendChild(css);
  }

  // Counts for index pages: one request for every counter of the page.
  var counters = Array.prototype.slice.call(document.querySelectorAll("[data-replyguard-count]"));
  if (counters.length) {
    var uris = counters.map(function (c) {
      var value = c.getAttribute("data-replyguard-count");
      if (value) {
        return value;
      }
      return new URL(c.getAttribute("href") || location.pathname, location.href).pathname;
    });
    call("POST", "count", uris).then(function (r) {
      if (r.status !== 200 || !Array.isArray(r.data)) {
        return;
      }
      counters.forEach(function (c, i) {
        c.textContent = plural(r.data[i] || 0, "comment", "comments");
      });
    });
  }

  var host = document.getElementById("replyguard-thread") || document.querySelector("[data-replyguard-thread]");
  if (!host) {
    return;
  }
  function attr(name, fallback) {
    return host.getAttribute(name) || script.getAttribute(name) || fallback;
  }
  var uri = attr("data-uri", location.pathname);
  var title = attr("data-title", document.title);
  var pendingKey = "replyguard:pending:" + base + uri;

  // Comments of this reader that wait for a moderator: shown to them until published.
  function loadPending() {
    try {
      var list = JSON.parse(localStorage.getItem(pendingKey) || "[]");
      var month = Date.now() / 1000 - 30 * 86400;
      return list.filter(function (c) { return c && c.created > month; });
    } catch (e) {
      return [];
    }
  }
  function savePending(list) {
    try {
      localStorage.setItem(pendingKey, JSON.stringify(list));
    } catch (e) {
      // Storage off: the answer is still shown until the page is left.
    }
  }

  var root = el("section", "replyguard");
  root.setAttribute("aria-label", "Comments");
  var heading = el("h2", "rg-heading", "Comments");
  var status = el("p", "rg-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  var list = el("ol", "rg-comments");
  host.textContent = "";
  root.appendChild(heading);
  root.appendChild(status);
  host.appendChild(root);

  var config = {};
  var total = 0;
  // The page's comments were closed on the old site (imported so): no form, no Reply buttons.
  var closed = false;

  function when(seconds) {
    var date = new Date(seconds * 1000);
    var t = el("time", "rg-date", date.toISOString().slice(0, 10));
    t.setAttribute("datetime", date.toISOString());
    return t;
  }

  function renderComment(c, pending) {
    var li = el("li", "rg-comment");
    li.id = "rg-comment-" + c.id;
    var meta = el("div", "rg-meta");
    var author = c.author ? decode(c.author) : "Anonymous";
    if (c.website) {
      var a = el("a", "rg-author", author);
      a.href = decode(c.website);
      a.rel = "nofollow ugc noopener";
      meta.appendChild(a);
    } else {
      meta.appendChild(el("span", "rg-author", author));
    }
    meta.appendChild(document.createTextNode(" · "));
    meta.appendChild(when(c.created));
    li.appendChild(meta);
    if (pending) {
      li.classList.add("rg-pending");
      li.appendChild(el("p", "rg-note", "Your comment is awaiting moderation."));
    }
    if (c.mode === 4) {
      // A deleted comment that replies still answer: say so, rather than show an empty one.
      li.classList.add("rg-deleted");
      li.appendChild(el("p", "rg-note", "This comment was deleted."));
    } else {
      var text = el("div", "rg-text");
      // Sanitized by the server: rendered Markdown, escaped plain text, or cleaned imported HTML.
      text.innerHTML = c.text;
      li.appendChild(text);
    }
    if (!pending && !closed && c.mode !== 4) {
      var reply = el("button", "rg-reply", "Reply");
      reply.type = "button";
      reply.setAttribute("aria-label", "Reply to " + author);
      reply.addEventListener("click", function () { openReply(li, c.id, author); });
      li.appendChild(reply);
    }
    var children = el("ol", "rg-replies");
    (c.replies || []).forEach(function (r) { children.appendChild(renderComment(r, false)); });
    li.appendChild(children);
    return li;
  }

  // The API escapes `author` and `website` for Isso's widget (which inserts them as HTML); this
  // script inserts text, so it turns the entities back.
  function decode(s) {
    var t = document.createElement("textarea");
    t.innerHTML = s;
    return t.value;
  }

  function setHeading() {
    heading.textContent = plural(total, "Comment", "Comments");
  }

  // --- The reply form ---
  var formId = 0;
  function field(form, name, label, type, required, note) {
    formId += 1;
    var id = "rg-" + name + "-" + formId;
    var p = el("p", "rg-field rg-field-" + name);
    var l = el("label", null, label + (required ? " *" : ""));
    l.htmlFor = id;
    var input = type === "textarea" ? el("textarea") : el("input");
    if (type !== "textarea") {
      input.type = type;
    }
    input.id = id;
    input.name = name;
    if (required) {
      input.required = true;
      input.setAttribute("aria-required", "true");
    }
    var error = el("span", "rg-error");
    error.id = id + "-error";
    input.setAttribute("aria-describedby", error.id);
    p.appendChild(l);
    if (note) {
      p.appendChild(el("span", "rg-hint", note));
    }
    p.appendChild(input);
    p.appendChild(error);
    form.appendChild(p);
    form.fields[name] = { input: input, error: error };
    return input;
  }

  var form = el("form", "rg-form");
  form.noValidate = true;
  form.fields = {};
  var replyingTo = el("p", "rg-replying");
  replyingTo.hidden = true;
  var replyingName = el("span");
  var cancel = el("button", "rg-cancel", "Cancel reply");
  cancel.type = "button";
  replyingTo.appendChild(document.createTextNode("Replying to "));
  replyingTo.appendChild(replyingName);
  replyingTo.appendChild(document.createTextNode(". "));
  replyingTo.appendChild(cancel);
  form.appendChild(el("h3", "rg-form-title", "Leave a Reply"));
  form.appendChild(el("p", "rg-hint", "Your email address will not be published. Required fields are marked *"));
  form.appendChild(replyingTo);
  // The API renders comments as Markdown (as Isso does); Preview shows the result.
  var text = field(form, "text", "Comment", "textarea", true, "Markdown: *emphasis*, `code`, [link](https://…)");
  var authorInput = field(form, "author", "Name", "text", false);
  var emailInput = field(form, "email", "Email", "email", false, "never published");
  var websiteInput = field(form, "website", "Website", "url", false);
  var preview = el("div", "rg-preview");
  preview.hidden = true;
  preview.setAttribute("aria-live", "polite");
  form.appendChild(preview);
  var actions = el("p", "rg-actions");
  var previewButton = el("button", "rg-preview-button", "Preview");
  previewButton.type = "button";
  var submit = el("button", "rg-submit", "Post Comment");
  submit.type = "submit";
  actions.appendChild(previewButton);
  actions.appendChild(document.createTextNode(" "));
  actions.appendChild(submit);
  form.appendChild(actions);
  form.appendChild(el("p", "rg-hint", "This site uses replyguard to reduce spam."));
  var parent = null;

  function applyConfig() {
    [["author", authorInput, config["require-author"]], ["email", emailInput, config["require-email"]]].forEach(function (f) {
      f[1].required = !!f[2];
      var label = form.querySelector("label[for='" + f[1].id + "']");
      if (label && f[2] && label.textContent.slice(-2) !== " *") {
        label.textContent += " *";
      }
    });
  }

  function home() {
    root.insertBefore(form, list);
  }

  function openReply(li, id, author) {
    parent = id;
    replyingName.textContent = author;
    replyingTo.hidden = false;
    li.insertBefore(form, li.querySelector(".rg-replies"));
    text.focus();
  }

  cancel.addEventListener("click", function () {
    parent = null;
    replyingTo.hidden = true;
    home();
    text.focus();
  });

  previewButton.addEventListener("click", function () {
    call("POST", "preview", { text: text.value }).then(function (r) {
      if (r.status === 200 && r.data) {
        preview.innerHTML = r.data.text;
        preview.hidden = false;
      }
    });
  });

  // Field names as the server reports them, to the form's fields.
  var fieldOf = {
    comment_content: "text", text: "text",
    comment_author: "author", author: "author",
    comment_author_email: "email", email: "email",
    comment_author_url: "website", website: "website"
  };

  function clearErrors() {
    Object.keys(form.fields).forEach(function (k) {
      form.fields[k].error.textContent = "";
      form.fields[k].input.removeAttribute("aria-invalid");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    if (!text.value.trim()) {
      form.fields.text.error.textContent = "Please type your comment.";
      text.setAttribute("aria-invalid", "true");
      text.focus();
      return;
    }
    submit.disabled = true;
    status.textContent = "Posting…";
    var body = {
      text: text.value,
      author: authorInput.value,
      email: emailInput.value,
      website: websiteInput.value,
      parent: parent,
      title: title
    };
    call("POST", "new?uri=" + encodeURIComponent(uri), body).then(function (r) {
      submit.disabled = false;
      if (r.status === 201 || r.status === 202) {
        var c = r.data;
        var pending = r.status === 202;
        var node = renderComment(c, pending);
        var target = parent ? document.querySelector("#rg-comment-" + parent + " > .rg-replies") : list;
        (target || list).appendChild(node);
        if (pending) {
          var saved = loadPending();
          saved.push({ id: c.id, text: c.text, author: c.author, website: c.website, created: c.created, parent: parent });
          savePending(saved);
          status.textContent = "Your comment is awaiting moderation.";
        } else {
          total += 1;
          setHeading();
          status.textContent = "Your comment is published.";
        }
        text.value = "";
        preview.hidden = true;
        parent = null;
        replyingTo.hidden = true;
        home();
        node.setAttribute("tabindex", "-1");
        node.focus();
        return;
      }
      var data = r.data || {};
      var fields = data.fields || {};
      var first = null;
      Object.keys(fields).forEach(function (k) {
        var f = form.fields[fieldOf[k]];
        if (f) {
          f.error.textContent = fields[k];
          f.input.setAttribute("aria-invalid", "true");
          first = first || f.input;
        }
      });
      status.textContent = data.error && !first ? data.error : "Please correct the marked fields; nothing you typed was lost.";
      if (r.status === 403 || r.status === 429 || r.status === 409) {
        status.textContent = data.error || "Your comment was not accepted.";
      }
      (first || text).focus();
    }, function () {
      submit.disabled = false;
      status.textContent = "The comment server cannot be reached; nothing was lost, try again.";
    });
  });

  // --- Load ---
  call("GET", "config").then(function (r) {
    if (r.status === 200 && r.data && r.data.config) {
      config = r.data.config;
      applyConfig();
    }
  });
  call("GET", "?uri=" + encodeURIComponent(uri)).then(function (r) {
    if (r.status !== 200 || !r.data) {
      var why = r.data && r.data.error ? r.data.error : "error " + r.status;
      heading.textContent = "Comments are unavailable";
      status.textContent = why;
      return;
    }
    total = r.data.total_replies || 0;
    closed = r.data.closed === true;
    setHeading();
    var shown = {};
    (r.data.replies || []).forEach(function (c) {
      shown[c.id] = true;
      (c.replies || []).forEach(function (x) { shown[x.id] = true; });
      list.appendChild(renderComment(c, false));
    });
    // Still waiting: shown to their author only; published ones leave the list.
    var waiting = loadPending().filter(function (c) { return !shown[c.id]; });
    savePending(waiting);
    waiting.forEach(function (c) {
      var target = c.parent ? document.querySelector("#rg-comment-" + c.parent + " > .rg-replies") : list;
      (target || list).appendChild(renderComment(c, true));
    });
    root.appendChild(list);
    if (closed) {
      root.appendChild(el("p", "rg-closed", "Comments are closed on this page."));
    } else {
      home();
    }
  }, function () {
    // A refused origin looks like this too: the browser hides a 403 without CORS headers.
    heading.textContent = "Comments are unavailable";
    status.textContent = "The comment server cannot be reached from this page. If it is running, " +
      "its site must list this page's origin: replyguard sites add NAME --origin " + location.origin;
  });
})();
