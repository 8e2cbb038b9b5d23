// Small, dependency-free helpers: table filtering and sorting, expand/collapse all.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var raw = cell.getAttribute("data-sort");
    var text = raw !== null ? raw : cell.textContent.trim();
    var num = Number(text);
    return text !== "" && !isNaN(num) ? num : text.toLowerCase();
  }
  function makeSortable(table) {
    var headers = table.querySelectorAll("th.sortable");
    Array.prototype.forEach.call(headers, function (th) {
      th.addEventListener("click", function () {
        var index = Array.prototype.indexOf.call(th.parentNode.children, th);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var asc = th.getAttribute("data-dir") !== "asc";
        rows.sort(function (a, b) {
          var x = cellValue(a, index), y = cellValue(b, index);
          if (x === y) { return 0; }
          return (x < y ? -1 : 1) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
        th.setAttribute("data-dir", asc ? "asc" : "desc");
      });
    });
  }
  function wireFilter() {
    var input = document.getElementById("filter");
    var table = document.getElementById("rollouts");
    if (!input || !table) { return; }
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var hit = row.textContent.toLowerCase().indexOf(needle) !== -1;
        row.style.display = hit ? "" : "none";
        if (hit) { shown += 1; }
      });
      var count = document.getElementById("shown");
      if (count) { count.textContent = String(shown); }
    });
  }
  function wireToggles() {
    var buttons = document.querySelectorAll("[data-toggle]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        var open = button.getAttribute("data-toggle") === "open";
        Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = open; });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    wireFilter();
    wireToggles();
    document.body.setAttribute("data-ready", "1");
  });
}());
