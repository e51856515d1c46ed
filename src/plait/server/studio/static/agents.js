// Agents: the list, a new agent, and one agent's page: its draft editor, publishing, versions, and playground.
import { call } from "./api.js";
import { configDiff, isLongText, lineDiff } from "./diff.js";
import { field, go, h, toast, when } from "./dom.js";
import { t } from "./i18n.js";
import { playground } from "./playground.js";

export async function agentList(root) {
  const found = await call("GET", "/agents");
  const name = h("input", { type: "text", required: true, maxlength: 100 });
  const create = h("form", { class: "panel", onsubmit: async (event) => {
    event.preventDefault();
    const agent = await call("POST", "/agents", { name: name.value.trim() }).catch((err) => toast(err.message));
    if (agent) go(`#agent/${agent.id}`);
  } }, h("h2", {}, t("agents.new")), h("div", { class: "row" }, field(t("agents.name"), name), h("button", { type: "submit" }, t("agents.create"))));
  const rows = found.items.map((agent) => h("tr", {},
    h("td", {}, h("a", { href: `#agent/${agent.id}` }, agent.name)),
    h("td", {}, agent.description),
    h("td", {}, agent.model_id),
    h("td", {}, h("span", { class: `badge ${agent.published ? "published" : ""}` }, agent.published ? t("agents.published") : t("agents.draft_only"))),
    h("td", {}, when(agent.updated_at))));
  root.append(h("h1", {}, t("nav.agents")), create,
    h("section", { class: "panel" }, found.items.length ? h("table", {},
      h("thead", {}, h("tr", {}, ...["agents.name", "agents.description", "agents.model", "agents.status", "agents.updated"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, rows)) : h("p", { class: "muted" }, t("agents.none"))));
}

const lines = (text) => text.split("\n").map((line) => line.trim()).filter(Boolean);
const number = (input) => (input.value === "" ? null : Number(input.value));

const STRATEGIES = [[0, "agents.search_hybrid"], [1, "agents.search_semantic"], [20, "agents.search_full_text"]];
const check = (value, checked, label) => h("label", { class: "check" }, h("input", { type: "checkbox", value, checked }), label);
const ticked = (labels) => labels.map((label) => label.firstChild).filter((box) => box.checked).map((box) => box.value);

function editor(agent, models, datasets, workflows, plugins, onSaved) {
  const d = agent.draft;
  const bound = (p) => `${p.plugin_id}/${p.api_id}`;
  const builtin = plugins.filter((p) => p.kind === "builtin");
  const builtinIds = new Set(builtin.flatMap((p) => p.operations.map((op) => `${p.id}/${op.name}`)));
  const inputs = {
    name: h("input", { type: "text", value: d.name, required: true, maxlength: 100 }),
    description: h("input", { type: "text", value: d.description }),
    persona: h("textarea", { rows: 6 }, d.persona),
    model_id: h("input", { type: "text", value: d.model.model_id, list: "model-ids", required: true }),
    temperature: h("input", { type: "number", min: 0, max: 2, step: 0.1, value: d.model.temperature ?? "" }),
    max_tokens: h("input", { type: "number", min: 1, value: d.model.max_tokens ?? "" }),
    top_p: h("input", { type: "number", min: 0, max: 1, step: 0.05, value: d.model.top_p ?? "" }),
    context_round: h("input", { type: "number", min: 0, max: 100, value: d.model.context_round ?? "" }),
    auto_call: h("input", { type: "checkbox", checked: d.knowledge.auto_call }),
    search_strategy: h("select", {}, STRATEGIES.map(([value, key]) => h("option", { value, selected: d.knowledge.search_strategy === value }, t(key)))),
    plugins: h("textarea", { rows: 2 }, d.plugins.map(bound).filter((id) => !builtinIds.has(id)).join("\n")),
    variables: h("textarea", { rows: 2 }, d.variables.map((v) => `${v.keyword}=${v.default_value}`).join("\n")),
    client_tools: h("textarea", { rows: 2 }, d.client_tools.map((c) => (c.description ? `${c.name}: ${c.description}` : c.name)).join("\n")),
    approve_before: h("textarea", { rows: 1 }, d.approve_before.join("\n")),
    prologue: h("textarea", { rows: 2 }, d.prologue),
    questions: h("textarea", { rows: 3 }, d.suggested_questions.join("\n")),
  };
  const boxes = datasets.map((ds) => h("label", { class: "check" },
    h("input", { type: "checkbox", value: ds.id, checked: d.knowledge.dataset_ids.includes(ds.id) }), ds.name));
  const tools = builtin.flatMap((p) => p.operations.map((op) => check(`${p.id}/${op.name}`, d.plugins.some((b) => bound(b) === `${p.id}/${op.name}`),
    h("span", {}, h("code", {}, op.name), ` — ${p.description}`))));
  const flows = workflows.map((w) => check(w.id, d.workflow_ids.includes(w.id),
    h("span", {}, w.name, w.published_version ? "" : ` (${t("agents.workflow_unpublished")})`)));
  const missing = d.workflow_ids.filter((id) => !workflows.some((w) => w.id === id)).map((id) => check(id, true, id));
  const kinds = { openapi: "agents.kind_openapi", mcp: "agents.kind_mcp" };
  const catalog = plugins.filter((p) => p.kind !== "builtin").map((p) => h("li", {},
    h("span", { class: "badge" }, t(kinds[p.kind] ?? p.kind)), " ", p.name, " ",
    h("code", {}, p.operations.map((op) => `${p.id}/${op.name}`).join("  "))));
  const error = h("p", { class: "error", role: "alert" });
  const draft = () => ({
    name: inputs.name.value.trim(),
    description: inputs.description.value,
    persona: inputs.persona.value,
    model: {
      model_id: inputs.model_id.value.trim(),
      temperature: number(inputs.temperature),
      max_tokens: number(inputs.max_tokens),
      top_p: number(inputs.top_p),
      context_round: number(inputs.context_round),
    },
    knowledge: {
      dataset_ids: boxes.map((b) => b.firstChild).filter((box) => box.checked).map((box) => box.value),
      auto_call: inputs.auto_call.checked,
      search_strategy: Number(inputs.search_strategy.value),
    },
    plugins: [...new Set([...ticked(tools), ...lines(inputs.plugins.value)])].map((line) => {
      const at = line.lastIndexOf("/");
      return at < 0 ? { plugin_id: line, api_id: "" } : { plugin_id: line.slice(0, at).trim(), api_id: line.slice(at + 1).trim() };
    }),
    workflow_ids: ticked([...flows, ...missing]),
    variables: lines(inputs.variables.value).map((line) => {
      const at = line.indexOf("=");
      return at < 0 ? { keyword: line, default_value: "" } : { keyword: line.slice(0, at).trim(), default_value: line.slice(at + 1).trim() };
    }),
    client_tools: lines(inputs.client_tools.value).map((line) => {
      const at = line.indexOf(":");
      const name = (at < 0 ? line : line.slice(0, at)).trim();
      const kept = d.client_tools.find((c) => c.name === name); // its parameters schema stays as it was
      return { name, description: at < 0 ? "" : line.slice(at + 1).trim(), ...(kept ? { parameters: kept.parameters } : {}) };
    }),
    approve_before: lines(inputs.approve_before.value),
    prologue: inputs.prologue.value,
    suggested_questions: lines(inputs.questions.value),
  });
  const form = h("form", { class: "panel", "aria-labelledby": "draft-title", onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const saved = await call("PUT", `/agents/${agent.id}`, draft());
      toast(t("agents.saved"));
      onSaved(saved);
    } catch (err) {
      error.textContent = err.message;
    }
  } },
  h("h2", { id: "draft-title" }, t("agents.draft")),
  field(t("agents.name"), inputs.name),
  field(t("agents.description"), inputs.description),
  field(t("agents.persona"), inputs.persona, t("agents.persona_hint")),
  h("datalist", { id: "model-ids" }, models.map((id) => h("option", { value: id }))),
  field(t("agents.model"), inputs.model_id),
  h("div", { class: "row" }, field(t("agents.temperature"), inputs.temperature), field(t("agents.max_tokens"), inputs.max_tokens),
    field(t("agents.top_p"), inputs.top_p), field(t("agents.context_round"), inputs.context_round)),
  h("fieldset", {}, h("legend", {}, t("agents.knowledge")),
    boxes.length ? boxes : h("p", { class: "muted" }, t("agents.no_datasets")),
    h("label", { class: "check" }, inputs.auto_call, t("agents.auto_call")),
    field(t("agents.search_strategy"), inputs.search_strategy, t("agents.search_strategy_hint"))),
  h("fieldset", {}, h("legend", {}, t("agents.builtin_tools")), tools),
  h("fieldset", {}, h("legend", {}, t("agents.workflows")),
    flows.length || missing.length ? [...flows, ...missing] : h("p", { class: "muted" }, t("agents.no_workflows")),
    h("div", { class: "muted" }, t("agents.workflows_hint"))),
  field(t("agents.plugins"), inputs.plugins, t("agents.plugins_hint")),
  catalog.length ? h("div", { class: "muted plugin-catalog" }, t("agents.plugin_catalog"), h("ul", {}, catalog)) : null,
  field(t("agents.variables"), inputs.variables, t("agents.variables_hint")),
  field(t("agents.client_tools"), inputs.client_tools, t("agents.client_tools_hint")),
  field(t("agents.approve_before"), inputs.approve_before, t("agents.approve_before_hint")),
  field(t("agents.prologue"), inputs.prologue),
  field(t("agents.questions"), inputs.questions, t("agents.one_per_line")),
  error,
  h("p", {}, h("button", { type: "submit" }, t("agents.save"))));
  return { form, draft };
}

