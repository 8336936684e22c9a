// Tastebud's page: sign-up, sessions, the chat socket and the editable recommendation list.
// Plain JS, no build step. The socket protocol is described in ui/server/chat.py.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = {
  token: localStorage.getItem("tastebud.token"),
  catalog: localStorage.getItem("tastebud.catalog"),
  session: null,     // the open session's id
  ws: null,
  list: [],          // the cards on the list panel, in order
  reactions: {},     // item id -> like | dislike | seen
  bubble: null,      // the assistant message being streamed
  busy: false,
  booted: false,     // signed in, and the first chat socket opened by boot()
  isReady: false,    // the current socket said "ready"
  waiters: [],       // sends waiting for a ready socket: they outlive a socket replaced meanwhile
  // a simulated dialogue shown read-only (/?replay=ID): no socket, no input
  replay: Number(new URLSearchParams(location.search).get("replay")) || null,
};

// ------------------------------------------------------------------ REST
async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (state.tab) headers["X-Tastebud-Tab"] = state.tab;  // our socket: not told of our clicks
  const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  if (r.status === 401) { showSignup(); throw new Error("please sign in"); }
  if (!r.ok) {
    let detail = r.statusText;
    try { const j = await r.json(); detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail); } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  return r.status === 204 ? null : r.json();
}

// ------------------------------------------------------------------ sign-up
function showSignup() { $("#signup").hidden = false; $("#name").focus(); }

$("#signup-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const r = await fetch("/api/users", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: $("#name").value }) });
    if (!r.ok) throw new Error((await r.json()).detail?.[0]?.msg || "sign-up failed");
    const j = await r.json();
    setToken(j.token);
  } catch (err) { $("#signup-error").textContent = err.message; }
});
$("#use-token").addEventListener("click", () => setToken($("#token-in").value.trim()));

function setToken(token) {
  state.token = token;
  localStorage.setItem("tastebud.token", token);
  $("#signup").hidden = true;
  boot();
}

// ------------------------------------------------------------------ catalogs and sessions
async function loadCatalogs() {
  const cats = await api("GET", "/api/catalogs");
  const sel = $("#catalog");
  sel.innerHTML = "";
  for (const c of cats) {
    const o = new Option(c.title, c.name);
    o.title = `${c.items} items, ${c.users} users`;
    sel.add(o);
  }
  const wanted = cats.find((c) => c.name === state.catalog) || cats.find((c) => c.default) || cats[0];
  if (wanted) { sel.value = wanted.name; state.catalog = wanted.name; }
  state.catalogs = cats;
  placeholder();
}
// the input's example request is the catalog's own (a music catalog does not ask for sci-fi)
function placeholder() {
  const c = (state.catalogs || []).find((x) => x.name === state.catalog);
  if (c) $("[data-testid=text]").placeholder = c.example ? `${c.example}…` : `what ${c.item_word} would you like?`;
  // the texts on the cards come from these sources, whose licences ask to be credited there
  $("#credits").textContent = (c && c.credits) || "";
  $("#credits").hidden = !(c && c.credits);
}
$("#catalog").addEventListener("change", (e) => {
  state.catalog = e.target.value;
  placeholder();
  localStorage.setItem("tastebud.catalog", state.catalog);
  newChat();
});

async function loadSessions() {
  const sessions = await api("GET", "/api/sessions");
  const ul = $("#sessions");
  ul.innerHTML = "";
  for (const s of sessions) {
    const li = document.createElement("li");
    li.dataset.id = s.id;
    li.className = s.id === state.session ? "current" : "";
    li.textContent = s.title || "(new chat)";
    const small = document.createElement("small");
    small.textContent = `${s.catalog} · ${new Date(s.updated_at).toLocaleString()}`;
    li.append(small);
    li.addEventListener("click", () => { openSession(s.id); $("#sidebar").classList.remove("open"); });
    ul.append(li);
  }
}
$("#menu").addEventListener("click", () => $("#sidebar").classList.toggle("open"));
$("#new-chat").addEventListener("click", () => newChat());

