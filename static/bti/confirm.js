// Destructive actions ask first: every <form data-confirm="Question?"> shows window.confirm with
// that question when it is submitted, and the submit is cancelled when the user says no.
// One listener on the document (capture phase), so forms added later are covered too.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
