// Draws the dashboard charts from the JSON the server embedded in #chart-data.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var common = { responsive: true, animation: false, spanGaps: true };
  new Chart(document.getElementById("chart-over-time"), {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        { label: "MTTA mean", data: data.mtta_mean, borderColor: "#1f77b4" },
        { label: "MTTA p90", data: data.mtta_p90, borderColor: "#aec7e8" },
        { label: "MTTR mean", data: data.mttr_mean, borderColor: "#d62728" },
        { label: "MTTR p90", data: data.mttr_p90, borderColor: "#ff9896" }
      ]
    },
    options: common
  });
  new Chart(document.getElementById("chart-per-service"), {
    type: "bar",
    data: {
      labels: data.services,
      datasets: [
        { label: "MTTA", data: data.service_mtta, backgroundColor: "#1f77b4" },
        { label: "MTTR", data: data.service_mttr, backgroundColor: "#d62728" }
      ]
    },
    options: common
  });
  document.body.dataset.chartsReady = "1";
})();
