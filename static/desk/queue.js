// Keyboard navigation for queue tables: j/k move, Enter opens, x selects, / filters.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-href]"));
  var current = -1;

  function select(index) {
    if (!rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("current"); rows[current].removeAttribute("aria-current"); }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("current");
    rows[current].setAttribute("aria-current", "true");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "j") { select(current + 1); event.preventDefault(); }
    else if (event.key === "k") { select(current - 1); event.preventDefault(); }
    else if (event.key === "Enter" && current >= 0) { window.location.href = rows[current].dataset.href; event.preventDefault(); }
    else if (event.key === "x" && current >= 0) {
      var box = rows[current].querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; }
      event.preventDefault();
    } else if (event.key === "/") {
      var first = document.querySelector(".filters input, .filters select");
      if (first) { first.focus(); event.preventDefault(); }
    }
  });
})();
