// Usage: tokens or calls per day, stacked by agent, as an inline SVG chart, and the same figures per agent in a
// table (what a screen reader reads instead of the chart).
import { call } from "./api.js";
import { field, h } from "./dom.js";
import { t } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#2f5bd3", "#d9730d", "#1e7b34", "#b3261e", "#7b3fb8", "#0f7c8c", "#8a5a00", "#5b5b66"];
const CW = 900, CH = 260, LEFT = 56, BOTTOM = 28, TOP = 10;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

const value = (point, metric) => (metric === "calls" ? point.calls : point.input_tokens + point.output_tokens);

// A round step for the y axis: 1, 2 or 5 times a power of ten, about four ticks.
function step(top) {
  const raw = Math.max(1, top) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= raw);
}

function chart(report, keys, metric) {
  const totals = report.days.map((day) => report.points.filter((p) => p.day === day).reduce((sum, p) => sum + value(p, metric), 0));
  const tick = step(Math.max(...totals));
  const top = Math.max(tick, Math.ceil(Math.max(...totals) / tick) * tick);
  const plotH = CH - TOP - BOTTOM;
  const slot = (CW - LEFT) / report.days.length;
  const title = t(metric === "calls" ? "usage.calls_chart" : "usage.tokens_chart", { days: report.days.length });
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${CW} ${CH}`, role: "img", "aria-label": title }, s("title", {}, title));
  for (let y = 0; y <= top; y += tick) {
    const at = TOP + plotH - (y / top) * plotH;
    svg.append(s("line", { x1: LEFT, x2: CW, y1: at, y2: at, class: "grid" }), s("text", { x: LEFT - 6, y: at + 4, class: "axis", "text-anchor": "end" }, y.toLocaleString()));
  }
  const every = Math.ceil(report.days.length / 10);
  report.days.forEach((day, index) => {
    let base = TOP + plotH;
    const x = LEFT + index * slot + slot * 0.15;
    for (const point of report.points.filter((p) => p.day === day)) {
      const height = (value(point, metric) / top) * plotH;
      base -= height;
      const color = COLORS[keys.indexOf(point.agent_id ?? "") % COLORS.length];
      svg.append(s("rect", { x, y: base, width: slot * 0.7, height, fill: color },
        s("title", {}, `${day} · ${keys.label(point.agent_id)} · ${value(point, metric).toLocaleString()}`)));
    }
    if (index % every === 0) svg.append(s("text", { x: x + slot * 0.35, y: CH - 8, class: "axis", "text-anchor": "middle" }, day.slice(5)));
  });
  return svg;
}

export async function usagePage(root) {
  const days = h("select", {}, [7, 30, 90].map((n) => h("option", { value: n, selected: n === 30 }, t("usage.last_days", { days: n }))));
  const metric = h("select", {}, h("option", { value: "tokens" }, t("usage.tokens")), h("option", { value: "calls" }, t("usage.calls")));
  const body = h("div");
  async function render() {
    const report = await call("GET", `/usage?days=${days.value}`);
    const names = new Map(report.agents.map((a) => [a.id, a.name]));
    const keys = [...new Set(report.points.map((p) => p.agent_id ?? ""))];
    keys.label = (id) => (id ? names.get(id) || t("usage.deleted", { id }) : t("usage.no_agent"));
    const rows = keys.map((key) => {
      const mine = report.points.filter((p) => (p.agent_id ?? "") === key);
      const sum = (pick) => mine.reduce((total, p) => total + pick(p), 0);
      return { key, calls: sum((p) => p.calls), input: sum((p) => p.input_tokens), output: sum((p) => p.output_tokens) };
    }).sort((a, b) => b.input + b.output - (a.input + a.output));
    body.replaceChildren(...(report.points.length ? [
      h("div", { class: "chart-box" }, chart(report, keys, metric.value)),
      h("ul", { class: "legend", "aria-label": t("usage.legend") }, keys.map((key, index) => h("li", {},
        s("svg", { class: "swatch", width: 12, height: 12, "aria-hidden": "true" }, s("rect", { width: 12, height: 12, fill: COLORS[index % COLORS.length] })),
        keys.label(key)))),
      h("table", {}, h("caption", {}, t("usage.per_agent")),
        h("thead", {}, h("tr", {}, ...["usage.agent", "usage.calls", "usage.input", "usage.output", "usage.total"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, rows.map((row) => h("tr", {}, h("th", { scope: "row" }, keys.label(row.key)),
          h("td", {}, row.calls.toLocaleString()), h("td", {}, row.input.toLocaleString()), h("td", {}, row.output.toLocaleString()),
          h("td", {}, (row.input + row.output).toLocaleString()))))),
    ] : [h("p", { class: "muted" }, t("usage.none"))]));
  }
  days.addEventListener("change", render);
  metric.addEventListener("change", render);
  root.append(h("h1", {}, t("nav.usage")),
    h("section", { class: "panel" }, h("div", { class: "row" }, h("div", { class: "fit" }, field(t("usage.period"), days)), h("div", { class: "fit" }, field(t("usage.show"), metric))),
      h("p", { class: "muted" }, t("usage.help")), body));
  await render();
}
