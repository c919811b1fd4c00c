// etl-cli studio: the page of `etl-cli studio` (no build step, no network beyond the studio's own API).
//
// Two views: the project (pipelines, their last runs, the project DAG) and a pipeline (palette, stage graph,
// the selected stage's option form, problems, inspect and run). Every edit is an operation of the API
// ({op: "add_stage" | "remove_stage" | "connect" | "disconnect" | "set_option" | "rename_stage"}); the page keeps
// the list of unsaved edits, asks the server to check the pipeline with them after each one and draws what it
// answers. Saving sends the same list; the server writes the YAML files and refuses an invalid pipeline.

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const SVG = "http://www.w3.org/2000/svg";
const KINDS = ["source", "transform", "sink"];
const SECRET_REF = /^\$\{secret:[^}]+\}$/;
// the literal-credential rule of `etl-cli validate`: keys whose last words name a credential
const SECRET_WORDS = ["password", "passwd", "token", "secret", "secret_key", "access_key", "api_key", "jaas_config"];
const POLL_MS = 1000;

const state = {
  project: null,
  plugins: null,
  file: null,
  env: null,
  edits: [],
  doc: null,
  selected: null,
  positions: {}, // where stages were dropped this session (the server's layout places the others)
  checking: 0,
  runTimer: null,
  lastAnnounced: "",
  commonOpen: false, // the stage form's "settings every kind has" stays open once opened
};

// ---------------------------------------------------------------- small helpers

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function say(message, kind = "info") {
  const status = $("status");
  status.textContent = message;
  status.dataset.kind = kind;
}

async function api(method, path, body) {
  const init = { method, headers: { "X-Studio-Token": TOKEN } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    return { status: 0, data: { error: `the studio server does not answer (${err.message}): is etl-cli studio still running?` } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = { error: `${response.status} ${response.statusText}` };
  }
  return { status: response.status, data };
}

function errorText(data) {
  if (!data) return "no answer";
  if (data.problems && data.problems.length) return data.problems.map((p) => p.message).join("; ");
  return data.error || data.message || data.detail || JSON.stringify(data);
}

function where(p) {
  if (!p.file) return "";
  return [p.file, p.line, p.col].filter((x) => x !== null && x !== undefined && x !== "").join(":");
}

function stageById(id) {
  return state.doc ? state.doc.stages.find((st) => st.id === id) : undefined;
}

function pluginFor(kind, type) {
  return ((state.plugins && state.plugins[kind]) || []).find((p) => p.type === type);
}

function uniqueName(base) {
  const taken = new Set((state.doc ? state.doc.stages : []).map((st) => st.id));
  const stem = base.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([^A-Za-z_])/, "_$1");
  for (let n = 1; ; n += 1) {
    const name = `${stem}_${n}`;
    if (!taken.has(name)) return name;
  }
}

// ---------------------------------------------------------------- routing

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const file = params.get("pipeline");
  if (file) openPipeline(file, params.get("env"));
  else showProject();
}

function go(file) {
  const params = new URLSearchParams();
  if (file) params.set("pipeline", file);
  location.hash = params.toString();
}

// ---------------------------------------------------------------- project view

async function loadProject() {
  const { status, data } = await api("GET", "/api/project");
  if (status !== 200) {
    say(`Could not read the project: ${errorText(data)}`, "error");
    return false;
  }
  state.project = data;
  $("project-name").textContent = data.name ? `— ${data.name}` : "";
  const env = $("env");
  env.replaceChildren(...(data.envs || []).map((e) => h("option", { value: e, text: e })));
  return true;
}

async function showProject() {
  stopPolling();
  $("pipeline-view").hidden = true;
  $("project-view").hidden = false;
  $("crumb").textContent = "";
  document.title = "etl-cli studio";
  if (!(await loadProject())) return;
  renderPipelines();
  renderDag();
}

function runLabel(run) {
  if (!run) return h("span", { class: "run never", text: "never run" });
  const when = run.finished || run.started || "";
  return h(
    "span",
    { class: `run ${run.status}`, title: `run ${run.run_id}` },
    h("span", { class: "badge", text: run.status }),
    ` ${when.replace("T", " ").replace(/\.\d+/, "")}`,
    run.exit_code !== null && run.exit_code !== undefined ? ` (exit ${run.exit_code})` : "",
  );
}

function renderPipelines() {
  const pipelines = state.project.pipelines || [];
  $("no-pipelines").hidden = pipelines.length > 0;
  $("pipelines").hidden = pipelines.length === 0;
  $("pipelines").tBodies[0].replaceChildren(
    ...pipelines.map((p) =>
      h(
        "tr",
        { "data-pipeline": p.name },
        h("th", { scope: "row", text: p.name }),
        h("td", {}, h("code", { text: p.file })),
        h("td", {}, runLabel(p.last_run)),
        h("td", {}, h("a", { href: `#${new URLSearchParams({ pipeline: p.file })}`, "aria-label": `Open ${p.name}`, text: "Open" })),
      ),
    ),
  );
}

// layered drawing: a pipeline's column is the length of the longest chain of pipelines before it
function layers(nodes, edges) {
  const before = new Map(nodes.map((n) => [n, []]));
  for (const e of edges) if (before.has(e.to) && before.has(e.from)) before.get(e.to).push(e.from);
  const depth = new Map();
  const visit = (n, seen) => {
    if (depth.has(n)) return depth.get(n);
    if (seen.has(n)) return 0; // a cycle: validation reports it; draw it anyway
    seen.add(n);
    const d = Math.max(-1, ...before.get(n).map((m) => visit(m, seen))) + 1;
    depth.set(n, d);
    return d;
  };
  for (const n of nodes) visit(n, new Set());
  return depth;
}

