// Two agent configs compared field by field: nested objects as dotted paths (model.temperature), lists and
// other values whole; long or multi-line text (the persona) as a line diff.

const unset = (value) => value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length);
const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

// {path: value} of every leaf: an object's keys become dotted paths; a list is one leaf.
export function flatten(value, prefix = "", out = {}) {
  if (isObject(value) && (Object.keys(value).length || !prefix)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out[prefix] = value;
  }
  return out;
}

// [{path, kind, before, after}] in the order the fields come: kind is "added" (it had no value: missing, null,
// "" or []), "removed" (it has none now) or "changed".
export function configDiff(before, after) {
  const old = flatten(before ?? {});
  const now = flatten(after ?? {});
  const changes = [];
  for (const path of [...new Set([...Object.keys(old), ...Object.keys(now)])]) {
    const [a, b] = [old[path], now[path]];
    if (unset(a) && unset(b)) continue;
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const kind = unset(a) ? "added" : unset(b) ? "removed" : "changed";
    changes.push({ path, kind, before: a, after: b });
  }
  return changes;
}

// [{op, line}] turning a's lines into b's: op " " kept, "-" removed, "+" added (a longest common subsequence).
export function lineDiff(a, b) {
  const x = (a ?? "").split("\n");
  const y = (b ?? "").split("\n");
  const common = Array.from({ length: x.length + 1 }, () => new Array(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      common[i][j] = x[i] === y[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const out = [];
  let [i, j] = [0, 0];
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      out.push({ op: " ", line: x[i] });
      i++;
      j++;
    } else if (j < y.length && (i >= x.length || common[i][j + 1] >= common[i + 1][j])) {
      out.push({ op: "+", line: y[j++] });
    } else {
      out.push({ op: "-", line: x[i++] });
    }
  }
  return out;
}

// Whether a change is best read as a line diff: text, on several lines or long.
export function isLongText(change) {
  const both = [change.before, change.after];
  return both.every((v) => unset(v) || typeof v === "string")
    && both.some((v) => typeof v === "string" && (v.includes("\n") || v.length > 80));
}
