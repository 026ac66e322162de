// The paraseek workbench: search by description, narrow by facets, listen, steer, page, export.
// Plain JS against the server's own JSON API (/api/v1); no build step and no network beyond it.
"use strict";

const TOKEN_KEY = "paraseek-token";
// Payload fields that identify a file rather than describe a voice: not shown as facets or hit fields.
const PLUMBING_FIELDS = new Set(["path", "relative_path", "content_hash", "model", "table_row", "corpus"]);
const HIT_FIELDS = 8;
const FACET_VALUES = 12;

const $ = (id) => document.getElementById(id);
const state = { collection: "", q: "", where: "", negatives: [], like: "", offset: 0, topK: 20, facets: {} };
let info = null;
let hits = [];
let selected = -1;
let askedForToken = false;
let searchSerial = 0;

// --- the API -------------------------------------------------------------------------------------

async function api(path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST", headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !askedForToken) {
    askedForToken = true;
    const entered = window.prompt("This paraseek server needs a token (it is kept for this tab only):");
    if (entered && entered.trim()) {
      sessionStorage.setItem(TOKEN_KEY, entered.trim());
      return api(path, body);
    }
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(data && data.error ? `${data.error.type}: ${data.error.message}` : `HTTP ${response.status}`);
    error.code = data && data.error ? data.error.code : "";
    throw error;
  }
  return data;
}

function takeTokenFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(history.state, "", location.pathname + location.search);
  }
}

// --- state <-> URL -------------------------------------------------------------------------------

function readUrl() {
  const params = new URLSearchParams(location.search);
  state.collection = params.get("c") || state.collection;
  state.q = params.get("q") || "";
  state.where = params.get("where") || "";
  state.negatives = params.getAll("neg");
  state.like = params.get("like") || "";
  state.offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  state.topK = parseInt(params.get("k") || "", 10) || state.topK;
  try {
    state.facets = JSON.parse(params.get("facets") || "{}");
  } catch {
    state.facets = {};
  }
}

function writeUrl() {
  const params = new URLSearchParams();
  if (state.collection) params.set("c", state.collection);
  if (state.q) params.set("q", state.q);
  if (state.where) params.set("where", state.where);
  state.negatives.forEach((text) => params.append("neg", text));
  if (state.like) params.set("like", state.like);
  if (state.offset) params.set("offset", String(state.offset));
  params.set("k", String(state.topK));
  if (Object.keys(state.facets).length) params.set("facets", JSON.stringify(state.facets));
  const url = `${location.pathname}?${params}`;
  if (url !== location.pathname + location.search) history.pushState(null, "", url);
}

function syncInputs() {
  $("q").value = state.q;
  $("where").value = state.where;
  const pageSize = $("page-size");
  if (!Array.from(pageSize.options).some((option) => option.value === String(state.topK))) {
    pageSize.append(new Option(String(state.topK)));
  }
  pageSize.value = String(state.topK);
  if (state.collection) $("collection").value = state.collection;
  renderSteering();
}

// The structured filter of the facet selections, leaving out the field `except`.
function filterDict(except = null) {
  const must = [];
  for (const [key, selection] of Object.entries(state.facets)) {
    if (key === except) continue;
    if (selection.values && selection.values.length === 1) must.push({ key, match: selection.values[0] });
    else if (selection.values && selection.values.length > 1) must.push({ key, match_any: selection.values });
    if (selection.range) {
      const range = { gte: selection.range.gte };
      if (selection.range.lt !== null) range.lt = selection.range.lt;
      must.push({ key, range });
    }
  }
  return must.length ? { must } : null;
}

// --- status --------------------------------------------------------------------------------------

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// --- search --------------------------------------------------------------------------------------

async function search({ push = true } = {}) {
  if (!state.q && !state.like) {
    hits = [];
    renderHits();
    renderUnderstood(null);
    status("Type a description and press Enter.");
    return;
  }
  if (push) writeUrl();
  const serial = ++searchSerial;
  const body = {
    collection: state.collection, text: state.q, negatives: state.negatives.map((text) => ({ text })),
    where: state.where, filter: filterDict(), top_k: state.topK, offset: state.offset, explain_top: 1,
  };
  if (state.like) body.example = { point_id: state.like };
  status("Searching…");
  $("results").setAttribute("aria-busy", "true");
  try {
    const result = await api("/api/v1/search", body);
    if (serial !== searchSerial) return;
    hits = result.hits;
    selected = -1;
    renderHits();
    renderUnderstood(result.query);
    const last = state.offset + hits.length;
    status(hits.length ? `Hits ${state.offset + 1}–${last} in ${result.collection} · ${result.timing.total_ms.toFixed(0)} ms`
      : "No hits. Loosen the filters or change the description.");
  } catch (error) {
    if (serial !== searchSerial) return;
    hits = [];
    renderHits();
    status(error.message, true);
  } finally {
    if (serial === searchSerial) $("results").setAttribute("aria-busy", "false");
  }
}

