// Settings: the workspace's model providers, its API keys, its members and their roles, and its audit log
// (read only).
import { call } from "./api.js";
import { field, go, h, toast, when } from "./dom.js";
import { t } from "./i18n.js";

async function providersPanel() {
  const found = await call("GET", "/providers");
  const name = h("input", { type: "text", required: true, pattern: "[A-Za-z0-9_-]+" });
  const kind = h("select", {}, h("option", { value: "" }, t("settings.kind_builtin")), found.kinds.map((k) => h("option", { value: k }, k)));
  const baseUrl = h("input", { type: "text", placeholder: "https://" });
  const apiKey = h("input", { type: "password", autocomplete: "off" });
  const models = h("input", { type: "text" });
  const form = h("form", { onsubmit: async (event) => {
    event.preventDefault();
    try {
      await call("PUT", `/providers/${encodeURIComponent(name.value.trim())}`, {
        kind: kind.value || null,
        base_url: baseUrl.value.trim() || null,
        api_key: apiKey.value || null,
        models: models.value.split(",").map((m) => m.trim()).filter(Boolean),
      });
      toast(t("settings.saved"));
      go("#settings");
    } catch (err) {
      toast(err.message);
    }
  } },
  h("h3", {}, t("settings.add_provider")),
  h("div", { class: "row" }, field(t("settings.provider_name"), name), field(t("settings.kind"), kind)),
  h("div", { class: "row" }, field(t("settings.base_url"), baseUrl), field(t("settings.api_key"), apiKey)),
  field(t("settings.models"), models, t("settings.models_hint")),
  h("p", {}, h("button", { type: "submit" }, t("settings.save_provider"))));
  const remove = (provider) => async () => {
    await call("DELETE", `/providers/${encodeURIComponent(provider)}`).catch((err) => toast(err.message));
    go("#settings");
  };
  return h("section", { class: "panel" }, h("h2", {}, t("settings.providers")), h("p", { class: "muted" }, t("settings.providers_help")),
    found.items.length ? h("table", {}, h("tbody", {}, found.items.map((p) => h("tr", {},
      h("td", {}, p.name), h("td", {}, p.kind), h("td", {}, p.base_url), h("td", {}, p.models.join(", ")),
      h("td", {}, p.has_key ? t("settings.key_set") : ""),
      h("td", {}, h("button", { type: "button", class: "quiet", onclick: remove(p.name) }, t("settings.remove"))))))) : null,
    form);
}

const roleName = (role) => t(`settings.role_${role}`);

// The members' names by user id, and the roles there are: what the keys and members panels show.
async function members() {
  const found = await call("GET", "/members");
  return { items: found.items, roles: found.roles, names: new Map(found.items.map((m) => [m.user_id, m.name])) };
}

async function keysPanel(pending) {
  const found = await call("GET", "/keys");
  const team = await pending;
  const name = h("input", { type: "text", required: true, maxlength: 100 });
  const user = h("select", {}, h("option", { value: "" }, t("settings.key_user_me")),
    team.items.map((m) => h("option", { value: m.user_id }, `${m.name} (${roleName(m.role)})`)));
  const shown = h("div", { "aria-live": "polite" });
  const revoke = (id) => async () => {
    await call("POST", `/keys/${id}/revoke`).catch((err) => toast(err.message));
    go("#settings");
  };
  const form = h("form", { onsubmit: async (event) => {
    event.preventDefault();
    try {
      const key = await call("POST", "/keys", { name: name.value.trim(), user_id: user.value || null });
      shown.replaceChildren(h("p", {}, t("settings.token_once")), h("p", { class: "token" }, key.token));
    } catch (err) {
      toast(err.message);
    }
  } }, h("div", { class: "row" }, field(t("settings.key_name"), name), field(t("settings.key_user"), user, t("settings.key_user_hint")),
    h("button", { type: "submit" }, t("settings.create_key"))));
  return h("section", { class: "panel" }, h("h2", {}, t("settings.keys")),
    h("table", {}, h("tbody", {}, found.items.map((k) => h("tr", {},
      h("td", {}, k.name), h("td", {}, team.names.get(k.user_id) ?? ""), h("td", {}, h("code", {}, `${k.prefix}…`)), h("td", {}, k.scopes.join(", ") || t("settings.all_scopes")),
      h("td", {}, k.last_used_at ? when(k.last_used_at) : ""),
      h("td", {}, k.revoked ? t("settings.revoked") : h("button", { type: "button", class: "quiet", onclick: revoke(k.id) }, t("settings.revoke"))))))),
    form, shown);
}

