// nmrlens web UI: hand-written, no outside resources.
"use strict";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}
function fmt(v, d) { return (v === null || v === undefined) ? "-" : Number(v).toFixed(d === undefined ? 3 : d); }

function setStatus(id, text, isError) {
  const s = $(id);
  s.textContent = text;
  s.className = "status" + (isError ? " error" : "");
}

async function postJSON(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const err = data && data.error ? data.error : {message: "HTTP " + r.status};
    throw new Error(err.message || (err.field + ": " + err.allowed));
  }
  return data;
}

// ---------------------------------------------------------------- tabs and health
for (const b of document.querySelectorAll("nav button.tab")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("nav button.tab")) o.classList.toggle("active", o === b);
    for (const p of document.querySelectorAll(".pane")) p.classList.toggle("hidden", p.id !== "pane-" + b.dataset.tab);
  });
}
fetch("/health").then((r) => r.json()).then((h) => { $("health").textContent = "nmrlens " + h.version; }).catch(() => {});

// ---------------------------------------------------------------- tooltip
const tip = $("tooltip");
function showTip(ev, text) { tip.textContent = text; tip.style.left = (ev.clientX + 12) + "px"; tip.style.top = (ev.clientY + 12) + "px"; tip.classList.remove("hidden"); }
function hideTip() { tip.classList.add("hidden"); }

// ---------------------------------------------------------------- interactive overlay plot
function peakInfo(p, nucleus) {
  if (nucleus === "1H") {
    const lo = p.shift_min, hi = p.shift_max;
    return {lo: lo, hi: hi, c: (lo + hi) / 2, h: p.nH || 1,
      label: (lo === hi ? lo.toFixed(2) : hi.toFixed(2) + "–" + lo.toFixed(2)) + " ppm " + (p.mult || "") + (p.nH ? " " + p.nH + "H" : "")};
  }
  return {lo: p.shift, hi: p.shift, c: p.shift, h: p.count || 1, label: p.shift.toFixed(1) + " ppm" + (p.mult ? " " + p.mult : "") + (p.count ? " (" + p.count + "C)" : "")};
}