const shown = (value) => (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)
  ? "—" : typeof value === "string" ? value : JSON.stringify(value));

// The rows of a config diff: a field's path, what happened to it, and its values (long text as a line diff).
export function diffTable(changes) {
  if (!changes.length) return h("p", { class: "muted", "data-diff": "none" }, t("agents.diff_none"));
  const rows = changes.map((c) => h("tr", { "data-path": c.path },
    h("th", { scope: "row" }, h("code", {}, c.path)),
    h("td", {}, h("span", { class: `badge diff-${c.kind}` }, t(`agents.diff_${c.kind}`))),
    isLongText(c)
      ? h("td", { colspan: 2 }, h("pre", { class: "line-diff" }, lineDiff(c.before ?? "", c.after ?? "").map((d) =>
        h("span", { class: { "+": "add", "-": "del", " ": "same" }[d.op] }, `${d.op} ${d.line}\n`))))
      : [h("td", {}, h("del", {}, shown(c.before))), h("td", {}, h("ins", {}, shown(c.after)))]));
  return h("table", { class: "diff" },
    h("thead", {}, h("tr", {}, ...["agents.diff_field", "agents.diff_kind", "agents.diff_before", "agents.diff_after"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, rows));
}

async function versionsPanel(agentId) {
  const found = await call("GET", `/agents/${agentId}/versions?page_size=100`);
  const label = (v) => `${when(v.published_at)} · ${v.version.slice(-6)}${v.online ? ` (${t("agents.online")})` : ""}`;
  const choices = [{ value: "draft", text: t("agents.draft") }, ...found.items.map((v) => ({ value: v.version, text: label(v) }))];
  const picker = (selected) => h("select", {}, choices.map((c) => h("option", { value: c.value, selected: c.value === selected }, c.text)));
  const from = picker(found.items[0]?.version ?? "draft");
  const to = picker("draft");
  const result = h("div", { role: "region", "aria-live": "polite", "aria-label": t("agents.diff_title") });
  const configOf = async (value) => (value === "draft"
    ? (await call("GET", `/agents/${agentId}`)).draft
    : (await call("GET", `/agents/${agentId}/versions/${value}`)).config);
  const compare = async (a, b) => {
    from.value = a;
    to.value = b;
    try {
      const [before, after] = await Promise.all([configOf(a), configOf(b)]);
      const title = t("agents.diff_between", { from: choices.find((c) => c.value === a).text, to: choices.find((c) => c.value === b).text });
      result.replaceChildren(h("h3", {}, title), diffTable(configDiff(before, after)));
    } catch (err) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, err.message));
    }
  };
  const rows = found.items.map((v, index) => h("tr", {},
    h("td", {}, when(v.published_at)), h("td", {}, h("code", {}, v.version.slice(-6))), h("td", {}, v.name), h("td", {}, v.model_id),
    h("td", {}, v.online ? h("span", { class: "badge published" }, t("agents.online")) : ""),
    h("td", {}, found.items[index + 1]
      ? h("button", { type: "button", onclick: () => compare(found.items[index + 1].version, v.version) }, t("agents.diff_previous"))
      : "")));
  const panel = h("details", { class: "panel" }, h("summary", {}, t("agents.versions", { count: found.total })),
    found.items.length ? [
      h("table", {}, h("tbody", {}, rows)),
      h("div", { class: "row" }, field(t("agents.diff_from"), from), field(t("agents.diff_to"), to),
        h("button", { type: "button", onclick: () => compare(from.value, to.value) }, t("agents.diff_compare"))),
      result,
    ] : h("p", { class: "muted" }, t("agents.never_published")));
  if (found.items.length) panel.addEventListener("toggle", () => { if (panel.open && !result.firstChild) compare(from.value, to.value); });
  return panel;
}

