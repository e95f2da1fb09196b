// cephflow's web page: the workflow list, a workflow's live tree, a runbook's form.
// No build step: plain DOM, the REST API (/api/v1) with the tab's token, and the
// workflow's event stream (Server-Sent Events read through fetch, which can send the
// token). User text is only ever set with textContent, never parsed as HTML.
"use strict";

const API = "/api/v1";
const main = () => document.getElementById("main");
let me = null;
let live = null; // the open event stream of the workflow page

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// replaceChildren with the children that are there (it would write "null" for the others)
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function token() { return sessionStorage.getItem("cephflow-token"); }

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(path, options = {}) {
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(API + path, {
    method: options.method || (options.json !== undefined ? "POST" : "GET"),
    headers, body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
  });
  const body = answer.headers.get("content-type")?.includes("json") ? await answer.json() : null;
  if (answer.status === 401) {
    const had = token();
    sessionStorage.removeItem("cephflow-token");
    showLogin(had ? body?.error : null);
  }
  if (!answer.ok) throw new ApiError(answer.status, body);
  return body;
}

function may(role) { return !!me && (role === "viewer" || me.roles.includes(role)); }

function when(epoch) {
  if (!epoch) return "";
  const d = new Date(epoch * 1000);
  return d.toLocaleString(undefined, { hour12: false });
}

function took(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function stateTag(state) { return el("span", { class: `state-${state}`, "data-state": state }, state); }

function showError(error) {
  fill(main(), el("div", { class: "card" }, el("p", { class: "error", role: "alert" }, error.message)));
}

function showLogin(message) {
  const form = document.getElementById("login").content.cloneNode(true);
  fill(main(), form);
  if (message) document.getElementById("login-error").textContent = message;
  document.getElementById("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem("cephflow-token", document.getElementById("token").value.trim());
    await route();
  });
}

