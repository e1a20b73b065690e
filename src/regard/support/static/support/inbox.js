/*
 * Live inbox for agents: chats waiting for a person and what just happened on any channel,
 * pushed over /ws/support/inbox/ (the signed-in session) into #live-inbox without a reload.
 * While this page is open the agent counts as online, so customers are offered chat.
 */
(function () {
  "use strict";
  var root = document.getElementById("live-inbox");
  if (!root) return;
  var url = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + "/ws/support/inbox/";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var status = el("p", { "class": "muted", "data-testid": "live-status" }, "Connecting to live updates…");
  var waitingTitle = el("h2", {}, "Waiting for a person");
  var waiting = el("ol", { "data-testid": "live-waiting" });
  var feedTitle = el("h2", {}, "Just now");
  var feed = el("ul", { "data-testid": "live-feed" });
  [status, waitingTitle, waiting, feedTitle, feed].forEach(function (n) { root.appendChild(n); });

  var rows = {};
  var EVENT_WORDS = {
    "conversation.created": "new conversation",
    "message.created": "new message",
    "conversation.status": "status changed",
    "conversation.assigned": "assigned",
    "conversation.resolved": "resolved",
    "conversation.handoff": "asked for a person"
  };

  function link(conversation) {
    var a = el("a", { href: "/support/c/" + conversation.id + "/" }, conversation.customer);
    return a;
  }

  function waitingRow(conversation) {
    var li = el("li", { "data-conversation": String(conversation.id), "data-testid": "live-waiting-row" });
    li.appendChild(link(conversation));
    li.appendChild(document.createTextNode(" — " + (conversation.subject || conversation.channel)));
    if (conversation.wants_human) li.appendChild(el("strong", { "class": "badge" }, " asked for a person"));
    if (conversation.assignee) li.appendChild(document.createTextNode(" · " + conversation.assignee));
    return li;
  }

  function renderWaiting() {
    var list = Object.keys(rows).map(function (id) { return rows[id]; })
      .filter(function (c) { return c.position; })
      .sort(function (a, b) { return a.position - b.position; });
    waiting.replaceChildren.apply(waiting, list.map(waitingRow));
    if (!list.length) waiting.appendChild(el("li", { "class": "muted" }, "Nobody is waiting."));
  }

  function addFeed(frame) {
    var c = frame.conversation;
    var li = el("li", { "data-testid": "live-event", "data-event": frame.event });
    li.appendChild(el("time", {}, new Date().toLocaleTimeString() + " "));
    li.appendChild(link(c));
    var what = " · " + c.channel + " · " + (EVENT_WORDS[frame.event] || frame.event);
    if (frame.event === "conversation.handoff" && c.position) what += " (number " + c.position + " in line)";
    li.appendChild(document.createTextNode(what));
    if (frame.message && frame.message.direction !== "note") {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("q", {}, frame.message.text.slice(0, 140)));
    }
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 50) feed.removeChild(feed.lastChild);
  }

  var socket = null;
  var retry = 0;
  var heartbeat = null;

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 0;
      status.textContent = "Live: new conversations and hand-offs appear here as they happen.";
      heartbeat = window.setInterval(function () { socket.send(JSON.stringify({ type: "ping" })); }, 30000);
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "inbox") {
        rows = {};
        frame.queue.forEach(function (c) { rows[c.id] = c; });
        renderWaiting();
      } else if (frame.type === "event") {
        var known = rows[frame.conversation.id];
        if (!("position" in frame.conversation)) frame.conversation.position = known ? known.position : null;
        rows[frame.conversation.id] = frame.conversation;
        renderWaiting();
        addFeed(frame);
      }
    };
    socket.onclose = function (event) {
      window.clearInterval(heartbeat);
      if (event.code === 4403) {
        status.textContent = "Live updates need a signed-in agent.";
        return;
      }
      status.textContent = "Live updates lost; reconnecting…";
      retry = Math.min(retry + 1, 6);
      window.setTimeout(connect, 500 * Math.pow(2, retry));
    };
  }
  connect();
})();
