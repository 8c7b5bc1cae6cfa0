// Community Gate staff panel: people, enrollment, passage log, gates, strangers, alerts.
//
// A dependency-free ES module (no bundler, no npm): what ships is what is in the
// repository. Reads go through the integration's typed websocket commands
// (community_gate/*); every change goes through its services, so the panel gets the
// same checks, translated errors and audit entries as automations do.

const STR = {
  en: {
    title: "Estate gate", people: "People", enroll: "Enroll face", passages: "Passages",
    gates: "Gates", strangers: "Strangers", alerts: "Alerts", search: "Search id, name, unit…",
    generated_once: "Generated, shown only now", desk_reader: "Desk reader: swipe or type", present: "Present", value_or_generate: "Number (empty: generate a PIN or QR)", all_roles: "All roles", all_flags: "All flags", add_person: "Add person", person_id: "Person ID",
    name: "Name", role: "Role", unit: "Unit", flags: "Flags", none: "—", prev: "Previous",
    next: "Next", older: "Older", save: "Save", cancel: "Cancel", remove: "Remove",
    close: "Close", credentials: "Credentials", kind: "Kind", value: "Number / code",
    add_credential: "Add credential", revoke: "Revoke", revoked: "revoked", valid: "Valid",
    uses: "Uses", consent: "Consent", consents: "Consents", face_refs: "Face references",
    last_seen: "Last seen", visitor_pass: "Visitor pass", hours: "Hours", max_uses: "Max uses",
    issue_pass: "Issue pass", print: "Print", pass_for: "Visitor pass", token: "Token",
    until: "Valid until", notice_version: "Notice version", guardian: "Given by a guardian (under 14)",
    agreed: "The person has read the notice and agrees to face recognition",
    record_consent: "Record consent", consent_ok: "Consent recorded.",
    withdraw: "Withdraw consent (erases face data)", photo: "Photo", upload: "Choose or take a photo",
    camera: "Use this device's camera", capture: "Capture", variant: "Reference",
    plain: "Plain face", masked: "Wearing a mask", enroll_btn: "Enroll",
    enrolled: "Enrolled: face {px} px high.", check: "Check photo", quality_ok: "Photo is good: face {px} px high.",
    gate: "Gate", time: "Time", method: "Method", result: "Result", reason: "Reason",
    person: "Person", granted: "Granted", denied: "Denied", any: "Any", from: "From", to: "To",
    filter: "Filter", live: "Live", online: "Online", offline: "Offline", camera_ok: "Camera",
    open: "Open", open_reason: "Reason for opening", emergency: "Emergency: open every gate",
    emergency_on: "EMERGENCY: all gates open", emergency_off: "End emergency",
    lockdown: "Lockdown: only staff pass", lockdown_on: "LOCKDOWN: every gate refuses all but staff",
    lockdown_off: "End lockdown", confirm_lockdown: "Lock down the estate? Every gate refuses everyone but staff until you end it.",
    ignore: "Ignore (known)", ignore_note: "Who is it? (note)", days: "Days", unignore: "Stop ignoring",
    ignored: "Ignored until {until}: {note}",
    faces_ready: "Face recognition ready ({n} references)", faces_off: "Face recognition off: {why}",
    sightings: "Sightings", days_seen: "Days", first_seen: "First seen", show_passages: "Passages",
    assign: "Assign to person", assigned: "Assigned: {n} passages relabelled.",
    episode: "×{n}, until {last}", episode_title: "Refused {n} times: first {first}, last {last}",
    no_estate: "No estate is set up. Add Community Gate under Settings → Devices & services.",
    loading: "Loading…", nothing: "Nothing here yet.", confirm_remove: "Remove {id}? Their passages stay in the log.",
    confirm_withdraw: "Withdraw {id}'s face consent? Their face data is erased now.",
    rule: "Rule", subject: "Subject", state: "State", acknowledge: "Acknowledge", resolve: "Resolve",
    st_new: "New", st_acknowledged: "Acknowledged", st_resolved: "Resolved",
    open_alerts: "{n} open alerts", open_alerts_one: "1 open alert", show_resolved: "Show resolved",
    units: "Units", add_unit: "Add unit", number: "Number", lease_until: "Lease until",
    rent_arrears: "Rent in arrears", valid_from: "Valid from", valid_until: "Valid until",
    opened: "Opened.", saved: "Saved.", camera_unavailable: "No camera here (needs HTTPS or localhost); use the photo button.",
    special_attention: "special attention", lives_alone: "lives alone", blocked: "blocked",
    card: "Card", id_card: "ID card", pin: "PIN", qr: "QR", fingerprint: "Fingerprint", face: "Face",
    remote: "Remote", emergency_m: "Emergency", building: "Building",
    tenant: "Tenant", co_resident: "Co-resident", visitor: "Visitor", service: "Service", staff: "Staff",
    why: {
      no_face: "No face found. Face the camera, in good light.",
      several_faces: "More than one face. Only the person enrolling should be in the photo.",
      face_too_small: "Face too small. Come closer to the camera.",
      too_blurred: "Too blurred. Hold still and check the focus.",
      too_dark: "Too dark. Turn towards the light.",
      too_bright: "Too bright. Avoid direct sun or flash.",
      not_an_image: "That file is not a photo.", corrupt: "The photo file is damaged.",
      too_large_bytes: "The photo file is too large.", too_many_pixels: "The photo is too large.",
      empty: "The photo is empty.",
    },
    err: {
      face_unavailable: "Face recognition is not running yet. Try again in a moment; cards, PINs and QR passes work meanwhile.",
      consent_required: "Record the person's consent first.",
      face_duplicate: "This face already belongs to {other_person_id}.",
      unknown_person: "No such person: check the person ID.",
      too_large: "The photo file is too large (20 MB at most).",
      unsupported_media_type: "Upload a JPEG, PNG or WebP photo.",
      unauthorized: "Only administrators can do this.",
      person_id_required: "Enter the person ID first.",
    },
  },
  zh: {
    title: "小区门禁", people: "人员", enroll: "人脸登记", passages: "通行记录", gates: "门",
    strangers: "陌生人", alerts: "告警", search: "搜索 ID、姓名、房号…", all_roles: "全部身份",
    generated_once: "已生成，仅此一次显示", desk_reader: "桌面读卡器：刷卡或输入", present: "出示", value_or_generate: "号码（留空则生成密码或二维码）", all_flags: "全部标记", add_person: "添加人员", person_id: "人员 ID", name: "姓名", role: "身份",
    unit: "房号", flags: "标记", none: "—", prev: "上一页", next: "下一页", older: "更早",
    save: "保存", cancel: "取消", remove: "删除", close: "关闭", credentials: "凭证", kind: "类型",
    value: "卡号 / 编码", add_credential: "添加凭证", revoke: "注销", revoked: "已注销",
    valid: "有效期", uses: "次数", consent: "同意", consents: "同意记录", face_refs: "人脸参考",
    last_seen: "最近通行", visitor_pass: "访客通行证", hours: "小时", max_uses: "最多次数",
    issue_pass: "签发", print: "打印", pass_for: "访客通行证", token: "令牌", until: "有效至",
    notice_version: "告知书版本", guardian: "由监护人同意（未满 14 岁）",
    agreed: "本人已阅读告知书并同意使用人脸识别", record_consent: "记录同意",
    consent_ok: "已记录同意。", withdraw: "撤回同意（删除人脸数据）", photo: "照片",
    upload: "选择或拍摄照片", camera: "使用本设备摄像头", capture: "拍照", variant: "参考类型",
    plain: "正脸", masked: "佩戴口罩", enroll_btn: "登记", enrolled: "已登记：人脸高 {px} 像素。",
    check: "检查照片", quality_ok: "照片合格：人脸高 {px} 像素。", gate: "门", time: "时间",
    method: "方式", result: "结果", reason: "原因", person: "人员", granted: "通过", denied: "拒绝",
    any: "全部", from: "从", to: "到", filter: "筛选", live: "实时", online: "在线", offline: "离线",
    camera_ok: "摄像头", open: "开门", open_reason: "开门原因", emergency: "紧急：打开所有门",
    emergency_on: "紧急状态：所有门已打开", emergency_off: "结束紧急状态",
    lockdown: "封控：仅物业人员可通行", lockdown_on: "封控中：所有门仅允许物业人员通行",
    lockdown_off: "解除封控", confirm_lockdown: "确定封控小区？解除之前，所有门只允许物业人员通行。",
    ignore: "忽略（已知人员）", ignore_note: "此人是谁？（备注）", days: "天数", unignore: "取消忽略",
    ignored: "已忽略，至 {until}：{note}",
    faces_ready: "人脸识别已就绪（{n} 个参考）", faces_off: "人脸识别未运行：{why}",
    sightings: "出现次数", days_seen: "天数", first_seen: "首次出现", show_passages: "通行记录",
    assign: "归属到人员", assigned: "已归属：{n} 条通行记录已更新。",
    episode: "×{n}，至 {last}", episode_title: "被拒绝 {n} 次：首次 {first}，最后 {last}",
    no_estate: "尚未设置小区。请在 设置 → 设备与服务 中添加 Community Gate。",
    loading: "加载中…", nothing: "暂无内容。", confirm_remove: "删除 {id}？其通行记录仍保留在日志中。",
    confirm_withdraw: "撤回 {id} 的人脸识别同意？其人脸数据将立即删除。",
    rule: "规则", subject: "对象", state: "状态", acknowledge: "确认", resolve: "解决",
    st_new: "新", st_acknowledged: "已确认", st_resolved: "已解决",
    open_alerts: "{n} 条未解决告警", show_resolved: "显示已解决",
    units: "房屋", add_unit: "添加房屋", number: "门牌号", lease_until: "租约到期",
    rent_arrears: "欠租", valid_from: "生效时间", valid_until: "失效时间",
    opened: "已开门。", saved: "已保存。", camera_unavailable: "此处无法使用摄像头（需要 HTTPS 或 localhost）；请使用照片按钮。",
    special_attention: "重点关注", lives_alone: "独居", blocked: "禁止通行",
    card: "门禁卡", id_card: "身份证", pin: "密码", qr: "二维码", fingerprint: "指纹", face: "人脸",
    remote: "远程", emergency_m: "紧急", building: "楼栋",
    tenant: "承租人", co_resident: "同住人", visitor: "访客", service: "服务人员", staff: "物业人员",
    why: {
      no_face: "未检测到人脸。请正对摄像头，光线充足。",
      several_faces: "照片中有多张人脸。请只让登记本人入镜。",
      face_too_small: "人脸太小。请靠近摄像头。",
      too_blurred: "照片模糊。请保持不动并对焦。",
      too_dark: "光线太暗。请面向光源。",
      too_bright: "光线太亮。请避免阳光直射或闪光灯。",
      not_an_image: "该文件不是照片。", corrupt: "照片文件已损坏。",
      too_large_bytes: "照片文件太大。", too_many_pixels: "照片尺寸太大。", empty: "照片为空。",
    },
    err: {
      face_unavailable: "人脸识别尚未运行，请稍后再试；门禁卡、密码和二维码通行不受影响。",
      consent_required: "请先记录本人同意。",
      face_duplicate: "该人脸已属于 {other_person_id}。",
      unknown_person: "没有此人员，请检查人员 ID。",
      too_large: "照片文件太大（最大 20 MB）。",
      unsupported_media_type: "请上传 JPEG、PNG 或 WebP 照片。",
      unauthorized: "只有管理员可以执行此操作。",
      person_id_required: "请先输入人员 ID。",
    },
  },
};

