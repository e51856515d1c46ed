// Knowledge: the bases, and one base's documents (status, chunks, errors), uploads of several files (one request
// each, with its bytes sent and then its status), a document's chunks, and hit testing by each search strategy.
import { call, upload } from "./api.js";
import { field, go, h, toast, when } from "./dom.js";
import { t } from "./i18n.js";

const POLL_MS = 1000;
const LIST_SIZE = 100;
const CHUNK_PAGE = 20;
const STRATEGIES = [20, 1, 0]; // search_strategy: BM25 (full text), vector (semantic), hybrid
const ACCEPT = ".txt,.text,.log,.md,.markdown,.pdf,.docx,.html,.htm,.xhtml,.csv,.tsv,.json,.jsonl,.ndjson,.xlsx,.xlsm";

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

function badge(status) {
  return h("span", { class: `badge ${status}`, "data-status": status }, t(`kb.status.${status}`));
}

// The documents of a base, all of them: the first page, and the last one when there are more (new uploads).
async function documentsOf(datasetId) {
  const path = `/datasets/${datasetId}/documents?page_size=${LIST_SIZE}`;
  const found = await call("GET", path);
  const pages = Math.ceil(found.total / LIST_SIZE);
  if (pages > 1) found.items.push(...(await call("GET", `${path}&page_num=${pages}`)).items);
  return found;
}

// One file's upload: its row shows the bytes sent, then the document's status as the list polls.
function uploadRow(file) {
  const bar = h("progress", { max: file.size || 1, value: 0, "aria-label": file.name });
  const status = h("span");
  const error = h("span", { class: "error" });
  const row = h("li", { class: "upload" }, h("span", { class: "name" }, file.name), bar, status, error);
  const entry = { row, documentId: null, state: "" };
  entry.show = (state, message = "") => {
    entry.state = state;
    status.replaceChildren(badge(state));
    error.textContent = message;
    if (state !== "uploading") bar.value = bar.max;
  };
  entry.progress = (sent, total) => { bar.max = total; bar.value = sent; };
  entry.show("uploading");
  return entry;
}

function chunkViewer(datasetId) {
  const box = h("section", { class: "panel", hidden: true, "aria-live": "polite" });
  async function show(doc, pageNum = 1) {
    const found = await call("GET", `/datasets/${datasetId}/documents/${doc.id}/chunks?page_num=${pageNum}&page_size=${CHUNK_PAGE}`);
    const pages = Math.max(1, Math.ceil(found.total / CHUNK_PAGE));
    const turn = (to) => () => show(doc, to).catch((err) => toast(err.message));
    box.replaceChildren(
      h("div", { class: "row" }, h("h2", {}, t("kb.chunks_of", { name: doc.name, count: found.total })),
        h("button", { type: "button", class: "quiet", onclick: () => { box.hidden = true; } }, t("kb.close"))),
      found.items.length ? h("ol", { class: "chunks" }, found.items.map((chunk) => h("li", { class: "chunk" },
        h("div", { class: "muted" }, t("kb.chunk_head", { position: chunk.position + 1, chars: chunk.chars })),
        h("div", { class: "text" }, chunk.content))))
        : h("p", { class: "muted" }, t("kb.no_chunks")),
      h("div", { class: "pager" },
        h("button", { type: "button", class: "quiet", disabled: pageNum <= 1, onclick: turn(pageNum - 1) }, t("kb.previous")),
        h("span", {}, t("kb.page", { page: pageNum, pages })),
        h("button", { type: "button", class: "quiet", disabled: !found.has_more, onclick: turn(pageNum + 1) }, t("kb.next"))));
    box.hidden = false;
  }
  return { box, show };
}

function hitColumn(strategy, found) {
  const items = found.status === "fulfilled" ? found.value.items : null;
  return h("section", { class: "hit-column", "data-strategy": strategy }, h("h3", {}, t(`kb.strategy.${strategy}`)),
    !items ? h("p", { class: "error" }, found.reason.message)
      : h("ol", { class: "hits" }, items.length ? items.map((hit) => h("li", { class: "hit" },
        h("div", { class: "muted" }, [hit.document_name, ...Object.entries(hit.scores).map(([name, score]) => `${name} ${score.toFixed(3)}`)].join(" · ")),
        h("div", { class: "text" }, hit.content)))
        : [h("li", { class: "muted" }, t("kb.no_hits"))]));
}

