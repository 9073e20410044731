// Keyboard shortcuts for the review queue and the finding page. The pages work without this file.
(function () {
  "use strict";
  var KEY = "schoolaudit-queue-position";

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("li.finding")); }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, n) { row.classList.toggle("selected", n === index); });
    all[index].scrollIntoView({ block: "nearest" });
    sessionStorage.setItem(KEY, String(index));
  }

  function current() { return rows().findIndex(function (row) { return row.classList.contains("selected"); }); }

  function press(scope, key) {
    var button = scope && scope.querySelector('button[data-key="' + key + '"]');
    if (button) { button.click(); return true; }
    return false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (rows().length) select(Number(sessionStorage.getItem(KEY) || 0));
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) && target.type !== "checkbox") return;
    var all = rows(), at = current(), row = all[at];
    var scope = row || document.querySelector("form.decide-full");
    var handled = true;
    switch (event.key) {
      case "j": select(at + 1); break;
      case "k": select(at - 1); break;
      case "o": case "Enter": if (row) window.location = row.dataset.href; else handled = false; break;
      case "x": if (row && row.querySelector("input[type=checkbox]")) row.querySelector("input[type=checkbox]").click(); break;
      case "c": case "d": case "r": handled = press(scope, event.key); break;
      case "u":
        var undo = document.getElementById("undo-form");
        if (undo) undo.submit(); else handled = false;
        break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