// How the model read the description: its known styles with scores, and the words it does not know.
function renderUnderstood(query) {
  const line = $("understood");
  line.replaceChildren();
  if (!query || (!query.understood.length && !query.unknown.length)) return;
  if (query.understood.length) {
    line.append("understood as: ");
    query.understood.forEach((match, index) => {
      const style = document.createElement("span");
      style.className = "known";
      style.textContent = match.style;
      line.append(index ? ", " : "", style, ` ${match.score.toFixed(2)}`);
    });
  }
  if (query.unknown.length) {
    line.append(query.understood.length ? "; not understood: " : "not understood: ");
    query.unknown.forEach((word, index) => {
      const unknown = document.createElement("span");
      unknown.className = "unknown";
      unknown.textContent = `'${word}'`;
      line.append(index ? ", " : "", unknown);
    });
  }
}

function restart() {
  state.offset = 0;
  search();
  loadFacets();
}

// --- results -------------------------------------------------------------------------------------

function displayName(hit) {
  const payload = hit.payload;
  if (typeof payload.relative_path === "string") return payload.relative_path;
  if (typeof payload.path === "string") return payload.path.split("/").pop();
  return hit.id;
}

function formatValue(value) {
  if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(2);
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

function hitFields(payload) {
  return Object.entries(payload)
    .filter(([key, value]) => !PLUMBING_FIELDS.has(key) && value !== null && typeof value !== "object")
    .slice(0, HIT_FIELDS);
}

function renderHits() {
  const template = $("hit-template").content;
  const items = hits.map((hit, index) => {
    const card = template.firstElementChild.cloneNode(true);
    card.dataset.id = hit.id;
    card.querySelector(".rank").textContent = `${state.offset + index + 1}.`;
    card.querySelector(".score").textContent = hit.score.toFixed(3);
    const name = card.querySelector(".name");
    name.textContent = displayName(hit);
    name.title = hit.payload.path || hit.id;
    const audio = card.querySelector("audio");
    audio.src = hit.audio_url;
    audio.setAttribute("aria-label", `Play ${displayName(hit)}`);
    audio.addEventListener("play", () => pauseOthers(audio));
    card.querySelector(".fields").replaceChildren(...hitFields(hit.payload).map(([key, value]) => {
      const row = document.createElement("div");
      const term = document.createElement("dt");
      const detail = document.createElement("dd");
      term.textContent = key;
      detail.textContent = formatValue(value);
      row.append(term, detail);
      return row;
    }));
    const styles = card.querySelector(".styles");
    for (const [group, scored] of Object.entries(hit.styles)) {
      const best = scored.tags[0];
      if (!best) continue;
      const tag = document.createElement("b");
      tag.textContent = best.tag;
      styles.append(`${styles.childNodes.length ? " · " : ""}${group}: `, tag, ` ${best.score.toFixed(2)}`);
    }
    styles.title = "Best-matching style tag per attribute group (cosine with the tag prompt)";
    card.querySelector(".more").addEventListener("click", () => moreLike(hit));
    card.querySelector(".not").addEventListener("click", () => notLike(hit));
    card.addEventListener("focus", () => select(index, false));
    return card;
  });
  $("results").replaceChildren(...items);
  $("export-jsonl").disabled = $("export-csv").disabled = hits.length === 0;
  $("prev").disabled = state.offset === 0;
  const maxTopK = info ? info.max_top_k : 1000;
  $("next").disabled = hits.length < state.topK || state.offset + 2 * state.topK > maxTopK;
  $("page-label").textContent = hits.length ? `page ${Math.floor(state.offset / state.topK) + 1}` : "";
}

function turnPage(direction) {
  state.offset = Math.max(0, state.offset + direction * state.topK);
  window.scrollTo(0, 0);
  search();
}

function pauseOthers(playing) {
  document.querySelectorAll("#results audio").forEach((audio) => { if (audio !== playing) audio.pause(); });
}

function select(index, focus = true) {
  const cards = $("results").children;
  if (!cards.length) return;
  selected = Math.max(0, Math.min(cards.length - 1, index));
  Array.from(cards).forEach((card, i) => card.classList.toggle("selected", i === selected));
  if (focus) {
    cards[selected].focus({ preventScroll: true });
    cards[selected].scrollIntoView({ block: "nearest" });
  }
}

function togglePlay() {
  const card = $("results").children[selected];
  if (!card) return;
  const audio = card.querySelector("audio");
  if (audio.paused) audio.play().catch((error) => status(`Cannot play: ${error.message}`, true));
  else audio.pause();
}

// "More like this": a pure example search from the hit (its stored embedding; the hit itself is left out).
function moreLike(hit) {
  state.like = hit.id;
  state.q = "";
  state.negatives = [];
  syncInputs();
  restart();
}

// "Not like this": the hit's explanation (its best style tag per group) becomes a negative description.
function notLike(hit) {
  const text = Object.values(hit.styles).map((scored) => scored.tags[0] && scored.tags[0].tag).filter(Boolean).join(", ");
  if (!text) {
    status("This hit has no style explanation to steer away from.", true);
    return;
  }
  if (!state.q) {
    status("Type a description first: 'not like this' steers it away from this hit's style tags.", true);
    return;
  }
  if (info && state.negatives.length >= info.max_negatives) {
    status(`At most ${info.max_negatives} negative descriptions; remove one first.`, true);
    return;
  }
  if (!state.negatives.includes(text)) state.negatives.push(text);
  renderSteering();
  restart();
}

function renderSteering() {
  const chips = [];
  const chip = (label, className, remove) => {
    const element = document.createElement("span");
    element.className = `chip ${className}`;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "✕";
    button.setAttribute("aria-label", `Remove ${label}`);
    button.addEventListener("click", remove);
    element.append(label, button);
    chips.push(element);
  };
  if (state.like) chip(`like ${state.like.slice(0, 8)}…`, "", () => { state.like = ""; renderSteering(); restart(); });
  state.negatives.forEach((text, index) => chip(`not: ${text}`, "negative", () => {
    state.negatives.splice(index, 1);
    renderSteering();
    restart();
  }));
  $("steering").replaceChildren(...chips);
}

// --- facets --------------------------------------------------------------------------------------

// Counts of a field with a selection ignore that selection, so its other values stay visible and
// selecting several of them widens the results (values of one field are OR-ed, fields are AND-ed).
async function loadFacets() {
  if (!state.collection) return;
  const path = `/api/v1/collections/${encodeURIComponent(state.collection)}/facets`;
  const selectedFields = Object.keys(state.facets);
  try {
    const [all, ...own] = await Promise.all([
      api(path, { filter: filterDict(), where: state.where, limit: FACET_VALUES }),
      ...selectedFields.map((field) => api(path, { filter: filterDict(field), where: state.where, fields: [field],
        limit: FACET_VALUES })),
    ]);
    const replaced = new Map(own.map((result) => [result.facets[0].field, result.facets[0]]));
    renderFacets(all.facets.map((facet) => replaced.get(facet.field) || facet));
  } catch (error) {
    $("facets").replaceChildren();
    status(error.message, true);
  }
}

function isIdentifierLike(facet) {
  return facet.values.length > 1 && facet.other > 0 && facet.values.every((value) => value.count === 1);
}

function renderFacets(facets) {
  const sections = [];
  for (const facet of facets) {
    if (PLUMBING_FIELDS.has(facet.field) || facet.field.startsWith("style_score.") || isIdentifierLike(facet)) continue;
    const selection = state.facets[facet.field] || {};
    const options = facet.type === "float"
      ? facet.ranges.map((range) => ({
        label: range.lt === null ? `≥ ${range.gte}` : `${range.gte} – ${range.lt}`, count: range.count,
        pressed: !!selection.range && selection.range.gte === range.gte && selection.range.lt === range.lt,
        toggle: () => toggleRange(facet.field, range),
      }))
      : facet.values.map((entry) => ({
        label: String(entry.value), count: entry.count,
        pressed: !!selection.values && selection.values.includes(entry.value),
        toggle: () => toggleValue(facet.field, entry.value),
      }));
    for (const value of selection.values || []) {  // keep selected values visible even at zero
      if (!facet.values.some((entry) => entry.value === value)) {
        options.push({ label: String(value), count: 0, pressed: true, toggle: () => toggleValue(facet.field, value) });
      }
    }
    if (!options.length) continue;
    const section = document.createElement("section");
    const heading = document.createElement("h3");
    heading.textContent = facet.field;
    const list = document.createElement("ul");
    list.className = "facet-values";
    for (const option of options) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.field = facet.field;
      button.setAttribute("aria-pressed", String(option.pressed));
      const label = document.createElement("span");
      label.textContent = option.label;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = String(option.count);
      button.append(label, count);
      button.addEventListener("click", option.toggle);
      item.append(button);
      list.append(item);
    }
    section.append(heading, list);
    sections.push(section);
  }
  $("facets").replaceChildren(...sections);
}

