// Eddy's dashboard: plain JavaScript, no libraries. Data comes from the REST API (/api) and live
// from server-sent events (/api/events); charts are SVG drawn here.
"use strict";

const WINDOW_MS = 5 * 60 * 1000;      // charts show the last 5 minutes
const BUCKET_MS = 2000;               // one chart point per 2 seconds
const SERIES_MAX = 10;                // lines in one chart of results
const ALERTS_KEPT = 500;              // alerts the Alerts page keeps
const isAlertQuery = (query) => /alert/i.test(query);
function addAlerts(pipeline, query, rows, t) {
  if (!isAlertQuery(query)) return;
  rows.forEach((row) => state.alerts.push({ t, pipeline, query, row }));
  if (state.alerts.length > ALERTS_KEPT) state.alerts.splice(0, state.alerts.length - ALERTS_KEPT);
}
const COLORS = ["#0b6bcb", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#5c940d", "#d6336c", "#495057", "#f08c00", "#364fc7", "#087f5b"];

const state = {
  info: null,
  pipelines: new Map(),   // name → pipeline JSON (from the API, updated by events)
  batches: [],            // one entry per progress record, all pipelines: {t, pipeline, query, in, out, ms, latency, wm, late, dead, behind}
  rows: new Map(),        // "pipeline/query" → {columns, rows}
  overview: [],           // overview events: {t, topics, groups}
  alerts: [],             // rows of alert queries (a table named *alert*), newest last: {t, pipeline, query, row}
  connected: false,
};

// ---------- small helpers

const $ = (selector) => document.querySelector(selector);
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(1) + " G";
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + " M";
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return Number(n).toFixed(digits);
}
function fmtMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (Math.abs(ms) < 1000) return Math.round(ms) + " ms";
  if (Math.abs(ms) < 120000) return (ms / 1000).toFixed(1) + " s";
  if (Math.abs(ms) < 7200000) return (ms / 60000).toFixed(1) + " min";
  return (ms / 3600000).toFixed(1) + " h";
}
function fmtBytes(b) {
  if (b === null || b === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return (i ? b.toFixed(1) : b) + " " + units[i];
}
function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
async function api(path, options = {}) {
  const response = await fetch(path, options);
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error(body && body.error ? body.error.message : response.statusText);
    error.body = body;
    throw error;
  }
  return body;
}

// ---------- what a progress record becomes

function batchOf(pipeline, query, p) {
  const start = Date.parse(p.timestamp);
  const ms = p.durationMs.triggerExecution || 0;
  const t = start + ms;
  const wm = p.eventTime && p.eventTime.watermark ? Date.parse(p.eventTime.watermark) : null;
  let behind = 0;
  for (const s of p.sources || []) {
    const parts = Object.keys((s.endOffset || {}).partitions || {}).length || 1;
    behind += Number((s.metrics || {}).avgOffsetsBehindLatest || 0) * parts;
  }
  return {
    t, pipeline, query, batchId: p.batchId,
    in: p.numInputRows, out: p.sink.numOutputRows, ms,
    // Since the event time of the batch's slowest row kept, and since its oldest Kafka record timestamp.
    latency: p.latencyMs && p.latencyMs.max !== undefined ? p.latencyMs.max : null,
    recordLatency: p.latencyMs && p.latencyMs.sinceRecordTimeMax !== undefined ? p.latencyMs.sinceRecordTimeMax : null,
    wm: wm !== null ? t - wm : null,
    late: (p.stateOperators || []).reduce((a, o) => a + o.numRowsDroppedByWatermark, 0),
    dead: Object.values(p.numDeadLetterRows || {}).reduce((a, n) => a + n, 0),
    stateRows: (p.stateOperators || []).reduce((a, o) => a + o.numRowsTotal, 0),
    stateBytes: (p.stateOperators || []).reduce((a, o) => a + o.memoryUsedBytes, 0),
    behind,
  };
}
function addBatch(batch) {
  const last = state.batches[state.batches.length - 1];
  state.batches.push(batch);
  if (last && last.t > batch.t) state.batches.sort((a, b) => a.t - b.t);
  const cutoff = Date.now() - WINDOW_MS - 60000;
  while (state.batches.length && state.batches[0].t < cutoff) state.batches.shift();
}

