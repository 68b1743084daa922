// Keeps the Today page's figures current without reloading the page: every data-refresh-seconds it
// fetches the same URL and swaps in the parts marked data-live (counts, tables, the "updated" time)
// and the chart's numbers. A timed reload moved focus and scroll and restarted screen readers (axe
// flags it as critical); a failed fetch leaves the figures shown and tries again next time.
(function () {
  "use strict";
  var root = document.querySelector("[data-refresh-seconds]");
  var seconds = root ? parseInt(root.dataset.refreshSeconds, 10) : 0;
  if (!seconds) {
    return;
  }

  function swap(doc) {
    document.querySelectorAll("[data-live]").forEach(function (current) {
      var fresh = doc.getElementById(current.id);
      if (fresh) {
        current.innerHTML = fresh.innerHTML;
      }
    });
    var data = doc.getElementById("chart-data");
    if (data && window.reportChart) {
      var figures = JSON.parse(data.textContent);
      window.reportChart.data.labels = figures.labels;
      window.reportChart.data.datasets[0].data = figures.values;
      window.reportChart.update();
    }
    root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
  }

  function refresh() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        swap(new DOMParser().parseFromString(html, "text/html"));
      })
      .catch(function () {})
      .then(function () {
        window.setTimeout(refresh, seconds * 1000);
      });
  }

  window.setTimeout(refresh, seconds * 1000);
})();
