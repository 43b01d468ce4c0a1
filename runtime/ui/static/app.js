// netauto UI: the live parts of server-rendered pages, over Server-Sent
// Events. No framework, no build step.
"use strict";

function follow(el, onEvent) {
  const src = new EventSource(el.dataset.src);
  onEvent(src);
  return src;
}

// The run page's state, timeline and Gantt chart: the server sends the
// re-rendered section whenever the run changes.
function liveRun() {
  const el = document.getElementById("live");
  if (!el || !el.dataset.src) return;
  follow(el, (src) => {
    src.addEventListener("state", (e) => {
      el.innerHTML = e.data; // rendered and escaped by the server's templates
      el.dataset.state = (el.querySelector(".state-line .badge") || {}).textContent || "";
    });
    src.addEventListener("end", (e) => {
      src.close();
      el.dataset.final = e.data;
      // Final: the page's buttons (cancel, retry) change; reload them.
      const actions = document.querySelector(".actions");
      if (actions) fetch(location.href, {credentials: "same-origin"}).then((r) => r.text()).then((html) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const fresh = doc.querySelector(".actions");
        if (fresh) actions.replaceWith(fresh);
      });
    });
  });
}

const maxLines = 5000;
const levels = {"-4": "DEBUG", "0": "INFO", "4": "WARN", "8": "ERROR"};

// The run's logs, followed through the API's log stream.
function liveLogs() {
  const el = document.getElementById("logs");
  if (!el) return;
  const body = document.getElementById("log-lines");
  const status = document.getElementById("logs-status");
  let n = 0;
  follow(el, (src) => {
    src.addEventListener("open", () => { status.textContent = "Following…"; });
    src.addEventListener("log", (e) => {
      const rec = JSON.parse(e.data);
      const tr = document.createElement("tr");
      const lvl = levels[String(rec.level)] || String(rec.level);
      tr.className = "lvl-" + lvl;
      for (const text of [(rec.time || "").replace("T", " ").slice(0, 23), lvl, rec.message + (rec.attrs ? " " + JSON.stringify(rec.attrs) : "")]) {
        const td = document.createElement("td");
        td.textContent = text; // never as HTML: log lines are untrusted
        tr.appendChild(td);
      }
      const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
      body.appendChild(tr);
      n++;
      // Keep the page light on a long run: the newest lines only.
      while (body.rows.length > maxLines) body.deleteRow(0);
      if (atBottom) el.scrollTop = el.scrollHeight;
    });
    src.addEventListener("end", () => {
      src.close();
      status.textContent = n === 0 ? "No log lines." : n + " log lines" + (n > maxLines ? " (the last " + maxLines + " shown)" : "") + "; the run is final.";
      el.dataset.done = "1";
    });
    src.addEventListener("error", () => {
      if (src.readyState === EventSource.CLOSED) status.textContent = "Log stream closed.";
    });
  });
}

// "Select every run on this page".
function selectAll() {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    for (const box of document.querySelectorAll('input[name="id"]')) box.checked = all.checked;
  });
}

document.addEventListener("DOMContentLoaded", () => { liveRun(); liveLogs(); selectAll(); });
