// Knowledge: the bases, and one base's documents (status, chunks, errors), uploads and hit testing.
import { call } from "./api.js";
import { field, go, h, toast, when } from "./dom.js";
import { t } from "./i18n.js";

const POLL_MS = 1000;

export async function datasetList(root) {
  const found = await call("GET", "/datasets");
  const name = h("input", { type: "text", required: true, maxlength: 100 });
  const form = h("form", { class: "panel", onsubmit: async (event) => {
    event.preventDefault();
    const dataset = await call("POST", "/datasets", { name: name.value.trim() }).catch((err) => toast(err.message));
    if (dataset) go(`#dataset/${dataset.id}`);
  } }, h("h2", {}, t("kb.new")), h("div", { class: "row" }, field(t("kb.name"), name), h("button", { type: "submit" }, t("kb.create"))));
  root.append(h("h1", {}, t("nav.knowledge")), form, h("section", { class: "panel" }, found.items.length ? h("table", {},
    h("thead", {}, h("tr", {}, ...["kb.name", "kb.documents", "kb.chunks", "kb.updated"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, found.items.map((ds) => h("tr", {},
      h("td", {}, h("a", { href: `#dataset/${ds.id}` }, ds.name)), h("td", {}, ds.documents), h("td", {}, ds.chunks), h("td", {}, when(ds.updated_at))))))
    : h("p", { class: "muted" }, t("kb.none"))));
}

function documentRows(items) {
  return items.map((doc) => h("tr", {},
    h("td", {}, doc.name),
    h("td", {}, h("span", { class: `badge ${doc.status}`, "data-status": doc.status }, t(`kb.status.${doc.status}`))),
    h("td", {}, doc.chunks),
    h("td", {}, Math.ceil(doc.size / 1024), " KB"),
    h("td", { class: "error" }, doc.error)));
}

export async function datasetPage(root, datasetId) {
  let timer = null;
  const tbody = h("tbody");
  const empty = h("p", { class: "muted" }, t("kb.no_documents"));
  async function refresh() {
    clearTimeout(timer);
    const found = await call("GET", `/datasets/${datasetId}/documents`);
    tbody.replaceChildren(...documentRows(found.items));
    empty.hidden = found.items.length > 0;
    if (found.items.some((doc) => doc.status === "processing")) timer = setTimeout(() => refresh().catch(() => {}), POLL_MS);
  }
  const file = h("input", { type: "file", required: true, accept: ".txt,.text,.log,.md,.markdown,.pdf,.docx,.html,.htm,.xhtml,.csv,.tsv,.json,.jsonl,.ndjson,.xlsx,.xlsm" });
  const upload = h("form", { class: "panel", onsubmit: async (event) => {
    event.preventDefault();
    const body = new FormData();
    body.append("file", file.files[0]);
    try {
      await call("POST", `/documents/upload?dataset_id=${encodeURIComponent(datasetId)}`, body);
      file.value = "";
      await refresh();
    } catch (err) {
      toast(err.message);
    }
  } }, h("h2", {}, t("kb.upload")), h("div", { class: "row" }, field(t("kb.file"), file), h("button", { type: "submit" }, t("kb.upload_button"))));

  const query = h("input", { type: "text", required: true });
  const hits = h("ol", { class: "hits", "aria-live": "polite" });
  const hitTest = h("form", { class: "panel", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const found = await call("POST", `/datasets/${datasetId}/hit_test`, { query: query.value });
      hits.replaceChildren(...(found.items.length ? found.items.map((hit) => h("li", { class: "hit" },
        h("div", { class: "muted" }, `${hit.document_name} · ${t("kb.score")} ${hit.score.toFixed(3)}`), h("div", {}, hit.content)))
        : [h("li", { class: "muted" }, t("kb.no_hits"))]));
    } catch (err) {
      toast(err.message);
    }
  } }, h("h2", {}, t("kb.hit_test")), h("div", { class: "row" }, field(t("kb.query"), query), h("button", { type: "submit" }, t("kb.search"))), hits);

  root.append(h("p", {}, h("a", { href: "#knowledge" }, `← ${t("nav.knowledge")}`)), h("h1", {}, t("kb.documents")), upload,
    h("section", { class: "panel" }, h("table", {},
      h("thead", {}, h("tr", {}, ...["kb.name", "kb.status_col", "kb.chunks", "kb.size", "kb.error"].map((k) => h("th", { scope: "col" }, t(k))))), tbody), empty),
    hitTest);
  await refresh();
  return () => clearTimeout(timer);
}
