// Schedule timeline: place bars from their data- attributes (per cent of the range).
// Set through the CSSOM, which a self-only Content-Security-Policy allows (inline
// style attributes it would refuse).
(function () {
  "use strict";
  function place() {
    document.querySelectorAll("#schedule-timeline .tl-pos").forEach(function (el) {
      el.style.left = el.dataset.left + "%";
      if (el.dataset.width !== undefined) {
        el.style.width = el.dataset.width + "%";
      }
    });
    // "Browser zone": a link the server could not build (it does not know the zone).
    document.querySelectorAll("[data-browser-zone-link]").forEach(function (el) {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) {
        el.href = el.dataset.browserZoneLink + encodeURIComponent(zone);
        el.textContent = "My zone (" + zone + ")";
      }
    });
    var box = document.getElementById("schedule-timeline");
    if (box) {
      box.dataset.placed = "1";
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", place);
  } else {
    place();
  }
})();
