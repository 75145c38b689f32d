// The what-if page: every slider and choice asks /api/whatif for the whole condition, then the
// body map, the table and its change bars are repainted. A newer value aborts the request still
// running for an older one (AbortController), so a drag shows the last position, not a backlog.
"use strict";

(function () {
  const form = document.getElementById("whatif-form");
  const status = document.getElementById("whatif-status");
  const notes = document.getElementById("whatif-notes");
  const surface = document.getElementById("surface");
  const wind = document.getElementById("wind");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const BAR_HALF_PX = 60;
  const BAR_FULL_PCT = 50; // a change of 50 % fills half the bar
  let pending = null;

  function query() {
    const params = new URLSearchParams();
    for (const el of form.querySelectorAll("input[type=range], select")) {
      if (el.disabled || el.value === "") continue;
      if (el.dataset.neutral !== undefined && Number(el.value) === Number(el.dataset.neutral)) continue;
      params.set(el.name, el.value);
    }
    return params;
  }

  function bar(rect, pct) {
    const w = Math.min(BAR_HALF_PX, (Math.abs(pct) / BAR_FULL_PCT) * BAR_HALF_PX);
    rect.setAttribute("x", String(pct >= 0 ? BAR_HALF_PX : BAR_HALF_PX - w));
    rect.setAttribute("width", w.toFixed(1));
    rect.setAttribute("fill", pct >= 0 ? "#d55e00" : "#0072b2");
  }

  function paint(data) {
    for (const [group, colour] of Object.entries(data.fills)) {
      for (const region of document.querySelectorAll('#whatif-bodymap path.region[data-group="' + group + '"]')) {
        region.setAttribute("fill", colour);
      }
    }
    for (const g of data.groups) {
      const row = document.querySelector('#whatif-table tr[data-group="' + g.group + '"]');
      if (!row) continue;
      row.querySelector('[data-col="whatif"]').textContent = g.whatif.toFixed(2);
      const sign = g.change_pct >= 0 ? "+" : ""; // as the page writes it (Python's %+.1f)
      row.querySelector('[data-col="change"]').textContent = sign + g.change_pct.toFixed(1) + " %";
      bar(row.querySelector('[data-col="bar"]'), g.change_pct);
    }
    notes.replaceChildren(...data.notes.map((n) => {
      const li = document.createElement("li");
      li.textContent = n;
      return li;
    }));
  }

  function describe(params) {
    const parts = [];
    for (const [k, v] of params) {
      const el = form.elements.namedItem(k);
      const label = el && el.labels && el.labels[0] ? el.labels[0].firstChild.textContent.replace(":", "").trim() : k;
      parts.push(label.toLowerCase() + " " + v);
    }
    return parts.length ? parts.join(", ") : "the baseline";
  }

  async function update() {
    for (const el of form.querySelectorAll("input[type=range]")) {
      const out = document.getElementById(el.id + "-out");
      if (out) out.textContent = el.value;
    }
    wind.disabled = surface.value !== "overground";
    const params = query();
    if (pending) pending.abort();
    const controller = new AbortController();
    pending = controller;
    document.body.dataset.whatif = "busy";
    status.textContent = "computing the muscles for " + describe(params) + " ...";
    try {
      const resp = await fetch("/api/whatif?" + params.toString(), {
        signal: controller.signal,
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await resp.json();
      if (!resp.ok) {
        status.textContent = data.error || "The what-if could not be computed.";
        document.body.dataset.whatif = "error";
        return;
      }
      paint(data);
      status.textContent = "shown: " + describe(params);
      document.body.dataset.whatif = "done";
      document.body.dataset.whatifGrade = String(data.grade_pct);
      document.body.dataset.whatifQuery = params.toString();
    } catch (err) {
      if (err.name !== "AbortError") {
        status.textContent = "The app did not answer (is runmuscles serve still running?)";
        document.body.dataset.whatif = "error";
      }
    } finally {
      if (pending === controller) pending = null;
    }
  }

  wind.disabled = surface.value !== "overground";
  // on each control (an input event dispatched by a script need not bubble to the form)
  for (const el of form.querySelectorAll("input[type=range], select")) el.addEventListener("input", update);
  form.addEventListener("reset", () => setTimeout(update, 0));
  form.addEventListener("submit", (e) => e.preventDefault());
})();
