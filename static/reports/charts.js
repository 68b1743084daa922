// Draws the report's chart with Chart.js (vendored in static/vendor/chart.js) from the JSON the
// page embeds as <script id="chart-data">: {"labels": [...], "values": [...], "label": "..."}.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  var canvas = document.getElementById("chart");
  if (!source || !canvas || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#2563eb";
  window.reportChart = new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ label: data.label, data: data.values, backgroundColor: accent, borderRadius: 3 }],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  canvas.dataset.drawn = "true";
})();
