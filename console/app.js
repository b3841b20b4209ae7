// The auditor's console: sign in, the audit trail, an entry, and the chain
// verified here. Every text from the server is put in the page as text
// (textContent), never as markup; names in any script are shown with
// dir="auto" so Arabic reads right to left beside Latin.

import { ApiError, Session } from "./api.js";
import { verifyChain } from "./chain.js";

const session = new Session();
const main = document.getElementById("main");
const nav = document.getElementById("nav");
let savedCheckpoints = [];

// ------------------------------------------------------------------ helpers

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Text in any script, laid out by its own direction. */
function text(value) {
  return el("span", { dir: "auto" }, value ?? "—");
}

/** A time in the auditor's time zone, UTC on hover. */
function time(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return el("time", { datetime: iso, title: `${iso} (UTC)` }, date.toLocaleString());
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function failure(error) {
  const detail = error instanceof ApiError ? `${error.message} (${error.problem.code ?? error.status})` : String(error);
  return el("p", { class: "error", role: "alert" }, detail);
}

function hashQuery() {
  const [, query = ""] = location.hash.split("?");
  return new URLSearchParams(query);
}

function link(hash, label) {
  return el("a", { href: hash }, label);
}

// ------------------------------------------------------------------ sign in

function renderSignIn(message) {
  nav.hidden = true;
  const error = el("p", { class: "error", role: "alert" }, message ?? "");
  const username = el("input", { name: "username", autocomplete: "username", required: true });
  const password = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = el("form", { class: "signin", id: "sign-in" },
    el("h2", {}, "Sign in"),
    el("label", {}, "Username", username),
    el("label", {}, "Password", password),
    el("button", { type: "submit" }, "Sign in"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const result = await session.login(username.value, password.value);
      password.value = "";
      if (result?.mfa_token) return renderSecondFactor(result.mfa_token);
      await enter();
    } catch (e) {
      error.textContent = e instanceof ApiError && e.status === 401 ? "Wrong username or password." : failure(e).textContent;
    }
  });
  show(form);
  username.focus();
}

function renderSecondFactor(mfaToken) {
  const error = el("p", { class: "error", role: "alert" });
  const code = el("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true });
  const form = el("form", { class: "signin", id: "second-factor" },
    el("h2", {}, "Second factor"),
    el("label", {}, "The code your authenticator shows (or a recovery code)", code),
    el("button", { type: "submit" }, "Continue"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await session.loginWithCode(mfaToken, code.value.trim());
      await enter();
    } catch (e) {
      error.textContent = failure(e).textContent;
    }
  });
  show(form);
  code.focus();
}

/** After a login: auditors only. */
async function enter() {
  const me = await session.json("/auth/me");
  if (me.role !== "auditor") {
    session.signOut();
    renderSignIn("The console is for auditors. Your account is not one: use the API, or ask an admin.");
    return;
  }
  document.getElementById("who").textContent = `${me.username} (auditor)`;
  nav.hidden = false;
  if (!location.hash || location.hash === "#/") location.hash = "#/trail";
  else route();
}

// ------------------------------------------------------------------ the trail

const FILTERS = [
  ["order", "Order", "select", [["desc", "newest first"], ["asc", "oldest first"]]],
  ["entity_type", "Entity type", "select", ["", "organization", "user", "auth", "facility", "detainee", "custody", "review", "import", "audit", "attachment", "keys"]],
  ["entity_id", "Entity id", "text"],
  ["actor_id", "Actor id", "text"],
  ["action", "Action", "text"],
  ["since", "Since", "datetime-local"],
  ["until", "Until", "datetime-local"],
  ["after_seq", "After seq", "number"],
];

