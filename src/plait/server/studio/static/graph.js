// A workflow drawn from its document: nodes in layers left to right (each node one layer after the furthest of
// its sources, ordered in its layer by where its sources sit), edges as curves with their branch names. Each node
// shows its type, its run status and time, and is red with its problems' messages when the document has some.
import { t } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";
const W = 168, H = 58, GAP_X = 56, GAP_Y = 22, PAD = 12;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined && value !== null) el.setAttribute(name, value);
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

// Layers by longest path from the nodes nothing points to; a cycle's back edge (not allowed, but typed) is ignored.
export function layout(doc) {
  const nodes = (doc.nodes || []).filter((n) => n && typeof n.id === "string");
  const ids = new Set(nodes.map((n) => n.id));
  const edges = (doc.edges || []).filter((e) => e && ids.has(e.source) && ids.has(e.target) && e.source !== e.target);
  const layer = new Map(nodes.map((n) => [n.id, 0]));
  for (let round = 0; round < nodes.length; round++) {
    let moved = false;
    for (const e of edges) {
      if (layer.get(e.target) < layer.get(e.source) + 1 && layer.get(e.source) + 1 < nodes.length) {
        layer.set(e.target, layer.get(e.source) + 1);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const columns = [];
  for (const n of nodes) (columns[layer.get(n.id)] ||= []).push(n);
  const row = new Map();
  columns.forEach((column, index) => {
    if (index > 0) {
      const sources = (id) => edges.filter((e) => e.target === id && row.has(e.source)).map((e) => row.get(e.source));
      const centre = (id) => { const found = sources(id); return found.length ? found.reduce((a, b) => a + b, 0) / found.length : Infinity; };
      column.sort((a, b) => centre(a.id) - centre(b.id));
    }
    column.forEach((n, i) => row.set(n.id, i));
  });
  const tallest = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  const place = new Map();
  columns.forEach((column, x) => column.forEach((n, y) => {
    const offset = ((tallest - column.length) * (H + GAP_Y)) / 2; // each column centred on the tallest
    place.set(n.id, { x: PAD + x * (W + GAP_X), y: PAD + offset + y * (H + GAP_Y) });
  }));
  return {
    nodes, edges, place,
    width: PAD * 2 + Math.max(1, columns.length) * (W + GAP_X) - GAP_X,
    height: PAD * 2 + tallest * (H + GAP_Y) - GAP_Y,
  };
}

function clip(text, size) {
  return text.length > size ? `${text.slice(0, size - 1)}…` : text;
}

// states: node id -> {status, duration_ms}; problems: node id -> [message]; onPick(node id) when one is chosen.
export function drawGraph(doc, { states = new Map(), problems = new Map(), onPick } = {}) {
  const g = layout(doc);
  const svg = s("svg", { class: "graph", viewBox: `0 0 ${g.width} ${g.height}`, width: g.width, height: g.height,
    role: "group", "aria-label": t("wf.graph") });
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }))));
  for (const e of g.edges) {
    const a = g.place.get(e.source), b = g.place.get(e.target);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const bend = Math.max(24, (x2 - x1) / 2);
    const path = x2 > x1 ? `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`
      : `M ${x1} ${y1} C ${x1 + 60} ${y1 + H}, ${x2 - 60} ${y2 + H}, ${x2} ${y2}`;
    const done = states.has(e.source) && states.has(e.target);
    svg.append(s("path", { d: path, class: `edge${done ? " done" : ""}`, "marker-end": "url(#arrow)" }));
    if (e.source_handle) svg.append(s("text", { x: x1 + 6, y: y1 - 5, class: "handle" }, clip(e.source_handle, 16)));
  }
  for (const n of g.nodes) {
    const { x, y } = g.place.get(n.id);
    const state = states.get(n.id);
    const wrong = problems.get(n.id) || [];
    const status = wrong.length ? "problem" : state?.status || "idle";
    const timing = state?.duration_ms !== undefined && state?.duration_ms !== null ? `${state.duration_ms} ms` : "";
    const label = [n.title || n.id, n.type, t(`wf.node.${status}`), timing, ...wrong].filter(Boolean).join(", ");
    const box = s("g", { class: `node ${status}`, transform: `translate(${x} ${y})`, tabindex: 0, role: "button",
      "aria-label": label, "data-node": n.id, "data-status": status },
    s("title", {}, label),
    s("rect", { width: W, height: H, rx: 8 }),
    s("text", { x: 10, y: 20, class: "title" }, clip(n.title || n.id, 22)),
    s("text", { x: 10, y: 38, class: "type" }, clip(n.type + (n.body ? ` · ${(n.body.nodes || []).length} ${t("wf.inside")}` : ""), 26)),
    s("text", { x: 10, y: 52, class: "state" }, clip(wrong.length ? wrong[0] : [status === "idle" ? "" : t(`wf.node.${status}`), timing].filter(Boolean).join(" · "), 28)));
    if (onPick) {
      box.addEventListener("click", () => onPick(n.id));
      box.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onPick(n.id); } });
    }
    svg.append(box);
  }
  return svg;
}
