// The teller console page: plain HTML, CSS and JavaScript in one response,
// no external resources (the counter's network may reach only the engine).
// Every piece of data is put in the page with textContent, never as HTML.
#include "serve/console.h"

namespace txscreen::serve {

const char kConsolePage[] = R"PAGE(<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>txscreen 柜面拦截 / Counter intercepts</title>
<style>
  [hidden] { display: none !important; }
  body { font: 16px/1.4 system-ui, "Noto Sans CJK SC", sans-serif; margin: 0; background: #f4f5f7; color: #1b1d21; }
  header { background: #12355b; color: #fff; padding: 8px 16px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 18px; margin: 0; flex: 1; }
  header button { background: #fff; color: #12355b; border: 0; padding: 4px 10px; border-radius: 4px; cursor: pointer; }
  main { display: flex; gap: 12px; padding: 12px; }
  #list { width: 34%; min-width: 260px; }
  #detail { flex: 1; background: #fff; border-radius: 6px; padding: 12px 16px; min-height: 300px; }
  .hold { background: #fff; border-left: 6px solid #c62828; border-radius: 6px; padding: 8px 10px; margin-bottom: 8px; cursor: pointer; }
  .hold.block { border-left-color: #000; }
  .hold.done { border-left-color: #9e9e9e; opacity: .75; }
  .hold.sel { outline: 3px solid #1565c0; }
  .amt { font-size: 20px; font-weight: 700; }
  .muted { color: #5f6368; font-size: 13px; }
  .badge { display: inline-block; padding: 1px 6px; border-radius: 3px; font-size: 12px; background: #c62828; color: #fff; }
  .badge.block { background: #000; } .badge.done { background: #757575; }
  h2 { font-size: 17px; margin: 14px 0 4px; }
  ul { margin: 4px 0; padding-left: 20px; }
  li .other { display: block; color: #5f6368; font-size: 13px; }
  label { display: block; margin: 6px 0 2px; font-weight: 600; }
  input[type=text], input[type=password], textarea { width: 100%; box-sizing: border-box; font: inherit; padding: 5px; }
  .row { display: flex; gap: 16px; flex-wrap: wrap; }
  .row > div { flex: 1; min-width: 200px; }
  .buttons { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 12px; }
  .buttons button { font: inherit; padding: 8px 14px; border-radius: 4px; border: 0; cursor: pointer; }
  #btn-cancel { background: #2e7d32; color: #fff; } #btn-police { background: #c62828; color: #fff; }
  #btn-escalate { background: #ef6c00; color: #fff; } #btn-release { background: #455a64; color: #fff; }
  #result { margin-top: 12px; padding: 8px; border-radius: 4px; display: none; }
  .warn { color: #b71c1c; font-weight: bold; }
  #result.ok { display: block; background: #e8f5e9; } #result.bad { display: block; background: #ffebee; }
  #login { max-width: 420px; margin: 60px auto; background: #fff; padding: 20px; border-radius: 6px; }
  #conn { font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1 data-t="title"></h1>
  <span id="who"></span>
  <span id="conn"></span>
  <button id="lang" type="button">English</button>
  <button id="logout" type="button" hidden data-t="logout"></button>
</header>
<section id="login">
  <h2 data-t="signin"></h2>
  <form id="login-form">
    <label for="login-token" data-t="token"></label>
    <input id="login-token" type="password" autocomplete="off">
    <div class="buttons"><button id="login-submit" type="submit" data-t="signin"></button></div>
    <div id="login-error" class="muted"></div>
  </form>
</section>
<main id="app" hidden>
  <div id="list"><div id="empty" class="muted" data-t="empty"></div></div>
  <div id="detail"><p class="muted" data-t="choose"></p></div>
</main>
<template id="detail-tpl">
  <div>
    <div class="amt" data-f="amount"></div>
    <div class="muted" data-f="meta"></div>
    <div class="muted" data-f="left"></div>
    <div data-f="accounts"></div>
    <div data-f="memo"></div>
    <h2 data-t="why"></h2><ul data-f="why"></ul>
    <h2 data-t="ask"></h2><ul data-f="ask"></ul>
    <h2 data-t="look"></h2><ul data-f="look_for"></ul>
    <h2 data-t="dissuade"></h2><ul data-f="dissuade"></ul>
    <form data-f="form">
      <h2 data-t="answers"></h2>
      <div class="row">
        <div><label for="answer-purpose" data-t="purpose"></label><input id="answer-purpose" type="text"></div>
        <div><label for="answer-relationship" data-t="relationship"></label><input id="answer-relationship" type="text"></div>
        <div><label for="answer-source" data-t="source"></label><input id="answer-source" type="text"></div>
      </div>
      <div class="row">
        <div><label data-t="oncall"></label>
          <label><input type="radio" name="on_call" value="yes"> <span data-t="yes"></span></label>
          <label><input type="radio" name="on_call" value="no"> <span data-t="no"></span></label></div>
        <div><label data-t="remote"></label>
          <label><input type="radio" name="remote" value="yes"> <span data-t="yes"></span></label>
          <label><input type="radio" name="remote" value="no"> <span data-t="no"></span></label></div>
        <div><label><input id="answer-risk" type="checkbox"> <span data-t="risk"></span></label></div>
      </div>
      <label for="answer-reason" data-t="reason"></label>
      <textarea id="answer-reason" rows="2"></textarea>
      <div class="buttons">
        <button id="btn-cancel" type="button" data-t="cancel"></button>
        <button id="btn-police" type="button" data-t="police"></button>
        <button id="btn-escalate" type="button" data-t="escalate"></button>
      </div>
      <div data-f="release">
        <h2 data-t="supervisor"></h2>
        <label for="supervisor-token" data-t="suptoken"></label>
        <input id="supervisor-token" type="password" autocomplete="new-password">
        <div class="buttons"><button id="btn-release" type="button" data-t="release"></button></div>
      </div>
    </form>
    <div data-f="outcome"></div>
    <div id="result" role="status"></div>
  </div>
</template>
<script>
"use strict";
const T = {
  title: ["柜面拦截", "Counter intercepts"], logout: ["退出", "Sign out"],
  signin: ["登录", "Sign in"], token: ["员工令牌", "Staff token"],
  empty: ["本网点暂无拦截", "No intercepts at this branch"],
  choose: ["请选择左侧的拦截交易", "Choose an intercept on the left"],
  why: ["拦截原因", "Why it is held"], ask: ["需询问客户", "Ask the customer"],
  look: ["注意观察", "Look for"], dissuade: ["劝阻话术", "Dissuade"],
  answers: ["客户回答", "Customer's answers"], purpose: ["资金用途", "Purpose"],
  relationship: ["与收款人关系", "Relationship to the payee"],
  source: ["资金来源", "Source of funds"], oncall: ["客户是否正在通话", "On a call?"],
  remote: ["是否使用远程控制/共享屏幕软件", "Remote-control app?"],
  yes: ["是", "yes"], no: ["否", "no"],
  risk: ["客户已签署风险告知书", "Customer signed the risk acknowledgement"],
  reason: ["处理说明", "Reason"], cancel: ["客户已劝阻，取消交易", "Cancel (customer dissuaded)"],
  police: ["报警 (96110/110)", "Report to police (96110/110)"],
  escalate: ["上报", "Escalate"], supervisor: ["主管授权放行", "Supervisor release"],
  suptoken: ["主管令牌（由主管本人输入）", "Supervisor token (typed by the supervisor)"],
  release: ["放行", "Release"], pending: ["待处理", "pending"],
  resolved: ["已处理", "resolved"], expired: ["超时上报", "escalated (timeout)"],
  blocked: ["已阻断", "blocked"], intercept: ["拦截", "intercepted"],
  accepted: ["已受理", "Accepted"], refused: ["被拒绝", "Refused"],
  sent: ["已提交，等待结果", "Sent; waiting for the result"],
  live: ["● 实时", "● live"], offline: ["○ 重新连接中", "○ reconnecting"],
  customer: ["客户", "customer"], age: ["岁", "years"], from: ["付款账户", "from"],
  to: ["收款人", "to"], memo: ["附言", "memo"], outcome: ["处理结果", "Outcome"],
  by: ["柜员", "by"], authorised: ["授权", "authorised by"],
  left: ["剩余处理时间", "time left"], overdue: ["已超时，即将上报", "overdue; being escalated"],
  network: ["网络错误，请重试", "network error; try again"]
};
const CHANNELS = { CHANNEL_COUNTER: ["柜面", "counter"], CHANNEL_ATM: ["ATM", "ATM"],
  CHANNEL_MOBILE: ["手机银行", "mobile banking"], CHANNEL_ONLINE: ["网上银行", "online banking"],
  CHANNEL_VTM: ["智能柜台", "smart teller (VTM)"], CHANNEL_POS: ["POS", "POS"],
  CHANNEL_PHONE: ["电话银行", "phone banking"] };
const OUTCOMES = { OUTCOME_RELEASE: ["放行", "released"], OUTCOME_CANCEL: ["取消", "cancelled"],
  OUTCOME_REPORT_POLICE: ["已报警", "reported to police"], OUTCOME_ESCALATE: ["已上报", "escalated"],
  OUTCOME_ESCALATED_TIMEOUT: ["超时上报", "escalated on timeout"] };
let lang = 0, holds = [], selected = null, source = null, me = null, live = false;
const $ = (id) => document.getElementById(id);
const t = (k) => T[k][lang];
function applyLang() {
  document.documentElement.lang = lang ? "en" : "zh-CN";
  $("lang").textContent = lang ? "中文" : "English";
  document.querySelectorAll("[data-t]").forEach((e) => { e.textContent = t(e.dataset.t); });
  if (source) $("conn").textContent = t(live ? "live" : "offline");
  render();
}
// The currency's minor digits, as the engine counts them (ICU's: JPY 0,
// KWD 3); 2 when the browser does not know the code.
function minorDigits(cur) {
  try { return new Intl.NumberFormat("en", { style: "currency", currency: cur }).resolvedOptions().maximumFractionDigits; }
  catch (e) { return 2; }
}
function money(minor, cur) {
  const digits = minorDigits(cur);
  const n = BigInt(minor || 0), d = 10n ** BigInt(digits), neg = n < 0n, a = neg ? -n : n;
  let s = (a / d).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  if (digits) s += "." + (a % d).toString().padStart(digits, "0");
  return (neg ? "-" : "") + s + " " + (cur || "");
}
function when(ts) { return ts ? new Date(ts).toLocaleString(lang ? "en-GB" : "zh-CN") : ""; }
function el(tag, text, cls) { const e = document.createElement(tag); if (text != null) e.textContent = text; if (cls) e.className = cls; return e; }
function status(h) {
  if (h.status === "HOLD_STATUS_PENDING") return h.verdict === "VERDICT_BLOCK" ? ["block", t("blocked")] : ["", t("pending")];
  if (h.status === "HOLD_STATUS_ESCALATED_TIMEOUT") return ["done", t("expired")];
  return ["done", (OUTCOMES[h.disposition?.outcome] || ["", ""])[lang]];
}
function render() {
  const list = $("list");
  list.querySelectorAll(".hold").forEach((e) => e.remove());
  $("empty").hidden = holds.length > 0;
  for (const h of holds) {
    const [cls, label] = status(h);
    const card = el("div", null, "hold " + cls + (selected === h.transaction_id ? " sel" : ""));
    card.dataset.tx = h.transaction_id;
    card.append(el("div", money(h.amount_minor, h.currency), "amt"));
    const line = el("div", null, "muted");
    line.append(el("span", label, "badge " + cls), " " + when(h.opened_at) + " · " + (h.counterparty_name || "") + " · " + h.transaction_id);
    card.append(line);
    card.onclick = () => { selected = h.transaction_id; render(); };
    list.append(card);
  }
  renderDetail();
}
function lines(ul, items) {
  ul.replaceChildren();
  for (const x of items || []) {
    const li = el("li", lang ? (x.en || x.zh) : (x.zh || x.en));
    const other = lang ? x.zh : x.en;
    if (other) li.append(el("span", other, "other"));
    ul.append(li);
  }
}
let shown = null;
function renderDetail() {
  const h = holds.find((x) => x.transaction_id === selected);
  const detail = $("detail");
  if (!h) {
    if (shown) {
      const p = el("p", t("choose"), "muted");
      p.dataset.t = "choose";  // switched with the language
      detail.replaceChildren(p);
      shown = null;
    }
    return;
  }
  let root = detail.firstElementChild;
  if (shown !== h.transaction_id) {
    root = $("detail-tpl").content.firstElementChild.cloneNode(true);
    detail.replaceChildren(root);
    shown = h.transaction_id;
    root.querySelector("#btn-cancel").onclick = () => submit("OUTCOME_CANCEL");
    root.querySelector("#btn-police").onclick = () => submit("OUTCOME_REPORT_POLICE");
    root.querySelector("#btn-escalate").onclick = () => submit("OUTCOME_ESCALATE");
    root.querySelector("#btn-release").onclick = () => submit("OUTCOME_RELEASE");
  }
  root.querySelectorAll("[data-t]").forEach((e) => { e.textContent = t(e.dataset.t); });
  const f = (name) => root.querySelector('[data-f="' + name + '"]');
  f("amount").textContent = money(h.amount_minor, h.currency) + " — " + (h.status !== "HOLD_STATUS_PENDING" ? status(h)[1] : h.verdict === "VERDICT_BLOCK" ? t("blocked") : t("intercept"));
  f("meta").textContent = when(h.occurred_at) + " · " + t("customer") + " " + h.customer_id + (h.customer_age ? " · " + h.customer_age + " " + t("age") : "") + " · " + (CHANNELS[h.channel] || [h.channel || "", h.channel || ""])[lang] + " · " + h.transaction_id;
  f("accounts").textContent = t("from") + " " + (h.account_masked || "-") + " → " + t("to") + " " + (h.counterparty_name || "") + " " + (h.counterparty_account_masked || "");
  f("memo").textContent = h.memo ? t("memo") + ": " + h.memo : "";
  showLeft(h);
  const p = h.prompt || {};
  lines(f("why"), p.why); lines(f("ask"), p.ask); lines(f("look_for"), p.look_for); lines(f("dissuade"), p.dissuade);
  const pending = h.status === "HOLD_STATUS_PENDING";
  f("form").hidden = !pending;
  // A block cannot be released: no supervisor section for it.
  f("release").hidden = h.verdict === "VERDICT_BLOCK";
  const out = f("outcome");
  out.replaceChildren();
  if (!pending) {
    const d = h.disposition || {};
    out.append(el("h2", t("outcome")), el("p", (OUTCOMES[d.outcome] || ["", ""])[lang] + (d.teller_id ? " · " + t("by") + " " + d.teller_id : "") + (d.authorizer_id ? " · " + t("authorised") + " " + d.authorizer_id : "") + " · " + when(d.at)));
  }
}
// The countdown to the hold's escalation, in the open detail.
function showLeft(h) {
  const left = document.querySelector('#detail [data-f="left"]');
  if (!left) return;
  if (!h || h.status !== "HOLD_STATUS_PENDING" || !h.expires_at) { left.textContent = ""; return; }
  const s = Math.floor((new Date(h.expires_at) - Date.now()) / 1000);
  left.className = s < 300 ? "warn" : "muted";
  left.textContent = s <= 0 ? t("overdue") : t("left") + " " + Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}
setInterval(() => showLeft(holds.find((x) => x.transaction_id === selected)), 1000);
// One override id per hold, sent again with every try: a retry after a
// timeout learns the first one's result instead of acting twice.
const overrideIds = {};
function overrideId(tx) {
  if (!overrideIds[tx]) {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    overrideIds[tx] = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  return overrideIds[tx];
}
let busy = false;
function showResult(r, ok, text) { if (!r) return; r.className = ok ? "ok" : "bad"; r.textContent = text; }
async function submit(outcome) {
  const h = holds.find((x) => x.transaction_id === selected);
  if (!h || busy) return;
  // The answer goes under the hold it is for, even if another is open by then.
  const r = $("result");
  const buttons = document.querySelectorAll("#detail button");
  const radio = (name) => { const c = document.querySelector('input[name="' + name + '"]:checked'); return c ? c.value === "yes" : undefined; };
  const answers = { purpose: $("answer-purpose").value.trim(), relationship: $("answer-relationship").value.trim(),
    source_of_funds: $("answer-source").value.trim(), risk_acknowledged: $("answer-risk").checked };
  if (radio("on_call") !== undefined) answers.on_call = radio("on_call");
  if (radio("remote") !== undefined) answers.remote_control_app = radio("remote");
  const body = { transaction_id: h.transaction_id, override_id: overrideId(h.transaction_id), outcome, answers,
    reason: $("answer-reason").value.trim() };
  if (outcome === "OUTCOME_RELEASE" && $("supervisor-token").value) body.supervisor_token = $("supervisor-token").value;
  let res, data = {};
  busy = true;
  buttons.forEach((b) => { b.disabled = true; });
  try {
    res = await fetch("/api/overrides", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Txscreen-Console": "1" }, body: JSON.stringify(body) });
    data = await res.json().catch(() => ({}));
  } catch (e) {
    showResult(r, false, t("network"));
    return;
  } finally {
    busy = false;
    buttons.forEach((b) => { b.disabled = false; });
    // The supervisor's token does not stay in the page.
    const token = $("supervisor-token");
    if (token) token.value = "";
  }
  if (res.status === 200) showResult(r, true, t("accepted") + ": " + (OUTCOMES[outcome] || ["", ""])[lang]);
  else if (res.status === 422) showResult(r, false, t("refused") + ": " + (lang ? data.refusal_reason : (data.refusal_reason_zh || data.refusal_reason)));
  else if (res.status === 202) showResult(r, true, t("sent"));
  else showResult(r, false, t("refused") + ": " + ((lang ? data.error : (data.error_zh || data.error)) || ("HTTP " + res.status)));
}
function connect() {
  if (source) source.close();
  source = new EventSource("/api/holds/stream");
  source.addEventListener("holds", (e) => { holds = JSON.parse(e.data).holds; live = true; $("conn").textContent = t("live"); render(); });
  source.onerror = () => {
    live = false;
    $("conn").textContent = t("offline");
    // A refused stream (401 after sign-out, expiry or an engine restart;
    // 503 when full) is closed for good by the browser: ask who we are,
    // and sign in again or reconnect in a while.
    if (source.readyState === EventSource.CLOSED) {
      fetch("/api/console/me", { credentials: "same-origin" }).then((r) => {
        if (r.status === 401) location.reload(); else setTimeout(connect, 3000);
      }, () => setTimeout(connect, 3000));
    }
  };
}
function start(staff) {
  me = staff;
  $("who").textContent = staff.name + " (" + staff.staff_id + " · " + staff.role + " · " + staff.branch_id + ")";
  $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
  connect();
}
$("login-form").onsubmit = async (e) => {
  e.preventDefault();
  let res, data = {};
  try {
    res = await fetch("/api/console/login", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Txscreen-Console": "1" },
      body: JSON.stringify({ token: $("login-token").value }) });
    data = await res.json().catch(() => ({}));
  } catch (err) {
    $("login-error").textContent = t("network");
    return;
  } finally {
    $("login-token").value = "";
  }
  if (res.ok) start(data); else $("login-error").textContent = (lang ? data.error : (data.error_zh || data.error)) || ("HTTP " + res.status);
};
$("logout").onclick = async () => {
  await fetch("/api/console/logout", { method: "POST", credentials: "same-origin", headers: { "X-Txscreen-Console": "1" } });
  location.reload();
};
$("lang").onclick = () => { lang = 1 - lang; applyLang(); };
applyLang();
fetch("/api/console/me", { credentials: "same-origin" }).then((r) => r.ok ? r.json().then(start) : null);
</script>
</body>
</html>
)PAGE";

}  // namespace txscreen::serve