function filterForm(query) {
  const form = el("form", { class: "filters", id: "filters" });
  for (const [name, label, kind, options] of FILTERS) {
    let input;
    if (kind === "select") {
      input = el("select", { name }, options.map((o) => {
        const [value, label] = Array.isArray(o) ? o : [o, o || "any"];
        return el("option", { value }, label);
      }));
      input.value = query.get(name) ?? (name === "order" ? "desc" : "");
    } else {
      input = el("input", { name, type: kind, min: kind === "number" ? 0 : undefined });
      const value = query.get(name) ?? "";
      // datetime-local shows local time; the query holds UTC.
      input.value = kind === "datetime-local" && value ? toLocalInput(value) : value;
    }
    form.append(el("label", {}, label, input));
  }
  form.append(el("button", { type: "submit" }, "Filter"), link("#/trail", "Clear"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, , kind] of FILTERS) {
      const value = form.elements[name].value.trim();
      if (!value) continue;
      next.set(name, kind === "datetime-local" ? new Date(value).toISOString() : value);
    }
    location.hash = `#/trail?${next}`;
  });
  return form;
}

function toLocalInput(iso) {
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 16);
}

function changedFields(changes) {
  return Object.keys(changes ?? {}).join(", ");
}

function entityCell(entry) {
  if (!entry.entity_id) return text(entry.entity_type);
  const filter = link(`#/trail?entity_id=${encodeURIComponent(entry.entity_id)}`, entry.entity_id);
  const file = entry.entity_type === "detainee"
    ? [" ", link(`#/file/${encodeURIComponent(entry.entity_id)}`, "(the file)")]
    : [];
  return el("span", {}, `${entry.entity_type} `, el("code", {}, filter), ...file);
}

function actorCell(entry) {
  const name = text(entry.actor_username ?? "—");
  if (!entry.actor_id) return name;
  return el("span", {}, link(`#/trail?actor_id=${encodeURIComponent(entry.actor_id)}`, name), entry.actor_role ? ` (${entry.actor_role})` : "");
}

async function renderTrail() {
  const query = hashQuery();
  const params = new URLSearchParams();
  for (const [name] of FILTERS) if (query.get(name)) params.set(name, query.get(name));
  // Newest first unless asked otherwise: what an auditor looks for first.
  if (!params.has("order")) params.set("order", "desc");
  params.set("limit", query.get("limit") ?? "50");
  if (query.get("cursor")) params.set("cursor", query.get("cursor"));
  const started = performance.now();
  const page = await session.json(`/audit?${params}`);
  const rows = page.items.map((entry) => el("tr", { "data-seq": entry.seq },
    el("td", { class: "seq" }, link(`#/entry/${entry.seq}`, entry.seq)),
    el("td", {}, time(entry.occurred_at)),
    el("td", {}, actorCell(entry)),
    el("td", {}, el("code", {}, entry.action)),
    el("td", {}, entityCell(entry)),
    el("td", {}, text(changedFields(entry.changes)))));
  // Back: the cursors of the pages walked, kept in the URL (never a token).
  const trail = (query.get("back") ?? "").split(",").filter(Boolean);
  const pager = el("div", { class: "pager" });
  if (query.has("cursor")) {
    const back = new URLSearchParams(query);
    const previous = trail.pop();
    if (previous && previous !== "first") back.set("cursor", previous);
    else back.delete("cursor");
    back.set("back", trail.join(","));
    pager.append(link(`#/trail?${back}`, "← Previous page"));
  }
  if (page.next_cursor) {
    const forward = new URLSearchParams(query);
    forward.set("back", [...(query.get("back") ?? "").split(",").filter(Boolean), query.get("cursor") ?? "first"].join(","));
    forward.set("cursor", page.next_cursor);
    pager.append(link(`#/trail?${forward}`, "Next page →"));
  }
  const table = el("table", { id: "trail" },
    el("thead", {}, el("tr", {}, ["seq", "when", "who", "action", "entity", "changed"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
  show(el("h2", {}, "Audit trail"), filterForm(query),
    rows.length ? table : el("p", { class: "muted" }, "No entry matches."),
    pager,
    el("p", { class: "muted", id: "rendered" }, `${rows.length} entries, fetched and shown in ${Math.round(performance.now() - started)} ms`));
}

// ------------------------------------------------------------------ an entry

function value(v) {
  if (v === null || v === undefined) return el("span", { class: "muted" }, "—");
  if (typeof v === "object") return el("code", { dir: "auto" }, JSON.stringify(v));
  return text(String(v));
}

async function renderEntry(seq) {
  const page = await session.json(`/audit?after_seq=${seq - 1}&limit=1`);
  const entry = page.items[0];
  if (!entry || entry.seq !== seq) {
    show(el("h2", {}, `Entry ${seq}`), el("p", {}, "No such entry."));
    return;
  }
  const changes = Object.entries(entry.changes ?? {}).map(([field, [before, after]]) =>
    el("tr", {}, el("td", {}, el("code", {}, field)), el("td", {}, value(before)), el("td", {}, value(after))));
  const facts = el("dl", { class: "fields", id: "entry" },
    el("dt", {}, "seq"), el("dd", {}, entry.seq),
    el("dt", {}, "when"), el("dd", {}, time(entry.occurred_at)),
    el("dt", {}, "who"), el("dd", {}, actorCell(entry)),
    el("dt", {}, "action"), el("dd", {}, el("code", {}, entry.action)),
    el("dt", {}, "entity"), el("dd", {}, entityCell(entry)),
    el("dt", {}, "request"), el("dd", {}, el("code", {}, entry.request_id), entry.client_ip ? ` from ${entry.client_ip}` : ""),
    el("dt", {}, "prev_hash"), el("dd", { class: "hash" }, entry.prev_hash),
    el("dt", {}, "hash"), el("dd", { class: "hash" }, entry.hash));
  const neighbours = el("div", { class: "pager" },
    seq > 1 ? link(`#/entry/${seq - 1}`, `← seq ${seq - 1}`) : "",
    link(`#/entry/${seq + 1}`, `seq ${seq + 1} →`));
  show(el("h2", {}, `Entry ${seq}`), facts,
    el("h3", {}, "Changes"),
    changes.length
      ? el("table", { id: "changes" }, el("thead", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "before"), el("th", {}, "after"))), el("tbody", {}, changes))
      : el("p", { class: "muted" }, "None."),
    neighbours);
}

// ------------------------------------------------------------------ a file

const FILE_FIELDS = [
  "reference", "full_name", "name_ar", "aliases", "sex", "birth_date", "place_of_origin",
  "status", "category", "major_crimes_accusation", "accusation_summary", "facility_id",
  "detained_on", "last_seen_on", "released_on", "review_status", "external_ref", "version",
  "organization_id", "created_at", "updated_at", "archived_at", "merged_into",
];

function section(title, id, rows, headings) {
  return [
    el("h3", {}, title),
    rows.length
      ? el("table", { id }, el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))), el("tbody", {}, rows))
      : el("p", { class: "muted", id }, "None."),
  ];
}

