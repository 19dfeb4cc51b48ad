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

  // ---- Dialogs (they replace window.prompt) -------------------------------------------------
  // A modal <dialog>: showModal() makes the rest of the page inert, so focus stays inside, and
  // Escape closes it; focus then goes back where it was. `validate` names what is wrong (the
  // dialog stays open), `apply` runs once it has closed.
  var dialogSeq = 0;
  function openDialog(opts) {
    var back = doc.activeElement;
    var id = "dlg-" + (++dialogSeq);
    var dlg = doc.createElement("dialog");
    dlg.className = "fd-dialog";
    dlg.setAttribute("aria-labelledby", id + "-title");
    var form = doc.createElement("form");
    form.method = "dialog";
    form.className = "stack";
    form.noValidate = true;
    var h = doc.createElement("h2");
    h.id = id + "-title";
    h.textContent = opts.title;
    form.appendChild(h);
    opts.fields.forEach(function (f) {
      var l = doc.createElement("label");
      l.htmlFor = id + "-" + f.name;
      l.textContent = f.label;
      var i = doc.createElement("input");
      i.id = l.htmlFor;
      i.name = f.name;
      i.type = "text";
      i.autocomplete = "off";
      if (f.inputmode) { i.setAttribute("inputmode", f.inputmode); }
      i.value = f.value || "";
      form.appendChild(l);
      form.appendChild(i);
    });
    var err = doc.createElement("p");
    err.className = "dialog-error";
    err.setAttribute("role", "alert");
    form.appendChild(err);
    var acts = doc.createElement("div");
    acts.className = "actions";
    var ok = doc.createElement("button");
    ok.type = "submit";
    ok.className = "primary";
    ok.textContent = opts.submit || "OK";
    var cancel = doc.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", function () { dlg.close(); });
    acts.appendChild(ok);
    acts.appendChild(cancel);
    form.appendChild(acts);
    dlg.appendChild(form);
    var values = null;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var v = {};
      opts.fields.forEach(function (f) { v[f.name] = form.elements[f.name].value.trim(); });
      var problem = opts.validate ? opts.validate(v) : null;
      if (problem) { err.textContent = problem; form.elements[opts.fields[0].name].focus(); return; }
      values = v;
      dlg.close();
    });
    dlg.addEventListener("close", function () {
      dlg.remove();
      if (back && back.focus) { back.focus(); }
      if (values && opts.apply) { opts.apply(values); }
    });
    body.appendChild(dlg);
    dlg.showModal();
    return dlg;
  }
  function savedRange() {
    var s = window.getSelection();
    if (!rich || !s.rangeCount) { return null; }
    var r = s.getRangeAt(0);
    return rich.contains(r.commonAncestorContainer) ? r.cloneRange() : null;
  }
  function restoreRange(r) {
    if (!rich) { return; }
    rich.focus();
    if (!r) {
      // No caret in the message: the insert goes at its end.
      r = doc.createRange();
      r.selectNodeContents(rich);
      r.collapse(false);
    }
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }
  // Link, document, meeting, quote and video inserts: address and text in one dialog. The
  // selected text, if any, becomes the link's text.
  function askLink(title, label, pattern, kind) {
    var range = savedRange();
    openDialog({
      title: title,
      submit: "Insert",
      fields: [
        { name: "url", label: label, inputmode: "url" },
        { name: "text", label: kind ? kind + " title" : "Text to show", value: range ? range.toString() : "" }
      ],
      validate: function (v) {
        return pattern.test(v.url) ? null : "Enter an address starting with " + (kind ? "https://" : "https:// or mailto:") + ".";
      },
      apply: function (v) {
        restoreRange(range);
        var a = doc.createElement("a");
        a.href = v.url;
        a.textContent = v.text || v.url;
        insertHtml(kind ? "<p>[" + kind + "] " + a.outerHTML + "</p>" : a.outerHTML);
      }
    });
  }
  // A library item's body is HTML, and a snippet typed as plain lines keeps bare newlines that
  // HTML would collapse into spaces: newlines inside text become <br> (whitespace between tags
  // and <pre> are left alone).
  function keepBreaks(html) {
    var t = doc.createElement("template");
    t.innerHTML = html;
    var walk = doc.createTreeWalker(t.content, NodeFilter.SHOW_TEXT);
    var texts = [];
    while (walk.nextNode()) { texts.push(walk.currentNode); }
    texts.forEach(function (n) {
      var pe = n.parentElement;
      if (!/\S/.test(n.nodeValue) || !/[\r\n]/.test(n.nodeValue) || (pe && pe.closest("pre"))) { return; }
      var lines = n.nodeValue.replace(/\r\n?/g, "\n").replace(/^\n+|\n+$/g, "").split("\n");
      var frag = doc.createDocumentFragment();
      lines.forEach(function (line, i) {
        if (i) { frag.appendChild(doc.createElement("br")); }
        frag.appendChild(doc.createTextNode(line));
      });
      n.parentNode.replaceChild(frag, n);
    });
    return t.innerHTML;
  }
  // A knowledge-base suggestion goes in as its title and a short excerpt, not the whole
  // article. The title links to the article's public address when the article names one (its
  // first http(s) link); articles have no page of their own in Frontdesk to link to.
  function articleCard(s) {
    var t = doc.createElement("template");
    t.innerHTML = s.body || "";
    var link = t.content.querySelector('a[href^="http"]');
    var text = (t.content.textContent || "").replace(/\s+/g, " ").trim();
    var excerpt = text.length > 200 ? text.slice(0, 200).replace(/\s+\S*$/, "") + "…" : text;
    var head = doc.createElement("p");
    var title = doc.createElement(link ? "a" : "strong");
    if (link) { title.href = link.getAttribute("href"); }
    title.textContent = s.title;
    head.appendChild(title);
    var p = doc.createElement("p");
    p.textContent = excerpt;
    return head.outerHTML + (excerpt ? p.outerHTML : "");
  }

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
    // A pasted image becomes an attachment (uploaded at once, shown as a chip).
    rich.addEventListener("paste", function (e) {
      var items = (e.clipboardData && e.clipboardData.items) || [];
      var files = [];
      for (var i = 0; i < items.length; i++) {
        if (items[i].type.indexOf("image/") === 0) {
          var file = items[i].getAsFile();
          if (file) { files.push(file); }
        }
      }
      if (files.length) {
        e.preventDefault();
        uploadAttachments(files);
      }
    });
    replyForm.querySelectorAll("[data-cmd]").forEach(function (b) {
      b.addEventListener("click", function () {
        var cmd = b.dataset.cmd;
        if (cmd === "createLink") {
          // Not focused first: that would move the caret to the start and lose the selection.
          askLink("Insert link", "Link address (https://… or mailto:…)", /^(https?:|mailto:)/i, false);
          return;
        }
        rich.focus();
        doc.execCommand(cmd, false, null);
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
          if (t) { insertHtml(keepBreaks(t.innerHTML)); }
        } else if (v.indexOf("card:") === 0) {
          var kind = v.slice(5);
          askLink("Insert " + kind.toLowerCase() + " link", kind + " link (https://…)", /^https?:/i, kind);
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
          if (!list.length) { ul.textContent = "No matching articles or past replies."; return; }
          list.forEach(function (s) {
            var li = doc.createElement("li");
            var b = doc.createElement("button");
            b.type = "button";
            // A past reply (issue 16) goes in whole; an article as its card.
            var reply = s.kind === "reply";
            b.textContent = reply ? "Insert reply from #" + s.ticket + ": " + s.title : "Insert " + s.title;
            b.addEventListener("click", function () { insertHtml(reply ? s.body : articleCard(s)); });
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

  // Attachments (issue 15, item 7): files dropped on the editor or pasted images are uploaded
  // at once (POST /files/upload, owned by this agent until sent) and shown as chips with a
  // remove button; the form sends the chips' ids with the reply. Without script the file input
  // sends the files with the form. A refused upload shows its reason and leaves the draft.
  var attachBox = replyForm && replyForm.querySelector("#attachments");
  function attachError(msg) {
    var el = doc.getElementById("attach-error");
    if (!el) { return; }
    el.textContent = msg || "";
    el.hidden = !msg;
  }
  function chipRemovable(li) {
    if (li.querySelector("button.chip-remove")) { return; }
    var cb = li.querySelector('input[name="attachment"]');
    var name = li.querySelector("a");
    if (cb) { cb.hidden = true; }
    var b = doc.createElement("button");
    b.type = "button";
    b.className = "chip-remove link";
    b.textContent = "Remove";
    b.setAttribute("aria-label", "Remove " + (name ? name.textContent : "file"));
    b.addEventListener("click", function () { li.parentNode.removeChild(li); });
    li.appendChild(b);
  }
  function addChip(f) {
    var ul = doc.getElementById("attachment-chips");
    if (!ul) { return; }
    var li = doc.createElement("li");
    li.className = "chip";
    var cb = doc.createElement("input");
    cb.type = "checkbox"; cb.name = "attachment"; cb.value = String(f.id); cb.checked = true;
    cb.id = "att-" + f.id;
    var l = doc.createElement("label");
    l.htmlFor = cb.id;
    var a = doc.createElement("a");
    a.href = f.href; a.textContent = f.name;
    var size = doc.createElement("span");
    size.className = "muted"; size.textContent = " (" + f.size + ")";
    l.appendChild(a); l.appendChild(size);
    li.appendChild(cb); li.appendChild(l);
    ul.appendChild(li);
    chipRemovable(li);
  }
  function uploadAttachments(files) {
    if (!attachBox || !files.length) { return; }
    var form = new FormData();
    for (var i = 0; i < files.length; i++) {
      var f = files[i];
      var name = f.name || ("pasted-image." + ((f.type || "image/png").split("/")[1] || "png"));
      form.append("files", f, name);
    }
    form.set("_csrf", csrf);
    attachError("");
    fetch(attachBox.dataset.uploadUrl, {
      method: "POST", body: form, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin"
    }).then(function (r) {
      return r.json().catch(function () { return { error: "The upload failed (" + r.status + ")." }; });
    }).then(function (res) {
      if (res.error) { attachError(res.error); return; }
      (res.files || []).forEach(addChip);
    }).catch(function () { attachError("The upload failed: check your connection and try again."); });
  }
  if (attachBox) {
    attachBox.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    attachBox.querySelectorAll("#attachment-chips li").forEach(chipRemovable);
    var dropTargets = [replyForm.querySelector("#rich-body"), attachBox];
    dropTargets.forEach(function (t) {
      if (!t) { return; }
      t.addEventListener("dragover", function (e) {
        if (e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") >= 0) {
          e.preventDefault();
          attachBox.classList.add("dropping");
        }
      });
      t.addEventListener("dragleave", function () { attachBox.classList.remove("dropping"); });
      t.addEventListener("drop", function (e) {
        var files = e.dataTransfer && e.dataTransfer.files;
        if (files && files.length) {
          e.preventDefault();
          attachBox.classList.remove("dropping");
          uploadAttachments(files);
        }
      });
    });
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

  // ---- Record pickers (HD-11, HD-12, HD-18): search, then pick into a hidden field ----------
  // The ARIA combobox pattern: the input owns a listbox; ArrowDown/ArrowUp move the active
  // option (aria-activedescendant), Enter picks it and never submits the form, Escape closes.
  // Events are delegated from the document, so a picker inside a live region keeps working
  // after the region is merged again; `pickerInit` is idempotent and runs after every merge.
  function pickerInit(input) {
    var listId = (input.id || "picker") + "-list";
    var ul = doc.getElementById(listId);
    if (!ul) {
      ul = doc.createElement("ul");
      ul.id = listId;
      ul.className = "picker";
      ul.setAttribute("role", "listbox");
      ul.setAttribute("data-js-owned", "");
      var lbl = input.id && doc.querySelector('label[for="' + input.id + '"]');
      ul.setAttribute("aria-label", (lbl ? lbl.textContent : "Search") + " results");
      ul.hidden = true;
      input.insertAdjacentElement("afterend", ul);
    }
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);
    if (!input.hasAttribute("aria-expanded")) { input.setAttribute("aria-expanded", "false"); }
    if (!input._picker) { input._picker = { items: [], active: -1, seq: 0 }; }
    return ul;
  }
  function pickersIn(root) {
    (root || doc).querySelectorAll("input[data-search]").forEach(pickerInit);
  }
  function pickerRender(input) {
    var ul = pickerInit(input);
    var st = input._picker;
    ul.innerHTML = "";
    st.items.forEach(function (it, i) {
      var li = doc.createElement("li");
      li.id = ul.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === st.active));
      li.dataset.index = String(i);
      li.textContent = (it.label || "(no name)") + (it.detail ? " — " + it.detail : "");
      ul.appendChild(li);
    });
    var open = st.items.length > 0;
    ul.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    if (open && st.active >= 0) {
      input.setAttribute("aria-activedescendant", ul.id + "-" + st.active);
      var cur = doc.getElementById(ul.id + "-" + st.active);
      if (cur && cur.scrollIntoView) { cur.scrollIntoView({ block: "nearest" }); }
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }
  function pickerClose(input) {
    if (!input._picker) { return; }
    input._picker.items = [];
    input._picker.active = -1;
    pickerRender(input);
  }
  function pickerSearch(input) {
    pickerInit(input);
    var st = input._picker;
    var q = input.value.trim();
    var seq = ++st.seq;
    if (!q) { pickerClose(input); return; }
    fetch(input.dataset.search + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        if (seq !== st.seq) { return; }
        st.items = items || [];
        st.active = st.items.length ? 0 : -1;
        pickerRender(input);
      }).catch(function () {});
  }
  var pickerSearchSoon = debounce(pickerSearch, 200);
  function pickerPick(input, i) {
    var st = input._picker;
    var it = st && st.items[i];
    if (!it) { return; }
    var target = doc.getElementById(input.dataset.target);
    var label = (it.label || "(no name)") + (it.detail ? " — " + it.detail : "");
    if (!target) { return; }
    // A live merge leaves a picked value alone (see liveMerge).
    target.setAttribute("data-picked", "");
    if (input.dataset.multi === "1") {
      var ids = target.value ? target.value.split(",") : [];
      if (ids.indexOf(String(it.id)) < 0) {
        ids.push(String(it.id));
        var chosen = doc.querySelector('[data-chosen-for="' + input.dataset.target + '"]');
        if (chosen) { var c = doc.createElement("li"); c.textContent = label; chosen.appendChild(c); }
      }
      target.value = ids.join(",");
      input.value = "";
    } else {
      target.value = it.id;
      input.value = label;
    }
    pickerClose(input);
    input.focus();
  }
  doc.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("input[data-search]")) { pickerSearchSoon(e.target); }
  });
  doc.addEventListener("keydown", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches("input[data-search]")) { return; }
    pickerInit(input);
    var st = input._picker;
    var n = st.items.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!n) { pickerSearch(input); return; }
      st.active = e.key === "ArrowDown" ? (st.active + 1) % n : (st.active + n - 1) % n;
      pickerRender(input);
    } else if (e.key === "Enter") {
      // Enter in a picker picks; it never submits the surrounding form.
      e.preventDefault();
      if (n && st.active >= 0) { pickerPick(input, st.active); }
    } else if (e.key === "Escape") {
      if (n) { e.preventDefault(); e.stopPropagation(); pickerClose(input); }
    }
  });
  doc.addEventListener("mousedown", function (e) {
    var li = e.target.closest && e.target.closest(".picker li[role=option]");
    if (li) { e.preventDefault(); }
  });
  doc.addEventListener("click", function (e) {
    var li = e.target.closest && e.target.closest(".picker li[role=option]");
    if (!li) { return; }
    var input = doc.querySelector('input[aria-controls="' + li.parentNode.id + '"]');
    if (input) { pickerPick(input, Number(li.dataset.index)); }
  });
  doc.addEventListener("focusout", function (e) {
    var input = e.target;
    // Options take no focus (mousedown is prevented), so leaving the input closes its list.
    if (input.matches && input.matches("input[data-search]")) { pickerClose(input); }
  });
  pickersIn(doc);

  doc.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  doc.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) { if (!confirm(f.dataset.confirm)) { e.preventDefault(); } });
  });

  // ---- Live updates and presence ------------------------------------------------------------
  // On every event the page is fetched again and each [data-live] region is merged into the
  // open one with idiomorph (vendored, see assets.rs): only what changed is touched. What the
  // agent is doing survives: the focused field, any field whose value differs from what the
  // server last rendered (an unsaved edit), a picked record, open <details>, pickers and their
  // lists, scroll position and the list's j/k selection. When the server's value of a field
  // being edited changed underneath, the field keeps the agent's value and says who changed it.
  function liveValue(el) {
    if (el.tagName === "SELECT") {
      return Array.prototype.filter.call(el.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; }).join(";");
    }
    if (el.type === "checkbox" || el.type === "radio") { return String(el.checked); }
    return el.value;
  }
  function servedValue(el) {
    if (el.hasAttribute("data-served")) { return el.getAttribute("data-served"); }
    if (el.tagName === "SELECT") {
      var opts = Array.prototype.filter.call(el.options, function (o) { return o.defaultSelected; });
      if (!opts.length && !el.multiple && el.options.length) { opts = [el.options[0]]; }
      return opts.map(function (o) { return o.value; }).join(";");
    }
    if (el.type === "checkbox" || el.type === "radio") { return String(el.defaultChecked); }
    return el.defaultValue;
  }
  function shownValue(el) {
    if (el.tagName === "SELECT") {
      var opts = Array.prototype.filter.call(el.options, function (o) { return o.defaultSelected; });
      if (!opts.length && !el.multiple && el.options.length) { opts = [el.options[0]]; }
      return opts.map(function (o) { return o.textContent.trim(); }).join(", ");
    }
    return el.defaultValue;
  }
  function isField(n) { return n.nodeType === 1 && /^(INPUT|SELECT|TEXTAREA)$/.test(n.tagName); }
  function editing(el) {
    return el.type !== "hidden" && (el === doc.activeElement || liveValue(el) !== servedValue(el));
  }
  function changedHint(old, fresh) {
    var field = old.closest(".field") || old.parentNode;
    // The fresh field's wrapper names who changed it; idiomorph has already given the open
    // page's wrapper the fresh attributes when it reaches the field, so either will do.
    var src = (fresh.closest && fresh.closest("[data-changed-by]")) || old.closest("[data-changed-by]");
    var who = src ? src.getAttribute("data-changed-by") : "";
    var id = (old.id || "field") + "-changed";
    var hint = doc.getElementById(id);
    if (!hint) {
      hint = doc.createElement("p");
      hint.id = id;
      hint.className = "changed-hint";
      hint.setAttribute("data-js-owned", "");
      hint.setAttribute("role", "status");
      field.appendChild(hint);
    }
    hint.textContent = "Changed by " + (who || "someone else") + " to " + (shownValue(fresh) || "(empty)") +
      " while you were editing. Your value is kept until you save.";
    old.setAttribute("aria-describedby", id);
    old.setAttribute("data-served", servedValue(fresh));
    hint.classList.remove("flash");
    void hint.offsetWidth;
    hint.classList.add("flash");
  }
  function liveMerge(region, fresh) {
    var changed = [];
    var callbacks = {
      beforeNodeMorphed: function (old, neu) {
        if (old.nodeType === 3) {
          if (old.nodeValue !== neu.nodeValue && old.parentElement && /\S/.test(old.nodeValue + neu.nodeValue)) {
            changed.push(old.parentElement);
          }
          return true;
        }
        if (old.nodeType !== 1) { return true; }
        if (old.hasAttribute("data-js-owned")) { return false; }
        if (!isField(old)) { return true; }
        if (old.type === "hidden") {
          if (old.hasAttribute("data-picked")) { return false; }
          // The value a property had when the agent started editing it stays, so the save
          // compares against what the agent saw.
          var m = /^o\.(.+)$/.exec(old.name || "");
          var p = m && old.form && old.form.elements["p." + m[1]];
          if (p && p.nodeType === 1 && editing(p)) { return false; }
          return true;
        }
        if (editing(old)) {
          if (servedValue(old) !== servedValue(neu)) { changedHint(old, neu); }
          return false;
        }
        if (servedValue(old) !== servedValue(neu)) { changed.push(old.closest(".field") || old); }
        return true;
      },
      afterNodeAdded: function (n) {
        if (n.nodeType === 1) { changed.push(n); }
        else if (n.nodeType === 3 && n.parentElement && /\S/.test(n.nodeValue)) { changed.push(n.parentElement); }
      },
      beforeNodeRemoved: function (n) {
        return !(n.nodeType === 1 && n.hasAttribute("data-js-owned"));
      },
      beforeAttributeUpdated: function (attr, el) {
        if (attr === "open" && el.tagName === "DETAILS") { return false; }
        if (attr === "style" && el.classList.contains("msg-frame")) { return false; }
        if (el.hasAttribute("data-js-owned")) { return false; }
        return true;
      }
    };
    window.Idiomorph.morph(region, fresh, { morphStyle: "outerHTML", ignoreActiveValue: true, callbacks: callbacks });
    changed.forEach(function (el) {
      if (!el.isConnected || el.closest("[data-js-owned]")) { return; }
      el.classList.remove("flash");
      void el.offsetWidth;
      el.classList.add("flash");
    });
    sizeFrames(region);
    pickersIn(region);
  }
  var refresh = debounce(function () {
    fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (!html) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html");
      // The fresh copy gets what script does to a page first (remote images the agent asked
      // for, local times), so those are not mistaken for changes.
      applyRemote(fresh);
      localTimes(fresh);
      doc.querySelectorAll("[data-live]").forEach(function (el) {
        var next = el.id && fresh.getElementById(el.id);
        if (!next) { return; }
        if (window.Idiomorph) {
          liveMerge(el, next);
        } else if (!el.contains(doc.activeElement) && next.innerHTML !== el.innerHTML) {
          el.replaceWith(next);
        }
      });
      listRefreshed();
      // How many merges this page has had (the stream's state is on <body> as well).
      body.setAttribute("data-live-merges", String(Number(body.getAttribute("data-live-merges") || 0) + 1));
    });
  }, 250);
  if (window.EventSource && body.dataset.csrf) {
    var es = new EventSource("/ui/events" + (watch ? "?watch=" + encodeURIComponent(watch) : ""));
    ["ticket", "conversation", "message", "notifications", "refresh"].forEach(function (t) {
      es.addEventListener(t, refresh);
    });
    // A change committed after this page was rendered but before the stream connected (or
    // while it was reconnecting) sent its event to nobody: catch up once the stream is open.
    es.addEventListener("open", function () { body.setAttribute("data-live-state", "open"); refresh(); });
    es.addEventListener("error", function () { body.setAttribute("data-live-state", "reconnecting"); });
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
  // The selection is a ticket, not a row number: after a live update it stays on the same
  // ticket (wherever its row moved), or on the row now at its place if the ticket left.
  var selTicket = null;
  function markSelected() {
    rows.forEach(function (r, j) {
      r.classList.toggle("selected", j === sel);
      if (j === sel) { r.setAttribute("aria-current", "true"); } else { r.removeAttribute("aria-current"); }
    });
  }
  function select(i) {
    if (!rows.length) { return; }
    sel = Math.max(0, Math.min(rows.length - 1, i));
    selTicket = rows[sel].dataset.ticket;
    markSelected();
    var a = rows[sel].querySelector("a");
    if (a) { a.focus(); }
  }
  function listRefreshed() {
    rows = Array.prototype.slice.call(doc.querySelectorAll("tr[data-ticket]"));
    if (selTicket === null) { return; }
    var at = rows.findIndex(function (r) { return r.dataset.ticket === selTicket; });
    if (at < 0) { at = Math.min(sel, rows.length - 1); selTicket = at >= 0 ? rows[at].dataset.ticket : null; }
    sel = at;
    markSelected();
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

  // ---- Command palette (Ctrl/Cmd-K) ---------------------------------------------------------
  // One combobox in a modal <dialog> reaching tickets (by subject or number, through the help
  // desk list's own search), saved views and the workspace's actions. Every entry is a link
  // the pages already offer, so the palette adds no route of its own.
  var palette = null;
  function paletteActions() {
    var acts = [];
    function link(label, href, group) { acts.push({ label: label, href: href, group: group || "Action" }); }
    var nav = doc.querySelector(".workspaces");
    var hasDesk = !!(nav && nav.querySelector('a[href="/helpdesk"]'));
    if (hasDesk) { link("New ticket", "/helpdesk/new"); link("Help desk", "/helpdesk"); }
    link("Inbox", "/inbox");
    if (hasDesk) { link("My drafts", "/helpdesk?view=drafts"); }
    if (nav && nav.querySelector('a[href="/settings"]')) { link("Settings", "/settings"); }
    link("Notifications", "/notifications");
    link("Change password", "/profile/password");
    if (help) { acts.push({ label: "Keyboard shortcuts", group: "Action", run: function () { toggleHelp(true); } }); }
    return acts;
  }
  function viewsFrom(root) {
    var out = [];
    root.querySelectorAll("#views li a, .custom-views li > a").forEach(function (a) {
      var span = a.querySelector("span");
      out.push({ label: (span || a).textContent.trim(), href: a.getAttribute("href"), group: "View" });
    });
    return out;
  }
  function ticketsFrom(root) {
    var out = [];
    root.querySelectorAll("tr[data-ticket]").forEach(function (r) {
      var a = r.querySelector("a");
      if (a) { out.push({ label: "#" + r.dataset.ticket + " " + a.textContent.trim(), href: a.getAttribute("href"), group: "Ticket" }); }
    });
    return out;
  }
  function openPalette() {
    if (palette) { return; }
    var back = doc.activeElement;
    var st = { static: paletteActions(), views: viewsFrom(doc), tickets: [], items: [], active: 0, seq: 0 };
    var dlg = doc.createElement("dialog");
    dlg.className = "fd-dialog palette";
    dlg.id = "palette";
    dlg.setAttribute("aria-labelledby", "palette-title");
    dlg.innerHTML = '<h2 id="palette-title">Go to…</h2>' +
      '<label for="palette-input" class="sr">Search tickets, views and actions</label>' +
      '<input id="palette-input" type="text" role="combobox" aria-autocomplete="list" aria-expanded="true" aria-controls="palette-list" autocomplete="off" placeholder="Ticket subject or number, view, action">' +
      '<ul id="palette-list" role="listbox" aria-label="Results" class="picker palette-list"></ul>' +
      '<p class="note">↑ ↓ to choose, Enter to open, Esc to close.</p>';
    var input = dlg.querySelector("input");
    var ul = dlg.querySelector("ul");
    function render() {
      var q = input.value.trim().toLowerCase();
      var local = st.static.concat(st.views).filter(function (x) { return !q || x.label.toLowerCase().indexOf(q) >= 0; });
      var num = /^#?(\d+)$/.exec(q);
      var direct = num ? [{ label: "Ticket #" + num[1], href: "/helpdesk/tickets/" + num[1], group: "Ticket" }] : [];
      st.items = direct.concat(st.tickets.filter(function (t) { return !num || t.href !== direct[0].href; }), local).slice(0, 12);
      if (st.active >= st.items.length) { st.active = st.items.length - 1; }
      if (st.active < 0 && st.items.length) { st.active = 0; }
      ul.innerHTML = "";
      st.items.forEach(function (it, i) {
        var li = doc.createElement("li");
        li.id = "palette-opt-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", String(i === st.active));
        li.dataset.index = String(i);
        var g = doc.createElement("span");
        g.className = "palette-group";
        g.textContent = it.group + ": ";
        li.appendChild(g);
        li.appendChild(doc.createTextNode(it.label));
        ul.appendChild(li);
      });
      if (st.items.length) { input.setAttribute("aria-activedescendant", "palette-opt-" + st.active); } else { input.removeAttribute("aria-activedescendant"); }
      var cur = doc.getElementById("palette-opt-" + st.active);
      if (cur && cur.scrollIntoView) { cur.scrollIntoView({ block: "nearest" }); }
    }
    var searchTickets = debounce(function () {
      var q = input.value.trim();
      var seq = ++st.seq;
      if (!q || !st.desk) { st.tickets = []; render(); return; }
      fetch("/helpdesk?view=all&q=" + encodeURIComponent(q.replace(/^#/, "")), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (seq !== st.seq) { return; }
          st.tickets = ticketsFrom(new DOMParser().parseFromString(html, "text/html"));
          render();
        }).catch(function () {});
    }, 200);
    function choose(i) {
      var it = st.items[i];
      if (!it || st.chosen) { return; }
      st.chosen = true;
      dlg.close();
      if (it.run) { it.run(); } else { location.href = it.href; }
    }
    input.addEventListener("input", function () { st.active = 0; render(); searchTickets(); });
    input.addEventListener("keydown", function (e) {
      var n = st.items.length;
      if (e.key === "ArrowDown" && n) { st.active = (st.active + 1) % n; render(); e.preventDefault(); }
      else if (e.key === "ArrowUp" && n) { st.active = (st.active + n - 1) % n; render(); e.preventDefault(); }
      else if (e.key === "Enter") { e.preventDefault(); choose(st.active); }
    });
    ul.addEventListener("mousedown", function (e) { e.preventDefault(); });
    ul.addEventListener("click", function (e) {
      var li = e.target.closest("li[role=option]");
      if (li) { choose(Number(li.dataset.index)); }
    });
    dlg.addEventListener("close", function () {
      dlg.remove();
      palette = null;
      if (back && back.focus && back.isConnected) { back.focus(); }
    });
    body.appendChild(dlg);
    palette = dlg;
    dlg.showModal();
    input.focus();
    render();
    // Views are listed in the help desk's left column; pages without it borrow the list's.
    st.desk = !!doc.querySelector('.workspaces a[href="/helpdesk"]');
    if (st.desk && !doc.querySelector(".custom-views")) {
      fetch("/helpdesk", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
        st.views = viewsFrom(new DOMParser().parseFromString(html, "text/html"));
        if (palette === dlg) { render(); }
      }).catch(function () {});
    }
  }
  doc.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && (e.key === "k" || e.key === "K")) {
      e.preventDefault();
      if (palette) { palette.close(); } else { openPalette(); }
    }
  });

  // ---- Feedback (issue 13, items 5 and 6): the toast that confirms an action, and property
  // fields saved one at a time as they change (`form[data-autosave]`, the ticket sidebar).
  // Without script the same form posts every field with its Save button.
  var toastTimer;
  function toast(text, isError) {
    var el = doc.getElementById("toast");
    if (!el) { return; }
    el.classList.toggle("error", !!isError);
    el.textContent = text;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.textContent = ""; }, 10000);
  }
  (function () {
    var el = doc.getElementById("toast");
    if (el && el.textContent) { toastTimer = setTimeout(function () { el.textContent = ""; }, 10000); }
  })();
  function fieldError(wrap, message) {
    if (!wrap) { return; }
    var p = wrap.querySelector(".field-error");
    wrap.classList.toggle("invalid", !!message);
    if (p) { p.textContent = message || ""; p.hidden = !message; }
    Array.prototype.forEach.call(wrap.querySelectorAll("input, select, textarea"), function (c) {
      if (message) { c.setAttribute("aria-invalid", "true"); } else { c.removeAttribute("aria-invalid"); }
    });
    var target = wrap.querySelector("fieldset.chips") || wrap.querySelector("select, textarea, input");
    if (target && p) {
      if (message) { target.setAttribute("aria-describedby", p.id); } else { target.removeAttribute("aria-describedby"); }
    }
  }
  function fieldValues(form, name) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name === "p." + name && (el.type !== "checkbox" || el.checked);
    }).map(function (el) { return el.value; });
  }
  // One save at a time per form, each sent with the version the one before returned: a date
  // input reports a change as soon as its value is complete, and Enter then saves again.
  // A value already saved has nothing left to do.
  function saveField(form, name) {
    var next = (form.fdSaving || Promise.resolve()).then(function () { return saveFieldNow(form, name); });
    form.fdSaving = next;
    return next;
  }
  function saveFieldNow(form, name) {
    var original = form.querySelector('input[type="hidden"][name="o.' + name + '"]');
    var values = fieldValues(form, name);
    var wrap0 = form.querySelector('[data-field="' + name + '"]');
    if (original && values.join(";") === original.value && !(wrap0 && wrap0.classList.contains("invalid"))) {
      return Promise.resolve();
    }
    var data = new FormData();
    data.append("version", form.elements.version ? form.elements.version.value : "");
    data.append("o." + name, original ? original.value : "");
    values.forEach(function (v) { data.append("p." + name, v); });
    data.append("_respond", "json");
    var wrap = form.querySelector('[data-field="' + name + '"]');
    return post(form.action, data).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    }).then(function (x) {
      var j = x.body || {};
      if (x.ok && j.ok) {
        if (form.elements.version) { form.elements.version.value = j.version; }
        if (original) { original.value = values.join(";"); }
        // What was saved is now what the server has: a live merge must not take the agent's
        // own saved value for an unsaved edit (nor hint that someone changed it).
        Array.prototype.forEach.call(form.elements, function (el) {
          if (el.name === "p." + name) { el.setAttribute("data-served", liveValue(el)); }
        });
        Array.prototype.forEach.call(form.querySelectorAll("[data-field].invalid"), function (w) { fieldError(w, ""); });
        toast(j.message || "Saved.");
        return;
      }
      var errors = j.errors || {};
      var shown = false;
      Object.keys(errors).forEach(function (k) {
        var w = form.querySelector('[data-field="' + k + '"]');
        if (w) { fieldError(w, errors[k]); shown = true; }
      });
      if (!shown && wrap) { fieldError(wrap, j.message || "Not saved."); }
      toast(j.message || "Not saved: the reason is shown at the field.", true);
    }).catch(function () {
      fieldError(wrap, "Not saved: the server could not be reached. Try again.");
      toast("Not saved: the server could not be reached.", true);
    });
  }
  doc.addEventListener("change", function (e) {
    var el = e.target;
    var form = el && el.form;
    if (!form || !form.hasAttribute("data-autosave") || !el.name || el.name.indexOf("p.") !== 0) { return; }
    saveField(form, el.name.slice(2));
  });
  // The Save button is hidden once fields save themselves, and a browser submits a form on
  // Enter only through a rendered button: Enter in a one-line field saves that field here.
  doc.addEventListener("keydown", function (e) {
    var el = e.target;
    var form = el && el.form;
    if (e.key !== "Enter" || el.tagName !== "INPUT" || !form || !form.hasAttribute("data-autosave") ||
        !el.name || el.name.indexOf("p.") !== 0 || el.hasAttribute("data-search")) { return; }
    e.preventDefault();
    saveField(form, el.name.slice(2));
  });
  doc.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-autosave")) { return; }
    // Enter in a field saves that field, as a change does; the page stays where it is.
    e.preventDefault();
    var el = doc.activeElement;
    if (el && el.form === form && el.name && el.name.indexOf("p.") === 0) { saveField(form, el.name.slice(2)); }
  });

  // ---- Delivery: "Sending…" -----------------------------------------------------------------
  // Send shows its state in place until the answer (the next page) arrives, and the form posts
  // once: a double click or a second Enter does nothing while the first post is on its way.
  // Runs after every other submit handler (bubbling to the document), so a post another
  // handler cancelled never shows as sending. The server also answers a repeated post with
  // the first post's message, for browsers without script.
  function sendingState(form, on) {
    var btn = form.querySelector("#send");
    if (!btn) { return; }
    if (on) {
      form.dataset.sending = "1";
      if (!btn.dataset.label) { btn.dataset.label = btn.textContent; }
      btn.textContent = "Sending\u2026";
      btn.disabled = true;
      btn.setAttribute("aria-busy", "true");
    } else {
      delete form.dataset.sending;
      if (btn.dataset.label) { btn.textContent = btn.dataset.label; }
      btn.disabled = false;
      btn.removeAttribute("aria-busy");
    }
  }
  doc.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || form.id !== "pane-reply") { return; }
    if (form.dataset.sending) { e.preventDefault(); return; }
    if (e.defaultPrevented) { return; }
    // Only Send (or Enter, which submits through it); Save draft and Discard post elsewhere.
    if (e.submitter && e.submitter.id !== "send") { return; }
    sendingState(form, true);
  });
  // A page restored from the back/forward cache shows its form ready again.
  window.addEventListener("pageshow", function (e) {
    var form = doc.getElementById("pane-reply");
    if (e.persisted && form && form.dataset.sending) { sendingState(form, false); }
  });

  // ---- Bulk actions on the ticket list, move to pipeline (issue 15) --------------------------
  // The bar is a plain form that works without script. Script keeps its controls out of the
  // way until a ticket is ticked or "all matching" is chosen, shows only the field the chosen
  // action needs, offers "select all on this page", and submits the move page's pipeline
  // choice as soon as it is made.
  function bulkBar() {
    var form = doc.getElementById("bulk-form");
    if (!form) { return; }
    var bar = doc.getElementById("bulk-bar");
    var all = doc.getElementById("bulk-all");
    var pageBox = doc.getElementById("bulk-page");
    var action = doc.getElementById("bulk-action");
    var count = doc.getElementById("bulk-count");
    function boxes() { return form.querySelectorAll('input[name="ids"]'); }
    function update() {
      var ticked = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
      bar.classList.toggle("idle", !(ticked || all.checked));
      count.textContent = all.checked ? "All matching tickets selected." : (ticked ? ticked + " selected." : "");
      if (pageBox) { pageBox.checked = ticked > 0 && ticked === boxes().length; }
      form.querySelectorAll(".bulk-field").forEach(function (f) {
        f.hidden = f.getAttribute("data-action") !== action.value;
      });
    }
    if (pageBox) {
      pageBox.hidden = false;
      pageBox.addEventListener("change", function () {
        boxes().forEach(function (b) { b.checked = pageBox.checked; });
        update();
      });
    }
    form.addEventListener("change", update);
    update();
  }
  doc.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { if (sel.value) { sel.form.submit(); } });
  });

  sizeFrames();
  localTimes();
  openAtLatest();
  offerBrowserZone();
  bulkBar();
})();