const ROLES = ["tenant", "co_resident", "visitor", "service", "staff"];
const FLAGS = ["special_attention", "lives_alone", "blocked"];
const KINDS = ["card", "id_card", "pin", "fingerprint"];
const METHODS = ["face", "card", "id_card", "qr", "pin", "fingerprint", "remote", "emergency"];
const TABS = ["people", "enroll", "passages", "gates", "strangers", "alerts"];
const PAGE = 25;

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

  t(key, vars = {}) {
    const table = STR[this.lang];
    let text = key.split(".").reduce((o, k) => (o ? o[k] : undefined), table) ??
      key.split(".").reduce((o, k) => (o ? o[k] : undefined), STR.en) ?? key;
    for (const [k, v] of Object.entries(vars)) text = text.replace(`{${k}}`, v);
    return text;
  }

  ws(type, data = {}) {
    const msg = { type: `community_gate/${type}`, ...data };
    if (this.state.entry && type !== "estates" && type !== "qr") msg.config_entry_id = this.state.entry;
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
    root.querySelector("h1").textContent = this.t("title");
    try {
      this.state.estates = (await this.ws("estates")).filter((e) => e.loaded);
    } catch (err) {
      this.state.estates = [];
    }
    const pick = root.querySelector("select.estate");
    if (this.state.estates.length > 1) {
      pick.hidden = false;
      pick.innerHTML = this.state.estates.map((e) => `<option value="${esc(e.entry_id)}">${esc(e.title)}</option>`).join("");
    }
    this.state.entry = this.state.estates[0]?.entry_id ?? null;
    // Reason and method names come from the integration's own translations (one source).
    try {
      const tr = await this._hass.callWS({
        type: "frontend/get_translations", language: this._hass.language, category: "entity",
        integration: ["community_gate"],
      });
      this._tr = tr.resources || {};
    } catch (err) {
      this._tr = {};
    }
    try {
      await this.ws("alerts", { limit: 1 });
      this._alerts = true;
    } catch (err) {
      this._alerts = err?.code !== "unknown_command";
    }
    this._renderNav();
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
    if (why && STR.en.why[why]) return this.t(`why.${why}`);
    const code = err?.error || err?.code;
    if (code && STR.en.err[code]) return this.t(`err.${code}`, err.details || {});
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
    const d = await this.ws("person", { person_id: pid });
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

  reason(code) {
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
    const img = this._main().querySelector("img.preview");
    img.src = URL.createObjectURL(blob);
    img.hidden = false;
    this._main().querySelectorAll('[data-action="enroll"], [data-action="check-photo"]').forEach((b) => { b.disabled = false; });
    await this._upload(true);
  }

  async _upload(dryRun) {
    const q = new URLSearchParams({
      person_id: this._enrollPerson(),
      variant: this._main().querySelector("select[name=variant]").value,
    });
    if (dryRun) q.set("dry_run", "1");
    if (this.state.entry) q.set("config_entry_id", this.state.entry);
    const box = this._main().querySelector(".quality");
    box.innerHTML = `<div class="msg info">${esc(this.t("loading"))}</div>`;
    const resp = await this._hass.fetchWithAuth(`/api/community_gate/enroll?${q}`, {
      method: "POST", body: this._photo, headers: { "Content-Type": this._photo.type || "image/jpeg" },
    });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      box.innerHTML = `<div class="msg error" data-error="${esc(body.error)}">${esc(this._errorText(body))}</div>`;
      return false;
    }
    box.innerHTML = `<div class="msg info" data-ok="1">${esc(this.t(dryRun ? "quality_ok" : "enrolled", { px: body.face_px }))}</div>`;
    return true;
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
          <input name="person_name" placeholder="${esc(this.t("name"))}" value="${esc(f.person_name || "")}" style="width:120px">
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

  _passageRow(p, fresh = false) {
    // Staff read names (this panel is admin-only); ids stay the fallback.
    const who = p.person_name ? `${p.person_name}${p.unit_id ? ` (${p.unit_id})` : ""}`
      : p.person_id || p.cluster_id || this.t("none");
    return `<tr data-passage="${p.passage_id}" class="${fresh ? "new" : ""}">${this._passageTime(p)}<td>${esc(p.gate_name || p.gate_id)}</td>
      <td>${esc(this.t(p.method === "emergency" ? "emergency_m" : p.method))}</td>
      <td class="${p.allowed ? "ok" : "bad"}">${esc(this.t(p.allowed ? "granted" : "denied"))}</td>
      <td class="hide-narrow">${esc(this.reason(p.reason))}${p.flags.length ? ` <span class="chip">${esc(p.flags.join(", "))}</span>` : ""}</td>
      <td>${esc(who)}</td></tr>`;
  }

  _passageTime(p) {
    // An episode (repeated refusals folded into one row): first seen, how many, until when.
    const first = this._date(p.first_seen || p.time);
    if (!(p.count > 1)) return `<td>${esc(first)}</td>`;
    const last = this._date(p.time);
    const title = this.t("episode_title", { n: p.count, first, last });
    // The chip gives the last sighting's clock time only when it is the same day.
    const sameDay = new Date(p.first_seen).toDateString() === new Date(p.time).toDateString();
    const until = sameDay
      ? new Date(p.time).toLocaleTimeString(this.lang === "zh" ? "zh-CN" : undefined, { timeStyle: "short" })
      : last;
    return `<td title="${esc(title)}">${esc(first)} <span class="chip">${esc(this.t("episode", { n: p.count, last: until }))}</span></td>`;
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
    const faces = d.faces.ready ? this.t("faces_ready", { n: d.faces.references }) : this.t("faces_off", { why: d.faces.error || this.t("loading") });
    const cards = d.gates.map((g) => `<div class="card" data-gate="${esc(g.gate_id)}">
        <h3 style="margin-top:0">${esc(g.name)} <span class="muted">${esc(g.gate_id)}</span></h3>
        <div><span class="${g.online ? "ok" : "bad"}">● ${esc(this.t(g.online ? "online" : "offline"))}</span>
          ${g.camera_ok === null ? "" : `· ${esc(this.t("camera_ok"))} <span class="${g.camera_ok ? "ok" : "bad"}">${g.camera_ok ? "✓" : "✗"}</span>`}</div>
        <div class="muted">${g.last_passage ? `${esc(this._date(g.last_passage.time))} · ${esc(this.t(g.last_passage.method === "emergency" ? "emergency_m" : g.last_passage.method))} · ${esc(this.reason(g.last_passage.reason))}` : esc(this.t("none"))}</div>
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
    const rows = d.strangers.map((s) => `<tr data-cluster="${esc(s.cluster_id)}"><td>${esc(s.cluster_id)}</td><td>${s.sightings}</td>
        <td>${s.days_seen}</td><td class="hide-narrow">${esc(this._date(s.first_seen))}</td><td>${esc(this._date(s.last_seen))}</td>
        <td><button class="flat" data-action="cluster-passages" data-cluster="${esc(s.cluster_id)}">${esc(this.t("show_passages"))}</button>
          <form class="row" data-form="assign" style="margin:0"><input type="hidden" name="cluster_id" value="${esc(s.cluster_id)}">
          <input name="person_id" required placeholder="${esc(this.t("person_id"))}" style="width:130px">
          <button type="submit" class="flat">${esc(this.t("assign"))}</button></form>
          ${s.ignored ? `<div class="muted">${esc(this.t("ignored", { until: this._date(s.ignored.until), note: s.ignored.note }))}
            <button class="flat" data-action="unignore" data-cluster="${esc(s.cluster_id)}">${esc(this.t("unignore"))}</button></div>` :
          `<form class="row" data-form="ignore" style="margin:0"><input type="hidden" name="cluster_id" value="${esc(s.cluster_id)}">
          <input name="note" required maxlength="200" placeholder="${esc(this.t("ignore_note"))}" style="width:180px">
          <input name="days" type="number" min="1" max="366" value="30" title="${esc(this.t("days"))}" style="width:80px">
          <button type="submit" class="flat">${esc(this.t("ignore"))}</button></form>`}</td></tr>`).join("");
    this._view(`<div class="card"><table><thead><tr><th>ID</th><th>${esc(this.t("sightings"))}</th><th>${esc(this.t("days_seen"))}</th>
      <th class="hide-narrow">${esc(this.t("first_seen"))}</th><th>${esc(this.t("last_seen"))}</th><th></th></tr></thead>
      <tbody>${rows || `<tr><td colspan="6">${esc(d.ready ? this.t("nothing") : this.t("faces_off", { why: this.t("loading") }))}</td></tr>`}</tbody></table></div>`);
  }

  // ------------------------------------------------------------------ alerts
  async _view_alerts() {
    const all = Boolean(this.state.alertsAll);
    const d = await this.ws("alerts", { limit: 100, include_resolved: all });
    const rule = (r) => this._tr?.[`component.community_gate.entity.event.alerts.state_attributes.event_type.state.${r}`] || r;
    const rows = d.alerts.map((a) => `<tr data-alert="${esc(a.alert_id)}" data-state="${esc(a.state)}">
        <td>${esc(this._date(a.time))}</td><td>${esc(rule(a.rule))}</td>
        <td>${esc(a.subject_name || a.subject_id)}${a.gate_id && a.gate_id !== a.subject_id ? ` <span class="muted">@ ${esc(a.gate_name || a.gate_id)}</span>` : ""}</td>
        <td class="${a.state === "new" ? "bad" : ""}">${esc(this.t(`st_${a.state}`))}</td>
        <td>${a.state === "new" ? `<button class="flat" data-action="ack" data-alert="${esc(a.alert_id)}">${esc(this.t("acknowledge"))}</button>` : ""}
          ${a.state !== "resolved" ? `<button class="flat" data-action="resolve" data-alert="${esc(a.alert_id)}">${esc(this.t("resolve"))}</button>` : ""}</td></tr>`).join("");
    this._view(`<div class="card"><div class="row"><span style="flex:1">${esc(this.t(d.open === 1 ? "open_alerts_one" : "open_alerts", { n: d.open }))}</span>
        <label><input type="checkbox" data-action="alerts-all" ${all ? "checked" : ""}>${esc(this.t("show_resolved"))}</label></div>
      <table><thead><tr><th>${esc(this.t("time"))}</th><th>${esc(this.t("rule"))}</th>
      <th>${esc(this.t("subject"))}</th><th>${esc(this.t("state"))}</th><th></th></tr></thead>
      <tbody>${rows || `<tr><td colspan="5">${esc(this.t("nothing"))}</td></tr>`}</tbody></table></div>`);
  }

  // ------------------------------------------------------------------ events
  async _click(e) {
    const tab = e.target.closest("[data-tab]");
    if (tab) return this._show(tab.dataset.tab);
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
      if (a === "check-photo") return this._upload(true);
      if (a === "enroll") return this._upload(false);
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
      this.state.entry = e.target.value;
      this._unsub?.then((u) => u());
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
        this._flash(`${this.t(out.allowed ? "granted" : "denied")}: ${this.reason(out.reason)}`, out.allowed ? "info" : "error");
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
        const out = await this.svc("assign_stranger", { cluster_id: v.cluster_id, person_id: v.person_id.trim() });
        this._flash(this.t("assigned", { n: out.passages }));
        return this._view_strangers();
      }
      return undefined;
    });
  }

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