export async function datasetPage(root, datasetId) {
  let timer = null;
  let closed = false;
  const uploads = [];
  const viewer = chunkViewer(datasetId);
  const tbody = h("tbody");
  const empty = h("p", { class: "muted" }, t("kb.no_documents"));
  function documentRows(items) {
    return items.map((doc) => h("tr", {},
      h("td", {}, h("button", { type: "button", class: "link", title: t("kb.show_chunks"),
        onclick: () => viewer.show(doc).then(() => viewer.box.scrollIntoView({ block: "nearest" })).catch((err) => toast(err.message)) }, doc.name)),
      h("td", {}, badge(doc.status)),
      h("td", {}, doc.chunks),
      h("td", {}, Math.ceil(doc.size / 1024), " KB"),
      h("td", { class: "error" }, doc.error)));
  }
  async function refresh() {
    clearTimeout(timer);
    const found = await documentsOf(datasetId);
    if (closed) return;
    tbody.replaceChildren(...documentRows(found.items));
    empty.hidden = found.items.length > 0;
    const byId = new Map(found.items.map((doc) => [doc.id, doc]));
    for (const entry of uploads) {
      const doc = byId.get(entry.documentId);
      if (doc && entry.state !== doc.status) entry.show(doc.status, doc.error);
    }
    if (found.items.some((doc) => doc.status === "processing")) timer = setTimeout(() => refresh().catch(() => {}), POLL_MS);
  }
  const list = h("ul", { class: "uploads", "aria-live": "polite" });
  async function send(file) {
    const entry = uploadRow(file);
    uploads.push(entry);
    list.append(entry.row);
    try {
      const doc = await upload(`/documents/upload?dataset_id=${encodeURIComponent(datasetId)}`, file, entry.progress);
      entry.documentId = doc.id;
      entry.show(doc.status, doc.error);
    } catch (err) {
      entry.show("failed", err.message || t("kb.no_answer"));
      return;
    }
    await refresh();
  }
  function sendAll(files) {
    for (const one of files) send(one).catch((err) => toast(err.message)); // one request a file, side by side
  }
  const file = h("input", { type: "file", multiple: true, required: true, accept: ACCEPT });
  const uploadForm = h("form", { class: "panel drop", onsubmit: (event) => {
    event.preventDefault();
    const files = [...file.files];
    file.value = "";
    sendAll(files);
  }, ondragover: (event) => { event.preventDefault(); uploadForm.classList.add("over"); },
  ondragleave: (event) => { if (!uploadForm.contains(event.relatedTarget)) uploadForm.classList.remove("over"); },
  ondrop: (event) => {
    event.preventDefault();
    uploadForm.classList.remove("over");
    sendAll(event.dataTransfer.files);
  } }, h("h2", {}, t("kb.upload")), h("div", { class: "row" }, field(t("kb.files"), file, t("kb.drop")), h("button", { type: "submit" }, t("kb.upload_button"))), list);

  const query = h("input", { type: "text", required: true });
  const columns = h("div", { class: "hit-columns", "aria-live": "polite" });
  const hitTest = h("form", { class: "panel", onsubmit: async (event) => {
    event.preventDefault();
    const asked = STRATEGIES.map((strategy) => call("POST", `/datasets/${datasetId}/hit_test`, { query: query.value, search_strategy: strategy }));
    const found = await Promise.allSettled(asked);
    columns.replaceChildren(...STRATEGIES.map((strategy, i) => hitColumn(strategy, found[i])));
  } }, h("h2", {}, t("kb.hit_test")), h("div", { class: "row" }, field(t("kb.query"), query), h("button", { type: "submit" }, t("kb.search"))), columns);

  root.append(h("p", {}, h("a", { href: "#knowledge" }, `← ${t("nav.knowledge")}`)), h("h1", {}, t("kb.documents")), uploadForm,
    h("section", { class: "panel" }, h("table", {},
      h("thead", {}, h("tr", {}, ...["kb.name", "kb.status_col", "kb.chunks", "kb.size", "kb.error"].map((k) => h("th", { scope: "col" }, t(k))))), tbody), empty),
    viewer.box, hitTest);
  await refresh();
  return () => { closed = true; clearTimeout(timer); };
}
