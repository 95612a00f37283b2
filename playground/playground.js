// The Video Data Store playground: two participants of one meeting, each with
// its own graphql-transport-ws socket, side by side.
//
// Every document a pane shows comes from its subscriptions, never from the
// answer to its own writes: that way a pane shows exactly what any other
// client of the room sees, and a write in one pane visibly travels to both.
"use strict";

const SCOPES = ["APP", "ROOM", "OWNER", "USER", "SESSION"];
const WS_URL = `${location.origin.replace(/^http/, "ws")}/graphql`;
const DEMO_URL = "/playground/demo";
const FEED_LENGTH = 40;

const VIEWER = `{ viewer { clientId userRef name role confNum roomId appId } }`;

const SET = `mutation Set($scope: Scope!, $data: JSON!, $mode: WriteMode) {
  setCustomData(scope: $scope, data: $data, mode: $mode) { revision applied }
}`;

const DELETE = `mutation Delete($scope: Scope!, $keys: [String!]) {
  deleteCustomData(scope: $scope, keys: $keys) { revision applied }
}`;

// includeSnapshot: the first event is the whole document, then every change
// after it, with no gap between the two (the server promises that).
const FOLLOW = `subscription Follow($scope: Scope!) {
  customDataChanged(scope: $scope, includeSnapshot: true) {
    kind scope revision patch data changedKeys removedKeys
    confNum roomId ownerRef userRef
    author { application userRef name }
  }
}`;

// ---------------------------------------------------------------- helpers

/** Find the element of a pane that the template marked data-part="part". */
function part(root, name) {
  return root.querySelector(`[data-part="${name}"]`) ||
    (root.dataset.part === name ? root : null);
}

/** Make an element with attributes and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

/**
 * JSON, indented, but with arrays of plain values on one line: a poll's
 * options then read as one line instead of one line each.
 */
function pretty(value, indent = "") {
  const inner = `${indent}  `;
  const plain = (item) => item === null || typeof item !== "object";
  if (Array.isArray(value)) {
    if (value.every(plain)) return `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
    return `[\n${value.map((item) => inner + pretty(item, inner)).join(",\n")}\n${indent}]`;
  }
  if (plain(value)) return JSON.stringify(value);
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}";
  const lines = entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${pretty(item, inner)}`);
  return `{\n${lines.join(",\n")}\n${indent}}`;
}

