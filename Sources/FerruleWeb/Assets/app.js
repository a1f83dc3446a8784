// The page's spine: sign-in, the JSON API, the live feed (reconnecting by itself), views and idle sign-out.
"use strict";
F.state = { me: null, status: null, recipes: [], prompts: [], view: "station", connected: false };
// Step event to DOM latency (ms) of this page, for the benchmark (see Tests/Browser).
F.latencies = [];

// Builds an element: text only through textContent, never HTML from data.
F.h = function (tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
};
F.t = (key, params) => F.i18n.t(key, params);
F.$ = (id) => document.getElementById(id);

F.ApiError = class extends Error {
  constructor(status, body) {
    super((body && body.message) || "HTTP " + status);
    this.status = status;
    this.key = (body && body.key) || (status === 0 ? "error.network" : "error.internal");
    this.fix = body && body.fix;
    this.refusal = body && body.refusal;  // why and the remedy, typed (see F.refusalText)
  }
};

// Whether the signed-in user's role reaches `role` (operator < supervisor < engineer).
F.may = function (role) {
  const order = ["operator", "supervisor", "engineer"];
  return !!F.state.me && order.indexOf(F.state.me.role) >= order.indexOf(role);
};

// "Fixture 1 has no reference" -> "Fixture 1 has no reference."
F.sentence = function (text) {
  const s = (text || "").trim();
  if (!s) return "";
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?。]$/.test(s) ? "" : ".");
};

// A refused request as the operator reads it: whose unit, one sentence of why and one of what
// to do, in the page's language where the station gave a typed reason (`refusal`), else in the
// station's own words. Never a command line: a fix the user may take is a button (F.remedyButton).
F.refusalText = function (err, serial) {
  const r = err.refusal;
  const params = r ? { fixture: r.fixture, cord: r.cord, polarity: r.polarity, part: r.partNumber } : {};
  const needs = (text) => (text.match(/\{(\w+)\}/g) || []).every((k) => params[k.slice(1, -1)] != null);
  const why = r && F.i18n.messages["refusal." + r.reason];
  const fix = r && F.i18n.messages["refusalFix." + r.reason];
  const typed = why && fix && needs(why) && needs(fix);
  const lead = serial ? F.t("scan.notStarted", { serial }) : "";
  const body = typed ? [F.t("refusal." + r.reason, params), F.t("refusalFix." + r.reason, params)]
    : [F.sentence(err.message || F.t(err.key)), F.sentence(err.fix)];
  return [lead].concat(body).filter(Boolean).join(" ");
};

// The translated line for an error, then the station's own words (what was wrong and the fix).
F.errorText = function (err) {
  const detail = [err.message, err.fix].filter((x) => x && x !== F.t(err.key)).join(" ");
  return F.t(err.key) + (detail ? " " + detail : "");
};

F.api = async function (method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (F.state.me) headers["X-CSRF-Token"] = F.state.me.csrf;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, credentials: "same-origin", body: body ? JSON.stringify(body) : undefined });
  } catch (e) {
    throw new F.ApiError(0, null);
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    if (res.status === 401 && path !== "/api/signin") F.signedOut();
    throw new F.ApiError(res.status, data && data.error);
  }
  return data;
};

// ---- Sign-in -------------------------------------------------------------------------------
F.signIn = async function (event) {
  event.preventDefault();
  const id = F.$("signin-id"), pin = F.$("signin-pin"), msg = F.$("signin-message");
  // A badge scan types the id then Enter: go on to the PIN instead of sending an empty one.
  if (!pin.value) { pin.focus(); return; }
  msg.textContent = "";
  try {
    const me = await F.api("POST", "/api/signin", { id: id.value.trim(), pin: pin.value });
    pin.value = "";
    await F.start(me);
  } catch (err) {
    pin.value = "";
    msg.textContent = F.errorText(err);
    id.select();
    id.focus();
  }
};

F.signedOut = function () {
  if (!F.state.me) return;
  F.state.me = null;
  if (F.ws) { F.ws.onclose = null; F.ws.close(); F.ws = null; }
  document.body.className = "signed-out";
  F.i18n.load(F.i18n.browserLanguage()).catch(() => {});
  F.$("signin-id").value = "";
  F.$("signin-id").focus();
};

F.start = async function (me) {
  F.state.me = me;
  document.body.className = "signed-in role-" + me.role;
  F.$("station-id").textContent = "Ferrule · " + me.stationId;
  await F.i18n.load(me.language || F.i18n.browserLanguage());
  F.showUser();
  F.resetIdle();
  F.connect();
  F.route();
};

F.showUser = function () {
  const me = F.state.me;
  if (me) F.$("user").textContent = me.name + " (" + F.t("role." + me.role) + ")";
};