function renderDag() {
  const svg = $("dag");
  const dag = state.project.dag;
  const nodes = dag ? dag.nodes : [];
  $("no-dag").hidden = nodes.length > 0;
  svg.hidden = nodes.length === 0;
  svg.replaceChildren();
  if (!nodes.length) return;
  const depth = layers(nodes.map((n) => n.id), dag.edges);
  const rows = new Map();
  const box = {};
  const W = 170, H = 44, GX = 90, GY = 26;
  for (const n of nodes) {
    const col = depth.get(n.id);
    const row = rows.get(col) || 0;
    rows.set(col, row + 1);
    box[n.id] = { x: 20 + col * (W + GX), y: 20 + row * (H + GY), w: W, h: H };
  }
  const width = Math.max(...Object.values(box).map((b) => b.x + b.w)) + 20;
  const height = Math.max(...Object.values(box).map((b) => b.y + b.h)) + 20;
  setAttrs(svg, { viewBox: `0 0 ${width} ${height}`, width, height });
  svg.append(arrowMarker("dag-arrow"));
  for (const e of dag.edges) {
    const a = box[e.from], b = box[e.to];
    if (!a || !b) continue;
    svg.append(s("path", { class: "edge", d: curve(a, b), "marker-end": "url(#dag-arrow)" }, s("title", { text: `${e.from} → ${e.to}: ${e.why || ""}` })));
  }
  const byName = new Map((state.project.pipelines || []).map((p) => [p.file, p]));
  for (const n of nodes) {
    const b = box[n.id];
    const last = byName.get(n.file)?.last_run;
    svg.append(
      s(
        "a",
        { href: `#${new URLSearchParams({ pipeline: n.file })}`, class: `dag-node ${last ? last.status : "never"}`, "data-name": n.id },
        s("title", { text: `${n.id} (${n.file}): ${last ? last.status : "never run"}` }),
        s("rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx: 6 }),
        s("text", { x: b.x + 10, y: b.y + 19, class: "name", text: n.id }),
        s("text", { x: b.x + 10, y: b.y + 35, class: "sub", text: last ? last.status : "never run" }),
      ),
    );
  }
}

async function createPipeline(event) {
  event.preventDefault();
  const input = $("new-name");
  if (!input.reportValidity()) return;
  say(`Creating ${input.value}…`);
  const { status, data } = await api("POST", "/api/pipeline/new", { name: input.value, template: null });
  if (status !== 200 && status !== 201) {
    say(`Could not create the pipeline: ${errorText(data)}`, "error");
    return;
  }
  input.value = "";
  state.project = null; // read again: the new pipeline is one of them now
  say(`Created ${data.file}`);
  go(data.file);
}

// ---------------------------------------------------------------- pipeline view

async function openPipeline(file, env) {
  if (!state.project && !(await loadProject())) return;
  if (!state.plugins) {
    const { status, data } = await api("GET", "/api/plugins");
    if (status !== 200) {
      say(`Could not read the plug-in types: ${errorText(data)}`, "error");
      return;
    }
    state.plugins = data;
    renderPalette();
  }
  const entry = (state.project.pipelines || []).find((p) => p.file === file);
  if (state.file !== file) {
    state.file = file;
    state.edits = [];
    state.selected = null;
    state.positions = {};
    $("inspect-panel").hidden = true;
    $("run-panel").hidden = true;
  }
  state.env = env || state.env || (entry && entry.env_default) || (state.project.envs || [])[0] || "dev";
  $("env").value = state.env;
  $("project-view").hidden = true;
  $("pipeline-view").hidden = false;
  $("crumb").textContent = `› ${entry ? entry.name : file}`;
  $("pipeline-heading").textContent = entry ? entry.name : file;
  document.title = `${entry ? entry.name : file} — etl-cli studio`;
  await check();
}

async function check() {
  const ticket = ++state.checking;
  const body = { file: state.file, env: state.env, edits: state.edits };
  const { status, data } =
    state.edits.length === 0
      ? await api("GET", `/api/pipeline?${new URLSearchParams({ file: state.file, env: state.env })}`)
      : await api("POST", "/api/pipeline/check", body);
  if (ticket !== state.checking) return false; // a later edit's answer wins
  if (status !== 200) {
    return { error: errorText(data) };
  }
  state.doc = data;
  if (state.selected && !stageById(state.selected)) state.selected = null;
  renderPipeline();
  return true;
}

// Apply one edit: checked by the server with all the unsaved ones; refused edits are taken back.
async function edit(op) {
  state.edits.push(op);
  say("Checking…");
  const result = await check();
  const refusal = result === true ? refusedEdit(state.doc.problems) : null;
  if ((result && result.error) || refusal) {
    // the server applies no edit after a refused one: take it back, say why, and draw the pipeline without it
    state.edits.pop();
    if (refusal) await check();
    say(`Edit refused: ${result.error || refusal.message}${refusal && refusal.hint ? ` (${refusal.hint})` : ""}`, "error");
    renderDirty();
    return false;
  }
  const errors = state.doc.problems.filter((p) => p.severity === "error").length;
  say(errors ? `Checked: ${errors} error${errors > 1 ? "s" : ""}` : "Checked: no errors");
  return true;
}

// an edit the server would not apply (a literal secret, a stage name taken): a problem with no place in a file
function refusedEdit(problems) {
  return problems.find((p) => p.code === "studio-edit" || (p.code === "literal-credential" && !p.file)) || null;
}

function renderPipeline() {
  // redrawing replaces the form: the field being typed in keeps its text, its caret and the focus
  const active = document.activeElement;
  const focused = active && active.id;
  const typing = active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA") && active.type !== "checkbox";
  const text = typing ? active.value : null;
  const caret = typing ? [active.selectionStart, active.selectionEnd] : null;
  renderGraph();
  renderProblems();
  renderForms();
  renderStagePanel();
  renderYaml();
  renderDirty();
  const again = focused && $(focused);
  if (again && again !== active) {
    if (typing && text !== null && "value" in again) {
      again.value = text;
      try {
        again.setSelectionRange(caret[0], caret[1]);
      } catch {
        // number inputs have no selection
      }
    }
    again.focus();
  }
}

function renderDirty() {
  const n = state.edits.length;
  $("dirty").textContent = n ? `${n} unsaved edit${n > 1 ? "s" : ""}` : "saved";
  $("dirty").className = n ? "dirty" : "clean";
  $("save").disabled = n === 0;
  $("discard").disabled = n === 0;
}

// ---------------------------------------------------------------- the stage graph

function arrowMarker(id) {
  return s(
    "defs",
    {},
    s("marker", { id, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" })),
  );
}

function curve(a, b) {
  const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
  const dx = Math.max(40, (x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
}

function boxes() {
  const layout = state.doc.layout || {};
  const out = {};
  let fallbackRow = 0;
  for (const st of state.doc.stages) {
    const placed = layout[st.id] || { x: 20, y: 20 + 90 * fallbackRow++, w: 170, h: 56 };
    const moved = state.positions[st.id];
    out[st.id] = moved ? { ...placed, x: moved.x, y: moved.y } : { ...placed };
  }
  return out;
}

// a stage's problems, errors first (the first one is written under the stage on the canvas)
function stageProblems(id) {
  const mine = state.doc.problems.filter((p) => p.stage === id);
  return [...mine.filter((p) => p.severity === "error"), ...mine.filter((p) => p.severity !== "error")];
}

function renderGraph() {
  const svg = $("canvas");
  const box = boxes();
  const all = Object.values(box);
  const width = Math.max(600, ...all.map((b) => b.x + b.w + 160));
  const height = Math.max(360, ...all.map((b) => b.y + b.h + 50));
  setAttrs(svg, { viewBox: `0 0 ${width} ${height}`, width, height });
  svg.replaceChildren(arrowMarker("arrow"));
  const edges = s("g", { class: "edges" });
  for (const e of state.doc.edges) {
    const a = box[e.from], b = box[e.to];
    if (!a || !b) continue;
    edges.append(
      s("path", { class: "edge", d: curve(a, b), "marker-end": "url(#arrow)", "data-from": e.from, "data-to": e.to }, s("title", { text: `${e.from} → ${e.to}` })),
    );
  }
  svg.append(edges);
  for (const st of state.doc.stages) svg.append(stageNode(st, box[st.id]));
  svg.append(s("path", { id: "wire", class: "wire", d: "" }));
}

function stageNode(st, b) {
  const problems = stageProblems(st.id);
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  const classes = ["stage", st.kind];
  if (errors) classes.push("has-error");
  else if (warnings) classes.push("has-warning");
  if (st.id === state.selected) classes.push("selected");
  const count = problems.length ? `, ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}` : "";
  const g = s("g", {
    class: classes.join(" "),
    "data-stage": st.id,
    tabindex: 0,
    role: "button",
    "aria-pressed": st.id === state.selected ? "true" : "false",
    "aria-label": `${st.kind} ${st.id}, type ${st.type}${count}`,
    transform: `translate(${b.x},${b.y})`,
  });
  g.append(
    s("title", { text: [`${st.kind} ${st.id} (${st.type})`, ...problems.map((p) => `${p.severity}: ${p.message} (${where(p)})`)].join("\n") }),
    s("rect", { class: "body", width: b.w, height: b.h, rx: 8 }),
    s("rect", { class: "band", width: 6, height: b.h, rx: 3 }),
    s("text", { x: 14, y: 20, class: "name", text: clip(st.id, Math.floor((b.w - 20) / 7.5)) }),
    s("text", { x: 14, y: 37, class: "sub", text: clip(`${st.kind} · ${st.type}`, Math.floor((b.w - 20) / 6.2)) }),
  );
  if (problems.length) {
    const first = problems[0];
    g.append(
      s(
        "g",
        { class: "badge", transform: `translate(${b.w - 12},-6)` },
        s("circle", { r: 11 }),
        s("text", { y: 4, "text-anchor": "middle", text: String(problems.length) }),
      ),
      s("text", { x: 0, y: b.h + 15, class: "problem-text", text: clip(first.message, 48) }),
      s("text", { x: 0, y: b.h + 29, class: "problem-where", text: clip(where(first) + (problems.length > 1 ? ` (+${problems.length - 1} more)` : ""), 48) }),
    );
  }
  if (st.kind !== "source") g.append(s("circle", { class: "handle in", cx: 0, cy: b.h / 2, r: 6 }));
  if (st.kind !== "sink") {
    const handle = s("circle", { class: "handle out", cx: b.w, cy: b.h / 2, r: 7, "data-stage": st.id });
    handle.append(s("title", { text: `drag to connect ${st.id} to another stage` }));
    handle.addEventListener("pointerdown", (ev) => startWire(ev, st.id, b));
    g.append(handle);
  }
  g.addEventListener("click", (ev) => {
    if (!ev.target.classList.contains("out")) select(st.id);
  });
  g.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      select(st.id, true);
    }
  });
  return g;
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function svgPoint(svg, ev) {
  const pt = svg.createSVGPoint();
  pt.x = ev.clientX;
  pt.y = ev.clientY;
  return pt.matrixTransform(svg.getScreenCTM().inverse());
}

// dragging from a stage's output handle draws a wire; releasing it over another stage connects the two
function startWire(ev, from, b) {
  ev.preventDefault();
  ev.stopPropagation();
  const svg = $("canvas");
  const wire = $("wire");
  const x1 = b.x + b.w, y1 = b.y + b.h / 2;
  const move = (e) => {
    const p = svgPoint(svg, e);
    wire.setAttribute("d", `M${x1},${y1} L${p.x},${p.y}`);
  };
  const up = async (e) => {
    window.removeEventListener("pointermove", move);
    window.removeEventListener("pointerup", up);
    wire.setAttribute("d", "");
    const target = document.elementFromPoint(e.clientX, e.clientY)?.closest("g.stage");
    const to = target && target.dataset.stage;
    if (!to || to === from) return;
    await connect(from, to);
  };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up);
}

async function connect(from, to) {
  const target = stageById(to);
  if (target && target.kind === "source") {
    say(`${to} is a source: it takes no input`, "error");
    return;
  }
  if (target && target.inputs.includes(from)) {
    say(`${from} already feeds ${to}`, "error");
    return;
  }
  await edit({ op: "connect", from, to });
}

function select(id, focusPanel = false) {
  state.selected = id;
  for (const g of $("canvas").querySelectorAll("g.stage")) {
    const on = g.dataset.stage === id;
    g.classList.toggle("selected", on);
    g.setAttribute("aria-pressed", on ? "true" : "false");
  }
  renderStagePanel();
  if (focusPanel) $("stage-heading").focus();
}

// ---------------------------------------------------------------- palette and the add / connect forms

function renderPalette() {
  const lists = $("palette-lists");
  lists.replaceChildren(
    ...KINDS.map((kind) =>
      h(
        "section",
        { class: `palette-kind ${kind}` },
        h("h4", { text: `${kind}s` }),
        h(
          "ul",
          {},
          (state.plugins[kind] || []).map((p) =>
            h(
              "li",
              {},
              h("button", {
                type: "button",
                class: `palette-item ${kind}`,
                draggable: "true",
                "data-kind": kind,
                "data-type": p.type,
                title: p.doc || "",
                "aria-label": `${kind} ${p.type}: add with the form`,
                text: p.type,
                ondragstart: (ev) => {
                  ev.dataTransfer.setData("application/x-etl-stage", JSON.stringify({ kind, type: p.type }));
                  ev.dataTransfer.effectAllowed = "copy";
                },
                onclick: () => prefillAdd(kind, p.type),
              }),
            ),
          ),
        ),
      ),
    ),
  );
  // one Tab stop for the whole palette: the arrow keys, Home and End move between its types
  const items = [...lists.querySelectorAll(".palette-item")];
  items.forEach((item, i) => {
    item.tabIndex = i === 0 ? 0 : -1;
    item.addEventListener("keydown", (ev) => {
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[ev.key];
      const to = step ? i + step : ev.key === "Home" ? 0 : ev.key === "End" ? items.length - 1 : null;
      if (to === null || to < 0 || to >= items.length) return;
      ev.preventDefault();
      item.tabIndex = -1;
      items[to].tabIndex = 0;
      items[to].focus();
    });
  });
  fillTypes();
}

function prefillAdd(kind, type) {
  $("add-kind").value = kind;
  fillTypes();
  $("add-type").value = type;
  $("add-name").value = uniqueName(type);
  $("add-name").focus();
  $("add-name").select();
}

function fillTypes() {
  const kind = $("add-kind").value;
  $("add-type").replaceChildren(...(state.plugins[kind] || []).map((p) => h("option", { value: p.type, text: p.type })));
  $("add-input").disabled = kind === "source";
}

function renderForms() {
  const keep = (select, options) => {
    const value = select.value;
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === value)) select.value = value;
  };
  keep($("add-input"), [h("option", { value: "", text: "(none)" }), ...state.doc.stages.filter((st) => st.kind !== "sink").map((st) => h("option", { value: st.id, text: st.id }))]);
  keep($("connect-from"), state.doc.stages.filter((st) => st.kind !== "sink").map((st) => h("option", { value: st.id, text: st.id })));
  keep($("connect-to"), state.doc.stages.filter((st) => st.kind !== "source").map((st) => h("option", { value: st.id, text: st.id })));
}

