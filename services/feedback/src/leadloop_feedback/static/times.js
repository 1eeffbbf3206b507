// The dashboard's times in the viewer's time zone.
//
// The server writes each time as <time datetime="2026-01-05T14:05:00Z">… UTC</time>: what a
// browser without script shows. This rewrites each one in the browser's time zone (or the zone
// named by data-tz on this script's tag: the dashboard's ?tz=), labelled with the zone's short
// name ("05 Jan, 15:05 CET", "GMT+1" where the locale has no abbreviation), the zone's IANA
// name and the UTC instant in its title. It runs at load and again on "leadloop:refreshed",
// which the dashboard's refresh sends after it replaces the panels.
(function () {
  "use strict";
  var forced = document.currentScript ? document.currentScript.dataset.tz : "";
  var STYLES = {
    datetime: {day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit"},
    time: {hour: "2-digit", minute: "2-digit", second: "2-digit"}
  };

  function zone() {
    if (forced) {
      try {
        new Intl.DateTimeFormat(undefined, {timeZone: forced});
        return forced;
      } catch (e) {
        // a zone this browser does not know: its own zone, still labelled
      }
    }
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  }

  function localise() {
    var tz = zone();
    var formats = {};
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at.getTime())) {
        return;
      }
      var style = STYLES[el.dataset.style] ? el.dataset.style : "datetime";
      if (!formats[style]) {
        var options = {hourCycle: "h23", timeZoneName: "short", timeZone: tz};
        formats[style] = new Intl.DateTimeFormat(undefined, Object.assign(options, STYLES[style]));
      }
      el.textContent = formats[style].format(at);
      el.title = tz + " (UTC " + at.toISOString().slice(0, 16).replace("T", " ") + ")";
      el.dataset.zone = tz;
    });
  }

  document.addEventListener("leadloop:refreshed", localise);
  localise();
})();
