/* Copy buttons on researcher pages (no inline handlers: the pages run under a CSP without
   'unsafe-inline'). <button type="button" data-copy="ID"> copies the value of the input (or the
   text of the element) with that id; <input data-select-all> selects its whole value on focus. */
(function () {
  "use strict";

  function legacyCopy(element) {
    if (typeof element.select !== "function") return false;
    element.focus();
    element.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function show(button, text) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) return;
    var text = typeof target.value === "string" ? target.value : target.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { show(button, "Copied"); },
        function () { show(button, legacyCopy(target) ? "Copied" : "Select and copy it"); }
      );
    } else {
      show(button, legacyCopy(target) ? "Copied" : "Select and copy it");
    }
  });

  document.addEventListener("focusin", function (event) {
    var input = event.target;
    if (input.hasAttribute && input.hasAttribute("data-select-all") && typeof input.select === "function") {
      input.select();
    }
  });
})();
