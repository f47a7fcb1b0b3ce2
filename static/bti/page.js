// Small behaviours of the researcher pages, kept out of the HTML (the Content-Security-Policy
// runs no inline handlers): clicking a read-only field marked data-select-all selects its text.
"use strict";
document.addEventListener("click", function (event) {
  var field = event.target.closest ? event.target.closest("[data-select-all]") : null;
  if (field && typeof field.select === "function") field.select();
});