function toggleValue(field, value) {
  const selection = state.facets[field] || (state.facets[field] = {});
  const values = selection.values || [];
  selection.values = values.includes(value) ? values.filter((v) => v !== value) : [...values, value];
  if (!selection.values.length) delete state.facets[field];
  restart();
}

function toggleRange(field, range) {
  const current = state.facets[field] && state.facets[field].range;
  if (current && current.gte === range.gte && current.lt === range.lt) delete state.facets[field];
  else state.facets[field] = { range: { gte: range.gte, lt: range.lt } };
  restart();
}

// --- export --------------------------------------------------------------------------------------

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function exportName(suffix) {
  return `paraseek-${state.collection || "results"}-${state.offset + 1}-${state.offset + hits.length}.${suffix}`;
}

function exportJsonl() {
  const lines = hits.map((hit) => JSON.stringify({ path: hit.payload.path ?? null, id: hit.id, score: hit.score,
    payload: hit.payload }));
  download(exportName("jsonl"), `${lines.join("\n")}\n`, "application/x-ndjson");
}

function flatten(value, prefix, into) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, into);
  } else {
    into[prefix] = Array.isArray(value) ? value.join(";") : value;
  }
  return into;
}

function csvCell(value) {
  const text = value === undefined || value === null ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function exportCsv() {
  const rows = hits.map((hit) => flatten(hit.payload, "", {}));
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))].filter((key) => key !== "path").sort();
  const header = ["path", "id", "score", ...columns];
  const lines = hits.map((hit, index) => [hit.payload.path, hit.id, hit.score, ...columns.map((key) => rows[index][key])]
    .map(csvCell).join(","));
  download(exportName("csv"), `${[header.join(","), ...lines].join("\r\n")}\r\n`, "text/csv");
}

