// The studio shell: sign-in, the workspace switcher, the language switch, and hash routes to each view.
import { ApiError, auth, call } from "./api.js";
import { field, h, toast } from "./dom.js";
import { savedLang, setLang, t } from "./i18n.js";
import { agentList, agentPage } from "./agents.js";
import { datasetList, datasetPage } from "./knowledge.js";
import { settingsPage } from "./settings.js";
import { usagePage } from "./usage.js";
import { workflowList, workflowPage } from "./workflows.js";

const main = document.getElementById("main");
const ROUTES = {
  agents: agentList,
  agent: agentPage,
  knowledge: datasetList,
  dataset: datasetPage,
  workflows: workflowList,
  workflow: workflowPage,
  usage: usagePage,
  settings: settingsPage,
};
const session = { current: null };
let leaving = null; // what the current view stops when the page moves on (a running chat)

function signInPage(root, problem) {
  const key = h("input", { type: "password", autocomplete: "off", required: true });
  const error = h("p", { class: "error", role: "alert" }, problem || "");
  const form = h("form", { class: "panel", onsubmit: async (event) => {
    event.preventDefault();
    try {
      auth.setActive(""); // the key names its own workspace
      const found = await call("GET", "/session", undefined, { token: key.value.trim() });
      const workspace = found.workspaces.find((w) => w.id === found.workspace_id);
      auth.remember(key.value.trim(), workspace);
      await start();
    } catch (err) {
      error.textContent = err.message;
    }
  } },
  h("h1", {}, t("signin.title")),
  h("p", { class: "muted" }, t("signin.help")),
  field(t("signin.key"), key),
  h("p", {}, h("button", { type: "submit" }, t("signin.submit"))),
  error);
  root.append(form);
  key.focus();
}

function renderWorkspaces() {
  const select = document.getElementById("workspace");
  const found = session.current;
  const options = new Map(found.workspaces.map((w) => [w.id, w.name]));
  if (found.mode === "key") for (const k of auth.keys()) if (!options.has(k.workspace_id)) options.set(k.workspace_id, k.workspace_name);
  select.replaceChildren(...[...options].map(([id, name]) => h("option", { value: id, selected: id === found.workspace_id }, name)));
  if (found.mode === "key") select.append(h("option", { value: "+" }, t("app.add_key")));
  document.getElementById("workspace-field").hidden = false;
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").hidden = found.mode !== "key";
}

async function route() {
  if (leaving) { leaving(); leaving = null; }
  const [name, id] = location.hash.replace(/^#/, "").split("/");
  const view = ROUTES[name] ? name : "agents";
  for (const link of document.querySelectorAll("#nav a")) {
    const on = link.getAttribute("href") === `#${view}` || (view === "agent" && link.getAttribute("href") === "#agents")
      || (view === "dataset" && link.getAttribute("href") === "#knowledge")
      || (view === "workflow" && link.getAttribute("href") === "#workflows");
    if (on) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  const root = h("div");
  main.replaceChildren(root);
  try {
    leaving = (await ROUTES[view](root, id)) || null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return start();
    root.append(h("p", { class: "error", role: "alert" }, err.message));
  }
}

function showSignIn(problem) {
  if (leaving) { leaving(); leaving = null; }
  session.current = null;
  for (const id of ["nav", "workspace-field", "sign-out"]) document.getElementById(id).hidden = true;
  main.replaceChildren();
  signInPage(main, problem);
}

async function start() {
  try {
    session.current = await call("GET", "/session");
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401 && err.status !== 404) throw err;
    if (err.status === 404 && auth.active()) { auth.setActive(""); return start(); } // a workspace gone
    return showSignIn(auth.token() ? err.message : "");
  }
  auth.setActive(session.current.workspace_id);
  renderWorkspaces();
  await route();
}

document.getElementById("workspace").addEventListener("change", async (event) => {
  const chosen = event.target.value;
  if (chosen === "+") return showSignIn("");
  auth.setActive(chosen);
  location.hash = "#agents";
  await start();
});

document.getElementById("sign-out").addEventListener("click", async () => {
  auth.forget();
  toast(t("app.signed_out"));
  await start();
});

document.getElementById("lang").addEventListener("change", async (event) => {
  await setLang(event.target.value);
  if (session.current) { renderWorkspaces(); await route(); } else await start();
});

window.addEventListener("hashchange", () => { if (session.current) route(); });

const lang = savedLang();
document.getElementById("lang").value = lang;
await setLang(lang);
await start();
