/* Frontdesk chat widget: one tag on any site,
   <script src="BASE/chat/widget.js" data-frontdesk-chat="CHANNEL_ID" async></script>.
   No cookies and no third-party code: the visitor's token lives in this site's localStorage;
   messages are posted to BASE and arrive live over server-sent events. The window lives in a
   shadow root so the site's styles and ours cannot touch each other. Follows HubSpot's
   widget API shape (window.hsConversationsSettings, hsConversationsOnReady,
   HubSpotConversations.widget.open/close/remove/status/load/refresh, on/off, clear). */
(function () {
  "use strict";
  var w = window, d = document;
  var script = d.currentScript || d.querySelector("script[data-frontdesk-chat]");
  if (!script || w.HubSpotConversations) { return; }
  var channel = script.getAttribute("data-frontdesk-chat");
  var base = new URL(script.src, d.baseURI).origin + "/chat/" + encodeURIComponent(channel);
  var key = "frontdesk-chat-" + channel;
  var settings = w.hsConversationsSettings || {};
  var token = null, es = null, host = null, root = null, ui = {}, shown = {}, last = null;
  var handlers = {}, typingAt = 0, seenSent = "0", open = false;
  try { token = w.localStorage.getItem(key); } catch (e) { token = null; }

  function emit(name, data) { (handlers[name] || []).slice().forEach(function (f) { try { f(data); } catch (e) { /* a page's handler */ } }); }
  function api(path, body) {
    return fetch(base + path, body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().then(function (j) { if (!r.ok) { j.status = r.status; throw j; } return j; });
    });
  }
  function el(tag, attrs, text) {
    var e = d.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }
  var css = ":host{all:initial}*{box-sizing:border-box;font:15px/1.4 system-ui,sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;border:0;border-radius:24px;padding:12px 18px;background:#1d4ed8;color:#fff;cursor:pointer;z-index:2147483000}" +
    ".panel{position:fixed;right:20px;bottom:76px;width:min(360px,calc(100vw - 40px));height:min(520px,calc(100vh - 100px));display:flex;flex-direction:column;background:#fff;color:#111;border:1px solid #767676;border-radius:8px;z-index:2147483000}" +
    ".panel[hidden]{display:none}header{display:flex;justify-content:space-between;align-items:center;padding:8px 12px;border-bottom:1px solid #ccc}" +
    "h2{margin:0;font-weight:600}.x{border:0;background:none;color:#1d4ed8;cursor:pointer;text-decoration:underline}" +
    ".log{flex:1;overflow:auto;padding:8px 12px}.m{margin:6px 0;padding:6px 10px;border-radius:8px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}" +
    ".visitor{margin-left:auto;background:#1d4ed8;color:#fff}.agent{background:#eef0f3;color:#111}.who{display:block;font-size:13px;color:#444}" +
    ".st{padding:4px 12px;font-size:13px;color:#333;min-height:1.4em}form{display:flex;flex-wrap:wrap;gap:6px;padding:8px 12px;border-top:1px solid #ccc}" +
    "label{font-size:13px;width:100%}input,textarea{width:100%;padding:6px;border:1px solid #767676;border-radius:4px;color:#111;background:#fff}" +
    "textarea{resize:none;height:3.2em}button.send{border:0;border-radius:4px;padding:6px 14px;background:#1d4ed8;color:#fff;cursor:pointer}" +
    ".err{color:#b00020;font-size:13px;width:100%}.seen{font-size:12px;color:#444;text-align:right;margin:0}" +
    ".qr{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px}.qr button{border:1px solid #1d4ed8;border-radius:16px;padding:4px 12px;background:#fff;color:#1d4ed8;cursor:pointer}" +
    ".m{position:relative}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";

  function build() {
    host = el("div", { "data-frontdesk-chat-host": channel });
    root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    root.appendChild(el("style", {}, css));
    ui.launch = el("button", { type: "button", "class": "launch", "aria-expanded": "false", "aria-controls": "fd-chat" }, "Chat with us");
    ui.panel = el("section", { id: "fd-chat", "class": "panel", "aria-labelledby": "fd-chat-title", hidden: "" });
    var head = el("header");
    ui.title = el("h2", { id: "fd-chat-title" }, "Chat");
    ui.close = el("button", { type: "button", "class": "x" }, "Close chat");
    head.appendChild(ui.title); head.appendChild(ui.close);
    ui.log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-label": "Chat messages", tabindex: "0" });
    ui.status = el("p", { "class": "st", role: "status" });
    // A bot's question: its answers as buttons (clicking one sends its label).
    ui.quick = el("div", { "class": "qr", role: "group", "aria-label": "Quick replies" });
    ui.form = el("form", { novalidate: "" });
    ui.who = el("div", { style: "display:contents" });
    ui.nameLabel = el("label", { "for": "fd-name" }, "Your name (optional)");
    ui.name = el("input", { id: "fd-name", autocomplete: "name", maxlength: "200" });
    ui.emailLabel = el("label", { "for": "fd-email" }, "Your email (optional)");
    ui.email = el("input", { id: "fd-email", type: "email", autocomplete: "email" });
    [ui.nameLabel, ui.name, ui.emailLabel, ui.email].forEach(function (x) { ui.who.appendChild(x); });
    ui.msgLabel = el("label", { "for": "fd-msg" }, "Message");
    ui.msg = el("textarea", { id: "fd-msg", maxlength: "4000" });
    ui.err = el("p", { "class": "err", role: "alert" });
    ui.send = el("button", { type: "submit", "class": "send" }, "Send");
    [ui.who, ui.msgLabel, ui.msg, ui.err, ui.send].forEach(function (x) { ui.form.appendChild(x); });
    [head, ui.log, ui.quick, ui.status, ui.form].forEach(function (x) { ui.panel.appendChild(x); });
    root.appendChild(ui.launch); root.appendChild(ui.panel);
    ui.launch.addEventListener("click", function () { if (open) { hide(); } else { show(); } });
    ui.close.addEventListener("click", hide);
    ui.form.addEventListener("submit", function (e) { e.preventDefault(); sendMessage(); });
    ui.msg.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
    });
    ui.msg.addEventListener("input", function () {
      if (!token || Date.now() - typingAt < 4000) { return; }
      typingAt = Date.now();
      api("/typing", { token: token, typing: true }).catch(function () {});
    });
    d.body.appendChild(host);
    emit("widgetLoaded", { message: "Widget loaded" });
  }
  function show() { open = true; ui.panel.hidden = false; ui.launch.setAttribute("aria-expanded", "true"); ui.msg.focus(); markSeen(); }
  function hide() { open = false; ui.panel.hidden = true; ui.launch.setAttribute("aria-expanded", "false"); ui.launch.focus(); emit("widgetClosed", {}); }

  function render(s) {
    last = s;
    ui.title.textContent = s.name || "Chat";
    var offline = !s.available && !s.byEmail && !s.bot;
    ui.who.style.display = s.started ? "none" : "contents";
    ui.emailLabel.textContent = offline && !settings.identificationToken ? "Your email (required)" : "Your email (optional)";
    var status = s.agentTyping ? "An agent is typing…" :
      s.byEmail ? "We will answer by email." :
      s.available || s.bot ? "" : "Nobody is available right now. Leave your email address and we will answer by email.";
    if (ui.status.textContent !== status) { ui.status.textContent = status; }
    (s.messages || []).forEach(function (m) {
      if (shown[m.id]) { return; }
      var p = el("p", { "class": "m " + m.from, "data-id": m.id });
      if (m.from === "agent") { p.appendChild(el("span", { "class": "who" }, (m.name || "Agent") + ":")); }
      else { p.appendChild(el("span", { "class": "sr" }, "You: ")); }
      p.appendChild(d.createTextNode(m.text));
      ui.log.appendChild(p);
      shown[m.id] = p;
    });
    var replies = s.quickReplies || [];
    if (ui.quick.getAttribute("data-for") !== replies.join("\n")) {
      ui.quick.textContent = "";
      ui.quick.setAttribute("data-for", replies.join("\n"));
      replies.forEach(function (label) {
        var b = el("button", { type: "button" }, label);
        // The buttons go once answered: the message box keeps the keyboard's place.
        b.addEventListener("click", function () { ui.msg.focus(); sendMessage(label); });
        ui.quick.appendChild(b);
      });
    }
    var old = ui.log.querySelector(".seen");
    if (old) { old.parentNode.removeChild(old); }
    if (s.seenUpTo && shown[s.seenUpTo] && ui.log.lastChild === shown[s.seenUpTo]) {
      ui.log.appendChild(el("p", { "class": "seen" }, "Seen"));
    }
    ui.log.scrollTop = ui.log.scrollHeight;
    markSeen();
  }
  function markSeen() {
    if (!open || !token || !last) { return; }
    var agent = (last.messages || []).filter(function (m) { return m.from === "agent"; }).pop();
    if (!agent || Number(agent.id) <= Number(seenSent)) { return; }
    seenSent = agent.id;
    api("/seen", { token: token, id: agent.id }).catch(function () {});
  }
  function stream() {
    if (es || !token || !w.EventSource) { return; }
    es = new EventSource(base + "/events?token=" + encodeURIComponent(token));
    es.addEventListener("state", function (e) { try { render(JSON.parse(e.data)); } catch (x) { /* ignore */ } });
  }
  function load() {
    return api("/state" + (token ? "?token=" + encodeURIComponent(token) : "")).then(function (s) {
      render(s);
      stream();
    }, function (e) {
      // A token the server does not know: start afresh.
      if (token && e && e.status === 404) { forget(); return load(); }
    });
  }
  function forget() {
    try { w.localStorage.removeItem(key); } catch (e) { /* private mode */ }
    token = null; if (es) { es.close(); es = null; }
    shown = {}; seenSent = "0";
    if (ui.log) { ui.log.textContent = ""; }
  }
  function sendMessage(choice) {
    var text = typeof choice === "string" ? choice : ui.msg.value.trim();
    if (!text) { return; }
    ui.err.textContent = "";
    var body = { token: token, text: text };
    if (!token) {
      body.name = ui.name.value; body.email = ui.email.value;
      body.identificationEmail = settings.identificationEmail;
      body.identificationToken = settings.identificationToken;
    }
    ui.send.disabled = true;
    api("/messages", body).then(function (r) {
      if (typeof choice !== "string") { ui.msg.value = ""; }
      typingAt = 0;
      var first = !token;
      token = r.token;
      try { w.localStorage.setItem(key, token); } catch (e) { /* private mode: this page only */ }
      if (first) { emit("conversationStarted", { conversation: { conversationId: r.id } }); }
      return load();
    }, function (j) {
      ui.err.textContent = (j && j.message) || "The message could not be sent. Try again.";
      if (j && j.field === "email") { ui.email.focus(); }
    }).then(function () { ui.send.disabled = false; });
  }

  var widget = {
    load: function (o) { if (!host) { build(); load(); } if (o && o.widgetOpen) { show(); } },
    refresh: function () { settings = w.hsConversationsSettings || {}; if (host) { load(); } },
    open: function () { if (!host) { widget.load(); } show(); },
    close: function () { if (host) { hide(); } },
    remove: function () { if (es) { es.close(); es = null; } if (host) { host.parentNode.removeChild(host); host = null; } },
    status: function () { return { loaded: !!host }; }
  };
  w.HubSpotConversations = {
    widget: widget,
    on: function (n, f) { (handlers[n] = handlers[n] || []).push(f); },
    off: function (n, f) { handlers[n] = (handlers[n] || []).filter(function (g) { return g !== f; }); },
    clear: function (o) { forget(); if (o && o.resetWidget && host) { load(); } }
  };
  function start() {
    if (settings.loadImmediately !== false) { widget.load(); }
    (w.hsConversationsOnReady || []).forEach(function (f) { try { f(); } catch (e) { /* a page's handler */ } });
  }
  if (d.body) { start(); } else { d.addEventListener("DOMContentLoaded", start); }
}());