async function addStage(kind, type, name, inputs, position) {
  if (stageById(name)) {
    say(`There is already a stage named ${name}`, "error");
    return false;
  }
  if (position) state.positions[name] = position;
  const ok = await edit({ op: "add_stage", kind, name, type, options: {}, inputs });
  if (ok) select(name);
  else delete state.positions[name];
  return ok;
}

async function submitAdd(event) {
  event.preventDefault();
  const name = $("add-name");
  if (!name.reportValidity()) return;
  const kind = $("add-kind").value;
  const input = $("add-input").value;
  const ok = await addStage(kind, $("add-type").value, name.value, kind !== "source" && input ? [input] : []);
  if (ok) {
    name.value = "";
    const g = $("canvas").querySelector(`g.stage[data-stage="${CSS.escape(state.selected)}"]`);
    if (g) g.focus();
  }
}

function dropOnCanvas(ev) {
  ev.preventDefault();
  const raw = ev.dataTransfer.getData("application/x-etl-stage");
  if (!raw) return;
  const { kind, type } = JSON.parse(raw);
  const p = svgPoint($("canvas"), ev);
  addStage(kind, type, uniqueName(type), [], { x: Math.max(10, p.x - 80), y: Math.max(10, p.y - 28) });
}

// ---------------------------------------------------------------- the stage panel and its option form