// --- keyboard ------------------------------------------------------------------------------------

function onKey(event) {
  const target = event.target;
  const typing = target.matches("input, select, textarea");
  if (event.key === "/" && !typing) {
    event.preventDefault();
    $("q").focus();
    $("q").select();
    return;
  }
  if (event.key === "Escape" && typing) {
    target.blur();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey || target.matches("button, audio")) return;
  const keys = {
    j: () => select(selected + 1), ArrowDown: () => select(selected + 1),
    k: () => select(selected - 1), ArrowUp: () => select(selected - 1),
    " ": togglePlay,
    m: () => hits[selected] && moreLike(hits[selected]),
    n: () => hits[selected] && notLike(hits[selected]),
  };
  if (keys[event.key] && hits.length) {
    event.preventDefault();
    if (selected < 0 && event.key !== " ") select(0);
    else keys[event.key]();
  }
}

// --- start ---------------------------------------------------------------------------------------

async function loadInfo() {
  for (let attempt = 0; ; attempt++) {
    try {
      info = await api("/api/v1/info");
      $("model").textContent = `${info.model} · ${info.model_fingerprint.slice(0, 8)}`;
      return;
    } catch (error) {
      if (error.code !== "UNAVAILABLE" || attempt > 60) throw error;
      status("The model is loading…");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function loadCollections() {
  const { collections } = await api("/api/v1/collections");
  const picker = $("collection");
  picker.replaceChildren(...collections.map((collection) => {
    const option = document.createElement("option");
    option.value = collection.name;
    option.textContent = `${collection.name} (${collection.count})`;
    return option;
  }));
  const names = collections.flatMap((collection) => [collection.name, ...collection.aliases]);
  if (state.collection && !collections.some((c) => c.name === state.collection)) {
    const target = collections.find((c) => c.aliases.includes(state.collection));
    state.collection = target ? target.name : "";
  }
  if (!names.includes(state.collection)) {
    const preferred = info && collections.find((c) => c.name === info.default_collection
      || c.aliases.includes(info.default_collection));
    state.collection = preferred ? preferred.name : (collections[0] ? collections[0].name : "");
  }
  picker.value = state.collection;
}

function bind() {
  document.addEventListener("keydown", onKey);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.q = $("q").value.trim();
    restart();
  });
  $("where").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    state.where = $("where").value.trim();
    restart();
  });
  $("collection").addEventListener("change", () => {
    state.collection = $("collection").value;
    state.facets = {};
    state.like = "";
    renderSteering();
    restart();
  });
  $("page-size").addEventListener("change", () => {
    state.topK = parseInt($("page-size").value, 10);
    state.offset = 0;
    search();
  });
  $("clear-filters").addEventListener("click", () => {
    state.facets = {};
    state.where = "";
    $("where").value = "";
    restart();
  });
  $("prev").addEventListener("click", () => turnPage(-1));
  $("next").addEventListener("click", () => turnPage(1));
  $("export-jsonl").addEventListener("click", exportJsonl);
  $("export-csv").addEventListener("click", exportCsv);
  window.addEventListener("popstate", () => {
    readUrl();
    syncInputs();
    search({ push: false });
    loadFacets();
  });
}

async function main() {
  takeTokenFromFragment();
  readUrl();
  bind();
  try {
    await loadInfo();
    await loadCollections();
  } catch (error) {
    status(error.message, true);
    return;
  }
  syncInputs();
  loadFacets();
  if (state.q || state.like) search({ push: false });
  else $("q").focus();
}

main();