// The members: a role to pick for each (saved at once) and a remove button; a form adds a user by name.
async function membersPanel(pending) {
  const team = await pending;
  const roles = (chosen) => team.roles.map((r) => h("option", { value: r, selected: r === chosen }, roleName(r)));
  const act = (method, path, body, done) => async () => {
    try {
      await call(method, path, body);
      toast(done);
      go("#settings");
    } catch (err) {
      toast(err.message);
      go("#settings");
    }
  };
  const row = (m) => {
    const role = h("select", { "aria-label": t("settings.member_role_of", { name: m.name }) }, roles(m.role));
    role.addEventListener("change", () => act("PUT", `/members/${m.user_id}`, { role: role.value }, t("settings.member_role_saved"))());
    return h("tr", {}, h("td", {}, m.name), h("td", {}, role), h("td", {}, when(m.joined_at)),
      h("td", {}, h("button", { type: "button", class: "quiet", "aria-label": t("settings.member_remove_of", { name: m.name }),
        onclick: act("DELETE", `/members/${m.user_id}`, undefined, t("settings.member_removed")) }, t("settings.remove"))));
  };
  const userName = h("input", { type: "text", required: true, maxlength: 100, autocomplete: "off" });
  const role = h("select", {}, roles("member"));
  const form = h("form", { onsubmit: (event) => {
    event.preventDefault();
    act("POST", "/members", { user_name: userName.value.trim(), role: role.value }, t("settings.member_added"))();
  } }, h("h3", {}, t("settings.add_member")),
  h("div", { class: "row" }, field(t("settings.member_name"), userName), field(t("settings.member_role"), role),
    h("button", { type: "submit" }, t("settings.add_member"))));
  return h("section", { class: "panel" }, h("h2", {}, t("settings.members")), h("p", { class: "muted" }, t("settings.members_help")),
    h("table", {}, h("thead", {}, h("tr", {}, ["name", "role", "joined"].map((c) => h("th", {}, t(`settings.member_${c}`))), h("th", {}))),
      h("tbody", {}, team.items.map(row))),
    form);
}

const AUDIT_PAGE = 20;

// The audit log, newest first: one action (or all), a page at a time. The table is redrawn in place, so paging
// keeps the rest of the page (and a token just shown) as it is.
async function auditPanel() {
  const action = h("select", {}, h("option", { value: "" }, t("settings.audit_all")));
  const body = h("tbody", {});
  const older = h("button", { type: "button", class: "quiet" }, t("settings.audit_older"));
  const newer = h("button", { type: "button", class: "quiet" }, t("settings.audit_newer"));
  const count = h("span", { class: "muted" });
  let pageNum = 1;
  const show = async () => {
    const query = new URLSearchParams({ page_num: pageNum, page_size: AUDIT_PAGE });
    if (action.value) query.set("action", action.value);
    const found = await call("GET", `/audit?${query}`);
    if (action.options.length === 1) action.append(...found.actions.map((a) => h("option", { value: a }, a)));
    body.replaceChildren(...found.items.map((e) => h("tr", {},
      h("td", {}, when(e.at)), h("td", {}, h("code", {}, e.action)),
      h("td", {}, e.actor_key_id === "cli" || e.actor_key_id === "system" || e.actor_key_id === "local-owner" ? e.actor_key_id : t("settings.audit_key", { id: e.actor_key_id })),
      h("td", {}, `${e.target_type} ${e.target_id ?? ""}`),
      h("td", {}, Object.entries(e.detail).filter(([, v]) => v !== null && !(Array.isArray(v) && !v.length))
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`).join(" · ")))));
    if (!found.items.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("settings.audit_none"))));
    count.textContent = t("settings.audit_count", { total: found.total });
    older.disabled = !found.has_more;
    newer.disabled = pageNum === 1;
  };
  const turn = (step) => () => { pageNum += step; show().catch((err) => toast(err.message)); };
  older.addEventListener("click", turn(1));
  newer.addEventListener("click", turn(-1));
  action.addEventListener("change", () => { pageNum = 1; show().catch((err) => toast(err.message)); });
  await show();
  return h("section", { class: "panel" }, h("h2", {}, t("settings.audit")), h("p", { class: "muted" }, t("settings.audit_help")),
    h("div", { class: "row" }, field(t("settings.audit_action"), action), h("p", {}, newer, " ", older, " ", count)),
    h("table", {}, h("thead", {}, h("tr", {}, ["at", "action", "actor", "target", "detail"].map((c) => h("th", {}, t(`settings.audit_${c}`))))), body));
}

export async function settingsPage(root) {
  root.append(h("h1", {}, t("nav.settings")));
  const team = members();  // owners and admins only: the panels that need it show its error
  team.catch(() => {});
  for (const panel of [providersPanel, keysPanel, membersPanel, auditPanel]) {
    try {
      root.append(await panel(team));
    } catch (err) {
      root.append(h("section", { class: "panel" }, h("p", { class: "error" }, err.message)));
    }
  }
}
