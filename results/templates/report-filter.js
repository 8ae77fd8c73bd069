// The tests filter of report.html: by status and by name, on the page, no network.
// The state is kept in the URL fragment (#status=fail&q=release), so a link (or
// `chromium --dump-dom report.html#status=fail`) opens the report filtered.
(function () {
  "use strict";
  var statusBox = document.getElementById("f-status");
  var nameBox = document.getElementById("f-name");
  var counter = document.getElementById("f-count");
  if (!statusBox || !nameBox) { return; }

  function readHash() {
    var out = {};
    var text = (location.hash || "").replace(/^#/, "");
    text.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); }
    });
    return out;
  }

  function apply() {
    var want = statusBox.value;             // "", "bad", or a status
    var q = nameBox.value.trim().toLowerCase();
    var shown = 0, total = 0;
    var rows = document.querySelectorAll("tr.test");
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var st = r.getAttribute("data-status");
      var okStatus = !want || st === want || (want === "bad" && r.getAttribute("data-bad") === "1");
      var okName = !q || r.getAttribute("data-name").toLowerCase().indexOf(q) >= 0;
      total++;
      if (okStatus && okName) { r.removeAttribute("hidden"); shown++; }
      else { r.setAttribute("hidden", ""); }
    }
    if (counter) { counter.textContent = shown + " of " + total + " tests shown"; }
    document.body.setAttribute("data-filtered", want || q ? "yes" : "no");
  }

  function save() {
    var parts = [];
    if (statusBox.value) { parts.push("status=" + encodeURIComponent(statusBox.value)); }
    if (nameBox.value) { parts.push("q=" + encodeURIComponent(nameBox.value)); }
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
    apply();
  }

  var h = readHash();
  if (h.status) { statusBox.value = h.status; }
  if (h.q) { nameBox.value = h.q; }
  statusBox.addEventListener("change", save);
  nameBox.addEventListener("input", save);
  window.addEventListener("hashchange", function () {
    var n = readHash();
    statusBox.value = n.status || "";
    nameBox.value = n.q || "";
    apply();
  });
  apply();
})();
