// The station page: one panel per fixture with its state, scan field, prompts, verdict and live fiber grid.
"use strict";
const SYMBOL = { pass: "✓", fail: "✗", error: "⚠", dark: "∅", pending: "·" };

F.station = {
  panels: {},
  chosen: Number(localStorage.getItem("ferrule.fixture")) || null,

  // Builds missing panels (or all, after a language change) and brings each up to date.
  render(rebuild) {
    const status = F.state.status;
    if (!status) return;
    const box = F.$("fixtures");
    if (rebuild) { box.textContent = ""; this.panels = {}; }
    if (!status.fixtures.some((f) => f.id === this.chosen)) this.chosen = status.fixtures.length ? status.fixtures[0].id : null;
    for (const f of status.fixtures) {
      if (!this.panels[f.id]) box.append(this.build(f));
      this.update(f);
    }
    this.focusScan();
  },

  build(f) {
    const p = { id: f.id, cells: {}, unit: null, done: new Set() };
    p.part = F.h("select", { class: "part", "aria-label": F.t("scan.part"), onchange: () => this.partChosen(p) });
    p.serial = F.h("input", { class: "serial", placeholder: F.t("scan.placeholder"), autocomplete: "off", "aria-label": F.t("scan.serial"),
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); this.scan(p); } } });
    p.state = F.h("span", { class: "state" });
    p.stop = F.h("button", { class: "stop big", type: "button", text: F.t("button.stop"), onclick: () => this.stop(p) });
    p.choose = F.h("span", { class: "chosen-mark" });
    p.message = F.h("p", { class: "message", role: "alert" });
    p.calibration = F.h("p", { class: "calibration", role: "status" });
    p.remedy = F.h("div", { class: "remedy" });
    p.prompt = F.h("div", { class: "prompt" });
    p.verdict = F.h("div", { class: "verdict", "aria-live": "polite" });
    p.todo = F.h("ul", { class: "todo" });
    p.reasons = F.h("ul", { class: "reasons" });
    p.grid = F.h("div", { class: "grid" });
    // A tap anywhere on the panel (but its controls) sends the scans here and gives its field the focus.
    p.root = F.h("article", { class: "fixture", id: "fixture-" + f.id, "data-fixture": f.id, onpointerdown: () => this.choose(p),
      onclick: (e) => { if (!e.target.closest("input, select, button")) this.focusScan(true); } },
      F.h("header", {}, F.h("h2", { text: F.t("fixture.title", { id: f.id }) }), p.choose, p.state, p.stop),
      F.h("div", { class: "scan" },
        F.h("label", {}, F.h("span", { text: F.t("scan.part") }), p.part),
        F.h("label", {}, F.h("span", { text: F.t("scan.serial") }), p.serial)),
      p.calibration, p.message, p.remedy, p.prompt, p.verdict, p.todo, p.reasons, p.grid);
    this.panels[f.id] = p;
    this.fillParts(p);
    return p.root;
  },

  fillParts(p) {
    const saved = localStorage.getItem("ferrule.part." + p.id);
    p.part.textContent = "";
    p.part.append(F.h("option", { value: "", text: F.t("scan.choosePart") }));
    for (const r of F.state.recipes) {
      p.part.append(F.h("option", { value: r.partNumber, text: r.partNumber + " · " + r.description, selected: r.partNumber === saved }));
    }
  },

  recipe(part) { return F.state.recipes.find((r) => r.partNumber === part); },

  update(f) {
    const p = this.panels[f.id];
    p.fixture = f;
    const busy = f.state !== "idle";
    let text = F.t("state." + f.state);
    if (f.state === "testing" && f.unit) {
      text = F.t("state.testing", { done: Math.max(f.unit.fibersDone, p.done.size), total: f.unit.fibersTotal });
    }
    if (f.unit) text = f.unit.serial + " · " + text;
    p.state.textContent = text;
    p.root.dataset.state = f.state;
    // An instrument past its calibration is said on every screen, whatever station.calibration does with units.
    p.calibration.textContent = (f.calibrationOverdue || []).map((c) =>
      c.due ? F.t("calibration.overdue", { instrument: c.instrument, due: c.due }) : F.t("calibration.never", { instrument: c.instrument }))
      .join(" ");
    p.calibration.hidden = !f.calibrationOverdue;
    p.stop.hidden = !busy || f.state === "referencing";
    p.serial.disabled = busy;
    p.part.disabled = busy;
    p.root.classList.toggle("chosen", this.chosen === f.id);
    p.choose.textContent = this.chosen === f.id ? F.t("fixture.chosen") : "";
    // A unit already running when the page (re)connected: its grid, filled in from here on.
    if (f.unit && (!p.unit || p.unit.serial !== f.unit.serial)) this.startUnit(p, f.unit.serial, f.unit.partNumber, null);
    // A verdict the page missed (opened or reconnected after it): from the latest unit's report.
    const last = f.lastUnit;
    // The unit the page saw running ended while its feed was down (a restart): no unitFinished
    // came, so its verdict is the latest unit's.
    if (!f.unit && p.unit && last && last.serial === p.unit.serial && p.shown !== last.reportId) p.unit = null;
    if (!f.unit && !p.unit && last && p.shown !== last.reportId) {
      this.drawGrid(p, last.partNumber);
      if (last.stored) this.showVerdict(p, last);
      else { p.shown = last.reportId; this.showHeld(p, last.verdict, last.serial); }
    }
    if (!f.unit && !p.unit && !p.shown) this.drawGrid(p, p.part.value);
    this.renderPrompts(p);
  },

  choose(p) {
    this.chosen = p.id;
    localStorage.setItem("ferrule.fixture", String(p.id));
    for (const q of Object.values(this.panels)) {
      q.root.classList.toggle("chosen", q.id === p.id);
      q.choose.textContent = q.id === p.id ? F.t("fixture.chosen") : "";
    }
  },

  partChosen(p) {
    localStorage.setItem("ferrule.part." + p.id, p.part.value);
    if (!p.unit) this.drawGrid(p, p.part.value);
    p.serial.focus();
  },

  // The serial field of the chosen fixture has the focus whenever that fixture is ready, so a
  // scanner never needs a tap first.
  focusScan(force) {
    if (!F.state.me || F.state.view !== "station") return;
    const p = this.panels[this.chosen];
    const active = document.activeElement;
    if (!p || p.serial.disabled || active === p.serial) return;
    // Not while the user works another control (choosing a part, typing in a filter).
    if (!force && active && (active.tagName === "SELECT" || active.tagName === "INPUT")) return;
    p.serial.focus();
  },

  // A keyboard-wedge scan (characters, then Enter): a part number sets the part; anything else
  // is a serial and starts the unit. Nothing starts on a bad scan.
  async scan(p) {
    const text = p.serial.value.trim();
    p.serial.value = "";
    p.message.dataset.kind = "error";
    p.remedy.textContent = "";
    if (!text) { p.message.textContent = F.t("scan.empty"); return; }
    if (this.recipe(text)) {
      p.part.value = text;
      this.partChosen(p);
      p.message.dataset.kind = "info";
      p.message.textContent = F.t("scan.partSet", { part: text });
      return;
    }
    if (!p.part.value) { p.message.textContent = F.t("scan.noPart"); return; }
    try {
      const answer = await F.api("POST", "/api/scan", { serial: text, partNumber: p.part.value, fixture: p.id });
      if (!answer.started) {
        p.message.textContent = F.refusalText(answer.error, text);
        this.offerRemedy(p, answer.error.refusal);
        return;
      }
      p.message.dataset.kind = "info";
      p.message.textContent = F.t("scan.started", { serial: text });
      this.clearVerdict(p);
      // The other fixture is probably the one being loaded next: scans go there now.
      const next = Object.values(this.panels).find((q) => q.id !== p.id && q.fixture && q.fixture.state === "idle");
      if (next) this.choose(next);
    } catch (err) {
      p.message.textContent = F.refusalText(err, text);
      this.offerRemedy(p, err.refusal);
    }
  },

  // The fix of a refusal as a button, where the signed-in role may take it: a reference with
  // the cord the station named (connect it first, then start), or a supervisor's cord reset.
  offerRemedy(p, refusal) {
    p.remedy.textContent = "";
    const remedy = refusal && refusal.remedy;
    if (!remedy) return;
    if (remedy.action === "takeReference" && F.may("operator")) {
      p.remedy.append(F.h("button", { class: "big", type: "button", "data-remedy": "takeReference",
        text: F.t("remedy.takeReference", { cord: remedy.cord }), onclick: () => this.walkReference(p, remedy) }));
    }
    if (remedy.action === "resetCord" && F.may("supervisor")) {
      p.remedy.append(F.h("button", { class: "big", type: "button", "data-remedy": "resetCord",
        text: F.t("remedy.resetCord", { cord: remedy.cord }), onclick: () => this.resetCord(p, remedy.cord) }));
    }
  },

  // Connect the cord the station named, then the reference is taken (the station's own prompts
  // follow where it has them); the next scan then runs the unit.
  walkReference(p, remedy) {
    const fixture = remedy.fixture || p.id;
    p.remedy.textContent = "";
    p.message.dataset.kind = "info";
    p.message.textContent = F.t("remedy.connect", { cord: remedy.cord, fixture });
    const start = F.h("button", { class: "big", type: "button", "data-remedy": "startReference", text: F.t("remedy.start"),
      onclick: async () => {
        p.remedy.textContent = "";
        p.message.textContent = F.t("ref.taking");
        try {
          await F.api("POST", "/api/reference", { fixture, cord: remedy.cord });
          p.message.textContent = F.t("remedy.done", { cord: remedy.cord });
        } catch (err) {
          p.message.dataset.kind = "error";
          p.message.textContent = F.refusalText(err);
          this.offerRemedy(p, err.refusal);
        }
        this.focusScan(true);
      } });
    const cancel = F.h("button", { type: "button", text: F.t("remedy.cancel"),
      onclick: () => { p.remedy.textContent = ""; p.message.textContent = ""; this.focusScan(true); } });
    p.remedy.append(start, cancel);
  },

  async resetCord(p, cord) {
    p.remedy.textContent = "";
    try {
      await F.api("POST", "/api/cordReset", { cord });
      p.message.dataset.kind = "info";
      p.message.textContent = F.t("cord.resetDone", { cord });
    } catch (err) {
      p.message.textContent = F.refusalText(err);
    }
  },

  async stop(p) {
    try { await F.api("POST", "/api/abort", { fixture: p.id }); } catch (err) { p.message.textContent = F.errorText(err); }
  },

  clearVerdict(p) {
    p.verdict.textContent = "";
    p.verdict.dataset.verdict = "";
    p.todo.textContent = "";
    p.reasons.textContent = "";
  },

  startUnit(p, serial, part, reportId) {
    p.unit = { serial, part, reportId };
    p.remedy.textContent = "";
    p.done = new Set();
    this.clearVerdict(p);
    this.drawGrid(p, part);
  },

  // Every position of the MPO, row by row with the wavelengths at the left: the used positions wait
  // for their readings, the others say unused.
  drawGrid(p, part) {
    const r = this.recipe(part);
    p.grid.textContent = "";
    p.cells = {};
    if (!r) return;
    p.grid.style.setProperty("--columns", r.positionsPerRow);
    for (let n = 1; n <= r.positions; n++) {
      if ((n - 1) % r.positionsPerRow === 0) {
        const wavelengths = r.wavelengthsNm.map((wl) => F.h("span", { text: String(wl) }));
        p.grid.append(F.h("div", { class: "legend" }, F.h("b", { text: "nm" }), wavelengths));
      }
      const used = r.usedPositions.includes(n);
      const cell = F.h("div", { class: "cell", "data-position": n, "data-state": used ? "pending" : "unused",
        title: F.t("grid.position", { n }) + (used ? "" : ": " + F.t("grid.unused")) }, F.h("b", { text: String(n) }));
      if (used) {
        cell.wl = {};
        for (const wl of r.wavelengthsNm) {
          cell.wl[wl] = F.h("span", { class: "wl", "data-wl": wl, text: SYMBOL.pending });
          cell.append(cell.wl[wl]);
        }
      } else {
        cell.append(F.h("span", { class: "wl", text: "— " + F.t("grid.unused") }));
      }
      p.cells[n] = cell;
      p.grid.append(cell);
    }
  },

  // One reading: the value and a symbol per wavelength, and the cell's worst state as its colour.
  fill(p, fiber, wl, ilDb, verdict) {
    const cell = p.cells[fiber];
    if (!cell || !cell.wl || !cell.wl[wl]) return;
    const dark = ilDb === null || ilDb === undefined;
    const state = verdict === "pass" ? "pass" : verdict === "error" ? "error" : dark ? "dark" : "fail";
    cell.wl[wl].textContent = (dark ? "" : ilDb.toFixed(2) + " ") + SYMBOL[state];
    cell.wl[wl].title = wl + " nm: " + (dark ? F.t("grid.noLight") : ilDb.toFixed(3) + " dB");
    cell.wl[wl].dataset.state = state;
    const order = ["pending", "pass", "dark", "fail", "error"];
    const states = Object.values(cell.wl).map((s) => s.dataset.state || "pending");
    const done = states.filter((s) => s !== "pending");
    const worst = done.reduce((a, b) => (order.indexOf(b) > order.indexOf(a) ? b : a), "pass");
    // Still waiting for a wavelength: "measuring" until one goes wrong, then the worst shows at once.
    cell.dataset.state = !done.length ? "pending" : worst === "pass" && done.length < states.length ? "measuring" : worst;
  },

  onEvent(e, at) {
    const p = this.panels[e.fixture];
    if (!p) return;
    if (e.kind === "unitStarted") this.startUnit(p, e.serial, e.partNumber, e.reportId);
    if (e.kind === "step") {
      if (!p.unit || p.unit.serial !== e.serial) return;
      this.fill(p, e.fiber, e.wavelengthNm, e.ilDb, e.verdict);
      p.done.add(e.fiber);
      if (p.fixture && p.fixture.unit) {
        p.state.textContent = e.serial + " · " + F.t("state.testing", { done: p.done.size, total: p.fixture.unit.fibersTotal });
      }
      if (at) F.latencies.push(Date.now() - at);
    }
    if (e.kind === "unitFinished") this.showVerdict(p, e);
    if (e.kind === "unitHeld") this.showHeld(p, e.verdict, e.serial);
    if (e.kind === "scan") {
      // A fixed scanner's scan: what it started or chose, or why nothing started.
      p.message.dataset.kind = e.accepted ? "info" : "error";
      p.message.textContent = e.refusal ? F.refusalText({ message: e.detail, refusal: e.refusal }, e.text)
        : F.t(e.accepted ? "scan.accepted" : "scan.refused") + " " + e.text + ": " + e.detail;
      this.offerRemedy(p, e.refusal);
    }
    if (e.kind === "unitNotStarted") {
      p.unit = null;
      p.message.dataset.kind = "error";
      p.message.textContent = F.t("verdict.notStarted") + " " + e.serial + ": " + e.reason;
    }
  },

  // Measured but not yet stored: the verdict shows only when it is kept where a stop cannot lose it.
  showHeld(p, verdict, serial) {
    if (verdict) {
      this.showBigVerdict(p, verdict);
      p.message.dataset.kind = "info";
      p.message.textContent = F.t("verdict.held");
    } else {
      this.clearVerdict(p);
      p.message.dataset.kind = "error";
      p.message.textContent = F.t("verdict.notKept", { serial });
    }
  },

  showBigVerdict(p, verdict, warned) {
    p.verdict.dataset.verdict = verdict;
    p.verdict.dataset.warning = warned ? "true" : "false";
    p.verdict.textContent = SYMBOL[verdict === "pass" ? "pass" : verdict === "error" ? "error" : "fail"] + " " + F.t("verdict." + verdict)
      + (warned ? " · " + F.t("verdict.warning") : "");
  },

  // The verdict in large type, then the reasons and what to do from the stored report (which also
  // fills any reading the page missed while it was reconnecting).
  async showVerdict(p, e) {
    p.shown = e.reportId;
    // A pass in the recipe's warning band: still a pass, said beside it and listed under the reasons.
    this.showBigVerdict(p, e.verdict, (e.warnings || []).length > 0);
    p.unit = null;
    let report;
    try { report = await F.api("GET", "/reports/" + e.reportId + ".json"); } catch (err) { return; }
    if (p.unit) return;  // the next unit started meanwhile
    for (const m of report.measurements) if (m.end === "A" || m.end === undefined) this.fill(p, m.fiber, m.wavelengthNm, m.ilDb, m.verdict);
    p.todo.textContent = "";
    for (const d of report.diagnoses) {
      p.todo.append(F.h("li", { text: F.t("diag." + d.code, { fibers: (d.fibers || []).join(", "), end: d.end || "A/B" }) }));
    }
    if (report.verdict === "error") p.todo.append(F.h("li", { text: F.t("verdict.errorTodo") }));
    p.reasons.textContent = "";
    for (const r of report.reasons.slice(0, 6)) p.reasons.append(F.h("li", { text: r }));
    for (const w of (report.warnings || []).slice(0, 6)) p.reasons.append(F.h("li", { class: "warning", text: w }));
  },

  renderPrompts(p) {
    const forAnyFixture = (q) => q.fixture === null || q.fixture === undefined;
    const mine = F.state.prompts.filter((q) => q.fixture === p.id || (forAnyFixture(q) && p.id === this.chosen));
    p.prompt.textContent = "";
    for (const q of mine) {
      const label = (c) => (F.i18n.messages["choice." + c] === undefined ? c : F.t("choice." + c));
      const buttons = q.choices.map((c) => F.h("button", { class: "big answer", type: "button", text: label(c), "data-choice": c,
        onclick: async () => {
          try { await F.api("POST", "/api/answer", { prompt: q.id, answer: c }); } catch (err) { p.message.textContent = F.errorText(err); }
        } }));
      p.prompt.append(F.h("div", { class: "prompt-box", role: "alertdialog", "data-prompt": q.id },
        F.h("strong", { text: F.t("prompt.title") }), F.h("p", { text: q.text }), F.h("div", { class: "choices" }, buttons)));
    }
  },
};
