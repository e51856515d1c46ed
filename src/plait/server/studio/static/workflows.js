// Workflows: the list (new, import), and one workflow's page: the file's text with its problems pinned to the
// nodes as it is typed, the graph drawn from it, save/publish/export, test runs with live node status, answers
// to questions, and the run history with each node's inputs and outputs.
import { call, headers } from "./api.js";
import { field, go, h, toast, when } from "./dom.js";
import { t } from "./i18n.js";
import { drawGraph } from "./graph.js";

const POLL_MS = 400;
const CHECK_MS = 350;

function starter(name) {
  return `version: 1
name: ${JSON.stringify(name)}
description: ""
inputs:
  - {name: text, type: string}
outputs:
  - {name: result, type: string}
nodes:
  - {id: start, type: start}
  - id: end
    type: end
    inputs:
      result: {ref: {node: start, output: text}}
edges:
  - {source: start, target: end}
`;
}

export async function workflowList(root) {
  const found = await call("GET", "/workflows");
  const name = h("input", { type: "text", required: true, maxlength: 200 });
  const create = h("form", { class: "panel", onsubmit: async (event) => {
    event.preventDefault();
    const made = await call("POST", "/workflows", { text: starter(name.value.trim()) }).catch((err) => toast(err.message));
    if (made) go(`#workflow/${made.id}`);
  } }, h("h2", {}, t("wf.new")), h("div", { class: "row" }, field(t("wf.name"), name), h("button", { type: "submit" }, t("wf.create"))));
  const file = h("input", { type: "file", required: true, accept: ".yaml,.yml,.json" });
  const upload = h("form", { class: "panel", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const made = await call("POST", "/workflows/import", { text: await file.files[0].text() });
      toast(t("wf.imported"));
      go(`#workflow/${made.id}`);
    } catch (err) {
      toast(err.message);
    }
  } }, h("h2", {}, t("wf.import")), h("div", { class: "row" }, field(t("wf.file"), file, t("wf.file_hint")), h("button", { type: "submit" }, t("wf.import_button"))));
  root.append(h("h1", {}, t("nav.workflows")), h("div", { class: "split" }, create, upload),
    h("section", { class: "panel" }, found.items.length ? h("table", {},
      h("thead", {}, h("tr", {}, ...["wf.name", "wf.description", "wf.mode", "wf.status", "wf.updated"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, found.items.map((wf) => h("tr", {},
        h("td", {}, h("a", { href: `#workflow/${wf.id}` }, wf.name)), h("td", {}, wf.description), h("td", {}, wf.mode),
        h("td", {}, publishedBadge(wf.published_version)), h("td", {}, when(wf.updated_at))))))
      : h("p", { class: "muted" }, t("wf.none"))));
}

function publishedBadge(published) {
  return h("span", { class: `badge ${published ? "published" : ""}` }, published ? t("agents.published") : t("agents.draft_only"));
}

// A run's node states for the graph; a node not yet finished whose sources all succeeded is the one running.
function nodeStates(run, doc) {
  const states = new Map(run.nodes.map((n) => [n.node_id, n]));
  if (run.status === "running") {
    for (const node of doc.nodes || []) {
      const sources = (doc.edges || []).filter((e) => e.target === node.id).map((e) => states.get(e.source));
      if (!states.has(node.id) && sources.length && sources.every((s) => s && s.status === "success")) {
        states.set(node.id, { status: "running" });
      }
    }
  }
  return states;
}

function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function inputControl(param) {
  if (param.type === "boolean") return h("input", { type: "checkbox", checked: param.default === true });
  if (param.type === "integer" || param.type === "number") return h("input", { type: "number", step: param.type === "number" ? "any" : 1, value: param.default ?? "" });
  if (param.type === "string") return h("input", { type: "text", value: param.default ?? "" });
  return h("textarea", { rows: 2, class: "code" }, param.default === null || param.default === undefined ? "" : JSON.stringify(param.default));
}

function inputValue(param, control) {
  if (param.type === "boolean") return control.checked;
  if (control.value === "") return undefined;
  if (param.type === "integer" || param.type === "number") return Number(control.value);
  if (param.type === "string") return control.value;
  try { return JSON.parse(control.value); } catch { throw new Error(t("wf.bad_json", { name: param.name })); }
}

async function download(workflowId, format) {
  const response = await fetch(`/api/studio/workflows/${workflowId}/export?format=${format}`, { headers: headers() });
  if (!response.ok) throw new Error(response.statusText);
  const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "")?.[1] || `workflow.${format}`;
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}

