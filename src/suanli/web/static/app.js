/* suanli pages: every number comes from /api/v1; this file only fetches, lays out and draws. */
"use strict";
(function () {
  const BOOT = JSON.parse(document.getElementById("boot").textContent);
  const T = BOOT.t, LANG = BOOT.lang, NAMES = BOOT.names;
  const $ = (sel) => document.querySelector(sel);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const PLOT_CFG = {displaylogo: false, responsive: true};
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

  /* ---------------------------------------------------------------- helpers */
  async function api(path, opts) {
    const res = await fetch("/api/v1" + path, Object.assign({headers: {"Content-Type": "application/json"}}, opts || {}));
    const body = await res.json();
    if (!res.ok) {
      const d = (body.detail && body.detail[0]) || {};
      throw new Error((body.message || d.msg || res.statusText) + (body.hint ? " — " + body.hint : ""));
    }
    return body;
  }
  function showError(e) {
    const box = $("#error");
    box.textContent = T["common.error"] + ": " + (e && e.message ? e.message : e);
    box.hidden = false;
  }
  function clearError() { $("#error").hidden = true; }
  function fmt(v, digits) {
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) return "—";
    if (typeof v === "boolean") return v ? "✓" : "✗";
    if (typeof v !== "number") return String(v);
    if (v === 0) return "0";
    const d = digits || 4;
    if (Math.abs(v) >= Math.pow(10, d)) return Math.round(v).toLocaleString("en-US");
    return Number(v.toPrecision(d)).toString();
  }
  function vendorName(v) { return LANG === "zh" && NAMES.vendors[v] ? NAMES.vendors[v] : v; }
  function chipName(id, name) {
    if (LANG === "zh" && NAMES.chips[id]) return NAMES.chips[id];
    return name || id;
  }
  function chipLabel(id, name) { const n = chipName(id, name); return n === id ? id : n + " (" + id + ")"; }
  function fillTable(table, cols, rows) {
    table.querySelector("thead") && (table.querySelector("thead").innerHTML =
      "<tr>" + cols.map((c, i) => `<th data-col="${i}">${esc(c)}</th>`).join("") + "</tr>");
    table.querySelector("tbody").innerHTML = rows.map((r) =>
      "<tr>" + r.map((c) => `<td>${c && c.html !== undefined ? c.html : esc(c)}</td>`).join("") + "</tr>").join("");
  }
  function params() { return new URLSearchParams(window.location.search); }
  function setUrl(obj) {
    const p = new URLSearchParams();
    Object.entries(obj).forEach(([k, v]) => { if (v !== null && v !== undefined && v !== "") p.set(k, v); });
    p.set("lang", LANG);
    const url = window.location.pathname + "?" + p.toString();
    window.history.replaceState(null, "", url);
    const share = $("#share"); if (share) share.href = url;
    const sw = $("#lang-switch");
    if (sw) { p.set("lang", LANG === "zh" ? "en" : "zh"); sw.href = window.location.pathname + "?" + p.toString(); }
  }
  function num(id) { const v = $(id).value; return v === "" ? null : Number(v); }
  async function chipChoices(selected, onlyChips) {
    const cat = await api("/catalog");
    const box = $("#hw-choices");
    const rows = cat.accelerators.filter((a) => !onlyChips || a.category !== "system");
    box.innerHTML = rows.map((a) => `<label class="choice"><input type="checkbox" name="hardware" value="${esc(a.id)}"
      ${selected.includes(a.id) ? "checked" : ""}> ${esc(chipName(a.id, a.id))}</label>`).join("");
    return cat;
  }
  const checked = () => Array.from(document.querySelectorAll("#hw-choices input:checked")).map((x) => x.value);

  /* ---------------------------------------------------------------- catalog */
  async function catalogPage() {
    const cat = await api("/catalog");
    const cols = ["id", T["catalog.name"], T["catalog.vendor"], "category", "BF16 TFLOPS", "FP8 TFLOPS", "INT8 TOPS",
      "HBM GB", "TB/s", "TDP W", "TPP", T["common.confidence"]];
    const keys = ["id", "name", "vendor", "category", "bf16_tflops", "fp8_tflops", "int8_tops", "mem_capacity_gb",
      "mem_bw_tbps", "tdp_w", "tpp", "confidence"];
    let sortKey = null, sortDir = 1;
    const table = $("#catalog-table");
    function draw() {
      const q = ($("#q").value || "").toLowerCase(), c = $("#category").value;
      let rows = cat.accelerators.filter((a) => (!c || a.category === c) &&
        (!q || [a.id, a.vendor, a.name, chipName(a.id), vendorName(a.vendor)].join(" ").toLowerCase().includes(q)));
      if (sortKey) rows = rows.slice().sort((a, b) => {
        const x = a[sortKey], y = b[sortKey];
        if (x === null) return 1; if (y === null) return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
      });
      fillTable(table, cols, rows.map((a) => [
        {html: `<a href="#" data-id="${esc(a.id)}" class="open">${esc(a.id)}</a>`}, chipName(a.id, a.name),
        vendorName(a.vendor), a.category, fmt(a.bf16_tflops), fmt(a.fp8_tflops), fmt(a.int8_tops),
        fmt(a.mem_capacity_gb), fmt(a.mem_bw_tbps), fmt(a.tdp_w), fmt(a.tpp), a.confidence || "—"]));
      $("#count").textContent = rows.length + " " + T["catalog.count"];
      setUrl({q: $("#q").value, category: c, hardware: $("#detail").dataset.id || ""});
    }
    table.querySelector("thead").addEventListener("click", (ev) => {
      const i = ev.target.dataset.col; if (i === undefined) return;
      const k = keys[Number(i)]; sortDir = sortKey === k ? -sortDir : 1; sortKey = k; draw();
    });
    table.addEventListener("click", (ev) => {
      const a = ev.target.closest("a.open"); if (!a) return; ev.preventDefault(); openChip(a.dataset.id).then(draw);
    });
    $("#q").addEventListener("input", draw);
    $("#category").addEventListener("change", draw);
    const p = params();
    $("#q").value = p.get("q") || ""; $("#category").value = p.get("category") || "";
    draw();
    if (p.get("hardware")) await openChip(p.get("hardware")).then(draw);
    document.body.dataset.ready = "1";
  }
  async function openChip(id) {
    const d = await api("/catalog/" + encodeURIComponent(id));
    const a = d.accelerator, box = $("#detail");
    box.hidden = false; box.dataset.id = id;
    box.scrollIntoView({block: "start"});
    $("#detail-title").textContent = chipLabel(a.id, a.name) + " — " + vendorName(a.vendor);
    const rows = [];
    Object.entries(a).forEach(([k, f]) => {
      if (!f || typeof f !== "object" || Array.isArray(f) || !("value" in f)) return;
      if (f.value === null && !f.text) return;
      const src = (f.source || "").split(" ; ").filter(Boolean).map((s) =>
        /^https?:\/\//.test(s) ? `<a href="${esc(s)}" rel="noreferrer" target="_blank">${esc(s.replace(/^https?:\/\//, "").slice(0, 48))}</a>` : esc(s));
      let shown = fmt(f.value) + (f.approx ? " ≈" : "");
      if (f.low !== null && f.high !== null && f.low !== undefined) shown += ` [${fmt(f.low)}–${fmt(f.high)}]`;
      rows.push([k, shown, f.confidence || "—", {html: src.join("<br>") || "—"}]);
    });
    fillTable($("#figures"), [T["catalog.field"], T["common.value"], T["common.confidence"], T["common.source"]], rows);
    fillTable($("#derived"), ["metric", T["common.value"], "unit", "basis"],
      Object.entries(d.derived).map(([k, v]) => [k, fmt(v.value), v.unit, v.basis + (v.estimate ? " (est.)" : "")]));
  }

  /* ---------------------------------------------------------------- compare */
  async function comparePage() {
    const p = params();
    const hw = (p.get("hardware") || "h200-sxm,h20,ascend-910c").split(",").filter(Boolean);
    const [cat, models] = await Promise.all([chipChoices(hw, true), api("/models")]);
    $("#model").innerHTML = models.models.map((m) => `<option value="${esc(m.id)}">${esc(m.id)}</option>`).join("");
    $("#model").value = p.get("model") || "deepseek-v3";
    ["chips", "isl", "osl", "weight_dtype", "ttft_slo_ms", "tpot_slo_ms"].forEach((k) => { if (p.get(k)) $("#" + k).value = p.get(k); });
    $("#compare-form").addEventListener("submit", (ev) => { ev.preventDefault(); runCompare(cat); });
    await runCompare(cat);
  }
  async function runCompare(cat) {
    clearError();
    const q = {hardware: checked(), model: $("#model").value, chips: num("#chips"), isl: num("#isl") || 1024,
      osl: num("#osl") || 1024, weight_dtype: $("#weight_dtype").value, ttft_slo_ms: num("#ttft_slo_ms"),
      tpot_slo_ms: num("#tpot_slo_ms"), pareto: true};
    setUrl(Object.assign({}, q, {hardware: q.hardware.join(","), pareto: null}));
    $("#status").textContent = T["common.loading"];
    document.body.dataset.ready = "0";
    let out, cost = null;
    try {
      out = await api("/compare", {method: "POST", body: JSON.stringify(q)});
      cost = await costFor(q, out).catch(() => null);
    } catch (e) { showError(e); $("#status").textContent = ""; return; }
    $("#status").textContent = `${out.model} · ${out.chips} chips · isl ${out.isl} · osl ${out.osl}`;
    const ok = out.results.filter((r) => !r.error);
    const rows = out.results.map((r) => {
      if (r.error) return [chipLabel(r.hardware), "—", "—", "—", "—", "—", "—", r.error, "—"];
      const m = r.metrics, c = r.config, eb = r.error_band;
      const cc = cost && cost[r.hardware];
      const yuan = cc ? {html: `<span class="num" data-metric="cny_per_mtok" data-hw="${esc(r.hardware)}">${fmt(cc.value, 3)}</span>` +
        (cc.band ? ` <span class="muted">(${fmt(cc.band[0], 3)}–${fmt(cc.band[1], 3)})</span>` : "")} : "—";
      return [chipLabel(r.hardware), {html: `<span class="num" data-metric="output_tps_per_chip" data-hw="${esc(r.hardware)}">${fmt(m.output_tps_per_chip)}</span>`},
        fmt(m.tps_per_user), fmt(m.ttft_ms), fmt(m.tpot_ms),
        eb && eb.mape !== null ? `${eb.label || "±" + Math.round(100 * eb.mape) + "%"} (${fmt(eb.low)}–${fmt(eb.high)})` : "—",
        `tp${c.tp} pp${c.pp} ep${c.ep} dp${c.dp} b${fmt(c.batch_per_chip, 3)}`, r.bottleneck.decode || "", yuan];
    });
    fillTable($("#results"), [T["common.hardware"], T["compare.tps_chip"], T["compare.tps_user"], T["compare.ttft_ms"],
      T["compare.tpot_ms"], T["compare.band"], T["compare.config"], T["compare.bottleneck"], T["compare.cost"]], rows);
    $("#cost-note").textContent = cost ? T["compare.cost_note"] : T["compare.cost_na"];
    if (cost) drawCost(ok, cost);
    const curves = Object.entries(out.pareto || {}).filter(([, c]) => c.points && c.points.length);
    Plotly.react("pareto-chart", curves.map(([hid, c], i) => ({
      x: c.points.map((p) => p.tps_per_user), y: c.points.map((p) => p.output_tps_per_chip), name: chipName(hid),
      mode: "lines+markers", line: {color: COLORS[i % COLORS.length]},
      hovertemplate: "%{x:.1f} tok/s/user<br>%{y:.0f} tok/s/chip<extra>" + esc(hid) + "</extra>"})),
      {margin: {t: 30}, xaxis: {title: {text: T["compare.tps_user"]}, type: "log"}, yaxis: {title: {text: T["compare.tps_chip"]}},
        legend: {orientation: "h", x: 0, y: 1.12}}, PLOT_CFG);
    Plotly.react("bars-chart", [{type: "bar", x: ok.map((r) => chipName(r.hardware)), y: ok.map((r) => r.metrics.output_tps_per_chip),
      marker: {color: ok.map((r, i) => COLORS[i % COLORS.length])},
      error_y: {type: "data", symmetric: false,
        array: ok.map((r) => r.error_band && r.error_band.high ? r.error_band.high - r.metrics.output_tps_per_chip : 0),
        arrayminus: ok.map((r) => r.error_band && r.error_band.low ? r.metrics.output_tps_per_chip - r.error_band.low : 0)}}],
      {margin: {t: 10}, yaxis: {title: {text: T["compare.tps_chip"]}}}, PLOT_CFG);
    const spec = await api("/catalog/compare?" + q.hardware.map((h) => "hardware=" + encodeURIComponent(h)).join("&"));
    const ai = []; for (let e = -1; e <= 4; e += 0.05) ai.push(Math.pow(10, e));
    Plotly.react("roofline-chart", spec.hardware.map((hid, i) => {
      const peak = spec.metrics.fp8_tflops.values[hid] || spec.metrics.bf16_tflops.values[hid];
      const bw = spec.metrics.mem_bw_tbps.values[hid];
      if (!peak || !bw) return null;
      return {x: ai, y: ai.map((x) => Math.min(peak, bw * x)), name: chipName(hid), mode: "lines",
        line: {color: COLORS[i % COLORS.length]}};
    }).filter(Boolean), {margin: {t: 10}, xaxis: {type: "log", title: {text: T["compare.intensity"]}},
      yaxis: {type: "log", title: {text: T["compare.attainable"]}}, legend: {orientation: "h", x: 0, y: 1.12}}, PLOT_CFG);
    document.body.dataset.ready = "1";
  }
  function drawCost(ok, cost) {
    const rows = ok.filter((r) => cost[r.hardware]);
    Plotly.react("cost-chart", [{type: "bar", x: rows.map((r) => chipName(r.hardware)), y: rows.map((r) => cost[r.hardware].value),
      marker: {color: rows.map((r, i) => COLORS[i % COLORS.length])},
      error_y: {type: "data", symmetric: false,
        array: rows.map((r) => cost[r.hardware].band ? cost[r.hardware].band[1] - cost[r.hardware].value : 0),
        arrayminus: rows.map((r) => cost[r.hardware].band ? cost[r.hardware].value - cost[r.hardware].band[0] : 0)}}],
      {margin: {t: 10}, yaxis: {title: {text: T["compare.cost"]}}}, PLOT_CFG);
  }
  async function costFor(q, out) {
    /* Yuan per million output tokens (all cost on output tokens) from the economics engine, same workload. */
    const res = await api("/cost", {method: "POST", body: JSON.stringify({hardware: q.hardware, model: q.model,
      chips: out.chips, isl: q.isl, osl: q.osl, weight_dtype: q.weight_dtype, ttft_slo_ms: q.ttft_slo_ms,
      tpot_slo_ms: q.tpot_slo_ms, currency: "CNY"})});
    const o = {};
    (res.results || []).forEach((r) => { if (r.per_mtok) o[r.hardware] = {value: r.per_mtok.output,
      band: r.per_mtok_band ? r.per_mtok_band.output : null, hour: r.chip_hour.per_chip_hour}; });
    return Object.keys(o).length ? o : null;
  }

  /* ---------------------------------------------------------------- policy */
  const REVIEW_LEVEL = {none: 0, notification: 0, presumption_of_approval: 1, case_by_case: 1,
    presumption_of_denial: 2, denial: 2};
  function level(e) {
    if (e.china_access === "prohibited") return 3;
    if (!e.license_required) return 0;
    return REVIEW_LEVEL[e.review] === undefined ? 1 : REVIEW_LEVEL[e.review];
  }
  async function policyPage() {
    const p = params();
    const hw = (p.get("hardware") || "h100-sxm,h800-sxm,h20,h200-sxm,b200").split(",").filter(Boolean);
    const cat = await chipChoices(hw, true);
    ["dest", "buyer", "start", "end"].forEach((k) => { if (p.get(k)) $("#" + k).value = p.get(k); });
    const sc = await api("/policy/scenarios");
    $("#scenario").innerHTML += sc.scenarios.map((s) => `<option value="${esc(s.id)}">${esc(s.id)}</option>`).join("");
    if (p.get("scenario")) $("#scenario").value = p.get("scenario");
    $("#classify-hw").innerHTML = cat.accelerators.map((a) => `<option value="${esc(a.id)}">${esc(chipName(a.id, a.id))}</option>`).join("");
    $("#classify-hw").value = p.get("classify") || "h200-sxm";
    $("#timeline-form").addEventListener("submit", (ev) => { ev.preventDefault(); runTimeline(); });
    $("#classify-form").addEventListener("submit", (ev) => { ev.preventDefault(); runClassify(); });
    await Promise.all([runTimeline(), runClassify()]);
  }
  function policyQuery() {
    return {hardware: checked(), dest: $("#dest").value || "CN", buyer: $("#buyer").value, start: $("#start").value,
      end: $("#end").value, scenario: $("#scenario").value};
  }
  async function runTimeline() {
    clearError();
    const q = policyQuery();
    setUrl(Object.assign({}, q, {hardware: q.hardware.join(","), classify: $("#classify-hw").value}));
    const qs = new URLSearchParams();
    q.hardware.forEach((h) => qs.append("hardware", h));
    ["dest", "buyer", "start", "end", "scenario"].forEach((k) => { if (q[k]) qs.set(k, q[k]); });
    document.body.dataset.ready = "0";
    let t;
    try { t = await api("/policy/timeline?" + qs.toString()); } catch (e) { showError(e); return; }
    const months = [];
    const d0 = new Date(q.start + "T00:00:00Z"), d1 = new Date(q.end + "T00:00:00Z");
    for (let d = new Date(Date.UTC(d0.getUTCFullYear(), d0.getUTCMonth(), 1)); d <= d1; d.setUTCMonth(d.getUTCMonth() + 1))
      months.push(d.toISOString().slice(0, 10));
    const z = [], text = [], ys = [];
    t.chips.slice().reverse().forEach((c) => {
      ys.push(chipName(c.hardware));
      const row = [], tr = [];
      months.forEach((m) => {
        const e = c.entries.filter((x) => x.date <= m).pop();
        if (!e) { row.push(null); tr.push(m + ": —"); return; }
        row.push(level(e));
        tr.push(`${c.hardware} · ${m}<br>ECCN ${e.eccn || "none"} · ${e.license_required ? "licence" : "no licence"} · ${e.review}` +
          `<br>fee ${Math.round(100 * e.fee_fraction)}%${e.volume_cap ? " · cap" : ""} · China: ${e.china_access}` +
          `<br>since ${e.date}: ${esc((e.caused_by.length ? e.caused_by : e.rules).join(", "))}`);
      });
      z.push(row); text.push(tr);
    });
    Plotly.react("timeline-chart", [{type: "heatmap", x: months, y: ys, z: z, text: text, hoverinfo: "text",
      zmin: 0, zmax: 3, xgap: 1, ygap: 2,
      colorscale: [[0, "#16a34a"], [0.33, "#facc15"], [0.66, "#dc2626"], [1, "#111827"]],
      colorbar: {tickvals: [0, 1, 2, 3], title: {text: ""}}}],
      {margin: {t: 10, l: 140}, xaxis: {type: "date"}, height: 120 + 60 * ys.length}, PLOT_CFG);
    fillTable($("#timeline-changes"), [T["common.hardware"], T["policy.from"], T["policy.status"], T["policy.rule"],
      T["policy.change"]], t.chips.flatMap((c) => c.entries.filter((e) => e.date >= q.start && e.date <= q.end).map((e) => [
        chipName(c.hardware), e.date, `${e.license_required ? e.review : "no licence"} · ${Math.round(100 * e.fee_fraction)}%` +
          ` · ${e.china_access}`, (e.caused_by.length ? e.caused_by : e.rules).join(", "), e.changes.join("; ")])));
    try {
      const th = await api("/policy/thresholds?" + new URLSearchParams({dest: q.dest, buyer: q.buyer,
        date: $("#classify-date").value || q.end}).toString());
      fillTable($("#thresholds"), [T["policy.rule"], "where", T["policy.param"], T["policy.line"], "outcome"],
        th.lines.map((l) => [l.rule, l.where, l.param, `${l.op} ${fmt(l.value)}`, l.outcome]));
    } catch (e) { showError(e); }
    document.body.dataset.ready = "1";
  }
  async function runClassify() {
    clearError();
    const specText = $("#classify-spec").value.trim();
    const body = {dest: $("#dest").value || "CN", buyer: $("#buyer").value, date: $("#classify-date").value || null};
    if ($("#scenario").value) body.scenario = [$("#scenario").value];
    if (specText) {
      body.spec = {};
      specText.split(",").forEach((kv) => {
        const [k, v] = kv.split("=").map((s) => (s || "").trim()); if (!k) return;
        body.spec[k] = v === "true" ? true : v === "false" ? false : (isNaN(Number(v)) ? v : Number(v));
      });
    } else body.hardware = $("#classify-hw").value;
    let c;
    try { c = await api("/policy/classify", {method: "POST", body: JSON.stringify(body)}); } catch (e) { showError(e); return; }
    fillTable($("#classify-result"), [], [
      [T["common.hardware"], chipLabel(c.hardware || "spec", c.name)], [T["common.date"], c.date],
      [T["policy.eccn"], c.eccn || "none"], [T["policy.licence"], fmt(c.license_required)],
      [T["policy.review"], c.review], [T["policy.fee"], Math.round(100 * c.fee_fraction) + "%"],
      [T["policy.cap"], c.volume_cap || "—"], [T["policy.china"], c.china_access.status]]);
    fillTable($("#classify-rules"), [T["policy.rule"], "role", "effect", T["policy.margin"]], c.rules.map((r) => {
      const ms = c.margins.filter((m) => m.rule === r.id && m.value !== null).slice(0, 3)
        .map((m) => `${m.param} ${fmt(m.value)} ${m.op} ${fmt(m.threshold)} (${m.margin >= 0 ? "+" : ""}${fmt(m.margin)})`);
      return [r.id, r.role, r.effect, ms.join("; ")];
    }));
  }

  /* ---------------------------------------------------------------- plan */
  async function planPage() {
    let ex;
    try { ex = await api("/plan/example"); } catch (e) { $("#plan-na").hidden = false; document.body.dataset.ready = "1"; return; }
    $("#scenario").value = ex.yaml;
    $("#scenario-file").addEventListener("change", async (ev) => {
      const f = ev.target.files[0]; if (f) $("#scenario").value = await f.text();
    });
    $("#plan-form").addEventListener("submit", (ev) => { ev.preventDefault(); runPlan(); });
    if (params().get("run") === "1") await runPlan(); else document.body.dataset.ready = "1";
  }
  async function follow(job) {
    /* Poll a background job until it ends, showing its progress. */
    $("#plan-progress").hidden = false;
    for (;;) {
      const j = await api("/jobs/" + job.id);
      $("#progress").value = j.fraction || 0;
      $("#progress-text").textContent = `${j.kind}: ${T["plan.running"]} · ${(j.progress || []).slice(-1)[0] || ""}`;
      if (j.status === "done") return j;
      if (j.status === "failed") throw new Error(j.error.message + (j.error.hint ? " — " + j.error.hint : ""));
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  async function runPlan() {
    clearError();
    document.body.dataset.ready = "0";
    const body = {scenario_yaml: $("#scenario").value, tornado: $("#tornado").checked};
    setUrl({run: "1"});
    try {
      const fj = await follow(await api("/plan/fleet", {method: "POST", body: JSON.stringify(body)}));
      drawFleet(fj.result);
      const rj = await follow(await api("/plan/risk", {method: "POST", body: JSON.stringify(
        {scenario_yaml: body.scenario_yaml, samples: num("#samples") || 500, store: true})}));
      drawRisk(rj.result, fj.result.plan.currency);
      $("#run-ids").textContent = `runs ${fj.run_id || "—"} · ${rj.run_id || "—"} (GET /api/v1/runs/ID, suanli runs show ID)`;
      $("#progress-text").textContent = "done";
    } catch (e) { showError(e); }
    document.body.dataset.ready = "1";
  }
  function drawFleet(st) {
    const p = st.plan, a = st.answer;
    $("#plan-result").hidden = false;
    $("#answer").textContent = `${p.name}: ${fmt(p.per_mtok.output, 3)} ${p.currency} / M output tokens · ` +
      `${a.period_end}: ` + a.fleet_end.map((f) => `${f.chips} × ${f.name}`).join(", ") +
      ` · binding: ${a.binding_families.join(", ") || "—"}`;
    const opts = Array.from(new Set(p.fleet.map((f) => f.option)));
    Plotly.react("fleet-chart", opts.map((o, i) => {
      const rows = p.fleet.filter((f) => f.option === o);
      return {type: "bar", name: o, x: rows.map((f) => f.period), y: rows.map((f) => f.chips_in_service),
        marker: {color: COLORS[i % COLORS.length]}};
    }).filter((t) => t.y.some((v) => v > 0)), {barmode: "stack", margin: {t: 30}, legend: {orientation: "h", y: 1.15},
      xaxis: {categoryorder: "array", categoryarray: p.periods}}, PLOT_CFG);
    const pv = p.cost.present_value;
    const parts = Object.keys(pv).filter((k) => !["all", "fleet"].includes(k) && pv[k] > 0);
    Plotly.react("plan-cost-chart", [{type: "bar", x: parts, y: parts.map((k) => pv[k]), marker: {color: "#2563eb"}}],
      {margin: {t: 10}, yaxis: {title: {text: p.currency + " (PV)"}}}, PLOT_CFG);
    const tor = (st.tornado || []).slice().reverse();
    Plotly.react("tornado-chart", tor.length ? [
      {type: "bar", orientation: "h", name: "low", y: tor.map((r) => r.input), x: tor.map((r) => r.per_mtok_low - r.base), base: tor.map((r) => r.base),
        marker: {color: "#16a34a"}, text: tor.map((r) => r.low), hovertemplate: "%{text}: %{x:.3f}<extra></extra>"},
      {type: "bar", orientation: "h", name: "high", y: tor.map((r) => r.input), x: tor.map((r) => r.per_mtok_high - r.base), base: tor.map((r) => r.base),
        marker: {color: "#dc2626"}, text: tor.map((r) => r.high), hovertemplate: "%{text}: %{x:.3f}<extra></extra>"}] :
      [{type: "bar", x: [0], y: ["—"]}], {barmode: "overlay", margin: {t: 10, l: 200}, legend: {orientation: "h"}}, PLOT_CFG);
    fillTable($("#binding"), ["constraint", "family", "period", "limit", "dual", "unit"],
      p.binding.map((b) => [b.constraint, b.family, b.period || "", fmt(b.limit), fmt(b.dual), b.unit || ""]));
  }
  function drawRisk(r, currency) {
    const h = r.histogram, mids = h.counts.map((_, i) => (h.edges[i] + h.edges[i + 1]) / 2);
    Plotly.react("risk-chart", [{type: "bar", x: mids, y: h.counts, marker: {color: "#9333ea"}}],
      {margin: {t: 10}, xaxis: {title: {text: `${currency} / M output tokens (p10 ${fmt(r.per_mtok.p10, 3)}, p50 ${fmt(r.per_mtok.p50, 3)}, p90 ${fmt(r.per_mtok.p90, 3)})`}},
        yaxis: {title: {text: "samples"}}, bargap: 0.05}, PLOT_CFG);
  }

  /* ---------------------------------------------------------------- accuracy */
  async function accuracyPage() {
    const a = await api("/accuracy");
    const s = a.summary;
    $("#summary").textContent = `n=${s.n} · MAPE ${(100 * s.mape).toFixed(1)}% · median ${(100 * s.median_ape).toFixed(1)}% · ` +
      `${T["accuracy.within"]} ${(100 * s.within_25).toFixed(0)}% · skipped ${s.skipped}`;
    const rows = a.rows.filter((r) => !r.skipped && r.predicted && r.measured);
    const fams = Array.from(new Set(rows.map((r) => r.family))).sort();
    const lo = Math.min(...rows.map((r) => Math.min(r.predicted, r.measured))), hi = Math.max(...rows.map((r) => Math.max(r.predicted, r.measured)));
    const traces = fams.map((f, i) => {
      const rs = rows.filter((r) => r.family === f);
      return {x: rs.map((r) => r.measured), y: rs.map((r) => r.predicted), name: f, mode: "markers", type: "scatter",
        marker: {color: COLORS[i % COLORS.length], size: 8},
        text: rs.map((r) => `${r.id} ${r.hardware} ${r.metric}<br>APE ${(100 * r.ape).toFixed(1)}%`), hoverinfo: "text"};
    });
    const band = a.bands.all ? a.bands.all.mape : 0.25;
    [[1, "y = x", "#111"], [1 + band, `+${Math.round(100 * band)}%`, "#9ca3af"], [1 - band, `−${Math.round(100 * band)}%`, "#9ca3af"]]
      .forEach(([k, name, color]) => traces.push({x: [lo, hi], y: [lo * k, hi * k], mode: "lines", name: name,
        line: {color: color, dash: k === 1 ? "solid" : "dot"}}));
    Plotly.react("accuracy-chart", traces, {margin: {t: 10}, height: 520,
      xaxis: {type: "log", title: {text: T["accuracy.measured"]}}, yaxis: {type: "log", title: {text: T["accuracy.predicted"]}}}, PLOT_CFG);
    fillTable($("#groups"), [T["accuracy.family"], T["accuracy.rows"], T["accuracy.mape"], "median", T["accuracy.within"], "skipped"],
      Object.entries(a.groups).map(([k, g]) => [k, g.n, g.mape === null ? "—" : (100 * g.mape).toFixed(1) + "%",
        g.median_ape === null ? "—" : (100 * g.median_ape).toFixed(1) + "%", g.within_25 === null ? "—" : (100 * g.within_25).toFixed(0) + "%", g.skipped]));
    document.body.dataset.ready = "1";
  }

  /* ---------------------------------------------------------------- claims */
  const VERDICT_CLASS = {holds: "ok", holds_for_metric: "warn", does_not_hold: "bad", cannot_check: "muted"};
  async function claimsPage() {
    const c = await api("/claims");
    const counts = {};
    c.claims.forEach((x) => { counts[x.verdict] = (counts[x.verdict] || 0) + 1; });
    $("#summary").textContent = Object.entries(counts).map(([k, v]) => `${T["verdict." + k] || k}: ${v}`).join(" · ");
    Plotly.react("claims-chart", [{type: "bar", orientation: "h", y: Object.keys(counts).map((k) => T["verdict." + k] || k),
      x: Object.values(counts), marker: {color: Object.keys(counts).map((k) => ({holds: "#16a34a", holds_for_metric: "#ca8a04",
        does_not_hold: "#dc2626", cannot_check: "#6b7280"}[k]))}}], {margin: {t: 10, l: 160}, height: 220}, PLOT_CFG);
    const link = (u) => /^https?:\/\//.test(u) ? `<a href="${esc(u)}" rel="noreferrer" target="_blank">${esc(u.replace(/^https?:\/\//, "").slice(0, 50))}</a>` : esc(u);
    $("#claims").innerHTML = c.claims.map((x) => `<article class="claim" id="claim-${esc(x.id)}">
      <h3><span class="badge ${VERDICT_CLASS[x.verdict] || ""}" data-verdict="${esc(x.verdict)}">${esc(T["verdict." + x.verdict] || x.verdict)}</span>
        ${esc(x.id)} · ${esc(LANG === "zh" && x.claim_zh ? x.claim_zh : x.claim)}</h3>
      ${x.note ? `<p class="muted">${esc(x.note)}</p>` : ""}
      <table class="data"><thead><tr><th>${esc(T["claims.numbers"])}</th><th>${esc(T["common.value"])}</th><th>${esc(T["claims.says"])}</th><th></th><th>${esc(T["claims.sources"])}</th></tr></thead><tbody>
      ${x.tests.map((t) => `<tr><td>${esc(t.label)}</td><td class="num">${esc(t.error ? t.error : fmt(t.value))}</td>
        <td>${esc(t.expect ? t.expect.text : "")}</td><td>${t.passed === true ? "✓" : t.passed === false ? "✗" : ""}</td>
        <td>${Array.from(new Set(t.inputs.flatMap((n) => (n.source || "").split(/\s+;\s+/)).filter(Boolean))).map(link).join("<br>")}</td></tr>`).join("")}
      </tbody></table></article>`).join("");
    document.body.dataset.ready = "1";
  }

  const PAGES = {catalog: catalogPage, compare: comparePage, policy: policyPage, plan: planPage,
    accuracy: accuracyPage, claims: claimsPage};
  window.suanli = {api, fmt, chipName, T, LANG};
  (PAGES[BOOT.page] || (async () => {}))().catch(showError);
})();