// Buckets of BUCKET_MS over the chart window, each reduced by `reduce(batchesInBucket)`.
function bucketed(batches, reduce, nowMs = Date.now()) {
  const start = nowMs - WINDOW_MS;
  const buckets = new Map();
  for (const b of batches) {
    if (b.t < start) continue;
    const k = Math.floor(b.t / BUCKET_MS) * BUCKET_MS;
    if (!buckets.has(k)) buckets.set(k, []);
    buckets.get(k).push(b);
  }
  return [...buckets.keys()].sort((a, b) => a - b).map((k) => [k, reduce(buckets.get(k))]).filter(([, v]) => v !== null);
}

// ---------- SVG charts

function lineChart(title, series, { unit = "", format = (v) => fmt(v, 1), width = 460, height = 170, timeAxis = true, timeLabels = timeAxis, id = "" } = {}) {
  const pad = { l: 52, r: 10, t: 8, b: 22 };
  const points = series.flatMap((s) => s.points);
  const latest = series.map((s) => `${s.name}: ${s.points.length ? format(s.points[s.points.length - 1][1]) + unit : "no data"}`).join("; ");
  let body = "";
  if (!points.length) {
    body = `<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data yet</text>`;
  } else {
    let xmin = Math.min(...points.map((p) => p[0])), xmax = Math.max(...points.map((p) => p[0]));
    if (timeAxis) { xmax = Math.max(xmax, Date.now()); xmin = Math.min(xmin, xmax - WINDOW_MS); }
    if (xmax === xmin) xmax = xmin + 1;
    let ymin = Math.min(0, ...points.map((p) => p[1])), ymax = Math.max(...points.map((p) => p[1]));
    if (ymax === ymin) ymax = ymin + 1;
    const x = (v) => pad.l + ((v - xmin) / (xmax - xmin)) * (width - pad.l - pad.r);
    const y = (v) => height - pad.b - ((v - ymin) / (ymax - ymin)) * (height - pad.t - pad.b);
    for (let i = 0; i <= 3; i++) {
      const v = ymin + ((ymax - ymin) * i) / 3;
      body += `<line class="grid" x1="${pad.l}" x2="${width - pad.r}" y1="${y(v)}" y2="${y(v)}"/>`;
      body += `<text x="${pad.l - 4}" y="${y(v) + 4}" text-anchor="end">${esc(format(v))}</text>`;
    }
    const xl = (v) => timeLabels ? new Date(v).toLocaleTimeString() : fmt(v);
    body += `<text x="${pad.l}" y="${height - 4}">${esc(xl(xmin))}</text><text x="${width - pad.r}" y="${height - 4}" text-anchor="end">${esc(xl(xmax))}</text>`;
    series.forEach((s, i) => {
      if (!s.points.length) return;
      const color = COLORS[i % COLORS.length];
      const d = s.points.map((p, j) => `${j ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
      body += `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"><title>${esc(s.name)}</title></path>`;
      if (s.points.length === 1) body += `<circle cx="${x(s.points[0][0])}" cy="${y(s.points[0][1])}" r="3" fill="${color}"/>`;
    });
  }
  const legend = series.map((s, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(s.name)}</span>`).join("");
  return `<figure class="chart"${id ? ` id="${esc(id)}"` : ""}><figcaption>${esc(title)}</figcaption>
    <svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(title + ". Latest: " + latest)}"><title>${esc(title)}</title>${body}</svg>
    <div class="legend">${legend}</div></figure>`;
}

function barChart(title, bars, { format = (v) => fmt(v, 1), width = 460, id = "" } = {}) {
  const rowH = 22, pad = 140, height = Math.max(40, bars.length * rowH + 8);
  const max = Math.max(1e-9, ...bars.map((b) => Math.abs(b.value)));
  const body = bars.map((b, i) => {
    const w = (Math.abs(b.value) / max) * (width - pad - 70);
    return `<g><text x="${pad - 6}" y="${i * rowH + 16}" text-anchor="end">${esc(b.label)}</text>
      <rect x="${pad}" y="${i * rowH + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${COLORS[0]}" data-label="${esc(b.label)}" data-value="${esc(b.value)}"><title>${esc(b.label)}: ${esc(format(b.value))}</title></rect>
      <text x="${pad + w + 4}" y="${i * rowH + 16}">${esc(format(b.value))}</text></g>`;
  }).join("");
  const summary = bars.map((b) => `${b.label} ${format(b.value)}`).join(", ");
  return `<figure class="chart"${id ? ` id="${esc(id)}"` : ""}><figcaption>${esc(title)}</figcaption>
    <svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(title + ": " + summary)}"><title>${esc(title)}</title>${body}</svg></figure>`;
}

// ---------- live updates

