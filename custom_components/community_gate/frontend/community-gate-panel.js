// Community Gate staff panel: people, enrollment, passage log, gates, strangers, alerts,
// and (with a command centre entry) every estate's figures and alerts from the centre.
//
// A dependency-free ES module (no bundler, no npm): what ships is what is in the
// repository. Reads go through the integration's typed websocket commands
// (community_gate/*); every change goes through its services, so the panel gets the
// same checks, translated errors and audit entries as automations do.

// The panel's own strings are generated with the integration's translations
// (scripts/dev/gen_strings.py: strings/<language>.json beside this file); decision
// reasons, methods and alert rules are the integration's translations themselves.
// A string that is an object holds plural forms, chosen by Intl.PluralRules from the
// {count} it is given ("1 open alert", "3 open alerts"; Chinese has only "other").
const VERSION = new URL(import.meta.url).searchParams.get("v") || "";
const LANGS = { en: "en", zh: "zh-Hans" };
const STRINGS = {};

async function loadStrings(lang) {
  if (!STRINGS[lang]) {
    const url = new URL(`strings/${LANGS[lang]}.json`, import.meta.url);
    if (VERSION) url.searchParams.set("v", VERSION);
    STRINGS[lang] = fetch(url).then((r) => {
      if (!r.ok) throw new Error(`${url.pathname}: ${r.status}`);
      return r.json();
    });
  }
  return STRINGS[lang];
}

const lookup = (table, key) => key.split(".").reduce((o, k) => (o ? o[k] : undefined), table);

const ROLES = ["tenant", "co_resident", "visitor", "service", "staff"];
const FLAGS = ["special_attention", "lives_alone", "blocked"];
const KINDS = ["card", "id_card", "pin", "fingerprint"];
const METHODS = ["face", "card", "id_card", "qr", "pin", "fingerprint", "remote", "emergency"];
const TABS = ["people", "enroll", "passages", "gates", "strangers", "alerts"];
const PAGE = 25;
// The estate picker's value for the command centre's view (never an entry id: those are hex).
const CENTRE = "__centre__";

const esc = (v) =>
  String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const CSS = `
:host { display: block; height: 100%; background: var(--primary-background-color); color: var(--primary-text-color);
  font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans SC", sans-serif); }
header { display: flex; align-items: center; gap: 12px; padding: 0 16px; height: 56px;
  background: var(--app-header-background-color, var(--primary-color)); color: var(--app-header-text-color, #fff); }
header h1 { font-size: 20px; font-weight: 400; margin: 0; flex: 1; }
header select { font-size: 16px; }
nav { display: flex; overflow-x: auto; background: var(--card-background-color); border-bottom: 1px solid var(--divider-color); }
nav button { flex: 0 0 auto; border: 0; background: none; padding: 14px 18px; font-size: 16px; color: inherit; cursor: pointer;
  border-bottom: 3px solid transparent; min-height: 48px; }
nav button.on { border-bottom-color: var(--primary-color); color: var(--primary-color); }
main { padding: 16px; max-width: 1200px; margin: 0 auto; }
.card { background: var(--card-background-color); border-radius: 12px; padding: 16px; margin-bottom: 16px;
  box-shadow: var(--ha-card-box-shadow, 0 1px 3px rgba(0,0,0,.15)); }
.row { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-bottom: 10px; }
input, select, button { font-size: 16px; min-height: 44px; box-sizing: border-box; }
input, select { padding: 6px 10px; border: 1px solid var(--divider-color); border-radius: 8px;
  background: var(--card-background-color); color: inherit; }
input[type=checkbox] { min-height: 0; width: 22px; height: 22px; }
button { padding: 0 16px; border-radius: 8px; border: 1px solid var(--primary-color); background: var(--primary-color);
  color: var(--text-primary-color, #fff); cursor: pointer; }
button.flat { background: none; color: var(--primary-color); }
button.warn { background: var(--error-color, #db4437); border-color: var(--error-color, #db4437); }
button:disabled { opacity: .5; cursor: default; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 10px 8px; border-bottom: 1px solid var(--divider-color); vertical-align: top; }
tbody tr.click { cursor: pointer; }
tbody tr.click:hover, tr.new { background: var(--secondary-background-color); }
.chip { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 13px; margin: 2px;
  background: var(--secondary-background-color); }
.ok { color: var(--success-color, #0f9d58); } .bad { color: var(--error-color, #db4437); }
.msg { padding: 10px 12px; border-radius: 8px; margin: 8px 0; }
.msg.error { background: rgba(219,68,55,.12); color: var(--error-color, #db4437); }
.msg.info { background: rgba(15,157,88,.12); }
.banner { background: var(--error-color, #db4437); color: #fff; padding: 12px 16px; font-size: 18px; }
label { display: inline-flex; align-items: center; gap: 6px; }
video, .preview { max-width: 100%; max-height: 320px; border-radius: 8px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
.qr svg { width: 240px; height: 240px; }
.muted { color: var(--secondary-text-color); font-size: 14px; }
td.snap img { width: 96px; height: 96px; object-fit: cover; border-radius: 8px; display: block; }
@media print { header, nav, .noprint { display: none !important; } .card { box-shadow: none; } }
@media (max-width: 700px) { .hide-narrow { display: none; } }
`;