// --- the workflow list --------------------------------------------------------------------
async function workflowList() {
  const rows = await api("/workflows?limit=100");
  const table = el("table", {},
    el("thead", {}, el("tr", {}, ["workflow", "runbook", "state", "steps", "started", "by"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((w) => el("tr", { "data-workflow": w.id },
      el("td", {}, el("a", { href: `/ui/workflows/${w.id}`, class: "mono" }, w.id.slice(0, 8))),
      el("td", {}, w.runbook), el("td", {}, stateTag(w.state)),
      el("td", {}, `${w.ended_nodes}/${w.nodes}`), el("td", {}, when(w.submitted_at)),
      el("td", {}, w.submitted_by)))));
  fill(main(), el("h1", {}, "Workflows"), rows.length ? table : el("p", {}, "No workflows yet."));
}

// --- the runbooks ---------------------------------------------------------------------------
async function runbookList() {
  const books = await api("/runbooks");
  fill(main(), el("h1", {}, "Runbooks"), el("table", {}, el("tbody", {}, books.map((b) => el("tr", {},
    el("td", {}, el("a", { href: `/ui/runbooks/${encodeURIComponent(b.name)}` }, b.name)),
    el("td", {}, b.description || ""), el("td", { class: "error" }, b.problem || ""))))));
}

function paramField(p) {
  const id = `param-${p.name}`;
  let input;
  if (p.choices) {
    input = el("select", { id, name: p.name }, (p.required ? [] : [el("option", { value: "" }, "")]).concat(
      p.choices.map((c) => el("option", { value: String(c), selected: String(c) === String(p.default) }, String(c)))));
  } else if (p.type === "bool") {
    input = el("select", { id, name: p.name }, el("option", { value: "" }, p.default === null ? "" : `default (${p.default})`),
      el("option", { value: "true" }, "true"), el("option", { value: "false" }, "false"));
  } else {
    input = el("input", { id, name: p.name, type: p.secret ? "password" : "text", required: p.required,
      placeholder: p.default === null || p.default === undefined ? "" : `default: ${p.default}` });
  }
  return el("div", {}, el("label", { for: id }, `${p.name} `, el("span", { class: "help" }, p.type + (p.required ? ", required" : ""))),
    input, el("div", { class: "help" }, p.help || ""));
}

function formParams(form, params) {
  const values = {};
  for (const p of params) {
    const value = form.elements[p.name].value;
    if (value !== "") values[p.name] = value;
  }
  return values;
}

async function runbookPage(name) {
  const book = await api(`/runbooks/${encodeURIComponent(name)}`);
  const preview = el("div", { id: "preview" });
  const problem = el("p", { class: "error", role: "alert", id: "form-error" });
  const form = el("form", { class: "card", id: "runbook-form" }, book.params.map(paramField),
    el("div", { class: "actions" },
      el("button", { type: "button", id: "plan", onclick: () => plan(false) }, "Plan"),
      may("operator") ? el("button", { type: "button", id: "submit", class: "primary", onclick: () => plan(true) }, "Submit") : null),
    problem);
  async function plan(submit) {
    problem.textContent = "";
    const params = formParams(form, book.params);
    try {
      if (submit) {
        const done = await api("/workflows", { json: { runbook: name, params } });
        history.pushState({}, "", `/ui/workflows/${done.id}`);
        await route();
        return;
      }
      const shown = await api(`/runbooks/${encodeURIComponent(name)}/plan`, { json: { params } });
      fill(preview, el("h2", {}, `Plan: ${shown.steps} steps on ${shown.cluster}`),
        el("ol", { class: "mono", id: "plan-steps" }, shown.shown.slice(0, 500).map((n) =>
          el("li", {}, `${n.id}  ${n.task}`, n.after && n.after.length ? el("span", { class: "help" }, `  after: ${n.after.join(", ")}`) : null))));
    } catch (error) {
      problem.textContent = (error.body.problems || [error.message]).join("\n");
    }
  }
  fill(main(), el("h1", {}, book.name), el("p", {}, book.description || ""), form, preview);
}

// --- a workflow -----------------------------------------------------------------------------
// A collapsed row of a big workflow's summary (a stage, a fan-out, a run of quiet rows)
// opens on demand: its entries come from /tree?open=KEY, a page at a time, and are loaded
// again on each redraw while it stays open.
const OPEN_PAGE = 200;
function opener(workflow, selected) {
  const open = new Map(); // key -> how many entries to show
  const self = {
    isOpen: (key) => open.has(key),
    toggle: (key, item) => {
      if (open.has(key)) { open.delete(key); item.querySelector(":scope > .opened")?.remove(); }
      else { open.set(key, OPEN_PAGE); self.load(key, item); }
      const button = item.querySelector(":scope > .row > [data-open]");
      if (button) button.textContent = open.has(key) ? "hide" : button.dataset.label;
    },
    load: async (key, item) => {
      const limit = open.get(key);
      const shown = await api(`/workflows/${workflow}/tree?open=${encodeURIComponent(key)}&limit=${limit}`);
      if (!open.has(key)) return;
      const box = el("div", { class: "opened", "data-opened": key },
        el("ul", {}, shown.entries.map((c) => nodeRow(workflow, c, selected, self))),
        shown.next !== null ? el("button", { type: "button", class: "more", onclick: () => {
          open.set(key, limit + OPEN_PAGE * 5); self.load(key, item);
        } }, `show more (${shown.total - shown.entries.length} left)`) : null);
      item.querySelector(":scope > .opened")?.remove();
      item.querySelector(":scope > ul")?.remove();
      item.append(box);
    },
  };
  return self;
}

function nodeRow(workflow, entry, selected, opens) {
  const row = el("div", { class: "row", "data-node": entry.id || entry.name, "data-state": entry.state },
    stateTag(entry.state), el("strong", {}, entry.name),
    entry.counters ? el("span", {}, entry.counters) : null,
    entry.elapsed !== null && entry.elapsed !== undefined ? el("span", { class: "detail" }, took(entry.elapsed)) : null,
    entry.cleanup ? el("span", { class: "detail" }, "(finally)") : null,
    entry.attempt > 1 ? el("span", { class: "detail" }, `try ${entry.attempt}`) : null,
    entry.detail ? el("span", { class: "detail" }, entry.detail) : null,
    entry.no_worker_for ? el("span", { class: "error" }, `no worker has run this step for ${Math.round(entry.no_worker_for)} s`) : null);
  const item = el("li", {}, row);
  if (entry.kind === "node") row.addEventListener("click", () => selected(entry));
  if (entry.movement) item.append(el("div", { class: "detail movement" }, movementLine(entry.movement)));
  if (entry.state === "failed" && entry.error) item.append(el("div", { class: "error" }, entry.error.split("\n").slice(0, 2).join("\n")));
  if (entry.gate) {
    const gate = el("div", { class: "gate actions" }, el("span", {}, "waiting for approval"));
    if (may("approver")) {
      gate.append(el("button", { class: "primary", "data-approve": entry.id, onclick: () => decide(workflow, entry, "approve") }, "Approve"),
        el("button", { class: "danger", "data-reject": entry.id, onclick: () => decide(workflow, entry, "reject") }, "Reject"));
    } else gate.append(el("code", {}, entry.approve));
    item.append(gate);
  }
  const children = entry.entries || entry.members;
  if (children && children.length) item.append(el("ul", {}, children.map((c) => nodeRow(workflow, c, selected, opens))));
  if (entry.key && opens) {
    const label = entry.kind === "run" ? `show ${entry.size} rows` : `show ${entry.size} steps`;
    row.append(el("button", { type: "button", class: "open", "data-open": entry.key, "data-label": label,
      onclick: (event) => { event.stopPropagation(); opens.toggle(entry.key, item); } },
    opens.isOpen(entry.key) ? "hide" : label));
    if (opens.isOpen(entry.key)) opens.load(entry.key, item);
  }
  return item;
}

// a weight move's progress (the pacing's progress.movement), as the terminal's line says it
function movementLine(m) {
  const osds = Object.entries(m.osds || {});
  const parts = [];
  const done = (o) => {
    const way = Math.abs((o.target || 0) - (o.start || 0));
    return way <= 0 ? 1 : Math.min(1, Math.abs((o.weight || 0) - (o.start || 0)) / way);
  };
  if (osds.length && osds.length <= 3) {
    parts.push(osds.map(([id, o]) => `osd.${id} ${Number(o.weight).toPrecision(5) * 1} → ${Number(o.target).toPrecision(5) * 1} (${Math.round(done(o) * 100)}%)`).join(", "));
  } else if (osds.length) {
    parts.push(`${osds.length} OSDs ${Math.round(osds.reduce((a, [, o]) => a + done(o), 0) / osds.length * 100)}% of the way`);
  }
  parts.push(`${m.misplaced_objects || 0} misplaced, ${m.degraded_objects || 0} degraded left`);
  if (m.rate) parts.push(`${Math.round(m.rate)} objects/s`);
  if (m.eta_seconds !== null && m.eta_seconds !== undefined) parts.push(`ETA ${took(m.eta_seconds)}`);
  return parts.join(" · ");
}

function etaText(eta) {
  if (!eta) return "";
  if (eta.waiting_for_approval) return "waiting for approval";
  if (eta.seconds === null || eta.seconds === undefined) return "";
  return `ETA ${took(eta.seconds)}${eta.gate_ahead ? " (to the next approval)" : ""}`;
}

async function decide(workflow, entry, how) {
  const body = {};
  if (how === "reject") {
    body.reason = prompt(`Why reject ${entry.name}?`);
    if (!body.reason) return;
  }
  try { await api(`/workflows/${workflow}/gates/${encodeURIComponent(entry.id)}/${how}`, { json: body }); }
  catch (error) { alert(error.message); }
}

async function control(workflow, what) {
  if (what === "cancel" && !confirm("Cancel this workflow? Its finally steps run.")) return;
  const body = {};
  if (what === "pause") {
    const reason = prompt("Why pause? (kept with the pause)");
    if (reason === null) return;
    body.reason = reason;
  }
  try { await api(`/workflows/${workflow}/${what}`, { json: body }); }
  catch (error) { alert(error.message); }
}

async function workflowPage(id) {
  const header = el("div", { class: "card", id: "workflow-header" });
  const tree = el("div", { class: "tree card", id: "tree" });
  const detail = el("div", { class: "card", id: "step-detail", hidden: true });
  fill(main(), header, tree, detail);
  let selected = null;
  const show = async (entry) => {
    selected = entry;
    const node = await api(`/workflows/${id}/steps/${encodeURIComponent(entry.id)}`);
    detail.hidden = false;
    fill(detail, el("h2", {}, entry.name), el("p", {}, stateTag(node.state), `  ${node.task}`),
      node.detail ? el("p", {}, node.detail) : null,
      node.error ? el("pre", { class: "error" }, node.error) : null,
      el("pre", {}, JSON.stringify(node.args, null, 2)),
      node.output ? el("pre", {}, JSON.stringify(node.output, null, 2)) : null,
      el("p", { class: "help" }, entry.details));
  };
  let pending = false;
  let opens = null;
  const refresh = async () => {
    if (pending) return;
    pending = true;
    try {
      const snapshot = await api(`/workflows/${id}/tree`);
      const full = snapshot.id;
      const params = Object.entries(snapshot.params || {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
      fill(header, el("h1", {}, `${snapshot.runbook} `, el("span", { class: "mono" }, full.slice(0, 8)), " ", stateTag(snapshot.state)),
        el("p", { class: "help" }, `submitted by ${snapshot.submitted_by} at ${when(snapshot.submitted_at)}  ${params}`),
        etaText(snapshot.eta) ? el("p", { id: "eta" }, etaText(snapshot.eta)) : null,
        snapshot.pause ? el("p", { id: "paused", class: "error" }, `paused by ${snapshot.pause.by} at ${when(snapshot.pause.at)}${snapshot.pause.reason ? ": " + snapshot.pause.reason : ""}`) : null,
        snapshot.error ? el("p", { class: "error" }, snapshot.error) : null,
        el("div", { class: "actions" },
          may("operator") && ["running", "failing"].includes(snapshot.state) ? el("button", { class: "danger", id: "cancel", onclick: () => control(full, "cancel") }, "Cancel") : null,
          may("operator") && snapshot.state === "running" && !snapshot.pause ? el("button", { id: "pause", onclick: () => control(full, "pause") }, "Pause") : null,
          may("operator") && snapshot.pause ? el("button", { id: "unpause", class: "primary", onclick: () => control(full, "unpause") }, "Unpause") : null,
          may("operator") && ["failed", "cancelled"].includes(snapshot.state) ? el("button", { id: "resume", onclick: () => control(full, "resume") }, "Resume") : null));
      if (!opens) opens = opener(full, show);
      fill(tree, el("ul", {}, snapshot.entries.map((e) => nodeRow(full, e, show, opens))),
        snapshot.shape === "summary" ? el("p", { class: "help", id: "summary-note" }, "A big workflow: stages and quiet rows are collapsed; open one to see its steps.") : null);
    } catch (error) { showError(error); }
    finally { pending = false; }
  };
  await refresh();
  follow(id, refresh);
}

// Follow the event stream; every event (at most a few a second) redraws from the API.
async function follow(id, refresh) {
  const mine = live = { stop: false };
  let last = null;
  let timer = null;
  const soon = () => { if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, 250); };
  while (!mine.stop) {
    try {
      const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
      if (last) headers["Last-Event-ID"] = last;
      const answer = await fetch(`${API}/workflows/${id}/events`, { headers });
      if (!answer.ok) return;
      const reader = answer.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done || mine.stop) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields = Object.fromEntries(block.split("\n").filter((l) => l && !l.startsWith(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
          if (fields.id) last = fields.id;
          if (fields.event === "end") { await refresh(); return; }
          if (fields.event) soon();
        }
      }
    } catch (error) { /* the connection dropped: reconnect after the last event seen */ }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function route() {
  if (live) live.stop = true;
  try {  // without a token, a single sign-on proxy may vouch for the user (401 otherwise)
    me = await api("/me");
    document.getElementById("who").textContent = `${me.user} (${me.roles.join(", ")})`;
    const path = location.pathname;
    let match;
    if ((match = path.match(/^\/ui\/workflows\/([0-9a-f]+)$/))) await workflowPage(match[1]);
    else if ((match = path.match(/^\/ui\/runbooks\/([^/]+)$/))) await runbookPage(decodeURIComponent(match[1]));
    else if (path === "/ui/runbooks") await runbookList();
    else await workflowList();
  } catch (error) { if (error.status !== 401) showError(error); }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='/']");
  if (!link || event.ctrlKey || event.metaKey) return;
  event.preventDefault();
  history.pushState({}, "", link.getAttribute("href"));
  route();
});
window.addEventListener("popstate", route);
window.addEventListener("DOMContentLoaded", route);