/** A name fit for a data-testid: "Ice cream!" → "ice-cream". */
function slug(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * Apply a JSON Merge Patch (RFC 7386), as the server does. Used only when an
 * event comes without its document (the server leaves `data` null for older
 * replayed changes), so that the pane's copy stays right either way.
 */
function mergePatch(target, patch) {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const result =
    target !== null && typeof target === "object" && !Array.isArray(target)
      ? { ...target }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

// ----------------------------------------------------------------- errors

/**
 * Turn anything graphql-ws reports into a list of {code, message}: GraphQL
 * errors (from a result or an `error` message), a socket close, or a plain
 * Error. The code is what a program should look at, so it is always shown.
 */
function errorList(error) {
  if (Array.isArray(error)) return error.flatMap(errorList);
  if (error && typeof error.code === "number" && "reason" in error) {
    return [{ code: `SOCKET_CLOSED ${error.code}`, message: error.reason || "the socket closed" }];
  }
  // A bare socket `error` event: the browser says nothing more on purpose.
  if (typeof Event !== "undefined" && error instanceof Event) {
    return [{ code: "SOCKET_ERROR", message: "could not reach the server" }];
  }
  if (error && error.message !== undefined) {
    const code = (error.extensions && error.extensions.code) || "ERROR";
    return [{ code, message: error.message }];
  }
  return [{ code: "ERROR", message: String(error) }];
}

function describeErrors(errors) {
  return errorList(errors).map(({ code, message }) => `${code}: ${message}`).join("\n");
}

// ---------------------------------------------------------------- GraphQL

/**
 * Run one query or mutation over the pane's socket (the socket *is* the
 * participant, so there is no other credential to send). Always resolves,
 * with {data, errors}, so that callers have one path for both outcomes.
 */
function request(client, query, variables = {}) {
  return new Promise((resolve) => {
    let result = { errors: [{ message: "the server sent no answer" }] };
    client.subscribe(
      { query, variables },
      {
        next: (value) => { result = value; },
        error: (error) => resolve({ errors: errorList(error) }),
        complete: () => resolve(result),
      },
    );
  });
}

// ------------------------------------------------------------------ panes

const panes = [];

/** Build a pane for one person of the demo and connect it. */
function createPane(person) {
  const key = person.userRef;
  const fragment = document.getElementById("pane-template").content.cloneNode(true);
  const root = fragment.querySelector(".pane");
  // data-part="x" → data-testid="x-ada": stable handles for tests and readers.
  for (const element of fragment.querySelectorAll("[data-part]")) {
    element.dataset.testid = `${element.dataset.part}-${key}`;
  }
  const pane = {
    person,
    key,
    root,
    viewer: null,
    documents: {}, // scope → {data, revision, label}
    client: null,
  };
  part(root, "name").textContent = person.name;
  part(root, "role").textContent = person.role;
  buildScopes(pane);
  wireEditor(pane);
  wirePoll(pane);
  renderPoll(pane);
  document.getElementById("panes").append(fragment);
  connect(pane);
  return pane;
}

/** One card per scope, and the editor's scope picker. */
function buildScopes(pane) {
  const grid = part(pane.root, "scopes");
  const picker = part(pane.root, "editor-scope");
  for (const scope of SCOPES) {
    grid.append(
      h(
        "article",
        { class: `scope ${scope.toLowerCase()}`, "data-testid": `scope-${pane.key}-${scope}` },
        h(
          "header",
          {},
          h("b", {}, scope),
          h("span", { class: "target", "data-testid": `target-${pane.key}-${scope}` }),
          h("span", { class: "rev" }, "rev ",
            h("span", { "data-testid": `revision-${pane.key}-${scope}` }, "–")),
        ),
        h("pre", { "data-testid": `data-${pane.key}-${scope}` }, "…"),
      ),
    );
    picker.append(h("option", { value: scope }, scope));
  }
  picker.value = "SESSION";
}

/** Open the pane's socket: connection_init carries the join token, which joins the room. */
function connect(pane) {
  setStatus(pane, "connecting…", "connecting");
  pane.client = graphqlWs.createClient({
    url: WS_URL,
    connectionParams: { Authorization: `Bearer ${pane.person.token}` },
    lazy: false,
    // After a dropped socket graphql-ws reconnects (with growing waits, about
    // half a minute in all) and resubscribes; the new socket joins again as a
    // new participant, and the snapshots bring each document up to date.
    retryAttempts: 5,
    on: {
      connecting: () => setStatus(pane, "connecting…", "connecting"),
      connected: () => onConnected(pane),
      closed: (event) => onClosed(pane, event),
    },
  });
  for (const scope of SCOPES) follow(pane, scope);
}

/** Each (re)connection is a fresh participant: ask the server who we are now. */
async function onConnected(pane) {
  setStatus(pane, "joining…", "connecting");
  const { data, errors } = await request(pane.client, VIEWER);
  if (errors) {
    setStatus(pane, describeErrors(errors), "error");
    return;
  }
  if (pane.viewer) {
    addFeedLine(pane, h("li", { class: "event note" }, `reconnected: joined again as ${data.viewer.clientId}`));
  }
  pane.viewer = data.viewer;
  renderViewer(pane);
  checkReady(pane);
}

function onClosed(pane, event) {
  pane.root.dataset.ready = "false";
  const reason = event && event.reason ? `: ${event.reason}` : "";
  const code = event && event.code ? ` ${event.code}` : "";
  setStatus(pane, `disconnected${code}${reason}`, "error");
}

function setStatus(pane, text, state) {
  const status = part(pane.root, "status");
  status.textContent = text;
  status.dataset.state = state;
}

/** Ready once we know who we are and hold every scope's snapshot. */
function checkReady(pane) {
  const complete = SCOPES.every((scope) => pane.documents[scope]);
  if (!pane.viewer || !complete) return;
  pane.root.dataset.ready = "true";
  setStatus(pane, `joined · session #${pane.viewer.confNum}`, "joined");
}

function renderViewer(pane) {
  const viewer = pane.viewer;
  const list = part(pane.root, "viewer");
  list.replaceChildren();
  for (const name of ["clientId", "userRef", "role", "confNum", "roomId"]) {
    list.append(h("dt", {}, name), h("dd", { "data-testid": `viewer-${pane.key}-${name}` }, String(viewer[name])));
  }
}

// ---------------------------------------------------------- live documents

function follow(pane, scope) {
  pane.client.subscribe(
    { query: FOLLOW, variables: { scope } },
    {
      next: ({ data, errors }) => {
        if (errors) addFeedError(pane, scope, errors);
        if (data && data.customDataChanged) applyEvent(pane, data.customDataChanged);
      },
      // Access can end a feed (the session ended, the participant left…).
      error: (error) => addFeedError(pane, scope, error),
      complete: () => {},
    },
  );
}

/** Bring the pane's copy of a document up to the event's revision, then redraw. */
function applyEvent(pane, event) {
  const previous = pane.documents[event.scope];
  const data =
    event.data !== null && event.data !== undefined
      ? event.data
      : mergePatch(previous ? previous.data : {}, event.patch || {});
  pane.documents[event.scope] = { data, revision: event.revision, label: targetLabel(event) };
  renderScope(pane, event.scope);
  addFeedEvent(pane, event);
  if (event.scope === "SESSION") renderPoll(pane);
  checkReady(pane);
}

/** Which document of the scope this is: the subscription follows our own by default. */
function targetLabel(event) {
  switch (event.scope) {
    case "ROOM": return event.roomId || "";
    case "OWNER": return event.ownerRef || "";
    case "USER": return event.userRef || "";
    case "SESSION": return event.confNum ? `#${event.confNum}` : "";
    default: return "application";
  }
}

function renderScope(pane, scope) {
  const documentState = pane.documents[scope];
  const id = (name) => pane.root.querySelector(`[data-testid="${name}-${pane.key}-${scope}"]`);
  id("revision").textContent = String(documentState.revision);
  id("target").textContent = documentState.label;
  id("data").textContent = pretty(documentState.data);
}

function authorLabel(author) {
  if (!author) return "";
  if (author.application) return "the application";
  return author.name || author.userRef || "someone";
}

function addFeedEvent(pane, event) {
  const keys = [
    ...event.changedKeys,
    ...event.removedKeys.map((key) => `−${key}`),
  ];
  const by = authorLabel(event.author);
  addFeedLine(
    pane,
    h(
      "li",
      { class: `event ${event.kind.toLowerCase()}` },
      h("span", { class: "kind" }, event.kind),
      h("span", { class: "scope-name" }, event.scope),
      h("span", { class: "rev" }, `r${event.revision}`),
      h("span", { class: "by" }, by ? `by ${by}` : ""),
      h("span", { class: "keys" }, keys.length ? keys.join(", ") : event.kind === "SNAPSHOT" ? "whole document" : "—"),
    ),
  );
}

function addFeedError(pane, scope, error) {
  addFeedLine(pane, h("li", { class: "event error" }, `${scope}: ${describeErrors(error)}`));
}

/** Newest first, and only the last few: the feed is a view, not a log. */
function addFeedLine(pane, line) {
  const feed = part(pane.root, "feed");
  feed.prepend(line);
  while (feed.children.length > FEED_LENGTH) feed.lastElementChild.remove();
}

// ------------------------------------------------------------------ writes

/** Show the outcome of a write in the pane: its new revision, or its errors. */
function showResult(pane, label, { data, errors }) {
  const output = part(pane.root, "result");
  if (errors) {
    output.textContent = `${label} refused\n${describeErrors(errors)}`;
    output.dataset.state = "error";
    return;
  }
  const answer = Object.values(data)[0];
  output.textContent = answer.applied
    ? `${label} → revision ${answer.revision}`
    : `${label}: nothing changed (revision ${answer.revision})`;
  output.dataset.state = "ok";
}

async function write(pane, scope, data, mode) {
  const result = await request(pane.client, SET, { scope, data, mode });
  showResult(pane, `${mode} ${scope}`, result);
  return result;
}

function editorJson(pane) {
  const text = part(pane.root, "editor").value;
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    // Not sent: the server would refuse it as well, but say so here first.
    return { errors: [{ message: `not JSON (${error.message})`, extensions: { code: "INVALID_JSON" } }] };
  }
}

function wireEditor(pane) {
  const scopeOf = () => part(pane.root, "editor-scope").value;
  const writeEditor = (mode) => {
    const parsed = editorJson(pane);
    if (parsed.errors) showResult(pane, `${mode} ${scopeOf()}`, parsed);
    else write(pane, scopeOf(), parsed.value, mode);
  };
  part(pane.root, "merge").addEventListener("click", () => writeEditor("MERGE"));
  part(pane.root, "replace").addEventListener("click", () => writeEditor("REPLACE"));
  part(pane.root, "delete").addEventListener("click", async () => {
    const key = part(pane.root, "delete-key").value.trim();
    const scope = scopeOf();
    const keys = key ? [key] : [];
    showResult(pane, `DELETE ${scope} ${key}`, await request(pane.client, DELETE, { scope, keys }));
  });
  part(pane.root, "load").addEventListener("click", () => {
    const current = pane.documents[scopeOf()];
    part(pane.root, "editor").value = pretty(current ? current.data : {});
  });
  // A client may read APP data but not write it: the server answers FORBIDDEN.
  part(pane.root, "refused").addEventListener("click", () =>
    write(pane, "APP", { playground: "a client tried this" }, "MERGE"),
  );
}

// -------------------------------------------------------------------- poll

function currentPoll(pane) {
  const session = pane.documents.SESSION;
  const poll = session && session.data && session.data.poll;
  return poll && typeof poll === "object" && Array.isArray(poll.options) ? poll : null;
}

/**
 * The patch that opens a poll. A merge keeps whatever it does not mention,
 * so the previous poll's votes are removed by name (null); otherwise they
 * would count in the new poll.
 */
function openPollPatch(question, options, previous) {
  const votes = {};
  for (const voter of Object.keys((previous && previous.votes) || {})) votes[voter] = null;
  return { poll: { question, options, votes } };
}

function wirePoll(pane) {
  const form = part(pane.root, "poll-form");
  // In this demo the moderator runs the poll; the server would let anyone in
  // the session write it, since SESSION data is shared by the whole meeting.
  form.hidden = pane.person.role !== "MODERATOR";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = part(pane.root, "poll-question").value.trim() || "Poll";
    const options = [
      ...new Set(
        part(pane.root, "poll-options").value.split(",").map((o) => o.trim()).filter(Boolean),
      ),
    ];
    write(pane, "SESSION", openPollPatch(question, options, currentPoll(pane)), "MERGE");
  });
}

