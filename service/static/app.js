// The chat page: upload files, ask questions, show answers with citations.
// Plain JavaScript, no libraries; the session id is kept in localStorage.
"use strict";

const LIBRARY = "library";
const KEY_SESSION = "workbook.session";
const KEY_API = "workbook.apiKey";
const $ = (id) => document.getElementById(id);
const authRequired = document.body.dataset.authRequired === "true";

let session = localStorage.getItem(KEY_SESSION) || LIBRARY;

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = authRequired && $("api-key") ? $("api-key").value.trim() : "";
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function call(method, url, body, extraHeaders) {
  const response = await fetch(url, { method, body, headers: headers(extraHeaders) });
  let data = {};
  try { data = await response.json(); } catch (_) { /* non-JSON error page */ }
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : response.statusText;
    const error = new Error(detail || "request failed (" + response.status + ")");
    error.status = response.status;
    throw error;
  }
  return data;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function addMessage(role, text, citations) {
  const empty = $("empty");
  if (empty) empty.remove();
  const box = el("div", "msg " + role);
  box.appendChild(el("div", "who", role === "user" ? "You" : role === "error" ? "Error" : "Answer"));
  box.appendChild(el("div", "text", text));
  if (citations && citations.length) {
    const list = el("ul", "citations");
    citations.forEach((c, i) => {
      const item = el("li", "citation");
      const where = c.page ? c.source + ", page " + c.page : c.source;
      item.appendChild(el("span", "num", "[" + (i + 1) + "] "));
      item.appendChild(el("span", "src", where));
      item.appendChild(el("span", "snip", c.snippet));
      list.appendChild(item);
    });
    box.appendChild(list);
  }
  $("messages").appendChild(box);
  $("messages").scrollTop = $("messages").scrollHeight;
}

function clearMessages() {
  $("messages").replaceChildren(el("p", "empty", session === LIBRARY
    ? "Ask about the ECS deployment notes. Every answer cites its source."
    : "Ask about your documents. Every answer cites its source."));
  $("messages").firstChild.id = "empty";
}

function showDocuments(docs) {
  const list = $("documents");
  list.replaceChildren();
  for (const d of docs || []) {
    const item = el("li", null, d.name + " ");
    item.appendChild(el("span", null, d.chunks + (d.chunks === 1 ? " chunk" : " chunks") + (d.pages ? ", " + d.pages + " pages" : "")));
    list.appendChild(item);
  }
}

function setSession(id) {
  session = id;
  localStorage.setItem(KEY_SESSION, id);
  $("session-label").textContent = id === LIBRARY ? "Notes library" : "Your documents · " + id.slice(0, 8);
  $("session-label").title = id;
  $("delete-btn").hidden = id === LIBRARY;
}

async function loadSession() {
  setSession(session);
  clearMessages();
  showDocuments([]);
  try {
    const data = await call("GET", "/sessions/" + encodeURIComponent(session) + "/history");
    showDocuments(data.documents);
    for (const m of data.messages) addMessage(m.role, m.text, m.citations);
  } catch (error) {
    if (error.status === 404 && session !== LIBRARY) {
      setSession(LIBRARY);   // the session expired or was deleted elsewhere
      return loadSession();
    }
    addMessage("error", error.message);
  }
}

async function upload(event) {
  event.preventDefault();
  const files = $("files").files;
  if (!files.length) { $("upload-status").textContent = "Choose one or more files first."; return; }
  const form = new FormData();
  for (const f of files) form.append("files", f);
  if (session !== LIBRARY) form.append("session_id", session);
  $("upload-btn").disabled = true;
  $("upload-status").textContent = "Indexing…";
  try {
    const data = await call("POST", "/upload", form);
    const fresh = data.session_id !== session;
    setSession(data.session_id);
    if (fresh) clearMessages();
    const history = await call("GET", "/sessions/" + encodeURIComponent(session) + "/history");
    showDocuments(history.documents);
    $("upload-status").textContent = data.message;
    $("files").value = "";
  } catch (error) {
    $("upload-status").textContent = error.message;
  } finally {
    $("upload-btn").disabled = false;
  }
}

async function ask(event) {
  event.preventDefault();
  const message = $("question").value.trim();
  if (!message) return;
  addMessage("user", message);
  $("question").value = "";
  $("send-btn").disabled = true;
  try {
    const data = await call("POST", "/chat", JSON.stringify({ session_id: session, message }),
      { "Content-Type": "application/json" });
    addMessage("assistant", data.answer, data.citations);
  } catch (error) {
    addMessage("error", error.message);
  } finally {
    $("send-btn").disabled = false;
    $("question").focus();
  }
}

async function deleteSession() {
  if (!confirm("Delete this session's documents and history?")) return;
  try {
    await call("DELETE", "/sessions/" + encodeURIComponent(session));
  } catch (error) {
    if (error.status !== 404) { addMessage("error", error.message); return; }
  }
  setSession(LIBRARY);
  loadSession();
}

async function pollReady() {
  const pill = $("status");
  try {
    const response = await fetch("/ready");
    const data = await response.json();
    pill.textContent = data.ready ? "ready" : "starting…";
    pill.className = "pill " + (data.ready ? "ok" : "");
    if (!data.ready) setTimeout(pollReady, 1000);
  } catch (_) {
    pill.textContent = "offline";
    pill.className = "pill bad";
    setTimeout(pollReady, 3000);
  }
}

if (authRequired && $("api-key")) {
  $("api-key").value = localStorage.getItem(KEY_API) || "";
  $("api-key").addEventListener("change", () => localStorage.setItem(KEY_API, $("api-key").value.trim()));
}
$("upload-form").addEventListener("submit", upload);
$("chat-form").addEventListener("submit", ask);
$("question").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) ask(e);
});
$("library-btn").addEventListener("click", () => { setSession(LIBRARY); loadSession(); });
$("delete-btn").addEventListener("click", deleteSession);
loadSession();
pollReady();
