// A lab analysis running in the background: its page asks /api/analyses/ID every second and
// shows the stage and the time so far; when the analysis is done (or failed) the page reloads.
"use strict";

(function () {
  const box = document.getElementById("analysis-progress");
  if (!box || box.dataset.state === "error") return;
  const stage = document.getElementById("progress-stage");
  const elapsed = document.getElementById("progress-elapsed");
  const stages = document.getElementById("progress-stages");

  async function poll() {
    let data;
    try {
      const resp = await fetch("/api/analyses/" + box.dataset.job, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      data = await resp.json();
    } catch (err) {
      stage.textContent = "the app did not answer (is runmuscles serve still running?)";
      setTimeout(poll, 3000);
      return;
    }
    if (data.state === "done" || data.state === "error") {
      location.reload();
      return;
    }
    box.dataset.state = data.state;
    stage.textContent = data.stage;
    elapsed.textContent = data.elapsed_s.toFixed(0);
    stages.replaceChildren(...data.stages.map((s) => {
      const li = document.createElement("li");
      li.textContent = s.stage + ": " + s.seconds.toFixed(1) + " s";
      return li;
    }));
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
