// A tiny element builder: h("button", {type: "button", onclick}, "text", child...). Text is always text.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

let fieldIds = 0;

// A labelled control: the label names it for screen readers and clicking it focuses the control.
export function field(label, control, hint) {
  control.id ||= `f${++fieldIds}`;
  return h("div", {}, h("label", { for: control.id }, label), control, hint ? h("div", { class: "muted" }, hint) : null);
}

export function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ""; }, 5000);
}

export function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}

// Show a route: a new hash, or the same one again (the views listen for hashchange).
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}
