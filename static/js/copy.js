// Copy buttons: hidden without JavaScript (the value stays selectable in its
// field); with it, a click copies the named field's value.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector(".copy-status");
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { if (status) status.textContent = "Copied."; };
      field.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
});