function connect() {
  const source = new EventSource("/api/events");
  source.onopen = () => setLive(true);
  source.onerror = () => setLive(false);
  source.addEventListener("progress", (e) => {
    const data = JSON.parse(e.data);
    addBatch(batchOf(data.pipeline, data.query, data.progress));
    const p = state.pipelines.get(data.pipeline);
    if (p) {
      const q = p.queries.find((q) => q.table === data.query);
      if (q) q.lastProgress = data.progress;
    }
    scheduleRender();
  });
  source.addEventListener("rows", (e) => {
    const data = JSON.parse(e.data);
    const key = data.pipeline + "/" + data.query;
    const entry = state.rows.get(key) || { columns: null, rows: [] };
    entry.rows.push(...data.rows);
    addAlerts(data.pipeline, data.query, data.rows, Date.now());
    if (entry.rows.length > 500) entry.rows.splice(0, entry.rows.length - 500);
    state.rows.set(key, entry);
    scheduleRender();
  });
  source.addEventListener("pipeline", () => { loadPipelines().then(scheduleRender); });
  source.addEventListener("overview", (e) => {
    const data = JSON.parse(e.data);
    state.overview.push({ t: Date.parse(data.time), topics: data.topics, groups: data.groups });
    while (state.overview.length && state.overview[0].t < Date.now() - WINDOW_MS) state.overview.shift();
    scheduleRender();
  });
}
function setLive(on) {
  state.connected = on;
  const el = $("#live");
  el.className = "live " + (on ? "on" : "off");
  el.textContent = on ? "live" : "reconnecting…";
}

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => { renderPending = false; render(false); }, 500);
}

async function loadPipelines() {
  const body = await api("/api/pipelines");
  state.pipelines = new Map(body.pipelines.map((p) => [p.name, p]));
}

async function loadHistory() {
  for (const p of state.pipelines.values()) {
    for (const q of p.queries) {
      const progress = await api(`/api/pipelines/${encodeURIComponent(p.name)}/progress?query=${encodeURIComponent(q.table)}&limit=300`);
      progress.progress.forEach((r) => addBatch(batchOf(p.name, q.table, r)));
      await loadRows(p.name, q.table);
    }
  }
}
async function loadRows(pipeline, query) {
  const body = await api(`/api/pipelines/${encodeURIComponent(pipeline)}/results?query=${encodeURIComponent(query)}&limit=500`);
  state.rows.set(pipeline + "/" + query, { columns: body.columns, rows: body.rows });
  addAlerts(pipeline, query, body.rows, null);
}

// ---------- pages

function tile(label, value, id) {
  return `<div class="tile"${id ? ` id="${id}"` : ""}><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div></div>`;
}

