// Round page: refresh the explanation progress from the API every few seconds while computing.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section || section.dataset.status !== "computing") return;
  var url = section.dataset.progressUrl;
  var failedAtLoad = Number(section.dataset.failed);

  function setText(root, selector, value) {
    var el = root.querySelector(selector);
    if (el) el.textContent = String(value);
  }

  function update(progress) {
    ["done", "total", "running", "pending", "failed", "eta_text"].forEach(function (key) {
      setText(section, '[data-count="' + key + '"]', progress[key]);
    });
    var bar = document.getElementById("progress-bar");
    if (bar) { bar.max = progress.total; bar.value = progress.done; }
    Object.keys(progress.per_method).forEach(function (method) {
      var row = section.querySelector('tr[data-method="' + CSS.escape(method) + '"]');
      if (!row) return;
      var counts = progress.per_method[method];
      Object.keys(counts).forEach(function (key) { setText(row, '[data-field="' + key + '"]', counts[key]); });
    });
    var open = document.getElementById("open-button");
    if (open) open.disabled = !progress.can_open;
    // New failures or a new status (e.g. opened for rating) change the buttons: reload the page.
    return progress.status !== "computing" || progress.failed !== failedAtLoad;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (progress && update(progress)) { window.location.reload(); return; }
        window.setTimeout(poll, 3000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 3000);
})();