/** A review's timeline from the file's history: every step as the audit
 * log recorded it (a decision later disputed stays on it), with who took
 * it, for which organisation's part. */
function reviewTimeline(review, history) {
  const steps = history.filter((e) => e.entity_type === "review" && e.entity_id === review.id);
  const detail = (e) => {
    const c = e.changes ?? {};
    const after = (field) => (c[field] ? c[field][1] : null);
    return [after("decision"), after("rationale"), after("reason"), after("position"), after("statement"), after("note")]
      .filter((v) => v !== null && v !== undefined && v !== "")
      .join(" — ");
  };
  return el("li", {},
    el("strong", {}, `Review ${review.id} — now ${review.status}`),
    el("ol", { class: "timeline" }, steps.map((e) => el("li", {},
      time(e.occurred_at), " ", el("code", {}, e.action), " by ", actorCell(e), " ", text(detail(e))))));
}

async function renderFile(id) {
  const path = `/detainees/${encodeURIComponent(id)}`;
  // The file without its source notes: those are asked for apart, and
  // that read is logged as such.
  const [file, history, access, reviews, custody, attachments] = await Promise.all([
    session.json(`${path}?source_notes=false`),
    session.json(`${path}/history?limit=200`),
    session.json(`/audit/access?entity_id=${encodeURIComponent(id)}&limit=200`),
    session.json(`${path}/reviews?limit=200`),
    session.json(`${path}/custody?limit=200`),
    session.json(`${path}/attachments?include_archived=true&limit=200`),
  ]);
  const facts = el("dl", { class: "fields", id: "file" });
  for (const field of FILE_FIELDS) {
    if (!(field in file)) continue;
    facts.append(el("dt", {}, field), el("dd", {}, field.endsWith("_at") ? time(file[field]) : value(file[field])));
  }
  const notes = el("div", { id: "source-notes" });
  const reveal = el("button", { type: "button", id: "show-source-notes" }, "Show the source notes (this read is logged)");
  reveal.addEventListener("click", async () => {
    try {
      const body = await session.json(`${path}/source-notes`);
      notes.replaceChildren(el("p", { dir: "auto", id: "source-notes-text" }, body.source_notes ?? "None recorded."));
    } catch (e) {
      notes.replaceChildren(failure(e));
    }
  });
  notes.append(reveal);
  const historyRows = history.items.map((e) => el("tr", {},
    el("td", { class: "seq" }, link(`#/entry/${e.seq}`, e.seq)), el("td", {}, time(e.occurred_at)),
    el("td", {}, actorCell(e)), el("td", {}, el("code", {}, e.action)), el("td", {}, text(changedFields(e.changes)))));
  // A download names the attachment read (item_id): shown by its file name.
  const attachmentNames = new Map(attachments.items.map((a) => [a.id, a.filename]));
  const accessRows = access.items.map((a) => el("tr", {},
    el("td", {}, time(a.occurred_at)), el("td", {}, text(a.actor_username)), el("td", {}, a.actor_role),
    el("td", {}, el("code", {}, a.action), a.item_id ? [" ", text(attachmentNames.get(a.item_id) ?? a.item_id)] : []),
    el("td", {}, a.client_ip ?? "—")));
  const custodyRows = custody.items.map((c) => el("tr", {},
    el("td", {}, el("code", {}, c.facility_id)), el("td", {}, c.from ?? "—"), el("td", {}, c.to ?? "—"), el("td", {}, text(c.note))));
  const attachmentRows = attachments.items.map((a) => el("tr", {},
    el("td", {}, text(a.filename)), el("td", {}, a.media_type), el("td", { class: "num" }, a.size),
    el("td", { class: "hash" }, a.sha256), el("td", {}, time(a.uploaded_at)),
    el("td", {}, a.purged_at ? "purged" : a.archived_at ? "archived" : "")));
  show(el("h2", { dir: "auto" }, `${file.reference} — `, text(file.full_name), file.name_ar ? [" · ", text(file.name_ar)] : []),
    facts, notes,
    el("h3", {}, "Reviews"),
    reviews.items.length ? el("ul", { id: "reviews" }, reviews.items.map((r) => reviewTimeline(r, history.items))) : el("p", { class: "muted", id: "reviews" }, "None."),
    ...section("History", "history", historyRows, ["seq", "when", "who", "action", "changed"]),
    history.next_cursor ? el("p", { class: "muted" }, "The first 200 entries: filter the trail by this file's id for the rest.") : "",
    ...section("Who read this file", "access", accessRows, ["when", "who", "role", "what", "from"]),
    access.next_cursor ? el("p", { class: "muted" }, "The first 200 reads; the trail's access log (GET /audit/access) has the rest.") : "",
    ...section("Custody", "custody", custodyRows, ["facility", "from", "to", "note"]),
    ...section("Attachments", "attachments", attachmentRows, ["name", "type", "bytes", "sha256", "uploaded", "state"]));
}