export async function workflowPage(root, workflowId) {
  const workflow = await call("GET", `/workflows/${workflowId}`);
  let doc = workflow.document;
  let problems = new Map();
  let run = null; // the run the graph shows
  let picked = null;
  let pollTimer = null;
  let checkTimer = null;

  const text = h("textarea", { class: "code editor", rows: 24, spellcheck: false }, workflow.text);
  const problemList = h("ul", { class: "problems", "aria-live": "polite" });
  const graphBox = h("div", { class: "graph-box" });
  const detail = h("div", { class: "node-detail", "aria-live": "polite" });
  const inputsBox = h("div");
  const runStatus = h("p", { class: "status-line", role: "status" });
  const question = h("div", { class: "question" });
  const output = h("div");
  const history = h("tbody");
  const status = h("span", {}, publishedBadge(workflow.published_version));

  function redraw() {
    const states = run ? nodeStates(run, doc) : new Map();
    graphBox.replaceChildren(drawGraph(doc || { nodes: [], edges: [] }, { states, problems, onPick: pick }));
    if (picked) showNode(picked);
  }

  function pick(nodeId) {
    picked = nodeId;
    showNode(nodeId);
  }

  function showNode(nodeId) {
    const node = (doc?.nodes || []).find((n) => n.id === nodeId);
    const done = run?.nodes.filter((n) => n.node_id === nodeId) || [];
    detail.replaceChildren(h("h3", {}, t("wf.node_title", { name: node?.title || nodeId, type: node?.type || "" })),
      ...(problems.get(nodeId) || []).map((message) => h("p", { class: "error" }, message)),
      ...done.map((n) => h("div", {},
        h("p", {}, h("span", { class: `badge ${n.status}` }, t(`wf.node.${n.status}`)), n.duration_ms !== null ? ` ${n.duration_ms} ms` : ""),
        n.error ? h("p", { class: "error" }, n.error) : null,
        h("details", { open: true }, h("summary", {}, t("wf.inputs")), h("pre", {}, pretty(n.inputs))),
        n.outputs !== null ? h("details", { open: true }, h("summary", {}, t("wf.outputs")), h("pre", {}, pretty(n.outputs))) : null)),
      ...(done.length || problems.has(nodeId) ? [] : [h("p", { class: "muted" }, t("wf.node_not_run"))]));
  }

  function renderInputs() {
    const declared = Array.isArray(doc?.inputs) ? doc.inputs.filter((p) => p && p.name) : [];
    const params = declared.map((p) => ({ ...p, type: p.type || "string" })); // a stored file leaves defaults out
    inputsBox.replaceChildren(...params.map((param) => {
      const control = inputControl(param);
      control.dataset.param = param.name;
      return field(`${param.name} (${param.type})`, control, param.description);
    }));
    inputsBox.params = params;
  }

  function pinProblems(found) {
    problems = new Map();
    for (const p of found) if (p.node_id) problems.set(p.node_id, [...(problems.get(p.node_id) || []), p.field ? `${p.field}: ${p.message}` : p.message]);
    problemList.replaceChildren(...found.map((p) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => reveal(p) },
      [p.node_id, p.line ? t("wf.line", { line: p.line }) : null].filter(Boolean).join(" · ") || t("wf.document")), " ", p.field ? `${p.field}: ` : "", p.message)));
    problemList.hidden = !found.length;
  }

  function reveal(problem) {
    if (problem.line) {
      const lines = text.value.split("\n");
      const start = lines.slice(0, problem.line - 1).reduce((sum, line) => sum + line.length + 1, 0);
      text.focus();
      text.setSelectionRange(start, start + (lines[problem.line - 1] || "").length);
    }
    if (problem.node_id) pick(problem.node_id);
  }

  async function check() {
    const found = await call("POST", "/workflows/check", { text: text.value });
    if (found.document) doc = found.document;
    pinProblems(found.problems);
    renderInputs();
    redraw();
    return found.problems;
  }

  async function save(publish) {
    try {
      const saved = await call("PUT", `/workflows/${workflowId}`, { text: text.value, publish });
      doc = saved.document;
      status.replaceChildren(publishedBadge(saved.published_version));
      toast(publish ? t("wf.published_toast") : t("wf.saved"));
      return true;
    } catch (err) {
      toast(err.message);
      await check().catch(() => {});
      return false;
    }
  }

  function showRun(found) {
    run = found;
    const seconds = Math.max(0, found.updated_at - found.created_at);
    const word = t(`wf.run.${found.status}`);
    runStatus.replaceChildren(h("span", { class: `badge ${found.status}`, "data-status": found.status }, word),
      found.status === "running" ? "" : ` ${t("wf.took", { seconds, tokens: found.usage.token_count })}`);
    output.replaceChildren(...(found.output ? [h("h3", {}, t("wf.output")), h("pre", { class: "output" }, found.output)] : []),
      ...(found.error ? [h("p", { class: "error", role: "alert" }, found.error.msg)] : []));
    renderQuestion(found);
    redraw();
  }

  function renderQuestion(found) {
    const asked = found.status === "interrupted" ? found.question : null;
    if (!asked) { question.replaceChildren(); return; }
    const answer = h("textarea", { rows: asked.kind === "input" ? 3 : 1, class: asked.kind === "input" ? "code" : "" });
    const send = async (value) => {
      try {
        await call("POST", `/workflows/${workflowId}/runs/${found.id}/answer`, { event_id: asked.event_id, answer: value });
        question.replaceChildren();
        follow(found.id);
      } catch (err) {
        toast(err.message);
      }
    };
    const fields = asked.fields.length ? h("p", { class: "muted" }, t("wf.fields", { fields: asked.fields.map((f) => `${f.name} (${f.type})`).join(", ") })) : null;
    question.replaceChildren(h("form", { class: "ask", "aria-labelledby": "ask-title", onsubmit: (event) => { event.preventDefault(); send(answer.value); } },
      h("h3", { id: "ask-title" }, t("wf.asks", { node: asked.node_id })),
      h("p", {}, asked.text), fields,
      asked.options.length ? h("div", { class: "chips" }, asked.options.map((option) => h("button", { type: "button", onclick: () => send(option) }, option))) : null,
      field(t("wf.answer"), answer),
      h("p", {}, h("button", { type: "submit" }, t("wf.send_answer")))));
    answer.focus();
  }

  async function follow(runId) {
    clearTimeout(pollTimer);
    const found = await call("GET", `/workflows/${workflowId}/runs/${runId}`);
    showRun(found);
    if (found.status === "running") pollTimer = setTimeout(() => follow(runId).catch((err) => toast(err.message)), POLL_MS);
    else await loadHistory();
  }

  async function loadHistory() {
    const found = await call("GET", `/workflows/${workflowId}/runs`);
    history.replaceChildren(...found.items.map((item) => h("tr", {},
      h("td", {}, when(item.created_at)),
      h("td", {}, h("span", { class: `badge ${item.status}` }, t(`wf.run.${item.status}`))),
      h("td", {}, `${Math.max(0, item.updated_at - item.created_at)} s`),
      h("td", {}, item.usage.token_count),
      h("td", {}, h("button", { type: "button", class: "quiet", "aria-label": t("wf.show_run_at", { when: when(item.created_at) }), onclick: () => follow(item.id) }, t("wf.show_run"))))));
  }

  const runForm = h("form", { class: "panel", "aria-labelledby": "run-title", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const values = {};
      for (const param of inputsBox.params || []) {
        const value = inputValue(param, inputsBox.querySelector(`[data-param="${param.name}"]`));
        if (value !== undefined) values[param.name] = value;
      }
      if (!(await save(false))) return;
      const started = await call("POST", `/workflows/${workflowId}/runs`, { inputs: values });
      picked = null;
      detail.replaceChildren();
      await follow(started.id);
    } catch (err) {
      toast(err.message);
    }
  } }, h("h2", { id: "run-title" }, t("wf.test_run")), h("p", { class: "muted" }, t("wf.test_help")), inputsBox,
  h("p", {}, h("button", { type: "submit" }, t("wf.run_button"))), runStatus, question, output);

  text.addEventListener("input", () => { clearTimeout(checkTimer); checkTimer = setTimeout(() => check().catch(() => {}), CHECK_MS); });

  const editor = h("section", { class: "panel", "aria-labelledby": "file-title" },
    h("h2", { id: "file-title" }, t("wf.file_title")),
    field(t("wf.text"), text, t("wf.text_hint")),
    problemList,
    h("p", { class: "row" },
      h("button", { type: "button", onclick: () => save(false) }, t("wf.save")),
      h("button", { type: "button", onclick: () => save(true) }, t("agents.publish")),
      h("button", { type: "button", class: "quiet", onclick: () => download(workflowId, "yaml").catch((err) => toast(err.message)) }, t("wf.export_yaml")),
      h("button", { type: "button", class: "quiet", onclick: () => download(workflowId, "json").catch((err) => toast(err.message)) }, t("wf.export_json"))));
  root.append(
    h("p", {}, h("a", { href: "#workflows" }, `← ${t("nav.workflows")}`)),
    h("h1", {}, workflow.name, " ", status),
    h("div", { class: "split" },
      h("div", {}, editor),
      h("div", {},
        h("section", { class: "panel", "aria-labelledby": "graph-title" }, h("h2", { id: "graph-title" }, t("wf.graph")), graphBox, detail),
        runForm,
        h("section", { class: "panel", "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, t("wf.history")),
          h("table", {}, h("thead", {}, h("tr", {}, ...["wf.started", "wf.status", "wf.duration", "wf.tokens", "wf.nodes"].map((k) => h("th", { scope: "col" }, t(k))))), history)))));
  pinProblems([]);
  renderInputs();
  redraw();
  await loadHistory();
  return () => { clearTimeout(pollTimer); clearTimeout(checkTimer); };
}
