// The run history report (etl-cli runs report): inlined into the page, which loads nothing.
// The charts read without this script. It adds: a tooltip with a mark's exact values when it is pointed at or
// focused; Left/Right (and Home/End) to move between the marks of one chart; Enter, Space or a click to select
// that mark's run in every chart and in the table (the page's address gets #run=RUN_ID, and opening the page at
// such an address selects it); Escape clears.
(function () {
  "use strict";
  var tip = document.getElementById("tip");

  function label(mark) { return mark.getAttribute("aria-label") || ""; }

  function showTip(mark) {
    var box = mark.getBoundingClientRect();
    tip.textContent = label(mark);
    tip.hidden = false;
    tip.style.left = (window.scrollX + box.left) + "px";
    tip.style.top = (window.scrollY + box.bottom + 6) + "px";
  }

  function hideTip() { tip.hidden = true; }

  function select(runId) {
    document.querySelectorAll(".selected").forEach(function (el) { el.classList.remove("selected"); });
    if (!runId) { return; }
    document.querySelectorAll("[data-run]").forEach(function (el) {
      if (el.getAttribute("data-run") === runId) { el.classList.add("selected"); }
    });
  }

  function choose(runId) {
    select(runId);
    history.replaceState(null, "", runId ? "#run=" + encodeURIComponent(runId) : location.pathname);
  }

  function fromAddress() {
    var found = /^#run=(.+)$/.exec(location.hash);
    select(found ? decodeURIComponent(found[1]) : null);
  }

  function step(mark, key) {
    var marks = Array.prototype.slice.call(mark.closest("svg").querySelectorAll(".mark"));
    var at = marks.indexOf(mark);
    var to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: marks.length - 1 }[key];
    if (to === undefined) { return false; }
    marks[Math.max(0, Math.min(marks.length - 1, to))].focus();
    return true;
  }

  document.querySelectorAll(".mark").forEach(function (mark) {
    mark.addEventListener("mouseenter", function () { showTip(mark); });
    mark.addEventListener("mouseleave", hideTip);
    mark.addEventListener("focus", function () { showTip(mark); });
    mark.addEventListener("blur", hideTip);
    mark.addEventListener("click", function () { choose(mark.getAttribute("data-run")); });
    mark.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        choose(mark.getAttribute("data-run"));
      } else if (!step(mark, event.key)) {
        return;
      }
      event.preventDefault();
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { hideTip(); choose(null); }
  });
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
})();
