// Smart Account Orders: a box that selects every Not Assigned order on the
// page, the number selected (read out, it is a status region) beside the
// bulk buttons, and "Reassign selected" disabled while nothing is selected.
// Without JavaScript the list works as before: the server says what is missing.
(function () {
  "use strict";
  function update(form) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="orders"]'));
    var n = boxes.filter(function (b) { return b.checked; }).length;
    var all = form.querySelector("#select-all");
    if (all) {
      var label = all.closest("label");
      if (label) { label.hidden = boxes.length === 0; }
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    var count = form.querySelector("#selected-count");
    if (count) {
      count.hidden = false;
      count.textContent = n + " selected";
    }
    var button = form.querySelector("#reassign-selected");
    if (button) { button.disabled = n === 0; }
  }
  function init() {
    var form = document.getElementById("bulk");
    if (form) { update(form); }
  }
  document.addEventListener("change", function (e) {
    var form = e.target.closest ? e.target.closest("#bulk") : null;
    if (!form) { return; }
    if (e.target.id === "select-all") {
      form.querySelectorAll('input[name="orders"]').forEach(function (b) { b.checked = e.target.checked; });
    }
    update(form);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  document.addEventListener("htmx:afterSettle", init);
})();