class CommunityGatePanel extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.state = {
      tab: "people", estates: [], entry: null, people: { search: "", role: "", flag: "", offset: 0 },
      passages: { filters: {}, rows: [], cursor: null, live: true }, person: null, message: null,
    };
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    const menu = this.shadowRoot.querySelector("ha-menu-button");
    if (menu) menu.hass = hass;
    if (first) this._start();
    else if (this._language && this._language !== hass.language) this._relanguage();
  }

  async _relanguage() {
    // The user picked another language in their profile: the same view, in it.
    await this._loadStrings();
    await this._loadTranslations();
    this.shadowRoot.querySelector("h1").textContent = this.t("title");
    if (this.state.entry) this._show(this.state.tab);
  }

  async _loadTranslations() {
    // Reason and method names come from the integration's own translations (one source),
    // and so do the refusals it explains (exceptions).
    const tr = {};
    await Promise.all(["entity", "exceptions"].map((category) => this._hass.callWS({
      type: "frontend/get_translations", language: this._hass.language, category, integration: ["community_gate"],
    }).then((out) => Object.assign(tr, out.resources || {})).catch(() => {})));
    this._tr = tr;
  }

  set narrow(v) {
    this._narrow = v;
    const menu = this.shadowRoot.querySelector("ha-menu-button");
    if (menu) menu.narrow = v;
  }
  set panel(v) { this._panel = v; }
  set route(v) { this._route = v; }

  disconnectedCallback() {
    this._unsub?.then((u) => u()).catch(() => {});
    this._unsub = null;
    this._stopCamera();
  }

  connectedCallback() {
    if (this._hass && !this._unsub && this.state.entry) this._subscribe();
  }

  get lang() { return (this._hass?.language || "en").startsWith("zh") ? "zh" : "en"; }

  async _loadStrings() {
    // English backs every language (the tests keep Chinese complete; a key still
    // missing at run time reads in English rather than as its key).
    const lang = this.lang;
    this._language = this._hass.language;
    const [en, own] = await Promise.all([loadStrings("en"), loadStrings(lang)]);
    this._en = en;
    this._str = own;
    this._plural = new Intl.PluralRules(LANGS[lang]);
  }

  t(key, vars = {}) {
    let text = lookup(this._str, key) ?? lookup(this._en, key) ?? key;
    if (typeof text === "object") {
      // Plural forms: the language's category for {count} (always "other" in Chinese).
      text = text[this._plural.select(Number(vars.count))] ?? text.other;
    }
    return String(text).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  }

  ws(type, data = {}) {
    const msg = { type: `community_gate/${type}`, ...data };
    if (this.state.entry && type !== "estates" && type !== "qr" && !type.startsWith("centre")) msg.config_entry_id = this.state.entry;
    return this._hass.callWS(msg);
  }

  async svc(service, data = {}) {
    const service_data = { ...data };
    if (this.state.entry) service_data.config_entry_id = this.state.entry;
    const out = await this._hass.callWS({
      type: "call_service", domain: "community_gate", service, service_data, return_response: true,
    });
    return out.response;
  }

  async _start() {
    const root = this.shadowRoot;
    root.innerHTML = `<style>${CSS}</style><header><h1></h1><select class="estate hide-narrow" hidden></select></header>
      <div class="emergency"></div><nav></nav><main></main>`;
    // HA's own sidebar toggle: on a tablet in portrait the sidebar is hidden.
    const menu = document.createElement("ha-menu-button");
    menu.hass = this._hass;
    menu.narrow = this._narrow;
    root.querySelector("header").prepend(menu);
    root.addEventListener("click", (e) => this._click(e));
    root.addEventListener("submit", (e) => { e.preventDefault(); this._submit(e.target); });
    root.addEventListener("change", (e) => this._change(e));
    await this._loadStrings();
    root.querySelector("h1").textContent = this.t("title");
    try {
      this.state.estates = (await this.ws("estates")).filter((e) => e.loaded);
    } catch (err) {
      this.state.estates = [];
    }
    // A command centre entry, if any: its view joins the estate picker.
    this._centre = await this.ws("centre").then(() => true, () => false);
    const pick = root.querySelector("select.estate");
    if (this.state.estates.length + (this._centre ? 1 : 0) > 1) {
      pick.hidden = false;
      pick.innerHTML = this.state.estates.map((e) => `<option value="${esc(e.entry_id)}">${esc(e.title)}</option>`).join("")
        + (this._centre ? `<option value="${CENTRE}">${esc(this.t("centre"))}</option>` : "");
    }
    this.state.entry = this.state.estates[0]?.entry_id ?? null;
    await this._loadTranslations();
    try {
      await this.ws("alerts", { limit: 1 });
      this._alerts = true;
    } catch (err) {
      this._alerts = err?.code !== "unknown_command";
    }
    this._renderNav();
    if (!this.state.entry && this._centre) return this._showCentre();
    if (!this.state.entry) {
      root.querySelector("main").innerHTML = `<div class="card">${esc(this.t("no_estate"))}</div>`;
      return;
    }
    this._subscribe();
    this._show(this.state.tab);
  }

  _subscribe() {
    this._unsub = this._hass.connection.subscribeMessage(
      (p) => this._onPassage(p), { type: "community_gate/subscribe_passages", config_entry_id: this.state.entry },
    );
    this._unsub.catch(() => { this._unsub = null; });
  }

  _renderNav() {
    const tabs = TABS.filter((t) => t !== "alerts" || this._alerts);
    this.shadowRoot.querySelector("nav").innerHTML = tabs
      .map((t) => `<button data-tab="${t}" class="${t === this.state.tab ? "on" : ""}">${esc(this.t(t))}</button>`).join("");
  }

  _main() { return this.shadowRoot.querySelector("main"); }

  _flash(text, kind = "info") {
    this.state.message = { text, kind };
    const box = this.shadowRoot.querySelector(".flash");
    if (box) box.innerHTML = `<div class="msg ${kind}">${esc(text)}</div>`;
  }

  _errorText(err) {
    const why = err?.details?.why || err?.why;
    if (why && lookup(this._en, `why.${why}`)) return this.t(`why.${why}`);
    const code = err?.error || err?.code;
    const vars = err?.details || err?.translation_placeholders || {};
    if (code && lookup(this._en, `err.${code}`)) return this.t(`err.${code}`, vars);
    // Any other refusal of the integration, in the user's language (the server's own
    // message is English): its exception translation, with the placeholders it sent.
    const text = code && this._tr?.[`component.community_gate.exceptions.${code}.message`];
    if (text) {
      return text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m))
        .replaceAll("{{", "{").replaceAll("}}", "}");
    }
    return err?.message || code || String(err);
  }

  async _show(tab) {
    this.state.tab = tab;
    this._stopCamera();
    this._renderNav();
    const main = this._main();
    main.innerHTML = `<div class="flash"></div><div class="view">${esc(this.t("loading"))}</div>`;
    // The emergency / lockdown banner holds on every view, whoever switched it.
    if (tab !== "gates") this.ws("gates").then((d) => this._emergency(d.emergency, d.lockdown)).catch(() => {});
    try {
      await this[`_view_${tab}`]();
    } catch (err) {
      main.querySelector(".view").innerHTML = `<div class="msg error">${esc(this._errorText(err))}</div>`;
    }
  }

  _view(html) { this._main().querySelector(".view").innerHTML = html; }

  // ------------------------------------------------------------------ people
  async _view_people() {
    const f = this.state.people;
    const data = { limit: PAGE, offset: f.offset };
    if (f.search) data.search = f.search;
    if (f.role) data.role = f.role;
    if (f.flag) data.flag = f.flag;
    const [page, units] = await Promise.all([this.ws("people", data), this.ws("units")]);
    this._units = units;
    const rows = page.people.map((p) => `<tr class="click" data-person="${esc(p.person_id)}">
        <td>${esc(p.person_id)}</td><td>${esc(p.display_name)}</td><td>${esc(this.t(p.role))}</td>
        <td>${esc(p.unit_id || this.t("none"))}</td>
        <td>${FLAGS.filter((k) => p[k]).map((k) => `<span class="chip">${esc(this.t(k))}</span>`).join("")}</td></tr>`).join("");
    const opt = (vals, cur, all) => `<option value="">${esc(this.t(all))}</option>` +
      vals.map((v) => `<option value="${v}" ${v === cur ? "selected" : ""}>${esc(this.t(v))}</option>`).join("");
    this._view(`
      <div class="card">
        <form class="row" data-form="people-filter">
          <input name="search" type="search" placeholder="${esc(this.t("search"))}" value="${esc(f.search)}">
          <select name="role">${opt(ROLES, f.role, "all_roles")}</select>
          <select name="flag">${opt(FLAGS, f.flag, "all_flags")}</select>
          <button type="submit">${esc(this.t("filter"))}</button>
          <button type="button" class="flat" data-action="new-person">${esc(this.t("add_person"))}</button>
          <button type="button" class="flat" data-action="units">${esc(this.t("units"))}</button>
        </form>
        <div class="units"></div>
        <div class="new-person"></div>
        <table><thead><tr><th>${esc(this.t("person_id"))}</th><th>${esc(this.t("name"))}</th><th>${esc(this.t("role"))}</th>
          <th>${esc(this.t("unit"))}</th><th>${esc(this.t("flags"))}</th></tr></thead>
          <tbody>${rows || `<tr><td colspan="5">${esc(this.t("nothing"))}</td></tr>`}</tbody></table>
        <div class="row"><span class="muted">${f.offset + 1}–${f.offset + page.people.length} / ${page.total}</span>
          <button class="flat" data-action="people-prev" ${f.offset === 0 ? "disabled" : ""}>${esc(this.t("prev"))}</button>
          <button class="flat" data-action="people-next" ${f.offset + PAGE >= page.total ? "disabled" : ""}>${esc(this.t("next"))}</button></div>
      </div><div class="detail"></div>`);
    if (this.state.person) await this._showPerson(this.state.person);
  }

  _unitsCard() {
    const rows = (this._units || []).map((u) => `<tr data-unit="${esc(u.unit_id)}"><td>${esc(u.unit_id)}</td><td>${esc(u.building)}</td>
        <td>${esc(u.number)}</td><td>${esc(this._date(u.lease_until))}</td>
        <td><label><input type="checkbox" data-action="arrears" data-unit="${esc(u.unit_id)}" ${u.rent_arrears ? "checked" : ""}>${esc(this.t("rent_arrears"))}</label></td></tr>`).join("");
    return `<div class="card"><table><thead><tr><th>${esc(this.t("unit"))}</th><th>${esc(this.t("building"))}</th>
        <th>${esc(this.t("number"))}</th><th>${esc(this.t("lease_until"))}</th><th></th></tr></thead><tbody>${rows}</tbody></table>
      <form class="row" data-form="add-unit"><input name="unit_id" required placeholder="${esc(this.t("unit"))} (3-1201)">
        <input name="building" required placeholder="${esc(this.t("building"))}" style="width:110px">
        <input name="number" required placeholder="${esc(this.t("number"))}" style="width:110px">
        <button type="submit">${esc(this.t("add_unit"))}</button></form></div>`;
  }

  _personForm() {
    const units = (this._units || []).map((u) => `<option value="${esc(u.unit_id)}">${esc(u.unit_id)}</option>`).join("");
    return `<form class="card" data-form="add-person">
      <div class="row"><input name="person_id" required placeholder="${esc(this.t("person_id"))}">
        <input name="name" placeholder="${esc(this.t("name"))}">
        <select name="role">${ROLES.map((r) => `<option value="${r}">${esc(this.t(r))}</option>`).join("")}</select>
        <select name="unit_id"><option value="">${esc(this.t("none"))}</option>${units}</select></div>
      <div class="row">${FLAGS.map((k) => `<label><input type="checkbox" name="${k}">${esc(this.t(k))}</label>`).join("")}</div>
      <div class="row"><button type="submit">${esc(this.t("save"))}</button>
        <button type="button" class="flat" data-action="cancel-person">${esc(this.t("cancel"))}</button></div></form>`;
  }

  async _showPerson(pid) {
    this.state.person = pid;
    const box = this._main().querySelector(".detail");
    if (!box) return;
    const [d, gates] = await Promise.all([this.ws("person", { person_id: pid }), this.ws("gates")]);
    this._gates = gates.gates;
    const p = d.person;
    const creds = d.credentials.map((c) => `<tr><td>${esc(this.t(c.kind))}</td><td>${esc(c.credential_id)}</td>
        <td>${esc(this._date(c.valid_from))} – ${esc(this._date(c.valid_until))}</td><td>${c.uses}${c.max_uses ? ` / ${c.max_uses}` : ""}</td>
        <td>${c.revoked_at ? `<span class="bad">${esc(this.t("revoked"))}</span>` :
          `<button class="flat" data-action="revoke" data-credential="${esc(c.credential_id)}">${esc(this.t("revoke"))}</button>`}</td></tr>`).join("");
    const consents = d.consents.map((c) => `<div>${esc(c.purpose)} · ${esc(c.notice_version)} · ${esc(this._date(c.given_at))}
        ${c.guardian ? `· ${esc(this.t("guardian"))}` : ""} ${c.withdrawn_at ? `<span class="bad">✗ ${esc(this._date(c.withdrawn_at))}</span>` : '<span class="ok">✓</span>'}</div>`).join("");
    box.innerHTML = `<div class="card" data-detail="${esc(p.person_id)}">
      <div class="row"><h2 style="flex:1;margin:0">${esc(p.display_name || p.person_id)} <span class="muted">${esc(p.person_id)} · ${esc(this.t(p.role))} · ${esc(p.unit_id || "")}</span></h2>
        <button class="flat" data-action="close-person">${esc(this.t("close"))}</button></div>
      <form class="row" data-form="update-person">
        <input name="name" value="${esc(p.display_name)}" placeholder="${esc(this.t("name"))}">
        <label>${esc(this.t("valid_from"))} <input type="datetime-local" name="valid_from" value="${esc(this._local(p.valid_from))}"></label>
        <label>${esc(this.t("valid_until"))} <input type="datetime-local" name="valid_until" value="${esc(this._local(p.valid_until))}"></label>
        ${FLAGS.map((k) => `<label><input type="checkbox" name="${k}" ${p[k] ? "checked" : ""}>${esc(this.t(k))}</label>`).join("")}
        <button type="submit">${esc(this.t("save"))}</button></form>
      <div class="muted">${esc(this.t("last_seen"))}: ${esc(this._date(d.last_seen))} · ${esc(this.t("face_refs"))}: ${d.face_references.plain} + ${d.face_references.masked}</div>
      ${d.face_reenroll ? `<div class="msg error" data-reenroll="1">${esc(this.t("face_reenroll"))}
        <button class="flat" data-action="enroll-person">${esc(this.t("enroll"))}</button></div>` : ""}
      ${this._accessForm(p)}
      <h3>${esc(this.t("credentials"))}</h3>
      <table><tbody>${creds || `<tr><td>${esc(this.t("nothing"))}</td></tr>`}</tbody></table>
      <form class="row" data-form="add-credential">
        <select name="kind">${KINDS.map((k) => `<option value="${k}">${esc(this.t(k))}</option>`).join("")}</select>
        <input name="value" placeholder="${esc(this.t("value_or_generate"))}" autocomplete="off">
        <button type="submit">${esc(this.t("add_credential"))}</button></form>
      <h3>${esc(this.t("visitor_pass"))}</h3>
      <form class="row" data-form="visitor-pass">
        <label>${esc(this.t("hours"))} <input name="hours" type="number" min="1" max="720" value="24" style="width:90px"></label>
        <label>${esc(this.t("max_uses"))} <input name="max_uses" type="number" min="1" max="100" value="4" style="width:90px"></label>
        <button type="submit">${esc(this.t("issue_pass"))}</button></form>
      <div class="pass"></div>
      <h3>${esc(this.t("consents"))}</h3>${consents || esc(this.t("nothing"))}
      <div class="row" style="margin-top:12px">
        <button class="flat" data-action="enroll-person">${esc(this.t("enroll"))}</button>
        <button class="flat" data-action="withdraw">${esc(this.t("withdraw"))}</button>
        <button class="warn" data-action="remove-person">${esc(this.t("remove"))}</button></div></div>`;
  }

  // A person's allowed gates and weekly schedule (issue 17, item 6), saved through the
  // person/update command: the update_person action's validation, errors and audit.
  _accessForm(p) {
    const gates = this._gates || [];
    const names = gates.filter((g) => p.allowed_gates.includes(g.gate_id)).map((g) => g.name);
    const summary = `${names.length ? names.join(", ") : this.t("role_gates")} · ${
      p.schedule.length ? this.t("windows", { count: p.schedule.length }) : this.t("any_time")}`;
    return `<form class="access" data-form="access" novalidate>
      <h3>${esc(this.t("access"))} <span class="muted access-summary">${esc(summary)}</span></h3>
      <div><b>${esc(this.t("allowed_gates"))}</b> <span class="muted">${esc(this.t("allowed_gates_hint"))}</span></div>
      <div class="row">${gates.map((g) => `<label><input type="checkbox" name="gate" value="${esc(g.gate_id)}"
        ${p.allowed_gates.includes(g.gate_id) ? "checked" : ""}>${esc(g.name)}</label>`).join("")}</div>
      <div><b>${esc(this.t("schedule"))}</b> <span class="muted">${esc(this.t("schedule_hint"))}</span></div>
      <div class="windows">${p.schedule.map((w) => this._windowRow(w)).join("")}</div>
      <div class="form-msg"></div>
      <div class="row"><button type="button" class="flat" data-action="add-window">${esc(this.t("add_window"))}</button>
        <button type="submit">${esc(this.t("save_access"))}</button></div></form>`;
  }

  _windowRow(w = { days: [1, 2, 3, 4, 5], start: "07:00", end: "22:00" }) {
    const day = (n) => `<label><input type="checkbox" name="day" value="${n}" ${w.days.includes(n) ? "checked" : ""}>${esc(this.t(`weekdays.${n}`))}</label>`;
    const time = (name) => `<label>${esc(this.t(name))} <input name="${name}" value="${esc(w[name])}" placeholder="HH:MM"
      inputmode="numeric" maxlength="5" autocomplete="off" style="width:80px"></label>`;
    return `<div class="row window" data-window>${[1, 2, 3, 4, 5, 6, 7].map(day).join("")}${time("start")}${time("end")}
      <button type="button" class="flat" data-action="remove-window" title="${esc(this.t("remove_window"))}">✕</button></div>`;
  }

  _readAccess(form) {
    // Checked here first, so staff read which window is wrong in their language; the
    // action checks again (and its refusals are translated too).
    const hhmm = /^(([01]?\d|2[0-3]):[0-5]\d|24:00)$/;
    const pad = (v) => v.padStart(5, "0");
    const schedule = [...form.querySelectorAll("[data-window]")].map((row, i) => {
      const n = i + 1;
      const days = [...row.querySelectorAll("input[name=day]:checked")].map((c) => Number(c.value));
      const start = row.querySelector("input[name=start]").value.trim();
      const end = row.querySelector("input[name=end]").value.trim();
      if (!days.length) throw { code: "window_no_days", details: { n } };
      if (!hhmm.test(start) || !hhmm.test(end)) throw { code: "window_time", details: { n } };
      if (pad(start) === pad(end)) throw { code: "window_same", details: { n } };
      return { days, start: pad(start), end: pad(end) };
    });
    const gates = [...form.querySelectorAll("input[name=gate]:checked")].map((c) => c.value);
    return { allowed_gates: gates, schedule: schedule.length ? schedule : null };
  }

  reason(code, method) {
    // A face nobody is enrolled with is no "unknown credential" to staff: it is an unknown face.
    if (code === "unknown_credential" && method === "face") {
      const face = this._tr?.["component.community_gate.entity.event.alerts.state_attributes.event_type.state.unknown_face"];
      if (face) return face;
    }
    return this._tr?.[`component.community_gate.entity.event.passage.state_attributes.reason.state.${code}`] || code;
  }

  _local(iso) {
    // An ISO time as a datetime-local value (the browser's own time zone).
    if (!iso) return "";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  _date(iso) {
    if (!iso) return this.t("none");
    return new Date(iso).toLocaleString(this.lang === "zh" ? "zh-CN" : undefined, { dateStyle: "short", timeStyle: "short" });
  }

  // ------------------------------------------------------------------ enroll
  async _view_enroll() {
    const pid = this.state.enrollFor || "";
    this._view(`<div class="card">
      <form class="row" data-form="consent">
        <input name="person_id" required placeholder="${esc(this.t("person_id"))}" value="${esc(pid)}">
        <input name="notice_version" required placeholder="${esc(this.t("notice_version"))}" value="2026-11">
        <label><input type="checkbox" name="guardian">${esc(this.t("guardian"))}</label>
        <label><input type="checkbox" name="agreed" required>${esc(this.t("agreed"))}</label>
        <button type="submit">${esc(this.t("record_consent"))}</button></form>
      <h3>${esc(this.t("photo"))}</h3>
      <div class="row">
        <label class="flat">${esc(this.t("upload"))} <input type="file" name="photo" accept="image/*" capture="user" data-action="photo"></label>
        <button type="button" class="flat" data-action="camera">${esc(this.t("camera"))}</button>
        <button type="button" class="flat" data-action="capture" hidden>${esc(this.t("capture"))}</button>
        <select name="variant"><option value="plain">${esc(this.t("plain"))}</option><option value="masked">${esc(this.t("masked"))}</option></select>
      </div>
      <video autoplay playsinline muted hidden></video>
      <img class="preview" alt="" hidden>
      <div class="quality"></div>
      <div class="row"><button type="button" class="flat" data-action="check-photo" disabled>${esc(this.t("check"))}</button>
        <button type="button" data-action="enroll" disabled>${esc(this.t("enroll_btn"))}</button></div></div>`);
  }

  _enrollPerson() { return this._main().querySelector('[data-form="consent"] [name=person_id]').value.trim(); }

  async _setPhoto(blob) {
    this._photo = blob;
    this._differentFrom = "";
    const img = this._main().querySelector("img.preview");
    img.src = URL.createObjectURL(blob);
    img.hidden = false;
    this._main().querySelectorAll('[data-action="enroll"], [data-action="check-photo"]').forEach((b) => { b.disabled = false; });
    await this._upload(true);
  }

  async _upload(dryRun, differentFrom = "") {
    const q = new URLSearchParams({
      person_id: this._enrollPerson(),
      variant: this._main().querySelector("select[name=variant]").value,
    });
    if (dryRun) q.set("dry_run", "1");
    if (differentFrom) q.set("different_from", differentFrom);
    if (this.state.entry) q.set("config_entry_id", this.state.entry);
    const box = this._main().querySelector(".quality");
    box.innerHTML = `<div class="msg info">${esc(this.t("loading"))}</div>`;
    const resp = await this._hass.fetchWithAuth(`/api/community_gate/enroll?${q}`, {
      method: "POST", body: this._photo, headers: { "Content-Type": this._photo.type || "image/jpeg" },
    });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      if (body.error === "face_duplicate") return this._duplicate(box, body.details || {}, dryRun);
      box.innerHTML = `<div class="msg error" data-error="${esc(body.error)}">${esc(this._errorText(body))}</div>`;
      return false;
    }
    this._differentFrom = differentFrom;
    const ok = this.t(dryRun ? "quality_ok" : "enrolled", { px: body.face_px });
    // Enrolled beside a look-alike staff vouched for: the judgement is in the audit log.
    const alike = body.look_alike ? ` ${this.t(dryRun ? "look_alike_checked" : "look_alike_audited")}` : "";
    box.innerHTML = `<div class="msg info" data-ok="1" ${body.look_alike ? 'data-look-alike="1"' : ""}>${esc(ok + alike)}</div>`;
    return true;
  }

  async _duplicate(box, details, dryRun) {
    // The face is near someone else's: name them (this panel is admin-only) and let staff
    // who checked say they are different people (siblings, twins); the retry names them.
    const other = details.other_person_id || "";
    let name = other;
    try {
      const d = await this.ws("person", { person_id: other });
      name = d.person.display_name ? `${d.person.display_name} (${other})` : other;
    } catch (err) { /* removed meanwhile: the id is all there is */ }
    box.innerHTML = `<div class="msg error" data-error="face_duplicate">${esc(this.t("duplicate_of", { name, distance: details.distance ?? "" }))}
      <div class="row" style="margin:8px 0 0"><button type="button" class="flat" data-action="different-people" data-other="${esc(other)}" data-dry="${dryRun ? 1 : 0}">${esc(this.t("different_people"))}</button></div></div>`;
    return false;
  }

  async _startCamera() {
    const video = this._main().querySelector("video");
    if (!navigator.mediaDevices?.getUserMedia) {
      this._flash(this.t("camera_unavailable"), "error");
      return;
    }
    try {
      this._stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: 1280 } });
    } catch (err) {
      this._flash(this.t("camera_unavailable"), "error");
      return;
    }
    video.srcObject = this._stream;
    video.hidden = false;
    this._main().querySelector('[data-action="capture"]').hidden = false;
  }

  _stopCamera() {
    this._stream?.getTracks().forEach((t) => t.stop());
    this._stream = null;
  }

  async _capture() {
    const video = this._main().querySelector("video");
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.92));
    await this._setPhoto(blob);
  }

  // ---------------------------------------------------------------- passages
  async _view_passages(append = false) {
    const st = this.state.passages;
    if (!append) {
      const gates = (await this.ws("gates")).gates;
      this._gates = gates;
      const f = st.filters;
      const sel = (name, vals, label) => `<select name="${name}"><option value="">${esc(this.t(label))}</option>${vals
        .map(([v, text]) => `<option value="${esc(v)}" ${String(f[name] ?? "") === String(v) ? "selected" : ""}>${esc(text)}</option>`).join("")}</select>`;
      this._view(`<div class="card"><form class="row" data-form="passage-filter">
          ${sel("gate_id", gates.map((g) => [g.gate_id, g.name]), "gate")}
          <input name="person_id" placeholder="${esc(this.t("person_id"))}" value="${esc(f.person_id || "")}" style="width:120px">
          <input name="person_name" type="search" placeholder="${esc(this.t("search_name"))}" value="${esc(f.person_name || "")}" style="width:150px">
          ${sel("method", METHODS.map((m) => [m, this.t(m === "emergency" ? "emergency_m" : m)]), "method")}
          ${sel("allowed", [["true", this.t("granted")], ["false", this.t("denied")]], "result")}
          <label>${esc(this.t("from"))} <input type="datetime-local" name="since" value="${esc(f.since || "")}"></label>
          <label>${esc(this.t("to"))} <input type="datetime-local" name="until" value="${esc(f.until || "")}"></label>
          <button type="submit">${esc(this.t("filter"))}</button></form>
        <table><thead><tr><th>${esc(this.t("time"))}</th><th>${esc(this.t("gate"))}</th><th>${esc(this.t("method"))}</th>
          <th>${esc(this.t("result"))}</th><th class="hide-narrow">${esc(this.t("reason"))}</th><th>${esc(this.t("person"))}</th></tr></thead>
          <tbody class="log"></tbody></table>
        <div class="row"><button class="flat" data-action="older" hidden>${esc(this.t("older"))}</button></div></div>`);
      st.rows = [];
      st.cursor = null;
    }
    const q = { limit: 50 };
    for (const [k, v] of Object.entries(st.filters)) {
      if (v === "" || v == null) continue;
      if (k === "allowed") q.allowed = v === "true";
      else if (k === "since" || k === "until") q[k] = new Date(v).toISOString();
      else q[k] = v;
    }
    if (append && st.cursor) q.cursor = st.cursor;
    const page = await this.ws("passages", q);
    st.cursor = page.cursor;
    const tbody = this._main().querySelector("tbody.log");
    tbody.insertAdjacentHTML("beforeend", page.passages.map((p) => this._passageRow(p)).join(""));
    if (!tbody.children.length) tbody.innerHTML = `<tr class="empty"><td colspan="6">${esc(this.t("nothing"))}</td></tr>`;
    this._main().querySelector('[data-action="older"]').hidden = !page.cursor;
  }

  // A person as staff know them, "Wang Fang (3-1201)"; the id when no name is known.
  _named(name, unit, fallback) {
    return name ? `${name}${unit ? ` (${unit})` : ""}` : fallback;
  }

  _passageRow(p, fresh = false) {
    // Staff read names (this panel is admin-only); ids stay the fallback.
    const who = this._named(p.person_name, p.unit_id, p.person_id || p.cluster_id || this.t("none"));
    return `<tr data-passage="${p.passage_id}" class="${fresh ? "new" : ""}">${this._passageTime(p)}<td>${esc(p.gate_name || p.gate_id)}</td>
      <td>${esc(this.t(p.method === "emergency" ? "emergency_m" : p.method))}</td>
      <td class="${p.allowed ? "ok" : "bad"}">${esc(this.t(p.allowed ? "granted" : "denied"))}</td>
      <td class="hide-narrow">${esc(this.reason(p.reason, p.method))}${p.flags.length ? ` <span class="chip">${esc(p.flags.join(", "))}</span>` : ""}</td>
      <td>${esc(who)}</td></tr>`;
  }

  _passageTime(p) {
    // An episode (repeated refusals folded into one row): first seen, how many, until when.
    const first = this._date(p.first_seen || p.time);
    if (!(p.count > 1)) return `<td>${esc(first)}</td>`;
    const last = this._date(p.time);
    const title = this.t("episode_title", { count: p.count, first, last });
    // The chip gives the last sighting's clock time only when it is the same day.
    const sameDay = new Date(p.first_seen).toDateString() === new Date(p.time).toDateString();
    const until = sameDay
      ? new Date(p.time).toLocaleTimeString(this.lang === "zh" ? "zh-CN" : undefined, { timeStyle: "short" })
      : last;
    return `<td title="${esc(title)}">${esc(first)} <span class="chip">${esc(this.t("episode", { count: p.count, last: until }))}</span></td>`;
  }

  _onPassage(p) {
    if (this.state.tab === "passages" && !Object.values(this.state.passages.filters).some((v) => v)) {
      const tbody = this._main().querySelector("tbody.log");
      tbody?.querySelector("tr.empty")?.remove();
      // A repeat folded into an episode updates its row (moved to the top) instead of adding one.
      tbody?.querySelector(`tr[data-passage="${Number(p.passage_id)}"]`)?.remove();
      tbody?.insertAdjacentHTML("afterbegin", this._passageRow(p, true));
    } else if (this.state.tab === "gates") {
      this._view_gates();
    }
  }

  // ------------------------------------------------------------------- gates
  async _view_gates() {
    const d = await this.ws("gates");
    this._emergency(d.emergency, d.lockdown);
    const faces = [
      d.faces.ready ? this.t("faces_ready", { count: d.faces.references }) : this.t("faces_off", { why: d.faces.error || this.t("loading") }),
      d.faces.engine ? this.t("face_engine", { engine: this.t(`engines.${d.faces.engine}`) }) : "",
      d.faces.reenroll > 0 ? this.t("reenroll_count", { count: d.faces.reenroll }) : "",
    ].filter(Boolean).join(" · ");
    const cards = d.gates.map((g) => `<div class="card" data-gate="${esc(g.gate_id)}">
        <h3 style="margin-top:0">${esc(g.name)} <span class="muted">${esc(g.gate_id)}</span></h3>
        <div><span class="${g.online ? "ok" : "bad"}">● ${esc(this.t(g.online ? "online" : "offline"))}</span>
          ${g.camera_ok === null ? "" : `· ${esc(this.t("camera_ok"))} <span class="${g.camera_ok ? "ok" : "bad"}">${g.camera_ok ? "✓" : "✗"}</span>`}</div>
        <div class="muted">${g.last_passage ? `${esc(this._date(g.last_passage.time))} · ${esc(this.t(g.last_passage.method === "emergency" ? "emergency_m" : g.last_passage.method))} · ${esc(this.reason(g.last_passage.reason, g.last_passage.method))}` : esc(this.t("none"))}</div>
        <form class="row" data-form="open-gate" style="margin-top:8px"><input type="hidden" name="gate_id" value="${esc(g.gate_id)}">
          <input name="reason" required placeholder="${esc(this.t("open_reason"))}"><button type="submit">${esc(this.t("open"))}</button></form>
        <form class="row" data-form="desk-reader" style="margin-top:8px"><input type="hidden" name="gate_id" value="${esc(g.gate_id)}">
          <select name="kind">${KINDS.map((k) => `<option value="${k}">${esc(this.t(k))}</option>`).join("")}</select>
          <input name="value" type="password" required autocomplete="off" placeholder="${esc(this.t("desk_reader"))}">
          <button type="submit" class="flat">${esc(this.t("present"))}</button></form></div>`).join("");
    this._view(`<div class="row"><span class="muted" style="flex:1">${esc(faces)}</span>
        ${d.lockdown ? `<button data-action="lockdown-off">${esc(this.t("lockdown_off"))}</button>` :
          `<button class="warn" data-action="lockdown-on">${esc(this.t("lockdown"))}</button>`}
        ${d.emergency ? `<button data-action="emergency-off">${esc(this.t("emergency_off"))}</button>` :
          `<button class="warn" data-action="emergency-on">${esc(this.t("emergency"))}</button>`}</div>
      <div class="grid">${cards}</div>`);
  }

  _emergency(on, lockdown = false) {
    // An emergency opens everything even during a lockdown: its banner says what holds.
    const text = on ? this.t("emergency_on") : lockdown ? this.t("lockdown_on") : "";
    this.shadowRoot.querySelector(".emergency").innerHTML = text ? `<div class="banner">${esc(text)}</div>` : "";
  }

  // --------------------------------------------------------------- strangers
  async _view_strangers() {
    const d = await this.ws("strangers", { limit: 100 });
    // Stranger snapshots (an estate option): the kept face crop, fetched with the admin's
    // token from the snapshot view (never a public URL), shown from memory.
    const pic = (s) => (!d.snapshots ? "" : `<td class="snap">${s.snapshot_at
      ? `<img data-snapshot="${esc(s.cluster_id)}" alt="${esc(this.t("snapshot_alt"))}" title="${esc(this.t("snapshot_taken", { time: this._date(s.snapshot_at) }))}">`
      : `<span class="muted">${esc(this.t("no_snapshot"))}</span>`}</td>`);
    const rows = d.strangers.map((s) => `<tr data-cluster="${esc(s.cluster_id)}">${pic(s)}<td>${esc(s.cluster_id)}</td><td>${s.sightings}</td>
        <td>${s.days_seen}</td><td class="hide-narrow">${esc(this._date(s.first_seen))}</td><td>${esc(this._date(s.last_seen))}</td>
        <td class="last-gate">${esc(s.last_gate_name || s.last_gate_id || this.t("none"))}</td>
        <td><button class="flat" data-action="cluster-passages" data-cluster="${esc(s.cluster_id)}">${esc(this.t("show_passages"))}</button>
          <form class="row" data-form="assign" style="margin:0"><input type="hidden" name="cluster_id" value="${esc(s.cluster_id)}">
          <input name="person_id" required placeholder="${esc(this.t("person_or_name"))}" style="width:160px">
          <button type="submit" class="flat">${esc(this.t("assign"))}</button></form>
          ${s.ignored ? `<div class="muted ignored">${esc(this.t("ignored", { until: this._date(s.ignored.until), note: s.ignored.note }))}
            ${s.ignored.by_name ? `<span>(${esc(this.t("marked_by", { user: s.ignored.by_name }))})</span>` : ""}
            <button class="flat" data-action="unignore" data-cluster="${esc(s.cluster_id)}">${esc(this.t("unignore"))}</button></div>` :
          `<form class="row" data-form="ignore" style="margin:0"><input type="hidden" name="cluster_id" value="${esc(s.cluster_id)}">
          <input name="note" required maxlength="200" placeholder="${esc(this.t("ignore_note"))}" style="width:180px">
          <input name="days" type="number" min="1" max="366" value="30" title="${esc(this.t("days"))}" style="width:80px">
          <button type="submit" class="flat">${esc(this.t("ignore"))}</button></form>`}</td></tr>`).join("");
    this._view(`<div class="card"><table><thead><tr>${d.snapshots ? `<th>${esc(this.t("snapshot"))}</th>` : ""}<th>ID</th><th>${esc(this.t("sightings"))}</th><th>${esc(this.t("days_seen"))}</th>
      <th class="hide-narrow">${esc(this.t("first_seen"))}</th><th>${esc(this.t("last_seen"))}</th><th>${esc(this.t("last_gate"))}</th><th></th></tr></thead>
      <tbody>${rows || `<tr><td colspan="8">${esc(d.ready ? this.t("nothing") : this.t("faces_off", { why: this.t("loading") }))}</td></tr>`}</tbody></table>
      ${d.snapshots ? `<div class="muted">${esc(this.t("snapshots_note"))}</div>` : ""}</div>`);
    await this._loadSnapshots();
  }

  async _loadSnapshots() {
    this._snapUrls?.forEach((u) => URL.revokeObjectURL(u));
    this._snapUrls = [];
    await Promise.all([...this._main().querySelectorAll("img[data-snapshot]")].map(async (img) => {
      const q = new URLSearchParams({ cluster_id: img.dataset.snapshot });
      if (this.state.entry) q.set("config_entry_id", this.state.entry);
      const resp = await this._hass.fetchWithAuth(`/api/community_gate/stranger_snapshot?${q}`).catch(() => null);
      if (!resp?.ok) { img.replaceWith(Object.assign(document.createElement("span"), { className: "muted", textContent: this.t("no_snapshot") })); return; }
      const url = URL.createObjectURL(await resp.blob());
      this._snapUrls.push(url);
      img.src = url;
    }));
  }

  // ------------------------------------------------------------------ alerts
  async _view_alerts() {
    const all = Boolean(this.state.alertsAll);
    const d = await this.ws("alerts", { limit: 100, include_resolved: all });
    const rule = (r) => this._tr?.[`component.community_gate.entity.event.alerts.state_attributes.event_type.state.${r}`] || r;
    const rows = d.alerts.map((a) => `<tr data-alert="${esc(a.alert_id)}" data-state="${esc(a.state)}">
        <td>${esc(this._date(a.time))}</td><td>${esc(rule(a.rule))}</td>
        <td>${esc(this._named(a.subject_name, a.subject_unit, a.subject_id))}${a.gate_id && a.gate_id !== a.subject_id ? ` <span class="muted">@ ${esc(a.gate_name || a.gate_id)}</span>` : ""}</td>
        <td class="${a.state === "new" ? "bad" : ""}">${esc(this.t(`st_${a.state}`))}</td>
        <td>${a.state === "new" ? `<button class="flat" data-action="ack" data-alert="${esc(a.alert_id)}">${esc(this.t("acknowledge"))}</button>` : ""}
          ${a.state !== "resolved" ? `<button class="flat" data-action="resolve" data-alert="${esc(a.alert_id)}">${esc(this.t("resolve"))}</button>` : ""}</td></tr>`).join("");
    this._view(`<div class="card"><div class="row"><span style="flex:1">${esc(this.t("open_alerts", { count: d.open }))}</span>
        <label><input type="checkbox" data-action="alerts-all" ${all ? "checked" : ""}>${esc(this.t("show_resolved"))}</label></div>
      <table><thead><tr><th>${esc(this.t("time"))}</th><th>${esc(this.t("rule"))}</th>
      <th>${esc(this.t("subject"))}</th><th>${esc(this.t("state"))}</th><th></th></tr></thead>
      <tbody>${rows || `<tr><td colspan="5">${esc(this.t("nothing"))}</td></tr>`}</tbody></table></div>`);
  }

  // ------------------------------------------------------------------ centre
  // Every estate as the command centre sees it (read from the central store): counts,
  // the hubs' replication backlog and lag, and the newest alerts across estates.
  async _showCentre() {
    this._stopCamera();
    this.state.tab = "centre";
    this.shadowRoot.querySelector("nav").innerHTML =
      `<button data-tab="centre" class="on">${esc(this.t("centre_view"))}</button>`;
    this.shadowRoot.querySelector(".emergency").innerHTML = "";
    this._main().innerHTML = `<div class="flash"></div><div class="view">${esc(this.t("loading"))}</div>`;
    try {
      await this._view_centre();
    } catch (err) {
      this._view(`<div class="msg error">${esc(this._errorText(err))}</div>`);
    }
  }

  async _view_centre() {
    const d = await this.ws("centre");
    const rule = (r) => this._tr?.[`component.community_gate.entity.event.alerts.state_attributes.event_type.state.${r}`] || r;
    const secs = (v) => (v === null || v === undefined ? "–" : this.t("seconds", { count: Math.round(v) }));
    const estates = d.estates.map((e) => `<tr class="click" data-centre-estate="${esc(e.estate)}">
        <td>${esc(e.estate)}</td><td>${esc(e.passages_today)}</td>
        <td class="${e.open_alerts ? "bad" : ""}">${esc(e.open_alerts)}</td>
        <td class="${e.offline_devices ? "bad" : ""}">${esc(e.offline_devices)}</td>
        <td class="hide-narrow">${esc(e.backlog)}</td><td class="hide-narrow">${esc(secs(e.lag_s))}</td>
        <td class="hide-narrow">${esc(this._date(e.last_seen))}</td></tr>`).join("");
    const alerts = d.alerts.map((a) => `<tr data-centre-alert="${esc(a.alert_id)}">
        <td>${esc(this._date(a.time))}</td><td>${esc(a.estate)}</td><td>${esc(rule(a.rule))}</td>
        <td>${esc(this._named(a.subject_name, a.subject_unit, a.subject_id ?? ""))}${a.gate_id && a.gate_id !== a.subject_id ? ` <span class="muted">@ ${esc(a.gate_name || a.gate_id)}</span>` : ""}</td>
        <td class="${a.state === "new" ? "bad" : ""}">${esc(this.t(`st_${a.state}`))}</td></tr>`).join("");
    this._view(`${d.updated ? "" : `<div class="msg error">${esc(this.t("centre_stale"))}</div>`}
      <div class="card"><h2>${esc(d.title)}</h2>
      <table><thead><tr><th>${esc(this.t("estate"))}</th><th>${esc(this.t("passages_today"))}</th>
        <th>${esc(this.t("open_alerts_col"))}</th><th>${esc(this.t("offline_devices"))}</th>
        <th class="hide-narrow">${esc(this.t("backlog"))}</th><th class="hide-narrow">${esc(this.t("lag"))}</th>
        <th class="hide-narrow">${esc(this.t("last_seen"))}</th></tr></thead>
        <tbody>${estates || `<tr><td colspan="7">${esc(this.t("no_estates_yet"))}</td></tr>`}</tbody></table></div>
      <div class="centre-passages"></div>
      ${d.repeat_cards.length ? `<div class="card"><h2>${esc(this.t("repeat_cards"))}</h2>
      <table><thead><tr><th>${esc(this.t("card_token"))}</th><th>${esc(this.t("estates_col"))}</th>
        <th>${esc(this.t("passages"))}</th><th>${esc(this.t("last_seen"))}</th></tr></thead>
        <tbody>${d.repeat_cards.map((c) => `<tr><td>${esc(c.card)}</td><td>${esc(c.estates.join(", "))}</td>
          <td>${esc(c.passages)}</td><td>${esc(this._date(c.last))}</td></tr>`).join("")}</tbody></table></div>` : ""}
      <div class="card"><h2>${esc(this.t("centre_alerts"))}</h2>
      <table><thead><tr><th>${esc(this.t("time"))}</th><th>${esc(this.t("estate"))}</th><th>${esc(this.t("rule"))}</th>
        <th>${esc(this.t("subject"))}</th><th>${esc(this.t("state"))}</th></tr></thead>
        <tbody>${alerts || `<tr><td colspan="5">${esc(this.t("nothing"))}</td></tr>`}</tbody></table></div>`);
  }

  async _centrePassages(estate) {
    const box = this._main().querySelector(".centre-passages");
    if (!box) return;
    const d = await this.ws("centre/passages", { estate, limit: 50 });
    const rows = d.passages.map((p) => `<tr><td>${esc(this._date(p.time))}</td><td>${esc(p.gate_name || p.gate_id)}</td>
        <td>${esc(this.t(p.method) || p.method)}</td><td class="${p.allowed ? "ok" : "bad"}">${esc(this.t(p.allowed ? "granted" : "denied"))}</td>
        <td>${esc(this._named(p.person_name, p.unit_id, p.person_id ?? ""))}</td></tr>`).join("");
    box.innerHTML = `<div class="card"><div class="row"><h2 style="flex:1;margin:0">${esc(this.t("centre_passages", { estate }))}</h2>
      <button class="flat" data-action="close-centre-passages">${esc(this.t("close"))}</button></div>
      <table><thead><tr><th>${esc(this.t("time"))}</th><th>${esc(this.t("gate"))}</th><th>${esc(this.t("method"))}</th>
      <th>${esc(this.t("result"))}</th><th>${esc(this.t("person"))}</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="5">${esc(this.t("nothing"))}</td></tr>`}</tbody></table></div>`;
  }

  // ------------------------------------------------------------------ events
  async _click(e) {
    const tab = e.target.closest("[data-tab]");
    if (tab && tab.dataset.tab === "centre") return this._showCentre();
    if (tab) return this._show(tab.dataset.tab);
    const centreEstate = e.target.closest("tr[data-centre-estate]");
    if (centreEstate) return this._guard(() => this._centrePassages(centreEstate.dataset.centreEstate));
    if (e.target.closest('[data-action="close-centre-passages"]')) {
      this._main().querySelector(".centre-passages").innerHTML = "";
      return undefined;
    }
    const row = e.target.closest("tr[data-person]");
    if (row && !e.target.closest("button")) return this._guard(() => this._showPerson(row.dataset.person));
    const el = e.target.closest("[data-action]");
    if (!el || el.tagName === "INPUT") return undefined;
    const a = el.dataset.action;
    const st = this.state;
    return this._guard(async () => {
      if (a === "people-prev") { st.people.offset = Math.max(0, st.people.offset - PAGE); return this._view_people(); }
      if (a === "people-next") { st.people.offset += PAGE; return this._view_people(); }
      if (a === "new-person") { this._main().querySelector(".new-person").innerHTML = this._personForm(); return undefined; }
      if (a === "units") {
        const box = this._main().querySelector(".units");
        if (box.innerHTML) { box.innerHTML = ""; return undefined; }
        box.innerHTML = this._unitsCard();
        return undefined;
      }
      if (a === "cancel-person") { this._main().querySelector(".new-person").innerHTML = ""; return undefined; }
      if (a === "add-window") { el.closest("form").querySelector(".windows").insertAdjacentHTML("beforeend", this._windowRow()); return undefined; }
      if (a === "remove-window") { el.closest("[data-window]").remove(); return undefined; }
      if (a === "close-person") { st.person = null; this._main().querySelector(".detail").innerHTML = ""; return undefined; }
      if (a === "revoke") { await this.svc("revoke_credential", { credential_id: el.dataset.credential }); return this._showPerson(st.person); }
      if (a === "remove-person") {
        if (!confirm(this.t("confirm_remove", { id: st.person }))) return undefined;
        await this.svc("remove_person", { person_id: st.person });
        st.person = null;
        return this._view_people();
      }
      if (a === "withdraw") {
        if (!confirm(this.t("confirm_withdraw", { id: st.person }))) return undefined;
        await this.svc("withdraw_consent", { person_id: st.person });
        return this._showPerson(st.person);
      }
      if (a === "enroll-person") { st.enrollFor = st.person; return this._show("enroll"); }
      if (a === "camera") return this._startCamera();
      if (a === "capture") return this._capture();
      if (a === "check-photo") return this._upload(true, this._differentFrom || "");
      if (a === "enroll") return this._upload(false, this._differentFrom || "");
      if (a === "different-people") return this._upload(el.dataset.dry === "1", el.dataset.other);
      if (a === "older") return this._view_passages(true);
      if (a === "emergency-on" || a === "emergency-off") {
        await this.svc("set_emergency", { active: a === "emergency-on", reason: "staff panel" });
        return this._view_gates();
      }
      if (a === "lockdown-on" || a === "lockdown-off") {
        if (a === "lockdown-on" && !confirm(this.t("confirm_lockdown"))) return undefined;
        await this.svc("set_lockdown", { active: a === "lockdown-on" });
        return this._view_gates();
      }
      if (a === "unignore") { await this.svc("unignore_stranger", { cluster_id: el.dataset.cluster }); return this._view_strangers(); }
      if (a === "cluster-passages") { st.passages.filters = { cluster_id: el.dataset.cluster }; return this._show("passages"); }
      if (a === "print") { window.print(); return undefined; }
      if (a === "ack" || a === "resolve") {
        await this.svc(a === "ack" ? "acknowledge_alert" : "resolve_alert", { alert_id: el.dataset.alert });
        return this._view_alerts();
      }
      return undefined;
    });
  }

  async _change(e) {
    if (e.target.matches("select.estate")) {
      this._unsub?.then((u) => u());
      this._unsub = null;
      if (e.target.value === CENTRE) {
        this.state.entry = null;
        return this._showCentre();
      }
      this.state.entry = e.target.value;
      if (this.state.tab === "centre") this.state.tab = "people";
      this._subscribe();
      return this._show(this.state.tab);
    }
    if (e.target.matches('[data-action="arrears"]')) {
      return this._guard(async () => {
        await this.svc("update_unit", { unit_id: e.target.dataset.unit, rent_arrears: e.target.checked });
        this._units = await this.ws("units");
        this._flash(this.t("saved"));
      });
    }
    if (e.target.matches('[data-action="alerts-all"]')) {
      this.state.alertsAll = e.target.checked;
      return this._guard(() => this._view_alerts());
    }
    if (e.target.matches('input[type=file][data-action="photo"]') && e.target.files[0]) {
      return this._guard(() => this._setPhoto(e.target.files[0]));
    }
    return undefined;
  }

  async _submit(form) {
    const kind = form.dataset.form;
    const v = Object.fromEntries(new FormData(form).entries());
    const st = this.state;
    return this._guard(async () => {
      if (kind === "people-filter") {
        Object.assign(st.people, { search: v.search.trim(), role: v.role, flag: v.flag, offset: 0 });
        return this._view_people();
      }
      if (kind === "add-person") {
        const data = { person_id: v.person_id.trim(), role: v.role };
        if (v.name) data.name = v.name;
        if (v.unit_id) data.unit_id = v.unit_id;
        for (const k of FLAGS) if (v[k]) data[k] = true;
        await this.ws("person/add", data);
        st.person = data.person_id;
        this._flash(this.t("saved"));
        return this._view_people();
      }
      if (kind === "update-person") {
        const data = { person_id: st.person, name: v.name };
        for (const k of FLAGS) data[k] = Boolean(v[k]);
        // Empty means "no limit": sent as null so a cleared field really clears it.
        for (const k of ["valid_from", "valid_until"]) data[k] = v[k] ? new Date(v[k]).toISOString() : null;
        await this.ws("person/update", data);
        this._flash(this.t("saved"));
        return this._view_people();
      }
      if (kind === "access") {
        // Answered beside the form: staff edit it far below the page's message line.
        const say = (text, cls) => {
          const box = this._main().querySelector('[data-form="access"] .form-msg');
          if (box) box.innerHTML = `<div class="msg ${cls}">${esc(text)}</div>`;
        };
        try {
          await this.ws("person/update", { person_id: st.person, ...this._readAccess(form) });
        } catch (err) {
          say(this._errorText(err), "error");
          return undefined;
        }
        await this._showPerson(st.person);
        say(this.t("access_saved"), "info");
        return undefined;
      }
      if (kind === "add-unit") {
        await this.svc("add_unit", { unit_id: v.unit_id.trim(), building: v.building.trim(), number: v.number.trim() });
        this._units = await this.ws("units");
        this._main().querySelector(".units").innerHTML = this._unitsCard();
        this._flash(this.t("saved"));
        return undefined;
      }
      if (kind === "add-credential") {
        const data = { person_id: st.person, kind: v.kind };
        if (v.value.trim()) data.value = v.value.trim();
        const out = await this.ws("credential/add", data);
        await this._showPerson(st.person);
        // A PIN or QR token the hub made is shown this once; only its hash is kept.
        if (out.token) this._flash(`${this.t("generated_once")}: ${out.token}`);
        return undefined;
      }
      if (kind === "visitor-pass") {
        const out = await this.ws("visitor_pass/issue", {
          person_id: st.person, hours: Number(v.hours), max_uses: Number(v.max_uses),
        });
        const qr = await this.ws("qr", { data: out.token });
        this._main().querySelector(".pass").innerHTML = `<div class="card qr">
          <h3>${esc(this.t("pass_for"))}: ${esc(out.person_id)}</h3>${qr.svg}
          <div>${esc(this.t("until"))}: ${esc(this._date(out.valid_until))} · ${esc(this.t("max_uses"))}: ${esc(out.max_uses ?? "∞")}</div>
          <div class="muted">${esc(this.t("token"))}: <code class="token">${esc(out.token)}</code></div>
          <button class="noprint" data-action="print">${esc(this.t("print"))}</button></div>`;
        return undefined;
      }
      if (kind === "consent") {
        await this.svc("record_consent", {
          person_id: v.person_id.trim(), notice_version: v.notice_version.trim(), guardian: Boolean(v.guardian),
        });
        this._flash(this.t("consent_ok"));
        return undefined;
      }
      if (kind === "passage-filter") {
        st.passages.filters = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x.trim()]));
        return this._view_passages();
      }
      if (kind === "desk-reader") {
        // The guard booth's USB reader types into this field; the value is sent once,
        // over the websocket (never an action: Home Assistant would record it).
        form.reset();
        const out = await this.ws("credential/present", { gate_id: v.gate_id, kind: v.kind, value: v.value.trim() });
        this._flash(`${this.t(out.allowed ? "granted" : "denied")}: ${this.reason(out.reason, out.method)}`, out.allowed ? "info" : "error");
        return undefined;
      }
      if (kind === "open-gate") {
        await this.svc("open_gate", { gate_id: v.gate_id, reason: v.reason.trim() });
        this._flash(this.t("opened"));
        return this._view_gates();
      }
      if (kind === "ignore") {
        await this.svc("ignore_stranger", { cluster_id: v.cluster_id, note: v.note.trim(), days: Number(v.days) });
        this._flash(this.t("saved"));
        return this._view_strangers();
      }
      if (kind === "assign") {
        // Staff type who it was: a person ID, or (part of) a name that names one person.
        const who = await this._resolvePerson(v.person_id.trim());
        const out = await this.svc("assign_stranger", { cluster_id: v.cluster_id, person_id: who.person_id });
        this._flash(this.t("assigned", { count: out.passages, name: this._who(who) }));
        return this._view_strangers();
      }
      return undefined;
    });
  }

  async _resolvePerson(text) {
    const { people } = await this.ws("people", { search: text, limit: 20 });
    const lower = text.toLowerCase();
    const exact = people.filter((p) => p.person_id === text || (p.display_name || "").toLowerCase() === lower);
    const found = exact.length === 1 ? exact : people;
    if (found.length === 1) return found[0];
    throw { code: found.length ? "several_match" : "no_match", details: { text } };
  }

  _who(p) { return this._named(p.display_name, p.unit_id, p.person_id); }

  async _guard(work) {
    try {
      return await work();
    } catch (err) {
      this._flash(this._errorText(err), "error");
      return undefined;
    }
  }
}

customElements.define("community-gate-panel", CommunityGatePanel);