// ------------------------------------------------------------------ verification

function renderVerify() {
  const result = el("div", { id: "verdict" });
  const progress = el("p", { class: "muted", id: "progress" });
  const savedList = el("ul", { id: "saved" }, savedCheckpoints.map((c) => el("li", {}, `seq ${c.seq}, signed at ${c.signed_at} by key ${c.key_id}`)));
  const upload = el("input", { type: "file", accept: "application/json", id: "checkpoint-file" });
  upload.addEventListener("change", async () => {
    for (const file of upload.files) {
      try {
        const kept = JSON.parse(await file.text());
        for (const member of ["seq", "hash", "signed_at", "key_id", "public_key", "signature"]) {
          if (!(member in kept)) throw new Error(`not a checkpoint: no ${member}`);
        }
        if (!Number.isInteger(kept.seq)) throw new Error("not a checkpoint: seq is not a number");
        savedCheckpoints.push(kept);
      } catch (e) {
        result.replaceChildren(failure(e));
      }
    }
    renderVerify();
  });
  const run = el("button", { type: "button", id: "verify-now" }, "Verify now");
  run.addEventListener("click", async () => {
    run.disabled = true;
    result.replaceChildren();
    const started = performance.now();
    try {
      const verdict = await verifyChain(session, savedCheckpoints, (n) => { progress.textContent = `${n} entries checked…`; });
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      progress.textContent = `${verdict.count} entries fetched and checked in ${seconds} s.`;
      result.replaceChildren(...verdictNodes(verdict));
    } catch (e) {
      result.replaceChildren(failure(e));
    } finally {
      run.disabled = false;
    }
  });
  show(el("h2", {}, "Verify the chain"),
    el("p", {}, "Fetches every entry, recomputes each hash (RFC 8785 canonical JSON, SHA-256) and the links between them here, in this browser, then checks the signed checkpoint (Ed25519). Nothing the server says is taken on trust."),
    run, progress, result,
    el("h3", {}, "Checkpoints kept earlier"),
    el("p", { class: "muted" }, "Upload checkpoints saved from earlier verifications: the current chain must still hold each of them."),
    upload, savedList);
}