/** A vote is a merge of one key: everyone else's votes stay as they are. */
function vote(pane, option) {
  write(pane, "SESSION", { poll: { votes: { [pane.key]: option } } }, "MERGE");
}

function renderPoll(pane) {
  const poll = currentPoll(pane);
  const title = part(pane.root, "poll-title");
  const buttons = part(pane.root, "votes");
  const tally = part(pane.root, "tally");
  buttons.replaceChildren();
  tally.replaceChildren();
  if (!poll) {
    title.textContent = "No poll yet.";
    return;
  }
  const votes = poll.votes && typeof poll.votes === "object" ? poll.votes : {};
  title.textContent = poll.question;
  for (const option of poll.options) {
    const mine = votes[pane.key] === option;
    buttons.append(
      h(
        "button",
        {
          type: "button",
          class: mine ? "mine" : "",
          "data-testid": `vote-${pane.key}-${slug(option)}`,
          onclick: () => vote(pane, option),
        },
        option,
      ),
    );
    tally.append(tallyLine(pane, option, votes));
  }
}

function tallyLine(pane, option, votes) {
  const voters = Object.keys(votes).filter((voter) => votes[voter] === option).sort();
  const total = Object.keys(votes).length;
  const share = total ? Math.round((100 * voters.length) / total) : 0;
  return h(
    "li",
    { "data-testid": `tally-${pane.key}-${slug(option)}`, "data-count": String(voters.length) },
    h("span", { class: "option" }, option),
    h("span", { class: "bar" }, h("span", { style: `width: ${share}%` })),
    h("span", { class: "count" }, String(voters.length)),
    h("span", { class: "voters" }, voters.join(", ")),
  );
}

