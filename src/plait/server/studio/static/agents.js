// Agents: the list, a new agent, and one agent's page: its draft editor, publishing, versions, and playground.
import { call } from "./api.js";
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

function editor(agent, models, datasets, onSaved) {
  const d = agent.draft;
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
    plugins: h("textarea", { rows: 2 }, d.plugins.map((p) => `${p.plugin_id}/${p.api_id}`).join("\n")),
    variables: h("textarea", { rows: 2 }, d.variables.map((v) => `${v.keyword}=${v.default_value}`).join("\n")),
    client_tools: h("textarea", { rows: 2 }, d.client_tools.map((c) => (c.description ? `${c.name}: ${c.description}` : c.name)).join("\n")),
    approve_before: h("textarea", { rows: 1 }, d.approve_before.join("\n")),
    prologue: h("textarea", { rows: 2 }, d.prologue),
    questions: h("textarea", { rows: 3 }, d.suggested_questions.join("\n")),
  };
  const boxes = datasets.map((ds) => h("label", { class: "check" },
    h("input", { type: "checkbox", value: ds.id, checked: d.knowledge.dataset_ids.includes(ds.id) }), ds.name));
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
      search_strategy: d.knowledge.search_strategy,
    },
    plugins: lines(inputs.plugins.value).map((line) => {
      const [plugin_id, api_id = ""] = line.split("/");
      return { plugin_id: plugin_id.trim(), api_id: api_id.trim() };
    }),
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
    h("label", { class: "check" }, inputs.auto_call, t("agents.auto_call"))),
  field(t("agents.plugins"), inputs.plugins, t("agents.plugins_hint")),
  field(t("agents.variables"), inputs.variables, t("agents.variables_hint")),
  field(t("agents.client_tools"), inputs.client_tools, t("agents.client_tools_hint")),
  field(t("agents.approve_before"), inputs.approve_before, t("agents.approve_before_hint")),
  field(t("agents.prologue"), inputs.prologue),
  field(t("agents.questions"), inputs.questions, t("agents.one_per_line")),
  error,
  h("p", {}, h("button", { type: "submit" }, t("agents.save"))));
  return { form, draft };
}

async function versionsPanel(agentId) {
  const found = await call("GET", `/agents/${agentId}/versions`);
  return h("details", { class: "panel" }, h("summary", {}, t("agents.versions", { count: found.total })),
    found.items.length ? h("table", {}, h("tbody", {}, found.items.map((v) => h("tr", {},
      h("td", {}, when(v.published_at)), h("td", {}, v.name), h("td", {}, v.model_id),
      h("td", {}, v.online ? h("span", { class: "badge published" }, t("agents.online")) : ""))))) : h("p", { class: "muted" }, t("agents.never_published")));
}

export async function agentPage(root, agentId) {
  const [agent, models, datasets] = await Promise.all([
    call("GET", `/agents/${agentId}`), call("GET", "/models"), call("GET", "/datasets").catch(() => ({ items: [] })),
  ]);
  const status = h("span", { class: `badge ${agent.published_version ? "published" : ""}` });
  const setStatus = (published) => {
    status.className = `badge ${published ? "published" : ""}`;
    status.textContent = published ? t("agents.published") : t("agents.draft_only");
  };
  setStatus(agent.published_version);
  const versions = h("div", {}, await versionsPanel(agent.id));
  let chat;
  const { form, draft } = editor(agent, models.items, datasets.items, (saved) => chat.update(saved.draft));
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