// a new chat opens with a word from the catalog itself: what it knows, and an example of it
function greet() {
  const c = (state.catalogs || []).find((x) => x.name === state.catalog);
  if (!c || $("#log").children.length) return;
  const li = document.createElement("li");
  li.className = "greeting";
  li.dataset.testid = "greeting";
  const example = c.example ? ` (for example “${c.example}”)` : "";
  li.textContent = `Hi! I can suggest ${c.item_word} from ${c.title}, ${Number(c.items).toLocaleString()} of them. `
    + `Tell me what you're in the mood for${example} and I'll pick a few, saying why each fits. `
    + "Remove or like what I show, and I'll learn your taste.";
  $("#log").append(li);
}

function newChat() {
  if (state.replay) { location.href = "/"; return; }  // leave the replay for a real chat
  state.session = null;
  localStorage.removeItem("tastebud.session");
  $("#log").innerHTML = "";
  greet();
  renderList([]);
  connect(null);
  loadSessions();
}

async function openSession(id) {
  await showSession(id);
  connect(state.session);
  loadSessions();
}

// the stored session on screen: its messages, the list and the verdicts on it
async function showSession(id) {
  const s = await api("GET", `/api/sessions/${id}`);
  state.session = s.session.id;
  state.catalog = s.session.catalog;
  $("#catalog").value = state.catalog;
  localStorage.setItem("tastebud.session", String(id));
  $("#log").innerHTML = "";
  for (const m of s.messages) {
    const li = addMessage(m.role, m.text);
    if (m.role === "assistant" && m.cards && m.cards.length) pastList(li, m.cards);
  }
  greet();  // a stored chat with nothing said in it yet
  state.reactions = {};
  for (const i of s.liked) state.reactions[i] = "like";
  for (const i of s.disliked) state.reactions[i] = "dislike";
  for (const i of s.seen) state.reactions[i] = "seen";
  renderList(s.shown);
}

