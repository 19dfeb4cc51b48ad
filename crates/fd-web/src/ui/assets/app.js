// Frontdesk's own script: progressive enhancement only. Every page works without it; this
// adds the rich-text editor, draft autosave, @mentions, record pickers, live updates (SSE),
// presence and keyboard shortcuts.
(function () {
  "use strict";
  var doc = document;
  var body = doc.body;
  doc.documentElement.classList.add("js");
  var csrf = body.dataset.csrf || "";
  var watch = body.dataset.watch || "";

  function post(url, data) {
    var form = data instanceof FormData ? data : new FormData();
    if (!(data instanceof FormData)) {
      Object.keys(data || {}).forEach(function (k) { form.append(k, data[k]); });
    }
    form.set("_csrf", csrf);
    return fetch(url, {
      method: "POST",
      body: new URLSearchParams(form),
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin"
    });
  }
  function debounce(fn, ms) {
    var t;
    return function () { var a = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, a); }, ms); };
  }
  function typing(e) {
    var t = e.target;
    return t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName);
  }

  // Message frames: size each sandboxed frame to its content (same-origin, scripts off).
  function sizeFrames(root) {
    (root || doc).querySelectorAll("iframe.msg-frame").forEach(function (f) {
      function fit() {
        try {
          var b = f.contentDocument && f.contentDocument.body;
          var h = b && b.scrollHeight + 16;
          if (h) { f.style.height = Math.min(h, 2000) + "px"; }
        } catch (e) { /* cross-origin: keep the default height */ }
      }
      f.addEventListener("load", fit);
      fit();
    });
  }

  // "Load remote images": the link targets the message's frame by name, so it works without
  // script. Here the frame's src changes instead, and the choice is remembered for the page's
  // life so a live refresh of the thread (which re-renders the frame) keeps the images.
  var remoteFrames = {};
  function applyRemote(root) {
    Object.keys(remoteFrames).forEach(function (name) {
      var a = root.querySelector('a[data-remote-images="' + name + '"]');
      var f = root.querySelector('iframe[name="' + name + '"]');
      if (!a || !f) { return; }
      f.setAttribute("src", a.getAttribute("href"));
      a.parentNode.textContent = "Remote images are shown for this message.";
    });
  }
  doc.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-remote-images]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button) { return; }
    e.preventDefault();
    remoteFrames[a.dataset.remoteImages] = true;
    applyRemote(doc);
  });

  // ---- Times (issue 13, item 8) -----------------------------------------------------------
  // The server writes every time in the agent's own zone and one format, and words recent
  // ones relative to now ("5 min ago", marked data-ticking). The script only keeps those words
  // current as minutes pass, with fd-domain's thresholds (local_time::stamp); it never turns a
  // time into another format: past 12 hours it leaves the server's words alone.
  function relativeWords(ms) {
    var age = Date.now() - ms;
    if (isNaN(age) || age < 0 || age >= 12 * 3600000) { return null; }
    if (age < 60000) { return "just now"; }
    if (age < 3600000) { return Math.floor(age / 60000) + " min ago"; }
    return Math.floor(age / 3600000) + " h ago";
  }
  function localTimes(root) {
    (root || doc).querySelectorAll("time[data-ticking]").forEach(function (t) {
      var words = relativeWords(Date.parse(t.getAttribute("datetime")));
      if (words && t.textContent !== words) { t.textContent = words; }
    });
  }
  setInterval(function () { localTimes(); }, 30000);

  // ---- Threads open at the newest message (issue 13, item 8) -------------------------------
  // Without script the "Jump to latest" link does it. A page opened at an anchor (#message-N,
  // #editor) keeps it. Frames grow as their mail loads, so the page re-aligns once everything
  // has loaded, unless the agent has started moving around meanwhile.
  function openAtLatest() {
    var latest = doc.getElementById("latest");
    if (!latest || location.hash) { return; }
    var moved = false;
    function mark() { moved = true; }
    ["wheel", "touchstart", "keydown", "mousedown"].forEach(function (t) {
      window.addEventListener(t, mark, { once: true, passive: true });
    });
    latest.scrollIntoView({ block: "start" });
    window.addEventListener("load", function () {
      if (!moved && !location.hash) { latest.scrollIntoView({ block: "start" }); }
    });
  }

  // ---- Time zone choice on the profile page (issue 13, item 8) -----------------------------
  // Offers the browser's own zone; the server checks the name like any other.
  function offerBrowserZone() {
    var btn = doc.getElementById("use-browser-zone");
    var sel = doc.getElementById("time-zone");
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (!btn || !sel || !zone) { return; }
    var has = Array.prototype.some.call(sel.options, function (o) { return o.value === zone; });
    if (!has) { return; }
    btn.textContent = "Use this browser's time zone (" + zone + ")";
    btn.hidden = false;
    btn.addEventListener("click", function () { sel.value = zone; sel.focus(); });
  }

  // ---- The reply editor -------------------------------------------------------------------
  var replyForm = doc.getElementById("pane-reply");
  var rich = null;
  function syncBody() {
    if (!rich || !replyForm) { return; }
    replyForm.elements.body_html.value = rich.innerHTML;
    replyForm.elements.body.value = rich.innerText;
  }
  function insertHtml(html) {
    if (!rich) { return; }
    rich.focus();
    doc.execCommand("insertHTML", false, html);
    syncBody();
    saveDraft();
  }
  var lastPresence = 0;
  function reportTyping() {
    if (!watch || Date.now() - lastPresence < 5000) { return; }
    lastPresence = Date.now();
    post("/ui/presence", { watch: watch, replying: "1" });
  }
  var saveDraft = debounce(function () {
    if (!replyForm) { return; }
    var url = doc.getElementById("editor").dataset.draftUrl;
    syncBody();
    var data = new FormData(replyForm);
    data.set("js", "1");
    post(url, data).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      var s = doc.getElementById("draft-state");
      if (j && s) { s.textContent = "Draft saved " + j.saved; }
    }).catch(function () {});
  }, 700);

  if (replyForm) {
    var ta = replyForm.elements.body;
    rich = doc.createElement("div");
    rich.className = "rich";
    rich.contentEditable = "true";
    rich.id = "rich-body";
    rich.setAttribute("role", "textbox");
    rich.setAttribute("aria-multiline", "true");
    rich.setAttribute("aria-label", "Message");
    rich.innerHTML = ta.dataset.html || "";
    ta.hidden = true;
    ta.insertAdjacentElement("afterend", rich);
    var lbl = replyForm.querySelector(".body-label");
    if (lbl) { lbl.setAttribute("for", "rich-body"); lbl.addEventListener("click", function () { rich.focus(); }); }
    var bar = replyForm.querySelector(".toolbar");
    if (bar) { bar.hidden = false; }
    syncBody();
    rich.addEventListener("input", function () { syncBody(); saveDraft(); reportTyping(); });
    ["to", "cc", "from", "reply_to"].forEach(function (n) {
      var el = replyForm.elements[n];
      if (el) { el.addEventListener("change", saveDraft); el.addEventListener("input", saveDraft); }
    });
    replyForm.addEventListener("submit", syncBody);
    rich.addEventListener("paste", function (e) {
      var items = (e.clipboardData && e.clipboardData.items) || [];
      for (var i = 0; i < items.length; i++) {
        if (items[i].type.indexOf("image/") === 0) {
          var file = items[i].getAsFile();
          var reader = new FileReader();
          reader.onload = function () { insertHtml('<img src="' + reader.result + '" alt="Pasted image">'); };
          reader.readAsDataURL(file);
          e.preventDefault();
          return;
        }
      }
    });
    replyForm.querySelectorAll("[data-cmd]").forEach(function (b) {
      b.addEventListener("click", function () {
        rich.focus();
        var cmd = b.dataset.cmd;
        if (cmd === "createLink") {
          var url = prompt("Link address (https://…)");
          if (url && /^(https?:|mailto:)/i.test(url)) { doc.execCommand("createLink", false, url); }
        } else {
          doc.execCommand(cmd, false, null);
        }
        syncBody();
        saveDraft();
      });
    });
    var ins = replyForm.querySelector("[data-insert]");
    if (ins) {
      ins.addEventListener("change", function () {
        var v = ins.value;
        ins.value = "";
        if (v.indexOf("lib-") === 0) {
          var t = doc.getElementById(v);
          if (t) { insertHtml(t.innerHTML); }
        } else if (v.indexOf("card:") === 0) {
          var kind = v.slice(5);
          var url = prompt(kind + " link (https://…)");
          if (!url || !/^https?:/i.test(url)) { return; }
          var title = prompt(kind + " title") || url;
          var a = doc.createElement("a");
          a.href = url;
          a.textContent = title;
          insertHtml("<p>[" + kind + "] " + a.outerHTML + "</p>");
        }
      });
    }
    var sug = replyForm.querySelector("[data-suggest]");
    if (sug) {
      sug.addEventListener("click", function () {
        fetch(sug.dataset.suggest, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
          var ul = doc.getElementById("suggestions");
          ul.innerHTML = "";
          ul.hidden = false;
          if (!list.length) { ul.textContent = "No matching articles."; return; }
          list.forEach(function (s) {
            var li = doc.createElement("li");
            var b = doc.createElement("button");
            b.type = "button";
            b.textContent = "Insert " + s.title;
            b.addEventListener("click", function () { insertHtml(s.body); });
            li.appendChild(b);
            ul.appendChild(li);
          });
        });
      });
    }
    // HD-19: a conditional status asks for its required properties before sending.
    var status = replyForm.querySelector("#send-status");
    var prompt1 = replyForm.querySelector(".js-prompt");
    if (status && prompt1) {
      status.addEventListener("change", function () {
        var opt = status.options[status.selectedIndex];
        var req = (opt && opt.dataset.required) ? opt.dataset.required.split(",").filter(Boolean) : [];
        var box = prompt1.querySelector(".prompt-fields");
        box.innerHTML = "";
        req.forEach(function (name) {
          if (replyForm.querySelector('[name="p.' + name + '"]')) { return; }
          var id = "prompt-" + name;
          var l = doc.createElement("label"); l.htmlFor = id; l.textContent = name + " (required)";
          var i = doc.createElement("input"); i.id = id; i.name = "p." + name;
          box.appendChild(l); box.appendChild(i);
        });
        prompt1.hidden = !box.children.length;
      });
    }
  }

  // Reply to an earlier message (HD-14) without leaving the page.
  doc.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("[data-reply-to]");
    if (!a || !replyForm || !replyForm.elements.reply_to) { return; }
    var sel = replyForm.elements.reply_to;
    var has = Array.prototype.some.call(sel.options, function (o) { return o.value === a.dataset.replyTo; });
    if (!has) { return; }
    e.preventDefault();
    sel.value = a.dataset.replyTo;
    showTab("reply");
    if (rich) { rich.focus(); }
    saveDraft();
  });

  // Tabs.
  function showTab(name) {
    var r = doc.getElementById("pane-reply"), c = doc.getElementById("pane-comment");
    if (!r || !c) { return; }
    r.hidden = name !== "reply";
    c.hidden = name !== "comment";
    doc.getElementById("tab-reply").setAttribute("aria-selected", String(name === "reply"));
    doc.getElementById("tab-comment").setAttribute("aria-selected", String(name === "comment"));
  }
  doc.querySelectorAll("[data-tab]").forEach(function (t) {
    t.addEventListener("click", function (e) { e.preventDefault(); showTab(t.dataset.tab); var f = doc.getElementById(t.dataset.tab === "reply" ? "rich-body" : "comment"); if (f) { f.focus(); } });
  });

  // @mentions (HD-21).
  var commentForm = doc.getElementById("pane-comment");
  var commentBox = doc.getElementById("comment");
  if (commentForm && commentBox) {
    var users = [];
    try { users = JSON.parse(commentForm.dataset.mentions || "[]"); } catch (e) { users = []; }
    var list = doc.getElementById("mention-list");
    var active = 0, matches = [];
    function query() {
      var upto = commentBox.value.slice(0, commentBox.selectionStart);
      var m = /(^|\s)@([^\s@]*)$/.exec(upto);
      return m ? m[2].toLowerCase() : null;
    }
    function render() {
      list.innerHTML = "";
      matches.forEach(function (u, i) {
        var li = doc.createElement("li");
        li.setAttribute("role", "option");
        li.id = "mention-" + u.id;
        li.setAttribute("aria-selected", String(i === active));
        li.textContent = u.name + " (" + u.email + ")";
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(u); });
        list.appendChild(li);
      });
      list.hidden = !matches.length;
      if (matches.length) { commentBox.setAttribute("aria-activedescendant", "mention-" + matches[active].id); } else { commentBox.removeAttribute("aria-activedescendant"); }
    }
    function choose(u) {
      var pos = commentBox.selectionStart;
      var before = commentBox.value.slice(0, pos).replace(/@([^\s@]*)$/, "@" + u.name + " ");
      commentBox.value = before + commentBox.value.slice(pos);
      commentBox.selectionStart = commentBox.selectionEnd = before.length;
      matches = [];
      render();
      commentBox.focus();
    }
    commentBox.addEventListener("input", function () {
      var q = query();
      matches = q === null ? [] : users.filter(function (u) {
        return u.name.toLowerCase().indexOf(q) === 0 || u.email.toLowerCase().indexOf(q) === 0;
      }).slice(0, 8);
      active = 0;
      render();
    });
    commentBox.addEventListener("keydown", function (e) {
      if (!matches.length) { return; }
      if (e.key === "ArrowDown") { active = (active + 1) % matches.length; render(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = (active + matches.length - 1) % matches.length; render(); e.preventDefault(); }
      else if (e.key === "Enter" || e.key === "Tab") { choose(matches[active]); e.preventDefault(); }
      else if (e.key === "Escape") { matches = []; render(); }
    });
  }

  // Record pickers (HD-11, HD-12, HD-18): search, then pick into a hidden field.
  doc.querySelectorAll("input[data-search]").forEach(function (input) {
    var target = doc.getElementById(input.dataset.target);
    var multi = input.dataset.multi === "1";
    var ul = doc.createElement("ul");
    ul.className = "picker";
    ul.setAttribute("role", "listbox");
    ul.hidden = true;
    input.insertAdjacentElement("afterend", ul);
    var chosen = doc.querySelector('[data-chosen-for="' + input.dataset.target + '"]');
    var run = debounce(function () {
      var q = input.value.trim();
      if (q.length < 1) { ul.hidden = true; return; }
      fetch(input.dataset.search + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) {
          ul.innerHTML = "";
          items.forEach(function (it) {
            var li = doc.createElement("li");
            li.setAttribute("role", "option");
            li.tabIndex = 0;
            li.textContent = (it.label || "(no name)") + (it.detail ? " — " + it.detail : "");
            function pick() {
              if (multi) {
                var ids = target.value ? target.value.split(",") : [];
                if (ids.indexOf(String(it.id)) < 0) { ids.push(String(it.id)); }
                target.value = ids.join(",");
                if (chosen) { var c = doc.createElement("li"); c.textContent = li.textContent; chosen.appendChild(c); }
                input.value = "";
              } else {
                target.value = it.id;
                input.value = li.textContent;
              }
              ul.hidden = true;
            }
            li.addEventListener("click", pick);
            li.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); pick(); } });
            ul.appendChild(li);
          });
          ul.hidden = !items.length;
        });
    }, 200);
    input.addEventListener("input", run);
  });

  doc.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  doc.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) { if (!confirm(f.dataset.confirm)) { e.preventDefault(); } });
  });

  // ---- Live updates and presence ------------------------------------------------------------
  var refresh = debounce(function () {
    fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (!html) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html");
      applyRemote(fresh);
      doc.querySelectorAll("[data-live]").forEach(function (el) {
        if (el.contains(doc.activeElement) && doc.activeElement !== doc.body) { return; }
        if (el.querySelector("details[open]")) { return; }
        var next = el.id && fresh.getElementById(el.id);
        if (!next) { return; }
        if (next.innerHTML !== el.innerHTML) {
          el.replaceWith(next);
          next.classList.add("flash");
          sizeFrames(next);
          localTimes(next);
        }
      });
    });
  }, 250);
  if (window.EventSource && body.dataset.csrf) {
    var es = new EventSource("/ui/events" + (watch ? "?watch=" + encodeURIComponent(watch) : ""));
    ["ticket", "conversation", "message", "notifications", "refresh"].forEach(function (t) {
      es.addEventListener(t, refresh);
    });
    // A change committed after this page was rendered but before the stream connected (or
    // while it was reconnecting) sent its event to nobody: catch up once the stream is open.
    es.addEventListener("open", refresh);
    es.addEventListener("presence", function (e) {
      var box = doc.getElementById("presence");
      if (!box) { return; }
      var people = [];
      try { people = JSON.parse(e.data); } catch (x) { people = []; }
      box.textContent = people.map(function (p) { return p.name + (p.replying ? " is replying" : " is viewing"); }).join(" · ");
    });
  }

  // ---- Keyboard shortcuts ------------------------------------------------------------------
  var rows = Array.prototype.slice.call(doc.querySelectorAll("tr[data-ticket]"));
  if (rows.length) {
    sessionStorage.setItem("fd-list", JSON.stringify(rows.map(function (r) { return r.dataset.ticket; })));
  }
  var sel = -1;
  function select(i) {
    if (!rows.length) { return; }
    sel = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle("selected", j === sel); });
    var a = rows[sel].querySelector("a");
    if (a) { a.focus(); }
  }
  function neighbour(step) {
    var here = doc.querySelector("[data-ticket]");
    var list = [];
    try { list = JSON.parse(sessionStorage.getItem("fd-list") || "[]"); } catch (e) { list = []; }
    if (!here) { return; }
    var i = list.indexOf(here.dataset.ticket);
    if (i >= 0 && list[i + step]) { location.href = "/helpdesk/tickets/" + list[i + step]; }
  }
  var help = doc.getElementById("shortcut-help");
  function toggleHelp(show) {
    if (!help) { return; }
    help.hidden = !show;
    if (show) { help.querySelector("button").focus(); }
  }
  doc.querySelectorAll("[data-close-dialog]").forEach(function (b) { b.addEventListener("click", function () { toggleHelp(false); }); });
  doc.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { toggleHelp(false); return; }
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var k = e.key;
    if (k === "j" || k === "k") {
      if (rows.length) { select(sel + (k === "j" ? 1 : -1)); } else { neighbour(k === "j" ? 1 : -1); }
    } else if (k === "Enter" && rows.length && sel >= 0) {
      var a = rows[sel].querySelector("a"); if (a) { location.href = a.href; }
    } else if (k === "r") {
      showTab("reply"); if (rich) { rich.focus(); }
    } else if (k === "c") {
      showTab("comment"); var cb = doc.getElementById("comment"); if (cb) { cb.focus(); }
    } else if (k === "a") {
      var o = doc.querySelector('[data-shortcut="assign"]') || doc.getElementById("f-hubspot_owner_id");
      if (o) { o.focus(); }
    } else if (k === "x") {
      var close = doc.querySelector('[data-shortcut="close"]');
      var st = doc.getElementById("send-status");
      if (close) { var m = close.closest("details"); if (m) { m.open = true; } close.focus(); }
      else if (st) {
        var opt = Array.prototype.find.call(st.options, function (o) { return o.dataset.closed === "true"; });
        if (opt) { st.value = opt.value; st.dispatchEvent(new Event("change")); doc.getElementById("send").focus(); }
      }
    } else if (k === "/") {
      var q = doc.querySelector('[data-shortcut="search"]'); if (q) { q.focus(); }
    } else if (k === "?") {
      toggleHelp(help && help.hidden);
    } else { return; }
    e.preventDefault();
  });

  sizeFrames();
  localTimes();
  openAtLatest();
  offerBrowserZone();
})();
