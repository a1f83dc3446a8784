// The message catalog: every text on the operator pages comes from messages-<lang>.json.
"use strict";
window.F = window.F || {};
F.i18n = {
  lang: "en",
  messages: {},
  // The signed-in user's language, else the browser's (zh-* gets Chinese).
  browserLanguage() {
    return (navigator.languages || [navigator.language || "en"]).some((l) => l.toLowerCase().startsWith("zh")) ? "zh" : "en";
  },
  async load(lang) {
    const res = await fetch("/assets/messages-" + lang + ".json", { cache: "no-cache" });
    if (!res.ok) throw new Error("no catalog for " + lang);
    this.messages = await res.json();
    this.lang = lang;
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    this.apply(document);
  },
  // t("state.testing", {done: 3, total: 12}); a missing key shows itself, so it is noticed.
  t(key, params) {
    let s = this.messages[key];
    if (s === undefined) return key;
    if (params) for (const k of Object.keys(params)) s = s.split("{" + k + "}").join(String(params[k]));
    return s;
  },
  apply(root) {
    root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = this.t(el.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = this.t(el.dataset.i18nPlaceholder); });
  },
};