function overlayPlot(nucleus, observed, predicted, reference, rows, table) {
  const W = 620, H = 190, L = 10, R = 10, T = 16, AX = 24;
  const wrap = el("div", {"class": "plotwrap"});
  const svg = svgEl("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, "class": "plot", "data-nucleus": nucleus});
  wrap.appendChild(svg);
  const what = observed ? "observed (blue, up) vs predicted (orange, down)" + (reference ? ", library spectrum (green)" : "") : "predicted (orange)";
  wrap.appendChild(el("div", {"class": "legend"}, nucleus + ": " + what + " · drag to zoom, double-click to reset" + (table ? ", click a peak to find it in the table" : "")));
  const obs = (observed ? observed.peaks : []).map((p) => peakInfo(p, nucleus));
  const pred = (predicted ? predicted.peaks : []).map((p) => peakInfo(p, nucleus));
  const ref = (reference ? reference.peaks : []).map((p) => peakInfo(p, nucleus));
  const all = obs.concat(pred, ref);
  const pad = nucleus === "1H" ? 0.5 : 10;
  const full = all.length ? [Math.min(...all.map((p) => p.lo)) - pad, Math.max(...all.map((p) => p.hi)) + pad] : [0, 10];
  let dom = full.slice();
  const mid = T + (H - T - AX) / 2, half = (H - T - AX) / 2 - 4;
  const x = (v) => L + (dom[1] - v) / (dom[1] - dom[0]) * (W - L - R);
  const v = (px) => dom[1] - (px - L) / (W - L - R) * (dom[1] - dom[0]);

  function sticks(list, sign, cls, yoff) {
    const hmax = Math.max(1, ...list.map((p) => p.h));
    list.forEach((p, i) => {
      const h = half * (0.35 + 0.65 * p.h / hmax) * (yoff ? 0.6 : 1);
      const y2 = mid + sign * h;
      let node;
      if (p.hi - p.lo > 1e-6) {
        const x1 = x(p.hi), x2 = x(p.lo);
        node = svgEl("rect", {x: x1, y: Math.min(mid, y2), width: Math.max(x2 - x1, 1.5), height: Math.abs(y2 - mid), "class": cls, "fill-opacity": 0.35});
      } else {
        node = svgEl("line", {x1: x(p.c), x2: x(p.c), y1: mid, y2: y2, "class": cls, "stroke-width": 2});
      }
      node.dataset.index = i;
      node.addEventListener("mousemove", (ev) => showTip(ev, (cls === "obs" ? "observed " : cls === "pred" ? "predicted " : "library ") + p.label));
      node.addEventListener("mouseleave", hideTip);
      node.addEventListener("click", () => highlight(cls, i));
      svg.appendChild(node);
    });
  }
  function highlight(cls, i) {
    for (const n of svg.querySelectorAll(".hl")) n.classList.remove("hl");
    if (!table) return;
    for (const tr of table.querySelectorAll("tr.hl")) tr.classList.remove("hl");
    if (cls !== "obs") return;
    const tr = table.querySelector(`tr[data-nucleus="${nucleus}"][data-index="${i}"]`);
    if (tr) { tr.classList.add("hl"); tr.scrollIntoView({block: "nearest"}); }
    const node = svg.querySelector(`.obs[data-index="${i}"]`);
    if (node) node.classList.add("hl");
  }
  function render() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const t = svgEl("text", {x: L, y: 12, "font-size": 11, fill: "#333"}); t.textContent = nucleus + " (ppm)"; svg.appendChild(t);
    svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: mid, y2: mid, stroke: "#aaa", "stroke-width": 0.5}));
    sticks(obs, -1, "obs");
    sticks(pred, 1, "pred");
    if (ref.length) sticks(ref, 1, "ref", true);
    (rows || []).forEach((r) => {
      if (r.nucleus !== nucleus || r.predicted === null || r.predicted === undefined) return;
      svg.appendChild(svgEl("line", {x1: x(r.shift), x2: x(r.predicted), y1: mid - 2, y2: mid + 2, stroke: "#888", "stroke-width": 0.8}));
    });
    const base = H - AX + 4;
    svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: base, y2: base, stroke: "#333"}));
    const span = dom[1] - dom[0];
    const steps = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 25, 50, 100];
    const step = steps.find((s) => span / s <= 8) || 100;
    for (let k = Math.ceil(dom[0] / step); k * step <= dom[1]; k++) {
      const xv = x(k * step);
      svg.appendChild(svgEl("line", {x1: xv, x2: xv, y1: base, y2: base + 4, stroke: "#333"}));
      const lab = svgEl("text", {x: xv, y: base + 16, "font-size": 10, "text-anchor": "middle", fill: "#333"});
      lab.textContent = +(k * step).toFixed(2);
      svg.appendChild(lab);
    }
  }
  // drag to zoom, double-click to reset
  let start = null, band = null;
  svg.addEventListener("mousedown", (ev) => {
    const r = svg.getBoundingClientRect(); start = ev.clientX - r.left;
    band = svgEl("rect", {x: start, y: T, width: 0, height: H - T - AX, fill: "#1f5fbf", "fill-opacity": 0.1});
    svg.appendChild(band);
  });
  svg.addEventListener("mousemove", (ev) => {
    if (start === null) return;
    const r = svg.getBoundingClientRect(); const cur = ev.clientX - r.left;
    band.setAttribute("x", Math.min(start, cur)); band.setAttribute("width", Math.abs(cur - start));
  });
  svg.addEventListener("mouseup", (ev) => {
    if (start === null) return;
    const r = svg.getBoundingClientRect(); const cur = ev.clientX - r.left;
    if (Math.abs(cur - start) > 8) { const a = v(start), b = v(cur); dom = [Math.min(a, b), Math.max(a, b)]; }
    start = null; band = null; render();
  });
  svg.addEventListener("dblclick", () => { dom = full.slice(); render(); });
  render();
  return wrap;
}

// ---------------------------------------------------------------- result cards
const PARTS = ["ssr", "c13", "h1", "library", "sme", "sse", "beam"];

function partsTable(c) {
  const t = el("table", {"class": "parts"});
  const h = el("tr"); h.appendChild(el("th", {}, "score"));
  const r = el("tr"); r.appendChild(el("td", {}, fmt(c.score)));
  for (const p of PARTS) { h.appendChild(el("th", {}, p)); r.appendChild(el("td", {}, fmt(c.parts[p]))); }
  t.appendChild(h); t.appendChild(r);
  return t;
}