function renderStagePanel() {
  const st = state.selected && stageById(state.selected);
  $("no-stage").hidden = Boolean(st);
  $("stage-detail").hidden = !st;
  if (!st) {
    $("stage-heading").textContent = "Stage";
    return;
  }
  $("stage-heading").textContent = `Stage ${st.id}`;
  $("stage-heading").tabIndex = -1;
  const origin = st.origin && st.origin.file ? where(st.origin) : "not saved yet";
  $("stage-meta").replaceChildren(
    h("span", { class: `kind ${st.kind}`, text: st.kind }),
    ` ${st.type} · `,
    h("code", { text: origin }),
    st.inputs.length ? h("span", {}, " · inputs: ", st.inputs.join(", ")) : "",
  );
  $("stage-problems").replaceChildren(...stageProblems(st.id).map((p) => problemItem(p, false)));
  if (document.activeElement !== $("rename-name")) $("rename-name").value = st.id;
  renderOptionForm(st);
}

function schemaOf(plugin) {
  const schema = (plugin && plugin.schema) || {};
  if (schema.properties && typeof schema.properties === "object") return { properties: schema.properties, required: schema.required || [] };
  return { properties: schema, required: (plugin && plugin.required) || [] };
}

function typesOf(schema) {
  if (schema.enum) return ["enum"];
  const t = schema.type;
  return Array.isArray(t) ? t : t ? [t] : [];
}

