// Shop filters: apply sort and filters as soon as they change. Without this
// script the form still works with its "Apply filters" button.
(function () {
  "use strict";
  var form = document.querySelector("form[data-auto-submit]");
  if (!form) return;
  var FOCUS_KEY = "rdk:filter-focus";

  form.addEventListener("change", function (event) {
    var field = event.target;
    // Prices apply on Enter or when the field loses focus ("change"), and
    // only once they are valid numbers.
    if (!field.name || (field.checkValidity && !field.checkValidity())) return;
    try { sessionStorage.setItem(FOCUS_KEY, field.id); } catch (e) { /* storage off */ }
    form.requestSubmit();
  });

  // Back on the new page, put the keyboard where the shopper left it.
  var focused = null;
  try { focused = sessionStorage.getItem(FOCUS_KEY); sessionStorage.removeItem(FOCUS_KEY); } catch (e) { /* storage off */ }
  if (focused) {
    var field = document.getElementById(focused);
    if (field) {
      var panel = field.closest("details");
      if (panel) panel.open = true;
      field.focus({ preventScroll: false });
    }
  }
})();

// Beside the results (wide screens) the filter panel is always open.
(function () {
  "use strict";
  var panel = document.querySelector("details.catalog-filters");
  if (panel && window.matchMedia("(min-width: 901px)").matches) panel.open = true;
})();