F.switchLanguage = async function () {
  const next = F.i18n.lang === "zh" ? "en" : "zh";
  if (F.state.me) {
    try { F.state.me = await F.api("POST", "/api/language", { language: next }); } catch (err) { return; }
  }
  await F.i18n.load(next);
  F.showUser();
  F.rerender();
};

// ---- Idle sign-out: the server forgets the session too; this shows the sign-in at once. ----
F.resetIdle = function () {
  clearTimeout(F.idleTimer);
  if (!F.state.me) return;
  F.idleTimer = setTimeout(async () => {
    try { await F.api("POST", "/api/signout"); } catch (err) { /* already signed out */ }
    F.signedOut();
  }, F.state.me.idleSignOutSeconds * 1000);
};

// ---- The live feed ---------------------------------------------------------------------------
F.connect = function () {
  if (!F.state.me) return;
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/events");
  F.ws = ws;
  ws.onopen = () => { F.retry = 250; };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "snapshot") F.onSnapshot(msg);
    else if (msg.type === "event") F.onEvent(msg.event, msg.at);
  };
  ws.onclose = () => {
    F.setConnected(false);
    F.ws = null;
    // The daemon restarted or the network dropped: try again, up to every 3 s.
    F.retry = Math.min((F.retry || 250) * 2, 3000);
    setTimeout(F.reconnect, F.retry);
  };
};

F.reconnect = async function () {
  if (!F.state.me || F.ws) return;
  let session;
  try { session = await F.api("GET", "/api/session"); } catch (err) {
    setTimeout(F.reconnect, F.retry = Math.min(F.retry * 2, 3000));
    return;
  }
  if (!session.me) { F.signedOut(); return; }
  F.state.me = session.me;
  F.connect();
};

F.setConnected = function (on) {
  F.state.connected = on;
  const c = F.$("connection");
  c.textContent = F.t(on ? "conn.live" : "conn.lost");
  c.dataset.state = on ? "live" : "lost";
  document.body.classList.toggle("offline", !on);
};

F.onSnapshot = function (snap) {
  F.state.status = snap.status;
  F.state.recipes = snap.recipes;
  F.state.prompts = snap.prompts;
  F.setConnected(true);
  F.station.render();
  F.pages.refresh();
};

F.onEvent = function (e, at) {
  F.station.onEvent(e, at);
  if (e.kind === "prompt") F.state.prompts.push(e.prompt);
  if (e.kind === "promptClosed") F.state.prompts = F.state.prompts.filter((p) => p.id !== e.id);
  if (e.kind !== "step") {
    F.statusEvents = (F.statusEvents || 0) + 1;
    F.refreshStatus();
  }
};

// The fixtures' states change around the events: take a fresh status after each (batched). A
// status answered while another such event came is older than that event (it would show a unit
// that has just ended as running): it is dropped, and the refresh that event asked for follows.
F.refreshStatus = function () {
  clearTimeout(F.statusTimer);
  F.statusTimer = setTimeout(async () => {
    const asked = F.statusEvents;
    try {
      const status = await F.api("GET", "/api/status");
      if (F.statusEvents !== asked) return;
      F.state.status = status;
      F.station.render();
      F.pages.refresh();
    } catch (err) { /* the feed's reconnect handles a lost station */ }
  }, 100);
};

// ---- Views ------------------------------------------------------------------------------------
F.route = function () {
  const view = (location.hash || "#station").slice(1);
  F.state.view = F.$("view-" + view) ? view : "station";
  document.querySelectorAll("section.view").forEach((s) => { s.hidden = s.id !== "view-" + F.state.view; });
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === F.state.view));
  F.pages.refresh();
  F.station.focusScan();
};

F.rerender = function () {
  F.station.render(true);
  F.pages.refresh();
  if (F.state.me) F.setConnected(F.state.connected);
};

document.addEventListener("DOMContentLoaded", async () => {
  F.$("signin-form").addEventListener("submit", F.signIn);
  F.$("language").addEventListener("click", F.switchLanguage);
  F.$("signout").addEventListener("click", async () => {
    try { await F.api("POST", "/api/signout"); } catch (err) { /* signed out either way */ }
    F.signedOut();
  });
  window.addEventListener("hashchange", F.route);
  ["pointerdown", "keydown"].forEach((t) => document.addEventListener(t, F.resetIdle, { passive: true }));
  F.pages.init();
  let session = null;
  try { session = await F.api("GET", "/api/session"); } catch (err) { /* the daemon is away: the sign-in form */ }
  try {
    if (session && session.me) return await F.start(session.me);
  } catch (err) { /* the station went away while the page started: sign in again */ }
  await F.i18n.load(F.i18n.browserLanguage());
  F.$("signin-id").focus();
});