function isSecret(key, schema) {
  if (schema["x-secret"] || schema.secret || schema.writeOnly || schema.format === "secret") return true;
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  return SECRET_WORDS.some((w) => {
    const parts = w.split("_");
    return words.length >= parts.length && words.slice(-parts.length).join("_") === w;
  });
}

// the keys a stage's form leaves to other controls: its name (Rename), type (fixed) and inputs (connect)
const STRUCTURE_KEYS = new Set(["name", "type", "input", "inputs"]);

// keys every type of a kind has (description, sensitive, retry...): shown after the type's own options
function commonKeys(kind) {
  const all = ((state.plugins && state.plugins[kind]) || []).map((p) => Object.keys(schemaOf(p).properties));
  if (!all.length) return new Set();
  return new Set(all[0].filter((key) => all.every((keys) => keys.includes(key))));
}

function renderOptionForm(st) {
  const form = $("options");
  const { properties, required } = schemaOf(pluginFor(st.kind, st.type));
  const values = st.options || {};
  const common = commonKeys(st.kind);
  const keys = Object.keys(properties).filter((key) => !STRUCTURE_KEYS.has(key));
  const own = keys.filter((key) => required.includes(key) || !common.has(key));
  own.sort((a, b) => Number(required.includes(b)) - Number(required.includes(a)));
  const shared = keys.filter((key) => !own.includes(key));
  const make = (key) => field(st, [key], properties[key], values[key], required.includes(key));
  const children = [h("h4", { text: `Options of ${st.type}` }), ...own.map(make)];
  if (!own.length) children.push(h("p", { class: "hint", text: `${st.type} has no options of its own.` }));
  if (shared.length) {
    const open = state.commonOpen || shared.some((key) => values[key] !== undefined);
    const details = h("details", { class: "common", open }, h("summary", { text: `Settings every ${st.kind} has` }), ...shared.map(make));
    details.addEventListener("toggle", () => {
      state.commonOpen = details.open;
    });
    children.push(details);
  }
  form.replaceChildren(...children);
}

