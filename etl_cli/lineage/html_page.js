// The lineage page of etl-cli (etl_cli/lineage/html_page.py): highlight what a column is made from and what it reaches.
// Point at a column, or click it to keep the selection; Esc or a click elsewhere clears it. The address
// page.html#column=<node>.<column> opens the page with that column selected.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("lineage-data").textContent);
  const svg = document.getElementById("lineage");
  const details = document.getElementById("details");
  const canvas = svg.parentElement;
  const FIT_AT_LEAST = 0.6;
  const columns = [];
  svg.querySelectorAll("g.col").forEach(function (g) { columns[Number(g.dataset.col)] = g; });
  const edges = [];
  svg.querySelectorAll("path.edge").forEach(function (path) { edges[Number(path.dataset.edge)] = path; });
  const into = data.columns.map(function () { return []; });
  const from = data.columns.map(function () { return []; });
  data.edges.forEach(function (ends, index) {
    from[ends[0]].push([ends[1], index]);
    into[ends[1]].push([ends[0], index]);
  });
  const name = function (k) { return data.columns[k][0] + "." + data.columns[k][1]; };
  let pinned = null;

  // every column reached from `start` by following `next` (edges into a column: upstream; out of it: downstream)
  function walk(start, next) {
    const seen = new Set([start]);
    const taken = new Set();
    const todo = [start];
    while (todo.length) {
      next[todo.pop()].forEach(function (step) {
        taken.add(step[1]);
        if (!seen.has(step[0])) { seen.add(step[0]); todo.push(step[0]); }
      });
    }
    seen.delete(start);
    return { columns: seen, edges: taken };
  }

  function list(title, className, found) {
    const part = document.createElement("div");
    part.className = className;
    const heading = document.createElement("h4");
    heading.textContent = title + " (" + found.columns.size + ")";
    const items = document.createElement("ul");
    Array.from(found.columns).map(name).sort().forEach(function (text) {
      const item = document.createElement("li");
      item.textContent = text;
      items.appendChild(item);
    });
    part.append(heading, items);
    return part;
  }

  function clear() {
    svg.classList.remove("focus");
    svg.querySelectorAll(".selected, .upstream, .downstream").forEach(function (element) {
      element.classList.remove("selected", "upstream", "downstream");
    });
    const hint = document.createElement("p");
    hint.textContent = "No column selected: point at one in the drawing.";
    details.replaceChildren(hint);
  }

  function show(k) {
    clear();
    const up = walk(k, into);
    const down = walk(k, from);
    svg.classList.add("focus");
    columns[k].classList.add("selected");
    up.columns.forEach(function (c) { columns[c].classList.add("upstream"); });
    down.columns.forEach(function (c) { columns[c].classList.add("downstream"); });
    up.edges.forEach(function (e) { edges[e].classList.add("upstream"); });
    down.edges.forEach(function (e) { edges[e].classList.add("downstream"); });
    const heading = document.createElement("h3");
    heading.textContent = name(k);
    details.replaceChildren(heading, list("Made from (upstream)", "up", up), list("Reaches (downstream)", "down", down));
  }

  function select(k) {
    pinned = k;
    if (k === null) { clear(); } else { show(k); }
  }

  function fromAddress() {
    const found = /^#column=(.*)$/.exec(window.location.hash);
    if (!found) { return; }
    const wanted = decodeURIComponent(found[1]);
    const k = data.columns.findIndex(function (_, index) { return name(index) === wanted; });
    if (k >= 0) {
      select(k);
      columns[k].scrollIntoView({ block: "nearest", inline: "center" });
    }
  }

  // a graph first shows whole, shrunk to the window, unless it would shrink below FIT_AT_LEAST of its size and be
  // too small to read: then at its actual size, scrolling; this button switches between the two
  function sizeButton() {
    if (canvas.clientWidth < svg.width.baseVal.value * FIT_AT_LEAST) { canvas.classList.remove("fit"); }
    const button = document.createElement("button");
    button.id = "size";
    button.type = "button";
    const label = function () {
      button.textContent = canvas.classList.contains("fit") ? "Actual size" : "Fit to window";
    };
    button.addEventListener("click", function () { canvas.classList.toggle("fit"); label(); });
    label();
    document.querySelector("header .summary").appendChild(button);
  }

  columns.forEach(function (g, k) {
    g.addEventListener("mouseenter", function () { if (pinned === null) { show(k); } });
    g.addEventListener("mouseleave", function () { if (pinned === null) { clear(); } });
    g.addEventListener("click", function (event) {
      event.stopPropagation();
      select(pinned === k ? null : k);
    });
  });
  svg.addEventListener("click", function () { select(null); });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") { select(null); } });
  window.addEventListener("hashchange", fromAddress);
  sizeButton();
  clear();
  fromAddress();
})();