function assignmentTable(a) {
  if (!a) return el("p", {"class": "muted small"}, "not assigned (only the top candidates are)");
  const t = el("table", {"class": "assignment"});
  const h = el("tr");
  for (const c of ["nucleus", "observed ppm", "atoms", "predicted ppm", "Δ ppm", "confidence", "explained"]) h.appendChild(el("th", {}, c));
  t.appendChild(h);
  for (const p of a.peaks) {
    const tr = el("tr", {"data-nucleus": p.nucleus, "data-index": p.index, "class": p.explained ? "" : "unexplained"});
    for (const v of [p.nucleus, fmt(p.shift, 2), p.atoms.length ? p.atoms.join(", ") : "-", fmt(p.predicted, 2), fmt(p.delta, 2), fmt(p.confidence, 2), p.explained ? "yes" : "no"]) tr.appendChild(el("td", {}, v));
    t.appendChild(tr);
  }
  const wrap = el("div");
  wrap.appendChild(t);
  wrap.appendChild(el("p", {"class": "muted small"}, "method: " + a.method));
  return wrap;
}

function card(c, query) {
  const d = el("section", {"class": "card result-card", "data-rank": c.rank});
  d.appendChild(el("h2", {}, "#" + c.rank + " · " + c.formula + " · score " + fmt(c.score)));
  const left = el("div", {"class": "structure"});
  const pic = el("div", {"class": "structure-svg"});
  if (c.svg) pic.innerHTML = c.svg;  // RDKit drawing made by the server
  left.appendChild(pic);
  left.appendChild(el("div", {"class": "smiles"}, c.smiles));
  left.appendChild(el("div", {"class": "muted small"}, "from: " + c.origins.join(", ") + (c.library_id ? " (library id " + c.library_id + ")" : "")));
  if (c.unexplained && c.unexplained.length) left.appendChild(el("div", {"class": "small"}, "unexplained: " + c.unexplained.join(", ")));
  const right = el("div");
  right.appendChild(partsTable(c));
  const table = c.assignment ? assignmentTable(c.assignment) : assignmentTable(null);
  for (const sp of query.spectra) {
    if (sp.nucleus !== "13C" && sp.nucleus !== "1H") continue;
    const pred = c.predicted ? c.predicted.spectra.find((s) => s.nucleus === sp.nucleus) : null;
    const ref = c.reference ? c.reference.spectra.find((s) => s.nucleus === sp.nucleus) : null;
    right.appendChild(overlayPlot(sp.nucleus, sp, pred, ref, c.assignment ? c.assignment.peaks : [], table));
  }
  right.appendChild(table);
  d.appendChild(left); d.appendChild(right);
  return d;
}

// ---------------------------------------------------------------- elucidate
let uploaded = null;
$("query-file").addEventListener("change", (ev) => {
  const f = ev.target.files[0];
  if (!f) { uploaded = null; return; }
  const rd = new FileReader();
  rd.onload = () => { uploaded = {name: f.name, content: String(rd.result)}; setStatus("status", "file " + f.name + " loaded", false); };
  rd.readAsText(f);
});
$("example").addEventListener("click", async () => {
  const r = await fetch("/static/example.txt");
  $("query-text").value = await r.text();
  $("formula").value = "C9H10O2";
  uploaded = null; $("query-file").value = "";
});
$("elucidate-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("query-text").value.trim();
  const body = {k: parseInt($("k").value, 10) || 10, beam: parseInt($("beam").value, 10) || 10};
  if (uploaded) body.file = uploaded;
  else if (text.startsWith("{") || text.startsWith("[")) {
    try { body.query = JSON.parse(text); } catch (e) { setStatus("status", "the JSON does not parse: " + e.message, true); return; }
  } else if (text) body.text = text;
  else { setStatus("status", "paste a spectrum or choose a file", true); return; }
  const formula = $("formula").value.trim();
  if (formula) body.formula = formula;
  setStatus("status", "running…", false);
  $("results").textContent = "";
  $("run").disabled = true;
  try {
    const res = await postJSON("/elucidate", body);
    setStatus("status", res.candidates.length + " candidates (" + res.n_proposed + " proposed) in " + res.seconds.toFixed(1) + " s", false);
    $("components").textContent = Object.entries(res.components).map(([k, v]) => k + ": " + v).join(" · ");
    for (const w of res.warnings) $("results").appendChild(el("p", {"class": "status error"}, "warning: " + w));
    for (const c of res.candidates) $("results").appendChild(card(c, res.query));
    if (!res.candidates.length) $("results").appendChild(el("p", {}, "No candidate was found."));
  } catch (e) {
    setStatus("status", e.message, true);
  } finally {
    $("run").disabled = false;
  }
});