function fieldId(st, path) {
  return `opt-${[st.id, ...path].join("-").replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

function field(st, path, schema, value, required) {
  const id = fieldId(st, path);
  const key = path[path.length - 1];
  const types = typesOf(schema);
  const wrap = h("div", { class: "field", "data-option": path.join(".") });
  const descId = `${id}-desc`;
  const errId = `${id}-err`;
  const label = h("label", { for: id }, key, required ? h("span", { class: "req", "aria-hidden": "true", text: " *" }) : "");
  const description = schema.description ? h("small", { id: descId, text: schema.description }) : null;
  const error = h("span", { id: errId, class: "field-error", role: "alert" });
  const described = [schema.description ? descId : null, errId].filter(Boolean).join(" ");
  const send = (v) => edit({ op: "set_option", stage: st.id, path, value: v });
  const fail = (input, message) => {
    error.textContent = message;
    input.setAttribute("aria-invalid", "true");
  };
  const common = { id, name: path.join("."), "aria-describedby": described, "aria-required": required ? "true" : null };

  // a nested block of named settings (s3, retry): its own fields, folded away while none is set
  if (schema.properties && (types.length === 0 || (types.length === 1 && types[0] === "object"))) {
    const set = h(
      "details",
      { class: "nested", "data-option": path.join("."), open: value !== undefined && value !== null },
      h("summary", {}, key, required ? h("span", { class: "req", "aria-hidden": "true", text: " *" }) : ""),
      description,
    );
    for (const [sub, subSchema] of Object.entries(schema.properties)) {
      const subValue = value && typeof value === "object" ? value[sub] : undefined;
      set.append(field(st, [...path, sub], subSchema, subValue, (schema.required || []).includes(sub)));
    }
    return set;
  }

  let input;
  if (isSecret(key, schema) && types.every((t) => t === "string")) {
    input = h("input", { ...common, type: "text", class: "secret", value: value ?? "", placeholder: "${secret:provider:path#key}", autocomplete: "off", spellcheck: "false" });
    input.addEventListener("change", () => {
      const v = input.value.trim();
      if (v && !SECRET_REF.test(v)) {
        fail(input, "Secrets are entered only as a reference: ${secret:provider:path#key} or ${secret:env:VAR}.");
        return;
      }
      send(v || null);
    });
    wrap.classList.add("secret");
  } else if (types[0] === "enum") {
    input = h("select", common, h("option", { value: "", text: schema.default !== undefined ? `(default: ${schema.default})` : "(not set)" }), ...schema.enum.map((e) => h("option", { value: String(e), text: String(e) })));
    input.value = value === undefined || value === null ? "" : String(value);
    input.addEventListener("change", () => {
      const chosen = schema.enum.find((e) => String(e) === input.value);
      send(input.value === "" ? null : chosen);
    });
  } else if (types.length === 1 && types[0] === "boolean") {
    input = h("input", { ...common, type: "checkbox" });
    input.checked = value === undefined || value === null ? Boolean(schema.default) : Boolean(value);
    input.addEventListener("change", () => send(input.checked));
    wrap.classList.add("check");
  } else if (types.length && types.every((t) => t === "integer" || t === "number")) {
    input = h("input", { ...common, type: "number", step: types.includes("number") ? "any" : "1", min: schema.minimum, max: schema.maximum, value: value ?? "" });
    input.addEventListener("change", () => {
      if (input.value === "") return send(null);
      const n = Number(input.value);
      if (!Number.isFinite(n) || (!types.includes("number") && !Number.isInteger(n))) return fail(input, "Enter a whole number.");
      return send(n);
    });
  } else if (isStringList(schema, types)) {
    // one item a line; with a plain string allowed too (a csv source's path), a single line stays a string
    const lines = Array.isArray(value) ? value : value === undefined || value === null ? [] : [String(value)];
    input = h("textarea", { ...common, rows: Math.max(2, lines.length + 1), class: "lines", spellcheck: "false" });
    input.value = lines.join("\n");
    const hint = h("small", { class: "how", text: "One per line." });
    input.addEventListener("change", () => {
      const items = input.value.split("\n").map((x) => x.trim()).filter(Boolean);
      if (!items.length) return send(null);
      return send(types.includes("string") && items.length === 1 ? items[0] : items);
    });
    wrap.append(label, input, hint, description, error);
    return wrap;
  } else if (types.length && types.every((t) => t === "string" || t === "integer" || t === "number")) {
    input = h("input", { ...common, type: "text", value: value ?? "", spellcheck: "false", autocomplete: "off" });
    input.addEventListener("change", () => {
      const v = input.value;
      if (v === "") return send(null);
      if (!types.includes("string")) return send(Number(v));
      if (types.length > 1 && v.trim() !== "" && Number.isFinite(Number(v))) return send(Number(v));
      return send(v);
    });
  } else if (isScalarMap(schema, types, value)) {
    // name: value lines (derive's columns, a declared schema, reader options)
    input = h("textarea", { ...common, rows: Math.max(2, Object.keys(value || {}).length + 1), class: "lines", spellcheck: "false" });
    input.value = Object.entries(value || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
    const hint = h("small", { class: "how", text: "One name: value a line." });
    input.addEventListener("change", () => {
      const out = {};
      for (const line of input.value.split("\n")) {
        if (!line.trim()) continue;
        const at = line.indexOf(":");
        if (at < 1) return fail(input, `Write name: value, not "${line.trim()}".`);
        const raw = line.slice(at + 1).trim();
        const valueTypes = typesOf(schema.additionalProperties || {});
        out[line.slice(0, at).trim()] = !valueTypes.includes("string") && raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
      }
      return send(Object.keys(out).length ? out : null);
    });
    wrap.append(label, input, hint, description, error);
    return wrap;
  } else {
    // anything else (nested lists of settings): JSON
    // (where a plain string is allowed too, text not starting with { or [ is that string)
    const plain = types.includes("string");
    input = h("textarea", { ...common, rows: 3, class: "json", spellcheck: "false" });
    input.value = value === undefined || value === null ? "" : plain && typeof value === "string" ? value : JSON.stringify(value, null, 1);
    const hint = h("small", { class: "how", text: plain ? "Text, or JSON for a block of settings." : "JSON." });
    input.addEventListener("change", () => {
      const text = input.value.trim();
      if (!text) return send(null);
      if (plain && !/^[[{]/.test(text)) return send(text);
      try {
        return send(JSON.parse(text));
      } catch (err) {
        return fail(input, `Not JSON: ${err.message}`);
      }
    });
    wrap.append(label, input, hint, description, error);
    return wrap;
  }
  if (input.type === "checkbox") wrap.append(input, label, description, error);
  else wrap.append(label, input, description, error);
  return wrap;
}

function isStringList(schema, types) {
  if (!types.includes("array")) return false;
  if (!types.every((t) => t === "array" || t === "string")) return false;
  const items = schema.items || {};
  const itemTypes = typesOf(items);
  return itemTypes.length === 1 && itemTypes[0] === "string";
}

function isScalarMap(schema, types, value) {
  if (!types.includes("object") || schema.properties) return false;
  if (types.length > 1 && (value === undefined || typeof value !== "object")) return false;
  const add = schema.additionalProperties;
  if (!add || typeof add !== "object") return false;
  const inner = typesOf(add);
  return inner.length > 0 && inner.every((t) => ["string", "number", "integer", "boolean"].includes(t));
}

// ---------------------------------------------------------------- problems

function problemItem(p, showLink = true) {
  const item = h(
    "li",
    { class: `problem ${p.severity}`, "data-stage": p.stage || "", "data-code": p.code || "" },
    h("span", { class: "sev", text: p.severity }),
    " ",
    p.file ? h("code", { class: "where", text: where(p) }) : "",
    " ",
    h("span", { class: "message", text: p.message }),
    p.hint ? h("span", { class: "hint", text: ` — ${p.hint}` }) : "",
  );
  if (showLink && p.stage && stageById(p.stage)) {
    item.append(" ", h("button", { type: "button", class: "link", text: `Show ${p.stage}`, onclick: () => select(p.stage, true) }));
  }
  return item;
}

function renderProblems(problems = state.doc.problems) {
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  $("problems").replaceChildren(...(problems.length ? problems.map((p) => problemItem(p)) : [h("li", { class: "none", text: "No problems." })]));
  $("problem-count").textContent = `(${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"})`;
  const summary = problems.length
    ? `${errors} errors, ${warnings} warnings: ${problems.slice(0, 3).map((p) => `${p.stage ? `${p.stage}: ` : ""}${p.message}`).join("; ")}`
    : "No problems.";
  if (summary !== state.lastAnnounced) {
    $("problems-live").textContent = summary;
    state.lastAnnounced = summary;
  }
}

function renderYaml() {
  const files = state.doc.yaml || {};
  $("yaml-files").replaceChildren(
    ...Object.entries(files).map(([name, text]) => h("figure", {}, h("figcaption", {}, h("code", { text: name })), h("pre", { text }))),
  );
}

// ---------------------------------------------------------------- save

async function save() {
  if (!state.edits.length) return;
  say("Saving…");
  const { status, data } = await api("POST", "/api/pipeline/save", { file: state.file, env: state.env, edits: state.edits });
  if (status === 409) {
    renderProblems(data.problems || []);
    const n = (data.problems || []).filter((p) => p.severity === "error").length;
    say(`Not saved: the pipeline would be invalid (${n} error${n === 1 ? "" : "s"}, listed below).`, "error");
    return;
  }
  if (status !== 200) {
    say(`Not saved: ${errorText(data)}`, "error");
    return;
  }
  state.edits = [];
  state.positions = {};
  if (data.stages) {
    state.doc = data;
    renderPipeline();
  } else {
    await check();
  }
  say(`Saved ${(data.written || []).join(", ") || "nothing (no change)"}`);
}

async function discard() {
  state.edits = [];
  state.positions = {};
  await check();
  say("Edits discarded");
}

// ---------------------------------------------------------------- inspect

async function inspect() {
  const stage = state.selected;
  if (!stage) return;
  const panel = $("inspect-panel");
  panel.hidden = false;
  $("inspect-heading").textContent = `Inspect ${stage}`;
  $("inspect-result").replaceChildren();
  const note = state.edits.length ? " (the saved pipeline: save to inspect your edits)" : "";
  $("inspect-status").textContent = `Reading a sample of ${stage} on local Spark${note}… the first time starts Spark and takes a while.`;
  $("inspect").disabled = true;
  panel.setAttribute("aria-busy", "true");
  const { status, data } = await api("POST", "/api/inspect", { file: state.file, env: state.env, stage, limit: 20 });
  $("inspect").disabled = false;
  panel.removeAttribute("aria-busy");
  if (status !== 200) {
    $("inspect-status").textContent = `Could not inspect ${stage}: ${errorText(data)}`;
    return;
  }
  const masked = new Set(data.masked || []);
  const sampled = data.sampled ? ` (from a sample of ${data.sampled} rows of each source)` : "";
  $("inspect-status").textContent = `${data.stage}: ${data.count} row${data.count === 1 ? "" : "s"}${sampled}, showing ${data.rows.length}${note}.`;
  const schema = h(
    "table",
    { class: "grid schema", id: "inspect-schema" },
    h("caption", { text: "Schema" }),
    h("thead", {}, h("tr", {}, ["Column", "Type", "Nullable", "Masked"].map((t) => h("th", { scope: "col", text: t })))),
    h(
      "tbody",
      {},
      data.schema.map((c) =>
        h("tr", { class: masked.has(c.name) ? "masked" : null }, h("th", { scope: "row", text: c.name }), h("td", { text: typeof c.type === "string" ? c.type : JSON.stringify(c.type) }), h("td", { text: c.nullable ? "yes" : "no" }), h("td", { text: masked.has(c.name) ? "masked" : "" })),
      ),
    ),
  );
  const columns = data.schema.map((c) => c.name);
  const rows = h(
    "table",
    { class: "grid sample", id: "inspect-rows" },
    h("caption", { text: `Sample rows (${data.rows.length} of ${data.count})` }),
    h(
      "thead",
      {},
      h("tr", {}, columns.map((c) => h("th", { scope: "col", class: masked.has(c) ? "masked" : null, title: masked.has(c) ? "sensitive: masked" : null }, c, masked.has(c) ? h("span", { class: "mask-tag", text: " (masked)" }) : ""))),
    ),
    h(
      "tbody",
      {},
      data.rows.map((r) => h("tr", {}, columns.map((c) => h("td", { class: [masked.has(c) ? "masked" : "", r[c] === null ? "null" : ""].join(" ").trim() || null, text: cell(r[c]) })))),
    ),
  );
  $("inspect-result").replaceChildren(schema, h("div", { class: "scroll" }, rows));
}

function cell(v) {
  if (v === null || v === undefined) return "null";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

// ---------------------------------------------------------------- run

function stopPolling() {
  if (state.runTimer) clearTimeout(state.runTimer);
  state.runTimer = null;
}

async function run() {
  stopPolling();
  const panel = $("run-panel");
  panel.hidden = false;
  $("run-summary").replaceChildren();
  $("run-stages").tBodies[0].replaceChildren();
  const note = state.edits.length ? " (the saved pipeline: your unsaved edits are not part of it)" : "";
  $("run-status").textContent = `Starting a run in ${state.env}${note}…`;
  $("run").disabled = true;
  const { status, data } = await api("POST", "/api/run", { file: state.file, env: state.env, params: {} });
  if (status !== 200 && status !== 201 && status !== 202) {
    $("run").disabled = false;
    $("run-status").textContent = `Could not start the run: ${errorText(data)}`;
    return;
  }
  poll(data.run_id, note);
}

async function poll(runId, note) {
  const { status, data } = await api("GET", `/api/run/${encodeURIComponent(runId)}`);
  if (status !== 200) {
    $("run").disabled = false;
    $("run-status").textContent = `Lost the run ${runId}: ${errorText(data)}`;
    return;
  }
  renderRun(data, note);
  if (data.status === "running") state.runTimer = setTimeout(() => poll(runId, note), POLL_MS);
  else $("run").disabled = false;
}

function renderRun(data, note) {
  const panel = $("run-panel");
  panel.dataset.status = data.status;
  $("run-status").textContent =
    data.status === "running" ? `Run ${data.run_id} running${note}…` : `Run ${data.run_id} ${data.status} (exit code ${data.exit_code})${note}.`;
  $("run-stages").tBodies[0].replaceChildren(
    ...(data.stages || []).map((st) =>
      h(
        "tr",
        { class: `run-stage ${st.status}`, "data-stage": st.name },
        h("th", { scope: "row", text: st.name }),
        h("td", {}, h("span", { class: "badge", text: st.status })),
        h("td", { class: "num", text: st.rows_in ?? "" }),
        h("td", { class: "num", text: st.rows_out ?? "" }),
        h("td", { class: "num", text: st.duration_s === null || st.duration_s === undefined ? "" : Number(st.duration_s).toFixed(1) }),
      ),
    ),
  );
  const parts = [];
  if (data.log && data.log.length) {
    const log = Array.isArray(data.log) ? data.log.join("\n") : String(data.log);
    parts.push(h("details", { open: data.status === "failed" }, h("summary", { text: "Output" }), h("pre", { text: log })));
  }
  if (data.summary) parts.push(h("details", {}, h("summary", { text: "Run results (JSON)" }), h("pre", { text: JSON.stringify(data.summary, null, 2) })));
  $("run-summary").replaceChildren(...parts);
}

// ---------------------------------------------------------------- start

function wire() {
  $("nav-project").addEventListener("click", () => go(null));
  $("new-pipeline").addEventListener("submit", createPipeline);
  $("env").addEventListener("change", () => {
    state.env = $("env").value;
    if (!$("pipeline-view").hidden) check();
  });
  $("add-kind").addEventListener("change", fillTypes);
  $("add-stage").addEventListener("submit", submitAdd);
  $("connect").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if ($("connect-from").value && $("connect-to").value) connect($("connect-from").value, $("connect-to").value);
  });
  $("disconnect").addEventListener("click", () => {
    const from = $("connect-from").value, to = $("connect-to").value;
    const target = stageById(to);
    if (!target || !target.inputs.includes(from)) {
      say(`${from} does not feed ${to}`, "error");
      return;
    }
    edit({ op: "disconnect", from, to });
  });
  $("rename").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = $("rename-name");
    if (!name.reportValidity() || name.value === state.selected) return;
    const old = state.selected;
    state.selected = name.value;
    if (state.positions[old]) state.positions[name.value] = state.positions[old];
    edit({ op: "rename_stage", name: old, new_name: name.value }).then((ok) => {
      if (!ok) state.selected = old;
      renderStagePanel();
    });
  });
  $("options").addEventListener("submit", (ev) => ev.preventDefault());
  $("remove").addEventListener("click", () => {
    const name = state.selected;
    if (!name) return;
    state.selected = null;
    edit({ op: "remove_stage", name });
  });
  $("inspect").addEventListener("click", inspect);
  $("save").addEventListener("click", save);
  $("discard").addEventListener("click", discard);
  $("run").addEventListener("click", run);
  const canvas = $("canvas-wrap");
  canvas.addEventListener("dragover", (ev) => {
    if ([...ev.dataTransfer.types].includes("application/x-etl-stage")) {
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "copy";
      canvas.classList.add("drop");
    }
  });
  canvas.addEventListener("dragleave", () => canvas.classList.remove("drop"));
  canvas.addEventListener("drop", (ev) => {
    canvas.classList.remove("drop");
    dropOnCanvas(ev);
  });
  window.addEventListener("beforeunload", (ev) => {
    if (state.edits.length) ev.preventDefault();
  });
  window.addEventListener("hashchange", route);
}

wire();
route();
