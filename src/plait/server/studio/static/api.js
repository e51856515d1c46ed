// Calls of /api/studio/*: the signed-in key (if any) as a Bearer token, the chosen workspace, and the header
// that marks studio requests (a page of another origin cannot send it without a refused CORS preflight).
const KEYS = "plait.keys";        // [{token, workspace_id, workspace_name}]: one key per workspace
const ACTIVE = "plait.workspace"; // the workspace the page shows

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const auth = {
  keys() { return JSON.parse(localStorage.getItem(KEYS) || "[]"); },
  active() { return localStorage.getItem(ACTIVE) || ""; },
  setActive(workspaceId) { localStorage.setItem(ACTIVE, workspaceId); },
  token() {
    const active = this.active();
    const keys = this.keys();
    return (keys.find((k) => k.workspace_id === active) || (active ? null : keys[0]))?.token || "";
  },
  remember(token, workspace) {
    const keys = this.keys().filter((k) => k.workspace_id !== workspace.id);
    keys.push({ token, workspace_id: workspace.id, workspace_name: workspace.name });
    localStorage.setItem(KEYS, JSON.stringify(keys));
    this.setActive(workspace.id);
  },
  forget() {
    const active = this.active();
    localStorage.setItem(KEYS, JSON.stringify(this.keys().filter((k) => k.workspace_id !== active)));
    localStorage.removeItem(ACTIVE);
  },
};

export function headers(token = auth.token(), extra = {}) {
  const sent = { "x-plait-studio": "1", ...extra };
  if (token) sent.authorization = `Bearer ${token}`;
  const workspace = auth.active();
  if (workspace) sent["x-plait-workspace"] = workspace;
  return sent;
}

async function fail(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON: a proxy's page */ }
  throw new ApiError(response.status, body.code || 0, body.msg || response.statusText);
}

export async function call(method, path, body, { token } = {}) {
  const options = { method, headers: headers(token) };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/studio${path}`, options);
  if (!response.ok) await fail(response);
  return response.json();
}

// POST one file as the multipart `file` with XMLHttpRequest, which reports the bytes sent (fetch does not):
// onProgress(sent, total) as they go; the JSON answer, or an ApiError as call() throws (status 0: no answer).
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/studio${path}`);
    for (const [name, value] of Object.entries(headers())) xhr.setRequestHeader(name, value);
    xhr.responseType = "json";
    xhr.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded, event.total); };
    xhr.onload = () => {
      const body = xhr.response || {};
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body.code || 0, body.msg || xhr.statusText));
    };
    xhr.onerror = () => reject(new ApiError(0, 0, ""));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

// POST a JSON body and hand each `data:` event of the SSE answer to onEvent, until the stream ends.
export async function stream(path, body, onEvent, signal) {
  const response = await fetch(`/api/studio${path}`, {
    method: "POST",
    headers: headers(undefined, { "content-type": "application/json", accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) await fail(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}
