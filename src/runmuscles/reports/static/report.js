// runmuscles report: tool tips, the body map's metric buttons, the trial buttons and the curve
// chooser. The offline report.html inlines this file; the web app serves it as a file (its
// Content-Security-Policy allows no inline script). No inline style attributes are written:
// hidden SVG parts use the SVG "display" attribute, the tip its CSSOM style.
"use strict";

(function () {
  var tip = document.getElementById("tip");
  function show(text, x, y) {
    if (!tip) return;
    tip.textContent = text;
    tip.style.display = "block";
    tip.style.left = x + 12 + "px";
    tip.style.top = y + 12 + "px";
  }
  function hide() {
    if (tip) tip.style.display = "none";
  }
  function heat(panel, e) {
    var svg = panel.ownerSVGElement, m = svg.getScreenCTM();
    if (!m) return null;
    var pt = svg.createSVGPoint();
    pt.x = e.clientX;
    pt.y = e.clientY;
    pt = pt.matrixTransform(m.inverse());
    var data = panel.__vals;
    if (!data) {
      var s = svg.querySelector("script.heatmap-values");
      data = JSON.parse(s.textContent)[panel.getAttribute("data-side")];
      panel.__vals = data;
    }
    var r = Math.floor((pt.y - parseFloat(panel.getAttribute("data-y"))) / parseFloat(panel.getAttribute("data-row-h")));
    var c = Math.round((pt.x - parseFloat(panel.getAttribute("data-x"))) / parseFloat(panel.getAttribute("data-col-w")));
    if (r < 0 || r >= data.muscles.length || c < 0 || c >= data.a[r].length) return null;
    return data.muscles[r] + " at " + c + " % of the cycle: activation " + data.a[r][c].toFixed(2);
  }
  document.addEventListener("mousemove", function (e) {
    var el = e.target.closest ? e.target.closest("[data-tip]") : null;
    if (el) {
      show(el.getAttribute("data-tip"), e.clientX, e.clientY);
      return;
    }
    var p = e.target.closest ? e.target.closest(".heatmap-panel") : null;
    if (p) {
      var t = heat(p, e);
      if (t) {
        show(t, e.clientX, e.clientY);
        return;
      }
    }
    hide();
  });
  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-tip]") : null;
    if (el) show(el.getAttribute("data-tip"), e.clientX, e.clientY);
  });

  function fmtv(metric, v) {
    if (v === "") return "no muscles of this group in the model";
    v = parseFloat(v);
    return metric === "peak" ? v.toFixed(2) : (100 * v).toFixed(1) + " %";
  }
  function visible(el, on) {
    if (on) el.removeAttribute("display");
    else el.setAttribute("display", "none");
  }
  // body map: which quantity colours the regions (the button's text names it)
  document.querySelectorAll(".metric-btns").forEach(function (box) {
    box.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      var m = b.getAttribute("data-metric"), label = b.textContent;
      box.querySelectorAll("button").forEach(function (x) {
        x.classList.toggle("on", x === b);
        x.setAttribute("aria-pressed", x === b ? "true" : "false");
      });
      var svg = document.getElementById(box.getAttribute("data-target"));
      svg.querySelectorAll(".region").forEach(function (r) {
        r.setAttribute("fill", r.getAttribute("data-c-" + m));
        var t = r.getAttribute("data-label") + ": " + label + " " + fmtv(m, r.getAttribute("data-v-" + m));
        r.setAttribute("data-tip", t);
        var ti = r.querySelector("title");
        if (ti) ti.textContent = t;
      });
      svg.querySelectorAll(".legend").forEach(function (g) {
        visible(g, g.getAttribute("data-metric") === m);
      });
    });
  });
  // curves on one axis: the chosen muscles (or groups) are drawn, with their legend entries
  document.querySelectorAll(".curve-chooser").forEach(function (box) {
    var svg = document.getElementById(box.getAttribute("data-target"));
    function apply() {
      var on = {};
      box.querySelectorAll("input[type=checkbox]").forEach(function (c) {
        on[c.value] = c.checked;
      });
      svg.querySelectorAll("[data-series]").forEach(function (g) {
        visible(g, !!on[g.getAttribute("data-series")]);
      });
      var n = 0;
      svg.querySelectorAll(".legend-item[data-series]").forEach(function (g) {
        if (!on[g.getAttribute("data-series")]) return;
        g.setAttribute("transform", "translate(0," + 14 * n + ")");
        n += 1;
      });
    }
    box.addEventListener("change", apply);
    apply();
  });
  document.querySelectorAll("nav a[data-sec]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      var t = document.querySelector('.trial.on section[id$="-' + a.getAttribute("data-sec") + '"]');
      if (t) {
        e.preventDefault();
        t.scrollIntoView();
      }
    });
  });
  var sel = document.querySelectorAll(".trial-btns button");
  sel.forEach(function (b) {
    b.addEventListener("click", function () {
      sel.forEach(function (x) {
        x.classList.toggle("on", x === b);
      });
      document.querySelectorAll(".trial").forEach(function (t) {
        t.classList.toggle("on", t.getAttribute("data-trial") === b.getAttribute("data-trial"));
      });
    });
  });
})();