// -------------------------------------------------------------------- demo

function say(text, state) {
  const status = document.getElementById("demo-status");
  status.textContent = text;
  status.dataset.state = state;
}

/** Ask the server for a fresh room and a join token per person. */
async function fetchDemo() {
  const response = await fetch(DEMO_URL, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  if (response.status === 404 || response.status === 405) {
    // The route exists only when the operator allows demo applications.
    throw new Error(
      "The demo endpoint is off on this server. Start it with " +
        "DATASTORE_PLAYGROUND_DEMO=true (./scripts/serve sets it), e.g. " +
        "DATASTORE_PLAYGROUND_DEMO=true datastore serve",
    );
  }
  if (!response.ok) throw new Error(`The demo endpoint answered HTTP ${response.status}.`);
  return response.json();
}

async function startDemo() {
  const button = document.getElementById("start-demo");
  button.disabled = true;
  say("Making a room and join tokens…", "busy");
  try {
    const demo = await fetchDemo();
    // A new demo is a new room: leave the old one (closing a socket leaves).
    for (const pane of panes.splice(0)) pane.client.dispose();
    document.getElementById("panes").replaceChildren();
    for (const person of demo.people) panes.push(createPane(person));
    say(`Room ${demo.roomId} of application ${demo.appId}: each person joins with their own token.`, "ok");
    button.textContent = "Start a new demo";
  } catch (error) {
    say(error.message, "error");
  } finally {
    button.disabled = false;
  }
}

document.getElementById("start-demo").addEventListener("click", startDemo);