function verdictNodes(verdict) {
  const nodes = [];
  const cp = verdict.checkpoint;
  if (verdict.broken) {
    nodes.push(el("p", { class: "verdict broken", id: "verdict-text" },
      `The chain breaks at seq ${verdict.broken.seq}: ${verdict.broken.why}. `,
      link(`#/entry/${verdict.broken.seq}`, `See entry ${verdict.broken.seq}`)));
  } else {
    nodes.push(el("p", { class: "verdict intact", id: "verdict-text" },
      `The chain of ${verdict.count} entries is intact up to seq ${cp.seq}, signed at ${cp.signed_at} by key ${cp.key_id}.`));
    const save = el("button", { type: "button", id: "save-checkpoint" }, "Save this checkpoint");
    save.addEventListener("click", () => {
      const blob = new Blob([JSON.stringify(cp, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const a = el("a", { href: url, download: `sijill-checkpoint-${cp.seq}.json` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
    nodes.push(save);
  }
  for (const kept of verdict.saved) {
    const key = kept.checkpoint.key_id;
    nodes.push(el("p", { class: kept.holds ? "verdict intact saved-verdict" : "verdict broken saved-verdict" },
      kept.holds
        ? `The checkpoint at seq ${kept.checkpoint.seq} (signed at ${kept.checkpoint.signed_at} by key ${key}) still holds.`
        : !kept.signed
          ? `The checkpoint at seq ${kept.checkpoint.seq} is not signed by the key it names: it is not a checkpoint of any log.`
          : `The checkpoint at seq ${kept.checkpoint.seq} does NOT hold: the chain there now has ${kept.found ?? "no entry"}.`,
      kept.signed && !kept.sameKey ? ` It was signed by key ${key}, not by the key that signs the log today: make sure that key was the log's.` : ""));
  }
  return nodes;
}

// ------------------------------------------------------------------ routing

async function route() {
  if (!session.signedIn) return renderSignIn();
  const [path] = location.hash.slice(1).split("?");
  try {
    const entry = path.match(/^\/entry\/(\d+)$/);
    if (entry) return await renderEntry(Number(entry[1]));
    const file = path.match(/^\/file\/([0-9a-f-]{36})$/);
    if (file) return await renderFile(file[1]);
    if (path === "/verify") return renderVerify();
    return await renderTrail();
  } catch (e) {
    show(failure(e));
  }
}

session.onEnded = (message) => renderSignIn(message);
window.addEventListener("hashchange", route);
document.getElementById("sign-out").addEventListener("click", () => {
  session.signOut();
  location.hash = "";
  renderSignIn("Signed out.");
});
// Closing the tab ends the session on the server too.
window.addEventListener("pagehide", () => session.signOut(true));
// A page brought back from the back/forward cache holds what was shown
// before: show nothing of it.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) {
    session.forget();
    renderSignIn("Signed out.");
  }
});
renderSignIn();