// ------------------------------------------------------------------ the chat socket
function connect(sessionId) {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws/chat`);
  state.ws = ws;
  state.isReady = false;
  state.tab = null;
  ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: state.token,
    session_id: sessionId, catalog: state.catalog }));
  ws.onmessage = (e) => handle(JSON.parse(e.data));
  ws.onclose = (e) => {
    if (e.code === 4401) { showSignup(); return; }
    if (e.code === 4404) { newChat(); return; }
    setBusy(false);
    if (state.bubble && state.bubble.classList.contains("typing")) { state.bubble.remove(); state.bubble = null; }
    if (state.ws !== ws) return;
    // idle: reconnect when the person writes again, not now
    if (e.code === 4000) { state.ws = null; return; }
    if (e.code === 4429) addMessage("assistant", e.reason || "too many open chats", "error");
    setTimeout(() => state.ws === ws && connect(state.session), e.code === 4429 ? 15000 : 2000);
  };
}

function handle(ev) {
  switch (ev.type) {
    case "ready":
      state.session = ev.session.id;
      state.tab = ev.tab;
      localStorage.setItem("tastebud.session", String(state.session));
      if (ev.shown.length && !state.list.length) renderList(ev.shown);
      state.isReady = true;
      if (!state.booted) { state.booted = true; setBusy(false); }
      for (const go of state.waiters.splice(0)) go();
      loadSessions();
      break;
    case "status": case "tool":  // what the turn is doing now, until its first words
      if (ev.text || ev.label) working(ev.text || ev.label);
      break;
    case "text":
      if (!state.bubble || state.bubble.classList.contains("typing")) {
        if (state.bubble) state.bubble.remove();
        state.bubble = addMessage("assistant", "", "streaming");
      }
      state.bubble.textContent += ev.delta;
      scrollLog();
      break;
    case "items":
      renderList(ev.items);
      break;
    case "question":
      quickReplies(["yes", "no"]);
      break;
    case "done":
      if (state.bubble && state.bubble.classList.contains("typing")) { state.bubble.remove(); state.bubble = null; }
      if (!state.bubble) state.bubble = addMessage("assistant", ev.text);
      state.bubble.classList.remove("streaming");
      state.bubble = null;
      setBusy(false);
      loadSessions();
      loadProfile().catch(console.warn);
      if (state.pendingSync) { state.pendingSync = false; showSession(state.session).catch(console.warn); }
      break;
    case "error":
      if (ev.final === false) { addMessage("assistant", ev.message, "error"); break; }
      if (state.bubble && state.bubble.classList.contains("typing")) state.bubble.remove();
      else if (state.bubble) state.bubble.classList.remove("streaming");
      state.bubble = null;
      addMessage("assistant", ev.message, "error");
      setBusy(false);
      break;
    case "sync":  // another tab changed this session: show it as stored
      if (state.busy) state.pendingSync = true;
      else showSession(state.session).catch(console.warn);
      break;
    case "ack": case "pong":
      break;
  }
}

// the titles a past reply showed, under it (the list panel holds only the current list)
function pastList(li, cards) {
  const ol = document.createElement("ol");
  ol.className = "past";
  for (const c of cards) {
    const item = document.createElement("li");
    item.textContent = c.title;
    ol.append(item);
  }
  li.append(ol);
}

// the typing indicator: shown the moment a message is sent, then labelled with each step
function working(label) {
  if (!state.bubble) {
    state.bubble = addMessage("assistant", "", "typing");
    state.bubble.dataset.testid = "typing";
    const dots = document.createElement("span");
    dots.className = "dots";
    dots.setAttribute("aria-hidden", "true");
    dots.textContent = "•••";
    const words = document.createElement("span");
    words.className = "status";
    state.bubble.append(dots, words);
  }
  if (!state.bubble.classList.contains("typing")) return;  // the words have started
  state.bubble.querySelector(".status").textContent = label;
  scrollLog();
}

function addMessage(role, text, extra) {
  const li = document.createElement("li");
  li.className = `${role} ${extra || ""}`.trim();
  li.textContent = text;
  $("#log").append(li);
  scrollLog();
  return li;
}
function scrollLog() { const log = $("#log"); log.scrollTop = log.scrollHeight; }
function setBusy(b) { state.busy = b; $("#say button").disabled = b; }

// the socket that is ready now, waiting for one if it is (re)connecting: a message typed while
// the page still boots, or while a socket is replaced, is sent once one is ready, never dropped
function whenReady() {
  if (state.booted && !state.ws) connect(state.session);  // closed while idle
  return state.isReady ? Promise.resolve() : new Promise((go) => state.waiters.push(go));
}

async function send(text) {
  text = text.trim();
  if (!text || state.busy) return;
  quickReplies([]);
  addMessage("user", text);
  setBusy(true);
  working("Thinking…");
  await whenReady();
  state.ws.send(JSON.stringify({ type: "message", text }));
}
$("#say").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("#text");
  if (state.busy || !input.value.trim()) return;  // kept in the box until it can go
  send(input.value);
  input.value = "";
});

function quickReplies(words) {
  const box = $("#quick");
  box.innerHTML = "";
  for (const w of words) {
    const b = document.createElement("button");
    b.textContent = w;
    b.addEventListener("click", () => send(w));
    box.append(b);
  }
}

// ------------------------------------------------------------------ the list
function renderList(cards) {
  state.list = cards.map((c, k) => ({ ...c, position: k + 1 }));
  $("#list-hint").hidden = state.list.length > 0;
  const ol = $("#list");
  ol.innerHTML = "";
  state.list.forEach((c, k) => ol.append(card(c, k)));
}

function card(c, k) {
  const li = document.createElement("li");
  li.className = "card";
  li.dataset.id = c.id;
  li.dataset.testid = "card";
  const h = document.createElement("h3");
  h.textContent = `${k + 1}. ${c.title}${c.year && !c.title.includes(`(${c.year})`) ? ` (${c.year})` : ""}`;
  const attrs = document.createElement("div");
  attrs.className = "attrs";
  // the catalog's own wording ("directed by ...", "117 minutes"); older servers send attributes only
  attrs.textContent = c.details
    ? c.details.join(" · ")
    : Object.entries(c.attributes || {}).map(([f, v]) => `${f}: ${v.join(", ")}`).join(" · ");
  const about = document.createElement("p");
  about.className = "about";
  about.textContent = c.about || "";
  about.hidden = !c.about;
  const react = row([
    ["like", "like", () => feedback(c.id, "like")], ["dislike", "dislike", () => feedback(c.id, "dislike")],
    ["seen", "seen", () => feedback(c.id, "seen")], ["why?", "why", () => why(c.id, li)],
  ], c.title);
  for (const b of react.children) if (state.reactions[c.id] === b.dataset.action) b.classList.add("on");
  const edit = row([
    ["↑", "up", () => move(k, -1)], ["↓", "down", () => move(k, 1)],
    ["remove", "remove", () => remove(k)], ["swap", "swap", () => send(`swap number ${k + 1}`)],
  ], c.title);
  li.append(h, attrs, about, react, edit);
  return li;
}

function row(buttons, title) {
  const div = document.createElement("div");
  div.className = "row";
  for (const [label, action, fn] of buttons) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.action = action;
    // a screen reader hears which film each button is for, not five "like" buttons
    const name = { up: "move up", down: "move down", why: "why", like: "like", dislike: "dislike",
      seen: "seen it", remove: "remove", swap: "swap" }[action] || action;
    b.setAttribute("aria-label", `${name}: ${title}`);
    b.title = `${name}: ${title}`;
    b.addEventListener("click", fn);
    div.append(b);
  }
  return div;
}

async function feedback(itemId, kind) {
  if (!state.session) return;
  await api("POST", `/api/sessions/${state.session}/feedback`, { item_id: itemId, kind });
  if (kind === "dislike") loadProfile().catch(console.warn);
  state.reactions[itemId] = kind;
  renderList(state.list);
}

async function why(itemId, li) {
  const old = li.querySelector(".why");
  if (old) { old.remove(); return; }
  const box = document.createElement("div");
  box.className = "why";
  box.dataset.testid = "why";
  box.textContent = "…";
  li.append(box);
  try {
    const r = await api("GET", `/api/sessions/${state.session}/why/${encodeURIComponent(itemId)}`);
    const label = (n) => n.type === "item" ? n.title : n.type === "user" ? "you" : `${n.field}: ${n.value}`;
    const lines = [];
    if (r.reason) lines.push(r.reason);
    for (const p of r.paths || []) lines.push(p.map(label).join(" → "));
    if ((r.neighbours || []).length) lines.push("close to: " + r.neighbours.map((n) => n.title).join(", "));
    box.textContent = lines.join("\n") || "No path found: it is popular with people like you.";
  } catch (err) { box.textContent = err.message; }
}

async function editList(next) {
  const shown = state.list.map((c) => c.id);
  renderList(next);
  if (state.session) {
    await api("POST", `/api/sessions/${state.session}/list-edits`,
      { shown, edited: next.map((c) => c.id) });
    loadProfile().catch(console.warn);  // an edit may have taught it something
  }
}
function move(k, d) {
  const j = k + d;
  if (j < 0 || j >= state.list.length) return;
  const next = [...state.list];
  [next[k], next[j]] = [next[j], next[k]];
  editList(next);
}
function remove(k) { editList(state.list.filter((_, i) => i !== k)); }

// ------------------------------------------------------------------ the profile ("your taste")
async function loadProfile() {
  const prefs = await api("GET", "/api/profile");
  const ul = $("#prefs");
  ul.innerHTML = "";
  $("#taste-hint").hidden = prefs.length > 0;
  for (const p of prefs) {
    const li = document.createElement("li");
    li.dataset.id = p.id;
    const text = document.createElement("span");
    text.className = "pref-text";
    text.textContent = p.text;
    const where = document.createElement("small");
    const when = new Date(p.updated_at).toLocaleDateString();
    where.textContent = p.source === "user" && !p.context ? `you wrote it · ${when}`
      : `${p.source === "user" ? "edited by you" : "learned from an edit"}${p.context ? ` when you asked “${p.context}”` : ""} · ${when}`;
    const edit = document.createElement("button");
    edit.textContent = "edit";
    edit.dataset.action = "edit";
    edit.addEventListener("click", async () => {
      const next = prompt("Rewrite this preference", p.text);
      if (next && next.trim() && next.trim() !== p.text) {
        await api("PATCH", `/api/profile/preferences/${p.id}`, { text: next.trim() });
        loadProfile();
      }
    });
    const del = document.createElement("button");
    del.textContent = "delete";
    del.dataset.action = "delete";
    del.addEventListener("click", async () => {
      await api("DELETE", `/api/profile/preferences/${p.id}`);
      loadProfile();
    });
    li.append(text, where, edit, del);
    ul.append(li);
  }
}
$("#pref-add").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("#pref-text").value.trim();
  if (!text) return;
  await api("POST", "/api/profile/preferences", { text });
  $("#pref-text").value = "";
  loadProfile();
});
$("#prefs-export").addEventListener("click", async () => {
  const prefs = await api("GET", "/api/profile");
  const url = URL.createObjectURL(new Blob([JSON.stringify(prefs, null, 2)], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = "tastebud-profile.json";
  a.click();
  URL.revokeObjectURL(url);
});
$("#prefs-wipe").addEventListener("click", async () => {
  if (!confirm("Forget everything Tastebud learned about your taste?")) return;
  await api("PUT", "/api/profile", { texts: [] });
  loadProfile();
});

// ------------------------------------------------------------------ the account's token
$("#copy-token").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(state.token);
    $("#token-note").textContent = "Copied.";
  } catch (_) { $("#token-note").textContent = "Select the token and copy it."; }
});
$("#new-token").addEventListener("click", async () => {
  if (!confirm("Make a new token? The old one stops working on every device.")) return;
  const r = await api("POST", "/api/me/token");
  state.token = r.token;
  localStorage.setItem("tastebud.token", r.token);
  $("#token-out").textContent = r.token;
  $("#token-note").textContent = "New token made; the old one no longer works.";
});

// ------------------------------------------------------------------ simulated dialogues
async function loadSimulations() {
  const sims = await api("GET", "/api/simulations?limit=50");
  const ul = $("#sim-list");
  ul.innerHTML = "";
  $("#sims").hidden = !sims.length;
  for (const s of sims) {
    const li = document.createElement("li");
    li.className = s.id === state.replay ? "current" : "";
    const a = document.createElement("a");
    a.href = `/?replay=${s.id}`;
    a.textContent = s.title || `simulation ${s.id}`;
    const small = document.createElement("small");
    small.textContent = `${s.catalog} · ${new Date(s.created_at).toLocaleString()}`;
    li.append(a, small);
    ul.append(li);
  }
}

// a stored simulated dialogue, read-only: its messages and lists, no input box, no socket
async function showReplay(id) {
  const r = await api("GET", `/api/simulations/${id}`);
  document.body.classList.add("replay");
  $("#say").remove();
  $("#quick").remove();
  const info = r.simulated || {};
  const note = $("#replay-note");
  note.hidden = false;
  note.textContent = `Simulated dialogue (read-only) over ${r.session.catalog}: the simulated user `
    + `wanted ${info.target_title || "a hidden item"}; `
    + (info.success ? "they took one of the recommendations." : "they took nothing.")
    + (info.leaked_title ? " It named its target before it was shown (a leak)." : "");
  $("#log").innerHTML = "";
  let last = [];
  for (const m of r.messages) {
    const li = addMessage(m.role, m.text);
    if (m.role === "assistant" && m.cards && m.cards.length) { pastList(li, m.cards); last = m.cards; }
  }
  renderList(last);
}

// ------------------------------------------------------------------ start
async function boot() {
  if (!state.token) { showSignup(); return; }
  setBusy(true);  // Send waits for the first chat socket; what is typed stays in the box
  try {
    const me = await api("GET", "/api/me");
    $("#who").textContent = `signed in as ${me.name}`;
    $("#token-out").textContent = state.token;
    loadProfile().catch(console.warn);
    await loadCatalogs();
    loadSimulations().catch(console.warn);
    if (state.replay) { await showReplay(state.replay); return; }
    const last = Number(localStorage.getItem("tastebud.session"));
    if (last) {
      try { await openSession(last); return; } catch (_) { localStorage.removeItem("tastebud.session"); }
    }
    newChat();
  } catch (err) { console.warn(err); }
}
boot();
