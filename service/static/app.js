// The chat page: upload files, ask questions, show answers with citations.
// Plain JavaScript, no libraries. On first load the page creates its own session that
// searches the notes library AND this browser's uploads (POST /sessions), so follow-up
// questions have a history of their own; the session id is kept in localStorage.
"use strict";

const LIBRARY = "library";   // the shared, stateless id: never used as this page's session
const KEY_SESSION = "workbook.session";
const KEY_API = "workbook.apiKey";
const $ = (id) => document.getElementById(id);
const authRequired = document.body.dataset.authRequired === "true";

let session = localStorage.getItem(KEY_SESSION);
if (session === LIBRARY) session = null;   // saved by an older page: start a session instead
let sessionLibrary = true;

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = authRequired && $("api-key") ? $("api-key").value.trim() : "";
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function call(method, url, body, extraHeaders) {
  let response;
  try {
    response = await fetch(url, { method, body, headers: headers(extraHeaders) });
  } catch (_) {   // the browser's own "Failed to fetch": no answer at all
    throw new Error("Cannot reach the service: check that it is running, then try again.");
  }
  let data = {};
  try { data = await response.json(); } catch (_) { /* non-JSON error page */ }
  if (!response.ok) {
    const error = new Error(describeFailure(response, data));
    error.status = response.status;
    throw error;
  }
  return data;
}

// What a failed request tells the reader: the service's own detail when it sent one, else
// what to do about the status (a proxy's or the server's bare error page says nothing).
function describeFailure(response, data) {
  if (typeof data.detail === "string" && data.detail) return data.detail;
  const id = response.headers.get("x-request-id");
  const quote = id ? " Quote request id " + id + " if you report it." : "";
  if (response.status >= 500) {
    return "The service failed (HTTP " + response.status + "). Try again in a moment." + quote;
  }
  return "The request was refused (HTTP " + response.status + ")." + quote;
}

function showUploadStatus(text, failed) {
  $("upload-status").textContent = text;
  $("upload-status").classList.toggle("error", failed);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// A citation's file name: a link opening the note at its section in a new tab when the
// service serves that note (the notes library), plain text for an uploaded document.
function citationSource(url, text) {
  if (typeof url !== "string" || !url.startsWith("/notes/")) return el("span", "src", text);
  const link = el("a", "src", text);
  link.href = url;
  link.target = "_blank";
  link.rel = "noopener";
  link.title = "Open the note at this section";
  return link;
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
      item.appendChild(citationSource(c.url, where));
      if (c.section) item.appendChild(el("span", "sec", " · " + c.section));
      item.appendChild(el("span", "snip", c.snippet));
      list.appendChild(item);
    });
    box.appendChild(list);
  }
  $("messages").appendChild(box);
  $("messages").scrollTop = $("messages").scrollHeight;
}

function clearMessages() {
  $("messages").replaceChildren(el("p", "empty", sessionLibrary
    ? "Ask about the ECS deployment notes, or upload your own files and ask about them too. Every answer cites its source."
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

function setSession(id, library) {
  session = id;
  if (library !== undefined) sessionLibrary = library;
  if (id) localStorage.setItem(KEY_SESSION, id); else localStorage.removeItem(KEY_SESSION);
  const what = sessionLibrary ? "Notes + your documents" : "Your documents";
  const label = $("session-label");
  label.textContent = id ? what + " · " : "No session yet";
  if (id) label.append(el("span", "sid", id.slice(0, 8)));   // never broken across lines
  label.title = id || "";
  $("delete-btn").hidden = !id;
}

// Create a library-backed session unless this page already has one (one request at a time).
let creating = null;
async function ensureSession() {
  if (session) return session;
  if (!creating) {
    creating = call("POST", "/sessions", JSON.stringify({ library: true }),
      { "Content-Type": "application/json" })
      .then((data) => { setSession(data.session_id, data.library); return session; })
      .finally(() => { creating = null; });
  }
  return creating;
}

async function newSession() {
  setSession(null, true);
  clearMessages();
  showDocuments([]);
  try {
    await ensureSession();
  } catch (error) {
    addMessage("error", error.status === 401
      ? "Enter the API key to start a session." : error.message);
  }
}

async function loadSession() {
  if (!session) return newSession();
  setSession(session);
  clearMessages();
  showDocuments([]);
  try {
    const data = await call("GET", "/sessions/" + encodeURIComponent(session) + "/history");
    setSession(session, data.library);
    clearMessages();
    showDocuments(data.documents);
    for (const m of data.messages) addMessage(m.role, m.text, m.citations);
  } catch (error) {
    if (error.status === 404) return newSession();   // expired or deleted elsewhere
    addMessage("error", error.status === 401
      ? "Enter the API key to see this session's history." : error.message);
  }
}

async function upload(event) {
  event.preventDefault();
  const files = $("files").files;
  if (!files.length) { showUploadStatus("Choose one or more files first.", true); return; }
  $("upload-btn").disabled = true;
  showUploadStatus("Indexing…", false);
  try {
    await ensureSession();
    const form = new FormData();
    for (const f of files) form.append("files", f);
    form.append("session_id", session);   // uploads join this page's session
    const data = await call("POST", "/upload", form);
    setSession(data.session_id, data.library);
    const history = await call("GET", "/sessions/" + encodeURIComponent(session) + "/history");
    showDocuments(history.documents);
    showUploadStatus(data.message, false);
  } catch (error) {
    showUploadStatus(error.message, true);
  } finally {
    $("files").value = "";   // after a failure too: the next choice starts from nothing
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
    await ensureSession();
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
  newSession();
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
  $("api-key").addEventListener("change", () => {
    localStorage.setItem(KEY_API, $("api-key").value.trim());
    loadSession();   // the history (or a new session) the key now opens
  });
}
$("upload-form").addEventListener("submit", upload);
$("chat-form").addEventListener("submit", ask);
$("question").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) ask(e);
});
$("new-btn").addEventListener("click", newSession);
$("delete-btn").addEventListener("click", deleteSession);
loadSession();
pollReady();
