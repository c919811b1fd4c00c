// The project DAG page of etl-cli (etl_cli/orchestration/dag_render.py): highlight what a pipeline waits for
// (upstream) and what waits for it (downstream). Point at a pipeline, or click it to keep the selection; Esc
// or a click elsewhere clears it. The address page.html#pipeline=<name> opens the page with it selected.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("dag-data").textContent);
  const svg = document.getElementById("dag");
  const boxes = {};
  svg.querySelectorAll("g.pipeline").forEach(function (g) { boxes[g.dataset.name] = g; });
  const arrows = [];
  svg.querySelectorAll("path.arrow").forEach(function (path) { arrows[Number(path.dataset.arrow)] = path; });
  const datasets = {};
  svg.querySelectorAll("g.dataset").forEach(function (g) { datasets[g.dataset.dataset] = g; });
  const upstream = {};
  const downstream = {};
  Object.keys(boxes).forEach(function (name) { upstream[name] = []; downstream[name] = []; });
  data.edges.forEach(function (edge) {
    upstream[edge.to].push(edge);
    downstream[edge.from].push(edge);
  });
  let pinned = null;

  // every pipeline reached from `start` by following `next` (edges into a pipeline: upstream; out: downstream),
  // and the edges taken
  function walk(start, next, far) {
    const seen = new Set();
    const taken = [];
    const todo = [start];
    while (todo.length) {
      next[todo.pop()].forEach(function (edge) {
        taken.push(edge);
        if (!seen.has(edge[far])) { seen.add(edge[far]); todo.push(edge[far]); }
      });
    }
    return { pipelines: seen, edges: taken };
  }

  function mark(found, className) {
    found.pipelines.forEach(function (name) { boxes[name].classList.add(className); });
    found.edges.forEach(function (edge) {
      edge.arrows.forEach(function (index) { arrows[index].classList.add(className); });
      if (edge.dataset) { datasets[edge.dataset].classList.add(className); }
    });
  }

  function clear() {
    svg.classList.remove("focus");
    document.querySelectorAll(".selected, .upstream, .downstream").forEach(function (element) {
      element.classList.remove("selected", "upstream", "downstream");
    });
  }

  function select(name) {
    clear();
    if (!(name in boxes)) { return; }
    svg.classList.add("focus");
    boxes[name].classList.add("selected");
    document.querySelectorAll("table.pipelines tr").forEach(function (row) {
      if (row.dataset.name === name) { row.classList.add("selected"); }
    });
    mark(walk(name, upstream, "from"), "upstream");
    mark(walk(name, downstream, "to"), "downstream");
  }

  Object.keys(boxes).forEach(function (name) {
    boxes[name].addEventListener("mouseenter", function () { if (pinned === null) { select(name); } });
    boxes[name].addEventListener("mouseleave", function () { if (pinned === null) { clear(); } });
    boxes[name].addEventListener("click", function (event) {
      event.stopPropagation();
      pinned = name;
      select(name);
    });
  });
  document.addEventListener("click", function () { pinned = null; clear(); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { pinned = null; clear(); }
  });
  const asked = /^#pipeline=(.+)$/.exec(window.location.hash);
  if (asked) {
    pinned = decodeURIComponent(asked[1]);
    select(pinned);
  }
})();
