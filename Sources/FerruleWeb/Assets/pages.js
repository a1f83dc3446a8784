// The other pages: references and cords, history, yield and Pareto, quality, instruments, delivery.
"use strict";

F.table = function (headKeys, rows) {
  return F.h("table", {},
    F.h("thead", {}, F.h("tr", {}, headKeys.map((k) => F.h("th", { text: F.t(k) })))),
    F.h("tbody", {}, rows.map((cells) => F.h("tr", {},
      cells.map((c) => (c instanceof Node ? F.h("td", {}, c) : F.h("td", { text: c ?? "–" })))))));
};
F.time = (iso) => (iso ? new Date(iso).toLocaleString(F.i18n.lang === "zh" ? "zh-CN" : undefined) : "–");
F.duration = function (seconds) {
  const s = Math.max(0, Math.round(seconds));
  return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
};

F.pages = {
  init() {
    F.$("history-form").addEventListener("submit", (e) => { e.preventDefault(); this.history(); });
    F.$("pareto-part").addEventListener("change", () => this.yield());
    F.$("quality-part").addEventListener("change", () => this.quality());
    F.$("reload").addEventListener("click", () => this.reload());
    F.$("fault-form").addEventListener("submit", (e) => { e.preventDefault(); this.injectFault(); });
    const kinds = ["none", "noReply", "garbage", "queueError", "disconnect", "slowSwitch", "unplug", "overRange", "measurementFault"];
    F.$("fault-kind").append(...kinds.map((k) => F.h("option", { value: k, text: k })));
  },

  // The shown page, fresh (after the feed's snapshot, a status change, a language switch).
  refresh() {
    if (!F.state.me || !F.state.status) return;
    const page = { references: this.references, history: this.historyForm, yield: this.yield, quality: this.quality,
      instruments: this.instruments, delivery: this.delivery }[F.state.view];
    if (page) page.call(this);
  },

  references() {
    const box = F.$("references");
    box.textContent = "";
    const now = Date.now();
    for (const f of F.state.status.fixtures) {
      const refs = f.references.length ? f.references : [f.reference];
      const rows = refs.map((r) => [
        F.h("span", { class: "badge", "data-state": r.state, text: F.t("ref.state." + r.state) }),
        r.cord ? r.cord + (r.polarity ? " (" + r.polarity + ")" : "") : "–",
        F.time(r.validUntil),
        r.validUntil ? F.duration((Date.parse(r.validUntil) - now) / 1000) : "–",
        r.suspect ? F.t("ref.suspectWhy", { why: r.suspect }) : "–",
      ]);
      const fitting = f.cords.filter((c) => c.role === "reference").map((c) => c.id).join(", ");
      const take = F.h("button", { class: "big", type: "button", text: F.t("ref.take"), disabled: f.state !== "idle",
        onclick: () => this.takeReference(f.id) });
      box.append(F.h("div", { class: "card", id: "reference-" + f.id }, F.h("h2", { text: F.t("ref.fixture", { id: f.id }) }),
        F.table(["ref.state", "ref.cord", "ref.validUntil", "ref.expiresIn", "ref.state.suspect"], rows),
        F.h("p", { text: F.t("ref.connect", { cords: fitting || "–" }) }), take));
    }
    const cords = new Map();
    for (const f of F.state.status.fixtures) for (const c of f.cords) cords.set(c.id, c);
    F.$("cords").textContent = "";
    F.$("cords").append(F.table(["cord.id", "cord.role", "cord.matings", "cord.limit", "ref.state", "cord.reset"],
      [...cords.values()].map((c) => [c.id, F.t("cord.role." + c.role), String(c.matings), String(c.maxMatings),
        F.h("span", { class: "badge", "data-state": c.state, text: F.t("cord.state." + c.state) }),
        F.h("button", { class: "supervisor-only", type: "button", "data-cord": c.id, text: F.t("cord.reset"),
          onclick: () => this.resetCord(c.id) })])));
  },

  async takeReference(fixture) {
    const msg = F.$("references-message");
    msg.textContent = F.t("ref.taking");
    location.hash = "#station";  // the prompts (connect the cord) show on the station page
    try { await F.api("POST", "/api/reference", { fixture }); msg.textContent = ""; } catch (err) { msg.textContent = F.errorText(err); }
  },

  async resetCord(cord) {
    const msg = F.$("references-message");
    try {
      await F.api("POST", "/api/cordReset", { cord });
      msg.textContent = F.t("cord.resetDone", { cord });
      F.refreshStatus();
    } catch (err) { msg.textContent = F.errorText(err); }
  },

  // The filters keep what the user chose; the lists of parts and verdicts follow the language.
  historyForm() {
    const part = F.$("history-part"), verdict = F.$("history-verdict");
    const keepPart = part.value, keepVerdict = verdict.value;
    part.textContent = "";
    const options = F.state.recipes.map((r) => F.h("option", { value: r.partNumber, text: r.partNumber }));
    part.append(F.h("option", { value: "", text: F.t("history.any") }), ...options);
    verdict.textContent = "";
    verdict.append(F.h("option", { value: "", text: F.t("history.any") }),
      ...["pass", "fail", "error", "aborted", "interrupted"].map((v) => F.h("option", { value: v, text: F.t("verdict." + v) })));
    part.value = keepPart;
    verdict.value = keepVerdict;
    this.history();
  },

  async history() {
    const form = new FormData(F.$("history-form"));
    const q = new URLSearchParams({ limit: "100" });
    for (const [k, v] of form.entries()) if (v) q.set(k, v);
    const box = F.$("history");
    let rows;
    try { rows = await F.api("GET", "/api/history?" + q.toString()); } catch (err) { box.textContent = F.errorText(err); return; }
    box.textContent = "";
    if (!rows.length) { box.append(F.h("p", { text: F.t("history.none") })); return; }
    box.append(F.table(["history.time", "history.serial", "history.part", "history.fixture", "history.operator", "history.verdict",
      "history.worst", "history.certificate", "history.json"], rows.map((r) => [
      F.time(r.finishedAt || r.startedAt), r.serial, r.partNumber, String(r.fixture), r.operator,
      F.h("span", { class: "badge", "data-state": r.verdict || "running", text: r.verdict ? F.t("verdict." + r.verdict) : "…" }),
      r.worstIlDb === null || r.worstIlDb === undefined ? "–" : r.worstIlDb.toFixed(3),
      F.h("a", { href: "/reports/" + r.reportId + ".html", target: "_blank", rel: "noopener", text: F.t("history.certificate") }),
      F.h("a", { href: "/reports/" + r.reportId + ".json", target: "_blank", rel: "noopener", text: F.t("history.json") }),
    ])));
  },

  yield() {
    const sel = F.$("pareto-part"), keep = sel.value;
    sel.textContent = "";
    const options = F.state.recipes.map((r) => F.h("option", { value: r.partNumber, text: r.partNumber }));
    sel.append(F.h("option", { value: "", text: F.t("pareto.allParts") }), ...options);
    sel.value = keep;
    // The last 30 days: what a shift looks at, and a window the store answers from its
    // newest-first index however many years it holds.
    const since = "&since=" + encodeURIComponent(new Date(Date.now() - 30 * 86400e3).toISOString());
    const lang = "lang=" + F.i18n.lang + since + "&t=" + Date.now();
    F.$("yield-chart").src = "/charts/yield.svg?" + lang;
    F.$("pareto-chart").src = "/charts/pareto.svg?" + lang + "&partNumber=" + encodeURIComponent(sel.value);
  },

  // A part's charts over the last 30 days: each position's Ppk drawn by the station, a table of
  // every position's figures, and the control chart of the position picked (at first the one
  // that broke the run rules most often).
  async quality() {
    const sel = F.$("quality-part"), keep = sel.value, box = F.$("quality");
    sel.textContent = "";
    sel.append(...F.state.recipes.map((r) => F.h("option", { value: r.partNumber, text: r.partNumber })));
    if (keep) sel.value = keep;
    box.textContent = "";
    if (!sel.value) { box.append(F.h("p", { text: F.t("quality.noRecipe") })); return; }
    const since = new Date(Date.now() - 30 * 86400e3).toISOString();
    const q = "partNumber=" + encodeURIComponent(sel.value) + "&since=" + encodeURIComponent(since);
    const lang = "&lang=" + F.i18n.lang + "&t=" + Date.now();
    F.$("capability-chart").src = "/charts/capability.svg?" + q + lang;
    F.$("lot-link").href = "/lots/report.html?" + q + "&lang=" + F.i18n.lang;
    let spc;
    try { spc = await F.api("GET", "/api/spc?" + q); } catch (err) { box.textContent = F.errorText(err); return; }
    const breaks = (c) => Object.values(c.breaks).reduce((a, b) => a + b, 0);
    const show = (c) => {
      const p = c.position;
      F.$("control-title").textContent = F.t("quality.chartOf", { fiber: p.fiber, wavelength: p.wavelengthNm, end: p.end });
      F.$("control-chart").src = "/charts/spc.svg?" + q + "&fiber=" + p.fiber + "&wavelengthNm=" + p.wavelengthNm + "&end=" + p.end + lang;
    };
    if (!spc.charts.length) {
      F.$("control-title").textContent = "";
      F.$("control-chart").removeAttribute("src");
      box.append(F.h("p", { text: F.t("chart.noUnits") }));
      return;
    }
    const fixed = (v, digits) => (typeof v === "number" ? v.toFixed(digits) : "–");
    box.append(F.table(["quality.position", "quality.n", "quality.mean", "quality.ucl", "quality.ppkNormal", "quality.ppkPercentile",
      "quality.breaks"], spc.charts.map((c) => [
      F.h("button", { type: "button", class: "small", onclick: () => show(c),
        text: c.position.fiber + " · " + c.position.wavelengthNm + " nm · " + c.position.end }),
      String(c.n), fixed(c.meanDb, 3), fixed(c.limits && c.limits.center + 3 * c.limits.sigma, 3),
      c.capability ? fixed(c.capability.ppkNormal, 2) + " (" + fixed(c.capability.ppkNormalLower95, 2) + ")" : "–",
      fixed(c.capability && c.capability.ppkPercentile, 2), String(breaks(c))])));
    show(spc.charts.reduce((a, b) => (breaks(b) > breaks(a) ? b : a)));
  },

  instruments() {
    const box = F.$("instruments");
    box.textContent = "";
    box.append(F.table(["inst.name", "inst.driver", "inst.address", "inst.state", "inst.identity", "inst.calibration", "inst.lastError"],
      F.state.status.instruments.map((i) => [i.name, i.driver, i.address,
        F.h("span", { class: "badge", "data-state": i.state, text: F.t("inst.state." + i.state) }),
        i.identity ? [i.identity.manufacturer, i.identity.model, i.identity.serial, i.identity.firmware].join(" ") : "–",
        // Overdue as the station judges it (its own day, the instrument's own date where it gives one).
        i.calibrationDue || i.calibrationOverdue ? F.h("span", { class: "badge", "data-state": i.calibrationOverdue ? "fault" : "ok",
          text: (i.calibrationDue || "") + (i.calibrationOverdue ? " " + F.t("inst.overdue") : ""), title: i.calibration || "" }) : "–",
        i.lastError || "–"])));
    const sel = F.$("fault-instrument"), keep = sel.value;
    sel.textContent = "";
    sel.append(...F.state.status.instruments.map((i) => F.h("option", { value: i.name, text: i.name })));
    if (keep) sel.value = keep;
  },

  async injectFault() {
    const msg = F.$("instruments-message");
    const body = { instrument: F.$("fault-instrument").value, fault: F.$("fault-kind").value };
    try {
      await F.api("POST", "/api/fault", body);
      msg.textContent = F.t("fault.done", { instrument: body.instrument, fault: body.fault });
    } catch (err) { msg.textContent = F.errorText(err); }
  },

  async reload() {
    const msg = F.$("instruments-message");
    try {
      const r = await F.api("POST", "/api/reload");
      msg.textContent = F.t("reload.done", { what: r.applied.length ? r.applied.join("; ") : F.t("reload.nothing") });
    } catch (err) { msg.textContent = F.errorText(err); }
  },

  async delivery() {
    const box = F.$("delivery");
    let sinks;
    try { sinks = await F.api("GET", "/api/delivery"); } catch (err) { box.textContent = F.errorText(err); return; }
    box.textContent = "";
    if (!sinks.length) { box.append(F.h("p", { text: F.t("sink.none") })); return; }
    box.append(F.table(["sink.name", "sink.kind", "sink.pending", "sink.oldest", "sink.failing", "sink.failingSince", "sink.parked"],
      sinks.map((s) => [s.name, s.kind, String(s.pending), F.time(s.oldestWaitingSince), s.failing || "–", F.time(s.failingSince),
        String(s.parked)])));
    const parked = sinks.flatMap((s) => s.parkedReports);
    if (!parked.length) return;
    const again = (p) => F.h("button", { class: "supervisor-only", type: "button", "data-report": p.reportId,
      text: F.t("sink.resend"), onclick: () => this.resend(p) });
    box.append(F.h("h2", { text: F.t("sink.parkedReports") }),
      F.table(["sink.name", "history.serial", "history.time", "sink.reason", "sink.resend"],
        parked.map((p) => [p.sink, p.serial, F.time(p.at), p.reason, again(p)])));
  },

  // A supervisor sends a parked report again (after the MES was fixed); it goes back in that sink's queue only.
  async resend(parked) {
    const msg = F.$("delivery-message");
    try {
      await F.api("POST", "/api/resend", { sink: parked.sink, report: parked.reportId });
      msg.textContent = F.t("sink.resendDone", { serial: parked.serial, sink: parked.sink });
    } catch (err) { msg.textContent = F.errorText(err); }
    this.delivery();
  },
};