export async function agentPage(root, agentId) {
  const [agent, models, datasets, workflows, plugins] = await Promise.all([
    call("GET", `/agents/${agentId}`), call("GET", "/models"), call("GET", "/datasets").catch(() => ({ items: [] })),
    call("GET", "/workflows?page_size=100").catch(() => ({ items: [] })), call("GET", "/plugins").catch(() => ({ items: [] })),
  ]);
  const status = h("span", { class: `badge ${agent.published_version ? "published" : ""}` });
  const setStatus = (published) => {
    status.className = `badge ${published ? "published" : ""}`;
    status.textContent = published ? t("agents.published") : t("agents.draft_only");
  };
  setStatus(agent.published_version);
  const versions = h("div", {}, await versionsPanel(agent.id));
  let chat;
  const { form, draft } = editor(agent, models.items, datasets.items, workflows.items, plugins.items, (saved) => chat.update(saved.draft));
  const publish = h("button", { type: "button", onclick: async () => {
    try {
      await call("PUT", `/agents/${agent.id}`, draft());
      await call("POST", `/agents/${agent.id}/publish`);
      setStatus(true);
      toast(t("agents.published_toast"));
      versions.replaceChildren(await versionsPanel(agent.id));
    } catch (err) {
      toast(err.message);
    }
  } }, t("agents.publish"));
  chat = playground(agent);
  root.append(
    h("p", {}, h("a", { href: "#agents" }, `← ${t("nav.agents")}`)),
    h("h1", {}, agent.draft.name, " ", status),
    h("div", { class: "split" },
      h("div", {}, form, h("p", {}, publish), versions),
      chat.element));
  return chat.stop;
}
