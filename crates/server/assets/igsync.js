// igsync dashboard: live refresh of counts, bulk selection of jobs, confirmations.
// Plain script, no dependencies; the pages work without it (forms still post).
(function () {
  "use strict";

  // Live counts: elements with data-live="<key>" take the value of counts[<key>] from the
  // JSON endpoint named by <body data-live-src>. Polls every 5 s while the tab is visible.
  var src = document.body.getAttribute("data-live-src");
  var status = document.querySelector("[data-live-status]");
  function refresh() {
    if (!src || document.hidden) return;
    fetch(src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (data) {
        var values = data.values || {};
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var key = el.getAttribute("data-live");
          var value = Object.prototype.hasOwnProperty.call(values, key) ? values[key] : el.getAttribute("data-live-default");
          if (value !== null && value !== undefined) el.textContent = String(value);
        });
        if (status) status.textContent = "live · updated " + new Date().toLocaleTimeString();
      })
      .catch(function () {
        if (status) status.textContent = "live updates paused (server unreachable)";
      });
  }
  if (src) {
    setInterval(refresh, 5000);
    document.addEventListener("visibilitychange", refresh);
  }

  // Bulk selection: a data-select-all checkbox toggles every job checkbox (name="ids");
  // data-selected-count shows how many are selected; buttons with data-needs-selection
  // stay disabled until something is selected.
  var all = document.querySelector("[data-select-all]");
  var boxes = function () { return document.querySelectorAll("input[type=checkbox][name=ids]"); };
  function updateSelection() {
    var n = 0;
    boxes().forEach(function (b) { if (b.checked) n++; });
    document.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = String(n); });
    document.querySelectorAll("[data-needs-selection]").forEach(function (el) { el.disabled = n === 0; });
    if (all) all.checked = n > 0 && n === boxes().length;
  }
  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      updateSelection();
    });
  }
  boxes().forEach(function (b) { b.addEventListener("change", updateSelection); });
  updateSelection();

  // Confirmations: forms (or submit buttons) with data-confirm ask first.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var button = ev.submitter;
    var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) ev.preventDefault();
  });
})();
