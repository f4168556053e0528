// Draws the dashboard charts from the JSON the server embedded in #chart-data.
// Every value is in minutes (one decimal), as on the rest of the page.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  function options(offset) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      spanGaps: true,
      // A single point stays visible: big points, and the category axis offset so a
      // lone label sits in the middle instead of on the edge.
      elements: { point: { radius: 5, hoverRadius: 7 }, line: { borderWidth: 2 } },
      scales: {
        x: { offset: offset },
        y: { beginAtZero: true, title: { display: true, text: "minutes" } }
      },
      plugins: {
        legend: { labels: { usePointStyle: true } },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var v = ctx.parsed.y;
              return ctx.dataset.label + ": " + (v === null ? "\u2014" : v.toFixed(1) + " min");
            }
          }
        }
      }
    };
  }
  new Chart(document.getElementById("chart-over-time"), {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        { label: "MTTA mean", data: data.mtta_mean, borderColor: "#1f77b4", backgroundColor: "#1f77b4" },
        { label: "MTTA p90", data: data.mtta_p90, borderColor: "#6baed6", backgroundColor: "#6baed6", borderDash: [6, 4] },
        { label: "MTTR mean", data: data.mttr_mean, borderColor: "#d62728", backgroundColor: "#d62728" },
        { label: "MTTR p90", data: data.mttr_p90, borderColor: "#fc8d59", backgroundColor: "#fc8d59", borderDash: [6, 4] }
      ]
    },
    options: options(true)
  });
  new Chart(document.getElementById("chart-per-service"), {
    type: "bar",
    data: {
      labels: data.services,
      datasets: [
        { label: "MTTA", data: data.service_mtta, backgroundColor: "#1f77b4", maxBarThickness: 60 },
        { label: "MTTR", data: data.service_mttr, backgroundColor: "#d62728", maxBarThickness: 60 }
      ]
    },
    options: options(true)
  });
  document.body.dataset.chartsReady = "1";
})();