function overviewPage() {
  const now = Date.now();
  const recent = state.batches.filter((b) => b.t >= now - 60000);
  const rate = (field) => recent.reduce((a, b) => a + b[field], 0) / 60;
  const latencies = recent.map((b) => b.recordLatency).filter((v) => v !== null);
  const eventLatencies = recent.map((b) => b.latency).filter((v) => v !== null);
  const lastPerQuery = new Map();
  for (const b of state.batches) lastPerQuery.set(b.pipeline + "/" + b.query, b);
  const last = [...lastPerQuery.values()];
  const behind = last.reduce((a, b) => a + b.behind, 0);
  const groups = state.overview.length ? state.overview[state.overview.length - 1].groups : [];
  const groupLagSeconds = groups.reduce((a, g) => Math.max(a, g.lagSeconds), 0);
  const pipelines = [...state.pipelines.values()];
  const failed = pipelines.filter((p) => p.status === "failed").length;
  const running = pipelines.filter((p) => p.status === "running").length;
  const wm = last.map((b) => b.wm).filter((v) => v !== null);
  const tiles = [
    tile("Pipelines running", `${running} of ${pipelines.length}`, "tile-running"),
    tile("Events in /s (1 min)", fmt(rate("in"), 1), "tile-in"),
    tile("Rows out /s (1 min)", fmt(rate("out"), 1), "tile-out"),
    tile("Latency p50 since produced (1 min)", fmtMs(percentile(latencies, 0.5)), "tile-p50"),
    tile("Latency p99 since produced (1 min)", fmtMs(percentile(latencies, 0.99)), "tile-p99"),
    tile("Latency p99 since event time (1 min)", fmtMs(percentile(eventLatencies, 0.99)), "tile-event-p99"),
    tile("Records behind latest", fmt(behind), "tile-behind"),
    tile("Group lag (max)", fmtMs(groupLagSeconds * 1000), "tile-group-lag"),
    tile("Watermark delay (max)", fmtMs(wm.length ? Math.max(...wm) : null), "tile-wm"),
    tile("Late rows (5 min)", fmt(state.batches.reduce((a, b) => a + b.late, 0)), "tile-late"),
    tile("Dead letters (5 min)", fmt(state.batches.reduce((a, b) => a + b.dead, 0)), "tile-dead"),
    tile("Pipelines failed", String(failed), "tile-failed"),
    tile("Alerts (5 min)", fmt(state.alerts.filter((a) => a.t && a.t >= now - WINDOW_MS).length), "tile-alerts"),
  ].join("");
  const sum = (field) => (bs) => bs.reduce((a, b) => a + b[field], 0) / (BUCKET_MS / 1000);
  const lagSeries = groups.map((g) => ({
    name: g.groupId,
    points: state.overview.map((o) => [o.t, (o.groups.find((x) => x.groupId === g.groupId) || { lagRecords: 0 }).lagRecords]),
  }));
  const behindPoints = bucketed(state.batches, (bs) => {
    const perQuery = new Map();
    bs.forEach((b) => perQuery.set(b.pipeline + "/" + b.query, b.behind));
    return [...perQuery.values()].reduce((a, v) => a + v, 0);
  });
  const charts = [
    lineChart("Events per second", [
      { name: "in", points: bucketed(state.batches, sum("in")) },
      { name: "out", points: bucketed(state.batches, sum("out")) },
    ], { id: "chart-throughput" }),
    lineChart("End-to-end latency of each batch's slowest row (sink commit − produced, − event time)", [
      { name: "p50 since produced", points: bucketed(state.batches, (bs) => percentile(bs.map((b) => b.recordLatency).filter((v) => v !== null), 0.5)) },
      { name: "p99 since produced", points: bucketed(state.batches, (bs) => percentile(bs.map((b) => b.recordLatency).filter((v) => v !== null), 0.99)) },
      { name: "p99 since event time", points: bucketed(state.batches, (bs) => percentile(bs.map((b) => b.latency).filter((v) => v !== null), 0.99)) },
    ], { format: fmtMs, id: "chart-latency" }),
    lineChart("Consumer lag (records)", [{ name: "pipelines: behind latest", points: behindPoints }, ...lagSeries], { format: (v) => fmt(v), id: "chart-lag" }),
    lineChart("Consumer lag (seconds, groups)", groups.map((g) => ({
      name: g.groupId,
      points: state.overview.map((o) => [o.t, (o.groups.find((x) => x.groupId === g.groupId) || { lagSeconds: 0 }).lagSeconds]),
    })), { format: (v) => fmt(v, 1) + " s", id: "chart-lag-seconds" }),
    lineChart("Batch duration", [
      { name: "max", points: bucketed(state.batches, (bs) => Math.max(...bs.map((b) => b.ms))) },
    ], { format: fmtMs, id: "chart-batch" }),
    lineChart("Watermark delay", [
      { name: "max", points: bucketed(state.batches, (bs) => { const v = bs.map((b) => b.wm).filter((x) => x !== null); return v.length ? Math.max(...v) : null; }) },
    ], { format: fmtMs, id: "chart-watermark" }),
    lineChart("Late and dead-lettered rows", [
      { name: "late", points: bucketed(state.batches, (bs) => bs.reduce((a, b) => a + b.late, 0)) },
      { name: "dead letters", points: bucketed(state.batches, (bs) => bs.reduce((a, b) => a + b.dead, 0)) },
    ], { format: (v) => fmt(v), id: "chart-errors" }),
  ].join("");
  const errors = pipelines.filter((p) => p.error).map((p) => `<li><a href="#/pipelines/${encodeURIComponent(p.name)}">${esc(p.name)}</a>: <span class="error">${esc(p.error)}</span></li>`).join("");
  return `<h2>Overview</h2><div class="tiles">${tiles}</div><div class="charts">${charts}</div>
    <h2>Errors</h2>${errors ? `<ul id="errors">${errors}</ul>` : `<p class="muted" id="errors">No pipeline has failed.</p>`}
    <h2>Pipelines</h2>${pipelinesTable()}`;
}