// ---------------------------------------------------------------- predict
$("predict-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  setStatus("predict-status", "predicting…", false);
  $("predict-results").textContent = "";
  try {
    const res = await postJSON("/predict", {smiles: $("smiles").value.trim(), svg: true});
    setStatus("predict-status", res.smiles + " · " + res.formula, false);
    const d = el("section", {"class": "card"});
    d.appendChild(el("h2", {}, res.formula));
    const pic = el("div", {"class": "structure"}); pic.innerHTML = res.svg; d.appendChild(pic);
    const right = el("div");
    for (const sp of res.query.spectra) {
      right.appendChild(overlayPlot(sp.nucleus, null, sp, null, [], null));
      const t = el("table");
      const h = el("tr"); for (const c of ["shift ppm", "mult", "nH / count", "atoms"]) h.appendChild(el("th", {}, c)); t.appendChild(h);
      for (const p of sp.peaks) {
        const tr = el("tr");
        const s = sp.nucleus === "1H" ? (p.shift_min === p.shift_max ? p.shift_min.toFixed(2) : p.shift_max.toFixed(2) + "–" + p.shift_min.toFixed(2)) : p.shift.toFixed(1);
        for (const v of [s, p.mult || "", sp.nucleus === "1H" ? p.nH : (p.count || 1), (p.atoms || []).join(", ")]) tr.appendChild(el("td", {}, v));
        t.appendChild(tr);
      }
      right.appendChild(t);
    }
    d.appendChild(right);
    $("predict-results").appendChild(d);
  } catch (e) { setStatus("predict-status", e.message, true); }
});

// ---------------------------------------------------------------- classify2d
function readFile(input, asText) {
  return new Promise((resolve) => {
    const f = input.files[0];
    if (!f) { resolve(null); return; }
    const rd = new FileReader();
    rd.onload = () => resolve({name: f.name, data: String(rd.result)});
    if (asText(f)) rd.readAsText(f); else rd.readAsDataURL(f);
  });
}
$("classify-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const isJson = (f) => f.name.toLowerCase().endsWith(".json");
  const body = {task: $("task").value, explain: $("explain").value};
  for (const name of ["hsqc", "hmbc"]) {
    const got = await readFile($(name + "-file"), isJson);
    if (!got) continue;
    if (isJson({name: got.name})) {
      try {
        const obj = JSON.parse(got.data);
        const sp = obj.experiment ? obj : (obj.spectra2d || []).find((s) => s.experiment.toUpperCase() === name.toUpperCase()) || (obj.spectra2d || [])[0];
        body[name] = {spectrum: sp};
      } catch (e) { setStatus("classify-status", name + ": the JSON does not parse", true); return; }
    } else body[name] = {image: got.data};
  }
  setStatus("classify-status", "classifying…", false);
  $("classify-results").textContent = "";
  try {
    const res = await postJSON("/classify2d", body);
    setStatus("classify-status", "most probable: " + res.label, false);
    const d = el("section", {"class": "card"});
    d.appendChild(el("h2", {}, res.task + ": " + res.label));
    const t = el("table");
    for (const [k, v] of Object.entries(res.probabilities)) {
      const tr = el("tr"); tr.appendChild(el("td", {"class": "l"}, k));
      const td = el("td", {"class": "l"}); const bar = el("span", {"class": "bar"}); bar.style.width = Math.round(200 * v) + "px";
      td.appendChild(bar); td.appendChild(document.createTextNode(" " + v.toFixed(3))); tr.appendChild(td); t.appendChild(tr);
    }
    d.appendChild(t);
    const imgs = el("div", {"class": "heatmaps"});
    for (const [b, src] of Object.entries(Object.keys(res.heatmaps).length ? res.heatmaps : res.images)) {
      const fig = el("figure"); const img = el("img", {src: src, alt: b}); fig.appendChild(img);
      fig.appendChild(el("figcaption", {"class": "small"}, b + (res.method ? " · " + res.method + " for " + res.explained_class : ""))); imgs.appendChild(fig);
    }
    d.appendChild(imgs);
    $("classify-results").appendChild(d);
  } catch (e) { setStatus("classify-status", e.message, true); }
});
