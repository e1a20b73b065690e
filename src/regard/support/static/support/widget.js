/*
 * Regard chat widget. Plain JavaScript, no build step, no dependencies.
 *
 *   <script src="https://regard.example.com/static/support/widget.js"
 *           data-key="SITE KEY" data-identity="SIGNED TOKEN (optional)"
 *           data-lang="de (optional; the browser's language otherwise)" async></script>
 *
 * A person is always one click away (S17): the "Talk to a person" button, or the word
 * "person" (or agent, operator, human… in many languages) in any message. When nobody is
 * online, the widget offers to continue by email, with the customer's consent.
 * Protocol: src/regard/support/consumers.py.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__regardChat) return;
  window.__regardChat = true;

  var key = script.getAttribute("data-key") || "";
  var identity = script.getAttribute("data-identity") || "";
  var base = new URL(script.src, document.baseURI);
  var socketUrl = (base.protocol === "https:" ? "wss:" : "ws:") + "//" + base.host +
    "/ws/support/chat/?key=" + encodeURIComponent(key);
  var storeKey = "regard-chat-visitor:" + key;
  // The widget's own words in the browser's language (data-lang overrides); what the server
  // says (notices, the place in line, the consent text) arrives already in that language.
  var TEXTS = {
    en: {
      launch: "Chat with us", title: "Chat with our team", close: "Close chat", connecting: "Connecting…",
      person: "Talk to a person", message: "Your message", typeHere: "Type your message…", send: "Send",
      question: "Your question", questionHere: "Your question…", email: "Your email address ",
      sendByEmail: "Send by email", team: "Our team", notConnected: "Not connected yet; trying again…",
      unavailable: "Chat is not available here. Please use the contact details on this site to reach a person.",
      answering: "{name} from our team is answering.",
      consent: "Nobody is online right now. Answer me by email at this address."
    },
    de: {
      launch: "Chat mit uns", title: "Chat mit unserem Team", close: "Chat schließen", connecting: "Verbinde…",
      person: "Mit einer Person sprechen", message: "Ihre Nachricht", typeHere: "Ihre Nachricht…", send: "Senden",
      question: "Ihre Frage", questionHere: "Ihre Frage…", email: "Ihre E-Mail-Adresse ",
      sendByEmail: "Per E-Mail senden", team: "Unser Team", notConnected: "Noch nicht verbunden; neuer Versuch…",
      unavailable: "Der Chat ist hier nicht verfügbar. Bitte nutzen Sie die Kontaktangaben dieser Website, um eine Person zu erreichen.",
      answering: "{name} aus unserem Team antwortet.",
      consent: "Gerade ist niemand online. Antworten Sie mir per E-Mail an diese Adresse."
    },
    fr: {
      launch: "Discuter avec nous", title: "Discuter avec notre équipe", close: "Fermer le chat", connecting: "Connexion…",
      person: "Parler à une personne", message: "Votre message", typeHere: "Votre message…", send: "Envoyer",
      question: "Votre question", questionHere: "Votre question…", email: "Votre adresse e-mail ",
      sendByEmail: "Envoyer par e-mail", team: "Notre équipe", notConnected: "Pas encore connecté ; nouvel essai…",
      unavailable: "Le chat n’est pas disponible ici. Utilisez les coordonnées de ce site pour joindre une personne.",
      answering: "{name} de notre équipe vous répond.",
      consent: "Personne n’est en ligne pour le moment. Répondez-moi par e-mail à cette adresse."
    }
  };
  var language = script.getAttribute("data-lang") || navigator.language || "en";
  var T = TEXTS[language.toLowerCase().split("-")[0]] || TEXTS.en;

  var css = [
    ".rgc-launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:12px 18px;border:0;border-radius:24px;",
    "background:#1f4e79;color:#fff;font:600 15px/1.2 system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}",
    ".rgc-panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);",
    "max-height:70vh;display:flex;flex-direction:column;background:#fff;color:#1a1a1a;border:1px solid #c8ccd2;",
    "border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.2);font:14px/1.4 system-ui,sans-serif}",
    ".rgc-panel[hidden]{display:none}",
    ".rgc-head{display:flex;justify-content:space-between;align-items:center;padding:10px 12px;background:#1f4e79;color:#fff;border-radius:10px 10px 0 0}",
    ".rgc-head button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}",
    ".rgc-notice,.rgc-queue{padding:8px 12px;margin:0;border-bottom:1px solid #eee;font-size:13px}",
    ".rgc-queue{background:#fff7d6}",
    ".rgc-log{flex:1;overflow-y:auto;padding:8px 12px;min-height:80px}",
    ".rgc-msg{margin:6px 0;padding:6px 9px;border-radius:8px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}",
    ".rgc-in{background:#e7f0fa;margin-left:auto}",
    ".rgc-out{background:#f1f1f1}",
    ".rgc-who{display:block;font-size:11px;color:#555}",
    ".rgc-error{color:#a40000;padding:4px 12px;margin:0;font-size:13px}",
    ".rgc-form{display:flex;gap:6px;padding:8px 12px;border-top:1px solid #eee}",
    ".rgc-form textarea{flex:1;resize:none;font:inherit;padding:6px}",
    ".rgc-form button,.rgc-person,.rgc-offline button{font:inherit;padding:6px 10px;border-radius:6px;border:1px solid #1f4e79;background:#1f4e79;color:#fff;cursor:pointer}",
    ".rgc-person{margin:8px 12px 0;background:#fff;color:#1f4e79}",
    ".rgc-offline{display:flex;flex-direction:column;gap:6px;padding:8px 12px;border-top:1px solid #eee}",
    ".rgc-offline[hidden],.rgc-form[hidden],.rgc-offline label[hidden]{display:none}",
    ".rgc-offline textarea,.rgc-offline input[type=email]{font:inherit;padding:6px}",
    // On a phone the chat takes the screen, and the launcher steps aside while it is open.
    "@media (max-width:480px){.rgc-panel{inset:0;width:auto;max-width:none;max-height:none;border-radius:0;border:0}",
    ".rgc-head{border-radius:0}.rgc-form textarea{font-size:16px}}",
    ".rgc-launch[aria-expanded=true]{display:none}"
  ].join("");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }

  var style = el("style");
  style.textContent = css;
  var launch = el("button", { "class": "rgc-launch", type: "button", "aria-expanded": "false", "data-testid": "chat-open" }, T.launch);
  var panel = el("section", { "class": "rgc-panel", role: "dialog", "aria-label": T.title, hidden: "" });
  var head = el("div", { "class": "rgc-head" });
  head.appendChild(el("strong", {}, T.title));
  var closeButton = el("button", { type: "button", "aria-label": T.close }, "×");
  head.appendChild(closeButton);
  var notice = el("p", { "class": "rgc-notice", "data-testid": "chat-notice" }, T.connecting);
  var queueLine = el("p", { "class": "rgc-queue", role: "status", "aria-live": "polite", "data-testid": "chat-queue", hidden: "" });
  var person = el("button", { "class": "rgc-person", type: "button", "data-testid": "chat-person" }, T.person);
  var log = el("div", { "class": "rgc-log", role: "log", "aria-live": "polite", "data-testid": "chat-log" });
  var errorLine = el("p", { "class": "rgc-error", role: "alert", hidden: "" });
  var form = el("form", { "class": "rgc-form" });
  var input = el("textarea", { rows: "2", "aria-label": T.message, placeholder: T.typeHere, "data-testid": "chat-input", maxlength: "4000" });
  form.appendChild(input);
  form.appendChild(el("button", { type: "submit" }, T.send));

  var offline = el("form", { "class": "rgc-offline", hidden: "", "data-testid": "chat-offline" });
  var offlineText = el("textarea", { rows: "3", "aria-label": T.question, placeholder: T.questionHere, maxlength: "4000" });
  var emailLabel = el("label", {}, T.email);
  var emailInput = el("input", { type: "email", autocomplete: "email", "data-testid": "chat-email" });
  emailLabel.appendChild(emailInput);
  var consentLabel = el("label");
  var consentBox = el("input", { type: "checkbox", "data-testid": "chat-consent" });
  consentLabel.appendChild(consentBox);
  var consentWords = document.createTextNode(" " + T.consent);
  consentLabel.appendChild(consentWords);
  offline.appendChild(offlineText);
  offline.appendChild(emailLabel);
  offline.appendChild(consentLabel);
  offline.appendChild(el("button", { type: "submit" }, T.sendByEmail));

  [head, notice, queueLine, person, log, errorLine, form, offline].forEach(function (n) { panel.appendChild(n); });

  var socket = null;
  var ready = false;
  var retry = 0;
  var refused = false;
  var seen = {};
  var state = { agentsOnline: 0, conversation: null, askEmail: true };

  function showError(text) {
    errorLine.textContent = text || "";
    errorLine.hidden = !text;
  }

  function addMessage(message) {
    if (message.id && seen[message.id]) return;
    if (message.id) seen[message.id] = true;
    var bubble = el("div", { "class": "rgc-msg " + (message.direction === "in" ? "rgc-in" : "rgc-out") });
    if (message.direction !== "in") bubble.appendChild(el("span", { "class": "rgc-who" }, message.author || T.team));
    bubble.appendChild(document.createTextNode(message.text));
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
  }

  function showQueue(queue) {
    queueLine.hidden = !queue;
    queueLine.textContent = queue ? queue.text : "";
  }

  function chooseMode() {
    // Chat first; with nobody online and no chat going on, continue by email instead.
    var emailMode = state.agentsOnline === 0 && !state.conversation;
    offline.hidden = !emailMode;
    form.hidden = emailMode;
    emailLabel.hidden = !state.askEmail;
  }

  function send(frame) {
    if (socket && ready) socket.send(JSON.stringify(frame));
    else showError(T.notConnected);
  }

  function connect() {
    socket = new WebSocket(socketUrl);
    socket.onopen = function () {
      retry = 0;
      ready = true;
      var visitor = null;
      try { visitor = window.localStorage.getItem(storeKey); } catch (e) { visitor = null; }
      socket.send(JSON.stringify({ type: "hello", identity: identity, visitor: visitor, language: language }));
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "welcome") {
        try { window.localStorage.setItem(storeKey, frame.visitor); } catch (e) { /* private mode */ }
        state.agentsOnline = frame.agents_online;
        state.conversation = frame.conversation;
        state.askEmail = frame.ask_email;
        // The words the customer agrees to are the server's, so the proof records what was shown.
        if (frame.consent_text) consentWords.textContent = " " + frame.consent_text;
        notice.textContent = (frame.greeting ? frame.greeting + ". " : "") + frame.notice;
        frame.messages.forEach(addMessage);
        showQueue(frame.queue);
        chooseMode();
      } else if (frame.type === "message") {
        showError("");
        addMessage(frame);
        if (frame.direction === "out" && !frame.automated && frame.author) {
          // A person answered: "nobody is online" is no longer true, and chat stays chat.
          state.agentsOnline = Math.max(state.agentsOnline, 1);
          notice.textContent = T.answering.replace("{name}", frame.author);
          chooseMode();
        }
      } else if (frame.type === "queue") {
        showQueue(frame.queue);
        if (frame.queue) state.conversation = frame.queue.conversation;
        chooseMode();
      } else if (frame.type === "offline_received") {
        offline.hidden = true;
        notice.textContent = frame.text;
      } else if (frame.type === "error") {
        showError(frame.detail);
      }
    };
    socket.onclose = function (event) {
      ready = false;
      if (event.code === 4403 || event.code === 4404) {
        refused = true;
        notice.textContent = T.unavailable;
        return;
      }
      if (!refused) {
        retry = Math.min(retry + 1, 6);
        window.setTimeout(connect, 500 * Math.pow(2, retry));
      }
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    send({ type: "message", text: text });
    input.value = "";
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });
  person.addEventListener("click", function () { send({ type: "handoff" }); });
  offline.addEventListener("submit", function (event) {
    event.preventDefault();
    send({ type: "offline", text: offlineText.value, email: emailInput.value, consent: consentBox.checked });
  });

  function toggle(open) {
    panel.hidden = !open;
    launch.setAttribute("aria-expanded", String(open));
    if (open && !socket) connect();
    if (open) (form.hidden ? offlineText : input).focus();
  }
  launch.addEventListener("click", function () { toggle(panel.hidden); });
  closeButton.addEventListener("click", function () { toggle(false); });

  function mount() {
    document.head.appendChild(style);
    document.body.appendChild(panel);
    document.body.appendChild(launch);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
