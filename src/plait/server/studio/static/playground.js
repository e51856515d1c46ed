// The playground: chat with the draft or the published version, tokens as they stream, tool calls and their
// results and the knowledge chunks a turn used inline (collapsed), a stop button that cancels the run, a new conversation, and the page's answers to
// a turn paused for them (client tools' outputs, approvals of the agent's own tool calls), and the history: the
// user's earlier conversations with the agent, newest first, one of which opens to be read and continued.
import { call, stream } from "./api.js";
import { field, h, when } from "./dom.js";
import { t } from "./i18n.js";

const TOOL_TYPES = new Set(["function_call", "tool_output", "tool_response"]);

export function playground(agent) {
  let config = agent.draft;
  let conversationId = null;
  let running = null; // {controller, chatId, conversationId}
  const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("play.log"), tabindex: "0" });
  const status = h("p", { class: "status-line", role: "status" });
  const version = h("select", {}, h("option", { value: "draft" }, t("play.draft")), h("option", { value: "published" }, t("play.published")));
  const input = h("textarea", { rows: 2, required: true });
  const send = h("button", { type: "submit" }, t("play.send"));
  const stop = h("button", { type: "button", class: "danger", disabled: true, onclick: () => cancel() }, t("play.stop"));
  const fresh = h("button", { type: "button", class: "quiet", onclick: () => reset() }, t("play.new"));
  const earlier = h("ul", { class: "history" });
  const past = h("details", { ontoggle: () => past.open && listEarlier() }, h("summary", {}, t("play.history")), earlier);

  function opening() {
    log.replaceChildren();
    if (config.prologue) log.append(h("div", { class: "msg assistant" }, config.prologue));
    if (config.suggested_questions.length) {
      log.append(h("div", { class: "chips" }, config.suggested_questions.map((q) => h("button", { type: "button", onclick: () => ask(q) }, q))));
    }
  }

  function reset() {
    cancel();
    conversationId = null;
    status.textContent = "";
    opening();
    input.focus();
  }

  function bubble(role, text) {
    const el = h("div", { class: `msg ${role}` }, text);
    log.append(el);
    log.scrollTop = log.scrollHeight;
    return el;
  }

  function toolMessage(message) {
    const label = message.type === "function_call" ? t("play.tool_call", { name: toolName(message.content) }) : t("play.tool_result");
    log.append(h("div", { class: "msg assistant tool" }, h("details", {}, h("summary", {}, label), h("pre", {}, message.content))));
  }

  // A knowledge_recall verbose message (Coze's shape): the chunks in the turn's prompt, each with its scores.
  function knowledgeUsed(message) {
    const recall = recalled(message.content);
    if (!recall) return;
    const chunks = recall.chunks.map((chunk) => h("li", {},
      h("div", { class: "muted" }, [chunk.meta.document.name, ...Object.entries(chunk.scores).map(([name, score]) => `${name} ${score.toFixed(3)}`)].join(" · ")),
      h("div", {}, chunk.truncated ? `${chunk.slice}…` : chunk.slice)));
    log.append(h("div", { class: "msg assistant knowledge" },
      h("details", {}, h("summary", {}, t("play.knowledge", { count: chunks.length })), h("ol", {}, chunks))));
  }

  async function listEarlier() {
    try {
      const found = await call("GET", `/agents/${agent.id}/conversations`);
      earlier.replaceChildren(...(found.items.length ? found.items.map((c) => h("li", {},
        h("button", { type: "button", class: "quiet", onclick: () => reopen(c.id) }, c.first_question || t("play.untitled")),
        " ", h("span", { class: "muted" }, when(c.created_at)))) : [h("li", { class: "muted" }, t("play.no_history"))]));
    } catch (err) {
      earlier.replaceChildren(h("li", { class: "error", role: "alert" }, err.message));
    }
  }

  // Open an earlier conversation: its messages as they were saved; the next turn goes on in it.
  async function reopen(id) {
    await cancel();
    try {
      const found = await call("GET", `/conversations/${id}/messages`);
      conversationId = id;
      log.replaceChildren();
      status.textContent = "";
      for (const message of found.items) {
        if (message.type === "question") bubble("user", message.content);
        else if (message.type === "answer") bubble("assistant", message.content);
        else if (TOOL_TYPES.has(message.type)) toolMessage(message);
        else if (message.type === "verbose") knowledgeUsed(message);
      }
      past.open = false;
      input.focus();
    } catch (err) {
      status.replaceChildren(h("span", { class: "error", role: "alert" }, err.message));
    }
  }

  function finished(chat) {
    const text = chat.error ? `${t(`status.${chat.status}`)}: ${chat.error.msg}` : t(`status.${chat.status}`);
    status.replaceChildren(h("span", { class: `badge ${chat.status}`, "data-status": chat.status }, text));
  }

  async function ask(text) {
    if (running || !text.trim()) return;
    bubble("user", text);
    input.value = "";
    await follow(`/agents/${agent.id}/chat`, { message: text, conversation_id: conversationId, version: version.value });
  }

  // Stream a turn (a new one, or one going on after its tool calls were answered) into the log.
  async function follow(path, body) {
    const answers = new Map();
    const controller = new AbortController();
    running = { controller, chatId: null, conversationId: null };
    send.disabled = true;
    stop.disabled = false;
    status.textContent = t("play.thinking");
    try {
      await stream(path, body, (event) => {
        if (event.event === "chat") {
          conversationId = event.conversation_id;
          Object.assign(running, { chatId: event.chat_id, conversationId: event.conversation_id });
          if (!["created", "in_progress"].includes(event.status)) finished(event);
          if (event.status === "requires_action") askForOutputs(event);
        } else if (event.event === "delta") {
          const el = answers.get(event.message_id) || bubble("assistant", "");
          answers.set(event.message_id, el);
          el.append(event.text);
          log.scrollTop = log.scrollHeight;
        } else if (event.event === "message") {
          const message = event.message;
          if (TOOL_TYPES.has(message.type)) toolMessage(message);
          else if (message.type === "verbose") knowledgeUsed(message);
          else if (message.type === "answer") {
            const el = answers.get(message.id) || bubble("assistant", "");
            el.textContent = message.content;
          } else if (message.type === "follow_up") {
            log.append(h("div", { class: "chips" }, h("button", { type: "button", onclick: () => ask(message.content) }, message.content)));
          }
        }
      }, controller.signal);
    } catch (err) {
      if (err.name !== "AbortError") status.replaceChildren(h("span", { class: "error", role: "alert" }, err.message));
    } finally {
      running = null;
      send.disabled = false;
      stop.disabled = true;
    }
  }

  // A turn paused for the page: each client tool's output, each approval's yes or no, sent at once.
  function askForOutputs(chat) {
    const answers = chat.tool_calls.map((call) => {
      const legend = h("legend", {}, t(call.approval ? "play.approve_call" : "play.client_call", { name: call.name }));
      const args = h("pre", {}, call.arguments);
      if (call.approval) {
        const group = `approve-${call.id}`;
        const yes = h("input", { type: "radio", name: group, value: "yes", required: true });
        const no = h("input", { type: "radio", name: group, value: "no" });
        return { call, box: h("fieldset", {}, legend, args, h("label", { class: "check" }, yes, t("play.approve")), h("label", { class: "check" }, no, t("play.reject"))),
          output: () => JSON.stringify({ approved: yes.checked }) };
      }
      const text = h("textarea", { rows: 2, required: true });
      return { call, box: h("fieldset", {}, legend, args, field(t("play.output"), text)), output: () => text.value };
    });
    const form = h("form", { class: "msg assistant tool-outputs", onsubmit: async (event) => {
      event.preventDefault();
      form.querySelector("button").disabled = true;
      const tool_outputs = answers.map((a) => ({ tool_call_id: a.call.id, output: a.output() }));
      await follow("/chats/submit_tool_outputs", { conversation_id: chat.conversation_id, chat_id: chat.chat_id, tool_outputs });
      form.remove();
    } }, h("p", {}, t("play.needs_you")), answers.map((a) => a.box), h("button", { type: "submit" }, t("play.send_outputs")));
    log.append(form);
    log.scrollTop = log.scrollHeight;
    form.querySelector("input, textarea")?.focus();
  }

  async function cancel() {
    const run = running;
    if (!run) return;
    if (run.chatId) {
      try {
        finished(await call("POST", "/chats/cancel", { conversation_id: run.conversationId, chat_id: run.chatId }));
      } catch (err) {
        status.textContent = err.message;
      }
    }
    run.controller.abort(); // the server stops a run whose page left, in case the cancel did not reach it
  }

  opening();
  const element = h("section", { class: "panel", "aria-labelledby": "play-title" },
    h("div", { class: "row" }, h("h2", { id: "play-title" }, t("play.title")), h("div", { class: "fit" }, field(t("play.version"), version)), h("div", { class: "fit" }, fresh)),
    past, log, status,
    h("form", { onsubmit: (event) => { event.preventDefault(); ask(input.value); } },
      field(t("play.message"), input),
      h("p", { class: "row" }, h("span"), stop, send)));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); ask(input.value); }
  });
  return {
    element,
    stop: () => cancel(),
    update(draft) { config = draft; if (!conversationId) opening(); },
  };
}

function recalled(content) {
  try {
    const verbose = JSON.parse(content);
    return verbose.msg_type === "knowledge_recall" ? JSON.parse(verbose.data) : null;
  } catch { return null; }
}

function toolName(content) {
  try { return JSON.parse(content).name || ""; } catch { return ""; }
}
