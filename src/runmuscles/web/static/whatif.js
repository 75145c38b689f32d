// The what-if page: the grade slider asks /api/whatif and recolours the body map and the table.
// A newer slider value aborts the request still running for an older one (AbortController).
"use strict";

(function () {
  const slider = document.getElementById("grade");
  const out = document.getElementById("grade-out");
  const status = document.getElementById("whatif-status");
  const notes = document.getElementById("whatif-notes");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let pending = null;

  function fmt(x, digits) {
    return x.toFixed(digits);
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
      row.querySelector('[data-col="whatif"]').textContent = fmt(g.whatif, 2);
      const sign = g.change_pct > 0 ? "+" : "";
      row.querySelector('[data-col="change"]').textContent = sign + fmt(g.change_pct, 1) + " %";
    }
    notes.replaceChildren(...data.notes.map((n) => {
      const li = document.createElement("li");
      li.textContent = n;
      return li;
    }));
  }

  async function update() {
    const value = slider.value;
    out.textContent = value;
    if (pending) pending.abort();
    const controller = new AbortController();
    pending = controller;
    document.body.dataset.whatif = "busy";
    status.textContent = "computing the muscles at " + value + " % ...";
    try {
      const resp = await fetch("/api/whatif?grade_pct=" + encodeURIComponent(value), {
        signal: controller.signal,
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
        credentials: "same-origin",
      });
      const data = await resp.json();
      if (!resp.ok) {
        status.textContent = data.error || "The what-if could not be computed.";
        document.body.dataset.whatif = "error";
        return;
      }
      paint(data);
      status.textContent = "slope " + data.grade_pct + " %";
      document.body.dataset.whatif = "done";
      document.body.dataset.whatifGrade = String(data.grade_pct);
    } catch (err) {
      if (err.name !== "AbortError") {
        status.textContent = "The app did not answer (is runmuscles serve still running?)";
        document.body.dataset.whatif = "error";
      }
    } finally {
      if (pending === controller) pending = null;
    }
  }

  slider.addEventListener("input", update);
  document.getElementById("whatif-form").addEventListener("submit", (e) => e.preventDefault());
})();
