// Keyboard-first walking of the council table, and live regions refreshed on server-sent events.
(function () {
  "use strict";
  function typing(target) {
    // A points field never takes letters, so j/k/n/p still walk the table from inside it.
    if (target && target.tagName === "INPUT" && target.type === "number") { return false; }
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
  }
  function moveUnit(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr.unit-row"));
    if (!rows.length) { return; }
    var current = rows.indexOf(document.activeElement && document.activeElement.closest ? document.activeElement.closest("tr.unit-row") : null);
    var wanted = current + step;
    // Past the last (first) unit of a page, j (k) turns to the next (previous) page of units.
    var turn = wanted >= rows.length ? document.getElementById("next-page") : (current >= 0 && wanted < 0 ? document.getElementById("prev-page") : null);
    if (turn) { turn.click(); return; }
    var next = rows[Math.min(Math.max(wanted, 0), rows.length - 1)];
    next.focus();
    var field = next.querySelector("input[name=points]");
    if (field) { field.focus(); }
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var link;
    if (event.key === "j") { moveUnit(1); event.preventDefault(); }
    else if (event.key === "k") { moveUnit(-1); event.preventDefault(); }
    else if (event.key === "n" && (link = document.getElementById("next-criterion"))) { link.click(); }
    else if (event.key === "p" && (link = document.getElementById("prev-criterion"))) { link.click(); }
    else if (event.key === "/") { window.location.href = document.querySelector("a.brand").getAttribute("href") + "search"; event.preventDefault(); }
  });
  function refresh() {
    var regions = document.querySelectorAll("[data-live][id]");
    if (!regions.length) { return; }
    fetch(window.location.href, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (!html) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html");
      regions.forEach(function (region) {
        var replacement = fresh.getElementById(region.id);
        if (replacement && !region.contains(document.activeElement)) { region.replaceWith(replacement); }
      });
      var status = document.getElementById("live-status");
      if (status) { status.textContent = document.documentElement.lang === "en" ? "Updated" : "Đã cập nhật"; }
      document.body.dataset.liveUpdates = String(Number(document.body.dataset.liveUpdates || 0) + 1);
    });
  }
  var url = document.body.getAttribute("data-live-url");
  if (url && window.EventSource && document.querySelector("[data-live]")) {
    var source = new EventSource(url);
    source.addEventListener("hello", function () { document.body.dataset.live = "connected"; });
    source.addEventListener("change", refresh);
  }
})();
