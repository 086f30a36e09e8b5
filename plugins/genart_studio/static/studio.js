// genart studio: the little the pages need that HTML cannot do. No libraries, no requests elsewhere.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// A component select shows the parameter fields of the component it names.
function setupComponentSelects() {
  document.querySelectorAll("select.component-select").forEach((select) => {
    const show = () => {
      document.querySelectorAll(`.params[data-slot="${select.dataset.slot}"]`).forEach((box) => {
        box.hidden = box.dataset.name !== select.value;
      });
    };
    select.addEventListener("change", show);
    show();
  });
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(r).padStart(2, "0")}s`;
}

function drawCurve(svg, points, label) {
  if (!svg || points.length < 2) return;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => 10 + 380 * (x - x0) / Math.max(x1 - x0, 1e-9);
  const sy = (y) => 150 - 140 * (y - y0) / Math.max(y1 - y0, 1e-9);
  const path = points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
  svg.innerHTML = `<rect x="0" y="0" width="400" height="160" fill="#fff" stroke="#ddd"/>` +
    `<polyline fill="none" stroke="#2d6cdf" stroke-width="1.5" points="${path}"/>` +
    `<text x="12" y="14" font-size="11" fill="#555">${y1.toPrecision(4)}</text>` +
    `<text x="12" y="156" font-size="11" fill="#555">${y0.toPrecision(4)}</text>`;
  const caption = document.getElementById("live-curve-label");
  if (caption) caption.textContent = `${label} by step (${x0}-${x1})`;
}

// Live progress of a job: its log arrives as server-sent events (/jobs/N/events).
function setupLive() {
  const box = document.querySelector(".live[data-job]");
  if (!box) return;
  const job = box.dataset.job;
  const bar = document.getElementById("live-progress");
  const status = document.getElementById("live-status");
  const snapshot = document.getElementById("live-snapshot");
  const curve = document.getElementById("live-curve");
  const log = document.getElementById("job-log");
  const wasActive = !box.dataset.finished;
  const points = [];
  let lossName = null;
  if (log) log.textContent = "";
  const source = new EventSource(`/jobs/${job}/events`);
  source.addEventListener("progress", (message) => {
    const event = JSON.parse(message.data);
    if (log) log.textContent += message.data + "\n";
    const state = document.getElementById("job-state");
    if (state && wasActive && state.textContent === "queued") state.textContent = "running";
    if (event.event === "start" && event.steps) { bar.max = event.steps; bar.value = event.start_step || 0; }
    if (event.event === "step") {
      if (event.steps) { bar.max = event.steps; }
      bar.value = event.step;
      const losses = event.losses || {};
      lossName = lossName || Object.keys(losses)[0];
      if (lossName && typeof losses[lossName] === "number") points.push([event.step, losses[lossName]]);
      const total = event.steps ? `/${event.steps}` : "";
      const values = Object.entries(losses).map(([k, v]) => `${k} ${Number(v).toPrecision(4)}`).join(", ");
      status.textContent = `step ${event.step}${total}` + (event.eta_s !== null && event.eta_s !== undefined ?
        `, about ${duration(event.eta_s)} left` : "") + (values ? ` · ${values}` : "");
      drawCurve(curve, points, lossName);
    }
    if (event.event === "sample" && event.url && snapshot) { snapshot.src = `${event.url}?step=${event.step}`; }
    if (event.event === "message" && status && !points.length) { status.textContent = event.text; }
    if (event.event === "done") { bar.value = bar.max; status.textContent = "done"; }
    if (event.event === "error") { status.textContent = `error: ${event.message}`; }
  });
  source.addEventListener("log", (message) => {
    if (log) log.textContent += JSON.parse(message.data) + "\n";
  });
  source.addEventListener("end", (message) => {
    source.close();
    const end = JSON.parse(message.data);
    const state = document.getElementById("job-state");
    if (state) state.textContent = end.state;
    if (end.state === "done") { bar.value = bar.max; }
    if (end.error) status.textContent = end.error;
    else if (!points.length) status.textContent = end.state;
    if (wasActive) setTimeout(() => window.location.reload(), 800);
  });
}

// Drag and drop: files or whole folders (walked with webkitGetAsEntry) go up as one form.
async function entriesToFiles(entry, files) {
  if (entry.isFile) {
    files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await entriesToFiles(child, files);
    }
  }
}

function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const zone = document.getElementById("drop-zone");
  let dropped = [];
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const files = [];
    for (const item of e.dataTransfer.items) {
      const entry = item.webkitGetAsEntry && item.webkitGetAsEntry();
      if (entry) await entriesToFiles(entry, files);
      else if (item.getAsFile()) files.push(item.getAsFile());
    }
    dropped = files;
    zone.firstChild.textContent = `${files.length} file(s) ready `;
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData();
    data.append("csrf", csrfToken());
    const chosen = [...document.getElementById("upload-files").files, ...document.getElementById("upload-folder").files];
    for (const file of [...dropped, ...chosen]) data.append("files", file, file.name);
    const summary = document.getElementById("upload-summary");
    const result = document.getElementById("upload-result");
    result.hidden = false;
    summary.textContent = "uploading...";
    const response = await fetch("/upload", { method: "POST", body: data, headers: { "X-CSRF-Token": csrfToken() } });
    let body;
    try { body = await response.json(); } catch (err) { body = { error: `upload failed (${response.status})` }; }
    if (!response.ok || body.error) {
      summary.textContent = body.error || `upload failed (${response.status})`;
      summary.className = "error";
      return;
    }
    summary.className = "";
    summary.textContent = `kept ${body.kept.length} image(s) in ${body.folder}` +
      (body.refused.length ? `; refused: ${body.refused.join("; ")}` : "");
    document.getElementById("upload-post").href = body.post;
    document.getElementById("upload-train").href = body.train;
  });
}

// A copy button beside each command (the clipboard works on localhost without https).
function setupCopy() {
  document.querySelectorAll(".copy").forEach((element) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Copy";
    button.className = "copy-button";
    button.addEventListener("click", () => {
      if (navigator.clipboard) navigator.clipboard.writeText(element.textContent.trim());
      button.textContent = "Copied";
    });
    element.insertAdjacentElement("afterend", button);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupComponentSelects();
  setupLive();
  setupUpload();
  setupCopy();
});