function pipelinesTable() {
  const rows = [...state.pipelines.values()].map((p) => {
    const last = p.queries.map((q) => q.lastProgress).filter(Boolean);
    const rate = last.reduce((a, r) => a + r.inputRowsPerSecond, 0);
    return `<tr><td><a href="#/pipelines/${encodeURIComponent(p.name)}">${esc(p.name)}</a></td>
      <td class="status ${esc(p.status)}">${esc(p.status)}</td><td>${esc(p.queries.map((q) => q.table).join(", "))}</td>
      <td class="num">${fmt(rate, 1)}</td><td class="error">${esc(p.error || "")}</td></tr>`;
  }).join("");
  return `<div class="table-wrap"><table id="pipelines"><caption class="muted">${state.pipelines.size} pipelines</caption>
    <thead><tr><th scope="col">Pipeline</th><th scope="col">Status</th><th scope="col">Writes</th><th scope="col" class="num">Input rows/s</th><th scope="col">Error</th></tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

function pipelinesPage() {
  return `<h2>Pipelines</h2>${pipelinesTable()}
    <h2>New pipeline</h2>
    <form id="new-pipeline">
      <label for="new-name">Name (letters, digits, ".", "_", "-")</label><input id="new-name" name="name" required pattern="[A-Za-z0-9._-]{1,200}">
      <label for="new-sql">SQL (Flink SQL: CREATE TABLE … and INSERT INTO … SELECT …)</label><textarea id="new-sql" name="sql" required spellcheck="false"></textarea>
      <div class="actions"><button type="submit">Create and start</button><span id="new-error" class="error" role="alert"></span></div>
    </form>`;
}

function chartForResults(name, columns, rows) {
  if (!columns || !rows.length) return `<p class="muted">No result rows yet.</p>`;
  const numeric = columns.filter((c) => /INT|DOUBLE|FLOAT|DECIMAL|REAL/.test(c.type)).map((c) => c.name);
  const times = columns.filter((c) => /TIMESTAMP|DATE/.test(c.type)).map((c) => c.name);
  const keys = columns.filter((c) => /TEXT|STRING|CHAR|BIGINT|INT/.test(c.type) && !/DOUBLE|DECIMAL/.test(c.type)).map((c) => c.name)
    .filter((c) => !numeric.includes(c) || /_id$|^id$/.test(c));
  const value = numeric.find((c) => !keys.includes(c));
  const key = keys[0];
  const timeCol = times.includes("window_end") ? "window_end" : times[0];
  if (!value) return "";
  const distinct = key ? new Set(rows.map((r) => String(r[key]))) : new Set(["all"]);
  // Alert-like results (a table named *alert*, or keys that seldom repeat: a card, a sensor now and
  // then) are shown as a feed.
  const sparse = isAlertQuery(name) || (key && distinct.size > SERIES_MAX && distinct.size > rows.length / 2);
  if (timeCol && !sparse) {
    const totals = new Map();
    rows.forEach((r) => { const k = key ? String(r[key]) : "all"; totals.set(k, (totals.get(k) || 0) + Number(r[value])); });
    const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, SERIES_MAX).map(([k]) => k).sort();
    const title = `${value} per ${key || "window"} over ${timeCol}` + (distinct.size > SERIES_MAX ? ` (the ${SERIES_MAX} largest of ${distinct.size})` : "");
    const series = top.map((k) => ({
      name: key ? `${key} = ${k}` : value,
      points: rows.filter((r) => !key || String(r[key]) === k).map((r) => [Date.parse(r[timeCol]), Number(r[value])]).sort((a, b) => a[0] - b[0]),
    }));
    return lineChart(title, series, { timeAxis: false, timeLabels: true, id: `chart-results-${name}`, width: 700, height: 220 });
  }
  if (!timeCol && key) {
    const latest = new Map();
    rows.forEach((r) => latest.set(String(r[key]), Number(r[value])));
    const bars = [...latest.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([label, v]) => ({ label, value: v }));
    return barChart(`${value} by ${key}`, bars, { id: `chart-results-${name}`, width: 700 });
  }
  const feed = rows.slice(-50).reverse().map((r) => `<li>${esc(columns.map((c) => `${c.name}=${r[c.name]}`).join("  "))}</li>`).join("");
  return `<h4 class="muted">Newest first</h4><ul class="feed" id="feed-${esc(name)}" aria-label="Newest result rows">${feed}</ul>`;
}

function resultsTable(name, columns, rows) {
  if (!columns) return "";
  const head = columns.map((c) => `<th scope="col">${esc(c.name)}<br><span class="muted">${esc(c.type)}</span></th>`).join("");
  const body = rows.slice(-50).reverse().map((r) => `<tr>${columns.map((c) => {
    const v = r[c.name];
    return `<td class="${typeof v === "number" ? "num" : ""}">${v === null ? '<span class="muted">NULL</span>' : esc(v)}</td>`;
  }).join("")}</tr>`).join("");
  return `<div class="table-wrap"><table id="results-${esc(name)}" data-query="${esc(name)}"><caption class="muted">Newest ${Math.min(50, rows.length)} of the rows written (newest first)</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function pipelinePage(name) {
  const p = state.pipelines.get(name);
  if (!p) return `<h2>No pipeline named ${esc(name)}</h2><p><a href="#/pipelines">All pipelines</a></p>`;
  const queries = p.queries.map((q) => {
    const r = q.lastProgress;
    const batches = state.batches.filter((b) => b.pipeline === name && b.query === q.table);
    const entry = state.rows.get(name + "/" + q.table) || { columns: null, rows: [] };
    const columns = entry.columns || (entry.rows.length ? Object.keys(entry.rows[0]).map((k) => ({ name: k, type: typeof entry.rows[0][k] === "number" ? "DOUBLE" : "TEXT" })) : null);
    const tiles = r ? [
      tile("Batch", String(r.batchId)), tile("Rows in last batch", fmt(r.numInputRows)), tile("Processed rows/s", fmt(r.processedRowsPerSecond, 1)),
      tile("Batch duration", fmtMs(r.durationMs.triggerExecution)), tile("Watermark", (r.eventTime || {}).watermark || "none"),
      tile("State rows", fmt((r.stateOperators || []).reduce((a, o) => a + o.numRowsTotal, 0))),
      tile("State size", fmtBytes((r.stateOperators || []).reduce((a, o) => a + o.memoryUsedBytes, 0))),
      tile("Rows written (last batch)", fmt(r.sink.numOutputRows)),
    ].join("") : `<p class="muted">No batch has run yet.</p>`;
    return `<section aria-labelledby="q-${esc(q.table)}"><h3 id="q-${esc(q.table)}">Query into <code>${esc(q.table)}</code> <span class="status ${esc(q.status)}">${esc(q.status)}</span></h3>
      ${q.error ? `<p class="error">${esc(q.error)}</p>` : ""}
      <div class="tiles">${tiles}</div>
      <div class="charts">${lineChart("Rows per batch", [{ name: "in", points: batches.map((b) => [b.t, b.in]) }, { name: "out", points: batches.map((b) => [b.t, b.out]) }], { format: (v) => fmt(v) })}
      ${lineChart("Batch duration", [{ name: "duration", points: batches.map((b) => [b.t, b.ms]) }], { format: fmtMs })}</div>
      <h3>Results</h3>${chartForResults(q.table, columns, entry.rows)}${resultsTable(q.table, columns, entry.rows)}
      <details><summary>Plan</summary><pre>${esc(q.plan || "")}</pre></details></section>`;
  }).join("");
  return `<h2>Pipeline ${esc(p.name)} <span class="status ${esc(p.status)}" id="pipeline-status">${esc(p.status)}</span></h2>
    <div class="actions">
      <button type="button" class="secondary" data-action="stop" ${p.status === "running" ? "" : "disabled"}>Stop</button>
      <button type="button" class="secondary" data-action="start" ${p.status === "running" ? "disabled" : ""}>Start</button>
      ${p.origin === "api" ? `<button type="button" class="danger" data-action="delete">Delete</button>` : `<span class="muted">from ${esc(p.origin)}</span>`}
      <span id="action-error" class="error" role="alert"></span>
    </div>
    ${p.error ? `<p class="error" id="pipeline-error">${esc(p.error)}</p>` : ""}
    ${queries}
    <h3>Dead letters</h3><div id="dead-letters"><p class="muted">Loading…</p></div>
    <details><summary>SQL</summary><pre>${esc(p.sql || "")}</pre></details>`;
}

function alertsPage() {
  const items = state.alerts.slice().reverse().map((a) => `<li><span class="muted">${a.t ? esc(new Date(a.t).toLocaleTimeString()) : "earlier"}</span>
    <a href="#/pipelines/${encodeURIComponent(a.pipeline)}">${esc(a.pipeline)}</a> → <code>${esc(a.query)}</code>:
    ${esc(Object.entries(a.row).map(([k, v]) => `${k}=${v}`).join("  "))}</li>`).join("");
  return `<h2>Alerts</h2><p class="muted">Rows written by queries into tables whose name contains "alert", newest first (the last ${ALERTS_KEPT}).</p>
    ${items ? `<ul class="feed" id="alerts" aria-live="polite" aria-label="Alerts, newest first">${items}</ul>` : `<p class="muted" id="alerts">No alert yet.</p>`}`;
}

function topicsPage() {
  const last = state.overview.length ? state.overview[state.overview.length - 1].topics : [];
  return `<h2>Topics</h2><div id="topics"><p class="muted">Loading…</p></div>
    <div class="charts">${lineChart("Messages per second", last.map((t) => ({
      name: t.name, points: state.overview.map((o) => [o.t, (o.topics.find((x) => x.name === t.name) || { messagesPerSecond: 0 }).messagesPerSecond]),
    })), { id: "chart-topics" })}</div>`;
}

async function fillTopics() {
  const body = await api("/api/topics");
  const rows = body.topics.filter((t) => !t.internal).map((t) => `<tr><td><a href="#/topics/${encodeURIComponent(t.name)}">${esc(t.name)}</a></td>
    <td class="num">${t.partitions.length}</td><td class="num">${fmt(t.records)}</td><td class="num">${fmtBytes(t.sizeBytes)}</td><td class="num">${fmt(t.messagesPerSecond, 1)}</td></tr>`).join("");
  const el = $("#topics");
  if (el) el.innerHTML = `<div class="table-wrap"><table><thead><tr><th scope="col">Topic</th><th scope="col" class="num">Partitions</th><th scope="col" class="num">Records</th><th scope="col" class="num">Size</th><th scope="col" class="num">Messages/s</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

async function topicPage(name) {
  const [topic, records] = await Promise.all([api(`/api/topics/${encodeURIComponent(name)}`), api(`/api/topics/${encodeURIComponent(name)}/records?limit=50`)]);
  const parts = topic.partitions.map((p) => `<tr><td class="num">${p.partition}</td><td class="num">${p.logStartOffset}</td><td class="num">${p.logEndOffset}</td><td class="num">${p.lastStableOffset}</td><td class="num">${fmtBytes(p.sizeBytes)}</td></tr>`).join("");
  const recs = records.records.slice().reverse().map((r) => `<tr><td class="num">${r.partition}</td><td class="num">${r.offset}</td><td>${esc(r.timestamp)}</td><td>${esc(typeof r.key === "object" && r.key ? "(binary)" : r.key ?? "")}</td><td><code>${esc(typeof r.value === "object" && r.value ? "(binary)" : r.value ?? "")}</code></td></tr>`).join("");
  return `<h2>Topic ${esc(name)}</h2><p><a href="#/topics">All topics</a></p>
    <div class="tiles">${tile("Records", fmt(topic.records))}${tile("Size", fmtBytes(topic.sizeBytes))}${tile("Messages/s", fmt(topic.messagesPerSecond, 1))}</div>
    <h3>Partitions</h3><table><thead><tr><th scope="col" class="num">Partition</th><th scope="col" class="num">Start offset</th><th scope="col" class="num">End offset</th><th scope="col" class="num">Last stable offset</th><th scope="col" class="num">Size</th></tr></thead><tbody>${parts}</tbody></table>
    <h3>Newest records</h3><div class="table-wrap"><table id="records"><thead><tr><th scope="col" class="num">Partition</th><th scope="col" class="num">Offset</th><th scope="col">Timestamp</th><th scope="col">Key</th><th scope="col">Value</th></tr></thead><tbody>${recs}</tbody></table></div>`;
}

async function groupsPage() {
  const body = await api("/api/groups");
  const rows = body.groups.map((g) => `<tr><td>${esc(g.groupId)}</td><td>${esc(g.state)}</td><td class="num">${g.members.length}</td>
    <td class="num">${fmt(g.lagRecords)}</td><td class="num">${fmtMs(g.lagSeconds * 1000)}</td>
    <td>${esc(g.partitions.map((p) => `${p.topic}[${p.partition}] ${p.committedOffset}/${p.logEndOffset}`).join(", "))}</td></tr>`).join("");
  return `<h2>Consumer groups</h2><div class="table-wrap"><table id="groups"><thead><tr><th scope="col">Group</th><th scope="col">State</th><th scope="col" class="num">Members</th><th scope="col" class="num">Lag (records)</th><th scope="col" class="num">Lag (time)</th><th scope="col">Committed / end</th></tr></thead><tbody>${rows || `<tr><td colspan="6" class="muted">No consumer group has committed offsets.</td></tr>`}</tbody></table></div>`;
}

// ---------- routing and rendering

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "overview", arg: parts[1] };
}

async function render(navigated, focus = navigated) {
  const { page, arg } = route();
  document.querySelectorAll("nav a").forEach((a) => {
    const target = a.getAttribute("href").replace(/^#\/?/, "") || "overview";
    if (target === page) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  const main = $("#main");
  // Leave a page the user is typing in alone (live updates would wipe the form).
  if (!navigated && (page === "pipelines" && !arg || page === "topics" || page === "groups")) {
    if (page === "topics" && !arg) fillTopics().catch(() => {});
    return;
  }
  const scroll = window.scrollY;
  const open = [...main.querySelectorAll("details")].map((d) => d.open);
  try {
    if (page === "overview") main.innerHTML = overviewPage();
    else if (page === "pipelines" && arg) main.innerHTML = pipelinePage(arg);
    else if (page === "pipelines") main.innerHTML = pipelinesPage();
    else if (page === "topics" && arg) main.innerHTML = await topicPage(arg);
    else if (page === "topics") { main.innerHTML = topicsPage(); await fillTopics(); }
    else if (page === "groups") main.innerHTML = await groupsPage();
    else if (page === "alerts") main.innerHTML = alertsPage();
    else main.innerHTML = `<h2>Not found</h2>`;
  } catch (error) {
    main.innerHTML = `<h2>Error</h2><p class="error">${esc(error.message)}</p>`;
  }
  if (!navigated) {
    main.querySelectorAll("details").forEach((d, i) => { if (open[i]) d.open = true; });
    window.scrollTo(0, scroll);
  } else if (focus) {
    main.focus({ preventScroll: true });
  }
  if (page === "pipelines" && arg) fillDeadLetters(arg);
  bindPage(page, arg);
}

async function fillDeadLetters(name) {
  try {
    const body = await api(`/api/pipelines/${encodeURIComponent(name)}/dead-letters?limit=20`);
    const rows = body.deadLetters.slice().reverse().map((d) => `<tr><td>${esc(d.timestamp)}</td><td>${esc(d.reason)}</td><td>${esc(d.detail)}</td><td>${esc(d.source)} ${esc(d.sourcePartition)}:${esc(d.sourceOffset)}</td><td><code>${esc(typeof d.value === "string" ? d.value : "(binary)")}</code></td></tr>`).join("");
    const el = $("#dead-letters");
    if (el) el.innerHTML = rows ? `<div class="table-wrap"><table><caption class="muted">Newest first, from topic ${esc(body.topic)}</caption><thead><tr><th scope="col">Time</th><th scope="col">Reason</th><th scope="col">Detail</th><th scope="col">From</th><th scope="col">Record</th></tr></thead><tbody>${rows}</tbody></table></div>` : `<p class="muted">No dead letters.</p>`;
  } catch (error) { /* the pipeline may just have been deleted */ }
}

function bindPage(page, arg) {
  const form = $("#new-pipeline");
  if (form) form.onsubmit = async (event) => {
    event.preventDefault();
    const error = $("#new-error");
    error.textContent = "";
    try {
      const p = await api("/api/pipelines", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: form.name.value, sql: form.sql.value }) });
      await loadPipelines();
      location.hash = "#/pipelines/" + encodeURIComponent(p.name);
    } catch (e) {
      const where = e.body && e.body.error && e.body.error.line ? ` (line ${e.body.error.line}, column ${e.body.error.column})` : "";
      error.textContent = e.message + where;
    }
  };
  document.querySelectorAll("[data-action]").forEach((button) => {
    button.onclick = async () => {
      const action = button.dataset.action;
      if (action === "delete" && !confirm(`Delete pipeline ${arg} and its checkpoints?`)) return;
      try {
        await api(`/api/pipelines/${encodeURIComponent(arg)}${action === "delete" ? "" : "/" + action}`, { method: action === "delete" ? "DELETE" : "POST" });
        await loadPipelines();
        if (action === "delete") location.hash = "#/pipelines"; else render(false);
      } catch (e) { $("#action-error").textContent = e.message; }
    };
  });
}

async function start() {
  try {
    state.info = await api("/api/info");
    $("#footer").textContent = `eddy ${state.info.version} · Kafka on ${state.info.kafka} · data in ${state.info.dataDirectory}`;
    await loadPipelines();
    await loadHistory();
  } catch (error) {
    $("#main").innerHTML = `<p class="error">Cannot reach the server: ${esc(error.message)}</p>`;
  }
  window.addEventListener("hashchange", () => render(true));
  connect();
  render(true, false);
  setInterval(() => { if (["overview", "alerts"].includes(route().page)) scheduleRender(); }, 2000);
}

start();
