// Keyboard rating: in a score line, 1-5 sets the score (replacing the old one), Tab moves to the
// next line, Enter saves (the form's own submit). Plain script, no build step; without it the
// page still works (type the digit, Tab, Enter).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var scores = Array.prototype.slice.call(document.querySelectorAll("input.score"));

  function mark(input) {
    var picks = document.querySelectorAll('button.pick[data-for="' + input.id + '"]');
    Array.prototype.forEach.call(picks, function (b) {
      b.classList.toggle("chosen", b.getAttribute("data-value") === input.value);
    });
  }

  scores.forEach(function (input) {
    mark(input);
    input.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.altKey || ev.metaKey || ev.key.length !== 1) { return; }
      ev.preventDefault();
      if (ev.key >= "1" && ev.key <= "5") {
        input.value = ev.key;
        mark(input);
      }
    });
    input.addEventListener("input", function () { mark(input); });
  });

  Array.prototype.forEach.call(document.querySelectorAll("button.pick"), function (b) {
    b.addEventListener("click", function () {
      var input = document.getElementById(b.getAttribute("data-for"));
      input.value = b.getAttribute("data-value");
      mark(input);
      input.focus();
    });
  });
  document.body.setAttribute("data-keys", "ready");  // tests wait for this before typing
});
