// app.js - the live leaderboard page: pick a board and window, watch its top N move.
//
// Everything arrives over one WebSocket (ws://HOST:PORT/events, SP subprotocol
// pub.sp.nanomsg.org). rankd's PUB socket sends every event to every WebSocket
// client, so this page filters by topic itself. A frame is the topic as UTF-8,
// a 0 byte, then a serialized rankd.Event (proto/rankd.proto), decoded below by
// a small hand-written protobuf reader: no library, nothing fetched from
// anywhere but the rankd that served the page.
//
// No polling: the page asks for the current top once (GET /api/top, which makes
// rankd publish a fresh TopChanged) when a board is picked, after a reconnect
// and when the TopChanged sequence numbers show a missed event.
"use strict";

// ---------------------------------------------------------------- protobuf

const WINDOWS = ["all", "daily", "weekly", "monthly"]; // enum rankd.Window, by number

// Reads proto2 wire format from a Uint8Array. 64-bit integers become Numbers,
// exact up to 2^53, which covers every score rankd stores.
class Reader {
  constructor(buf, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }
  // An unsigned varint: a Number when it has at most 7 bytes (< 2^49),
  // otherwise a BigInt of the raw bits.
  varint() {
    const start = this.pos;
    let n = 0, mul = 1, b;
    do {
      if (this.pos >= this.end || this.pos - start >= 10) throw new Error("bad varint");
      b = this.buf[this.pos++];
      n += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    if (this.pos - start <= 7) return n;
    let big = 0n;
    for (let i = start; i < this.pos; i++) big |= BigInt(this.buf[i] & 0x7f) << BigInt(7 * (i - start));
    return big;
  }
  int64() {
    const v = this.varint();
    return typeof v === "number" ? v : Number(BigInt.asIntN(64, v));
  }
  uint64() {
    const v = this.varint();
    return typeof v === "number" ? v : Number(BigInt.asUintN(64, v));
  }
  bytes() {
    const len = this.uint64();
    if (len > this.end - this.pos) throw new Error("truncated field");
    const sub = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return sub;
  }
  string() {
    return utf8.decode(this.bytes());
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error("unsupported wire type " + wire);
    if (this.pos > this.end) throw new Error("truncated field");
  }
}

const utf8 = new TextDecoder("utf-8");

// Decodes one message: fields maps a field number to (reader, msg) => void;
// unknown fields are skipped, as proto2 requires.
function decode(buf, init, fields) {
  const r = new Reader(buf);
  const msg = init;
  while (r.pos < r.end) {
    const tag = r.uint64();
    const f = fields[Math.floor(tag / 8)];
    if (f && (tag & 7) === f.wire) f.read(r, msg);
    else r.skip(tag & 7);
  }
  return msg;
}

const V = 0, LEN = 2; // wire types used by rankd.Event
const field = (wire, read) => ({ wire, read });

// An entry's metadata as an object; null for anything that is not one.
const parseMeta = (text) => {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch (e) {
    return null;
  }
};

const decodeEntry = (buf) => decode(buf, { user_id: 0, username: "", score: 0, rank: 0 }, {
  1: field(V, (r, m) => (m.user_id = r.int64())),
  2: field(LEN, (r, m) => (m.username = r.string())),
  3: field(V, (r, m) => (m.score = r.int64())),
  4: field(V, (r, m) => (m.rank = r.int64())),
  // Record metadata: a JSON object's text (rankd checked it), as an object.
  20: field(LEN, (r, m) => (m.meta = parseMeta(r.string()))),
});

const decodeTop = (buf) => decode(buf, { board_id: "", game: "", window: 0, seq: 0, entries: [], board_size: 0, at_us: 0 }, {
  1: field(LEN, (r, m) => (m.board_id = r.string())),
  2: field(LEN, (r, m) => (m.game = r.string())),
  3: field(V, (r, m) => (m.window = r.uint64())),
  4: field(V, (r, m) => (m.seq = r.uint64())),
  5: field(LEN, (r, m) => m.entries.push(decodeEntry(r.bytes()))),
  6: field(V, (r, m) => (m.board_size = r.int64())),
  7: field(V, (r, m) => (m.at_us = r.int64())),
});

const decodeRank = (buf) => decode(buf, { board_id: "", game: "", user_id: 0, username: "", old_rank: 0, new_rank: 0, old_score: 0, new_score: 0, passed: [], at_us: 0 }, {
  1: field(LEN, (r, m) => (m.board_id = r.string())),
  2: field(LEN, (r, m) => (m.game = r.string())),
  3: field(V, (r, m) => (m.user_id = r.int64())),
  4: field(LEN, (r, m) => (m.username = r.string())),
  5: field(V, (r, m) => (m.old_rank = r.int64())),
  6: field(V, (r, m) => (m.new_rank = r.int64())),
  7: field(V, (r, m) => (m.old_score = r.int64())),
  8: field(V, (r, m) => (m.new_score = r.int64())),
  9: field(LEN, (r, m) => m.passed.push(decodeEntry(r.bytes()))),
  10: field(V, (r, m) => (m.at_us = r.int64())),
});

const decodeRolled = (buf) => decode(buf, { board_id: "", game: "", window: 0, closed: "", opened: "", at_us: 0 }, {
  1: field(LEN, (r, m) => (m.board_id = r.string())),
  2: field(LEN, (r, m) => (m.game = r.string())),
  3: field(V, (r, m) => (m.window = r.uint64())),
  4: field(LEN, (r, m) => (m.closed = r.string())),
  5: field(LEN, (r, m) => (m.opened = r.string())),
  6: field(V, (r, m) => (m.at_us = r.int64())),
});

const decodeValue = (buf) => decode(buf, { window: 0, label: "", total: 0, read_at_us: 0 }, {
  3: field(V, (r, m) => (m.window = r.uint64())),
  4: field(LEN, (r, m) => (m.label = r.string())),
  5: field(V, (r, m) => (m.total = r.int64())),
  6: field(V, (r, m) => (m.read_at_us = r.int64())),
});

const decodeCounter = (buf) => decode(buf, { game: "", name: "", values: [], at_us: 0 }, {
  1: field(LEN, (r, m) => (m.game = r.string())),
  2: field(LEN, (r, m) => (m.name = r.string())),
  3: field(LEN, (r, m) => m.values.push(decodeValue(r.bytes()))),
  4: field(V, (r, m) => (m.at_us = r.int64())),
});

// rankd.Event: a oneof; the last kind on the wire wins.
const decodeEvent = (buf) => decode(buf, {}, {
  1: field(LEN, (r, m) => (m.top = decodeTop(r.bytes()))),
  2: field(LEN, (r, m) => (m.rank = decodeRank(r.bytes()))),
  3: field(LEN, (r, m) => (m.rolled = decodeRolled(r.bytes()))),
  4: field(LEN, (r, m) => (m.counter = decodeCounter(r.bytes()))),
});

// ---------------------------------------------------------------- state

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat("en");
const TICKER_MAX = 8;

const state = {
  boards: [],        // from /api/boards
  board: null,       // the picked one
  window: "all",
  top: null,         // the last TopChanged shown
  moves: new Map(),  // user_id -> "up" | "down" | "new" | "same", vs the TopChanged before
  lastSeq: null,     // seq of the last TopChanged of this board and window
  gaps: 0,
  ws: null,
  opened: false,     // the socket was open before: reconnects reload the boards
  retryMs: 0,
  retryTimer: 0,
  counters: new Map(), // name -> { all, daily, weekly, monthly, at_us } of the board's game
};

const topicTop = () => `${state.board.game}/${state.board.id}/top/${state.window}/`;
const topicBoard = () => `${state.board.game}/${state.board.id}/`;
const topicCounters = () => `${state.board.game}/#counter/`;

// ---------------------------------------------------------------- rendering

function setConn(kind, text) {
  document.body.dataset.conn = kind;
  $("conn-text").textContent = text;
}

const MOVE_SIGN = { up: "▲", down: "▼", new: "new", same: "–" };
const MOVE_WORD = { up: "moved up", down: "moved down", new: "new in the top", same: "no change" };

function renderTop(flash = false) {
  const rows = $("rows");
  const top = state.top;
  rows.replaceChildren();
  $("empty").hidden = !(top && top.entries.length === 0);
  if (!top) return;
  for (const e of top.entries) {
    const tr = document.createElement("tr");
    const move = state.moves.get(e.user_id) || "same";
    tr.dataset.user = e.username;
    tr.dataset.rank = e.rank;
    tr.dataset.score = e.score;
    tr.dataset.move = move;
    if (e.rank <= 3) tr.className = "podium p" + e.rank;
    const cell = (cls, text, title) => {
      const td = document.createElement("td");
      td.className = cls;
      td.textContent = text;
      if (title) td.title = title;
      tr.append(td);
    };
    cell("rank", "");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = String(e.rank);
    tr.firstChild.append(badge);
    cell("move " + move, MOVE_SIGN[move], MOVE_WORD[move]);
    cell("player", e.username || "#" + e.user_id);
    cell("score", fmt.format(e.score));
    if (flash && move !== "same") tr.classList.add("flash");
    rows.append(tr);
  }
  const n = top.board_size;
  $("size").textContent = `${fmt.format(n)} ${n === 1 ? "player" : "players"}`;
  $("size").dataset.size = n;
  const at = new Date(top.at_us / 1000);
  $("updated").textContent = "updated " + at.toLocaleTimeString();
}

// The game's counters: all-time and today, as the latest CounterChanged
// (or /api/counters, at first) says.
function renderCounters() {
  const list = $("counters");
  list.replaceChildren();
  const names = [...state.counters.keys()].sort();
  $("counters-card").hidden = names.length === 0;
  for (const name of names) {
    const c = state.counters.get(name);
    const li = document.createElement("li");
    li.dataset.counter = name;
    li.dataset.total = c.all === undefined ? "" : c.all;
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const total = document.createElement("span");
    total.className = "total";
    total.textContent = c.all === undefined ? "…" : fmt.format(c.all);
    const today = document.createElement("span");
    today.className = "today";
    today.textContent = c.daily === undefined ? "" : `${fmt.format(c.daily)} today`;
    li.append(label, total, today);
    list.append(li);
  }
}

function onCounter(cc) {
  const c = {};
  for (const v of cc.values) c[WINDOWS[v.window]] = v.total;
  c.at_us = cc.at_us;
  const old = state.counters.get(cc.name);
  if (old && old.at_us > c.at_us) return; // an older read, from another rankd
  state.counters.set(cc.name, c);
  renderCounters();
}

async function loadCounters() {
  state.counters = new Map();
  renderCounters();
  if (!state.board || state.board.id === "global") return;
  try {
    const res = await fetch("/api/counters?" + new URLSearchParams({ game: state.board.game }), { cache: "no-store" });
    for (const c of (await res.json()).counters || []) {
      if (state.counters.has(c.name)) continue; // an event came first: it is newer
      state.counters.set(c.name, c.totals ? { ...c.totals, at_us: c.read_at_us } : { at_us: 0 });
    }
  } catch (err) {
    return;
  }
  renderCounters();
}

function renderBoardHead() {
  const b = state.board;
  $("title").textContent = b ? b.title : "No boards yet";
  $("order").textContent = b ? (b.order === "lower" ? "lower is better" : "higher is better") : "";
  $("size").textContent = "";
  $("updated").textContent = "";
  $("ticker").replaceChildren();
  $("changes").hidden = true;
}

function tick(text) {
  const li = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  li.append(time, " " + text);
  const list = $("ticker");
  list.prepend(li);
  while (list.children.length > TICKER_MAX) list.lastChild.remove();
  $("changes").hidden = false;
}

// "bob passed ann", "bob passed ann and 2 others", "cat joined at #4", ...
function describeRank(rc) {
  const who = rc.username || "#" + rc.user_id;
  const score = fmt.format(rc.new_score);
  if (rc.passed.length > 0) {
    const first = rc.passed[0].username || "#" + rc.passed[0].user_id;
    const more = rc.passed.length - 1;
    return `${who} passed ${first}${more ? ` and ${more} other${more > 1 ? "s" : ""}` : ""} (#${rc.new_rank}, ${score})`;
  }
  if (rc.old_rank === 0) return `${who} joined at #${rc.new_rank} (${score})`;
  if (rc.new_rank < rc.old_rank) return `${who} moved up to #${rc.new_rank} (${score})`;
  if (rc.new_rank > rc.old_rank) return `${who} dropped to #${rc.new_rank} (${score})`;
  return `${who} scored ${score} (#${rc.new_rank})`;
}

// ---------------------------------------------------------------- events

const sameTop = (a, b) =>
  a.entries.length === b.entries.length &&
  a.entries.every((e, i) => e.user_id === b.entries[i].user_id && e.rank === b.entries[i].rank && e.score === b.entries[i].score);

function onTop(tc) {
  // A gap in the sequence means a TopChanged was lost on the way; this one is
  // complete anyway, but ask again so nothing stale lingers. A smaller seq is
  // a restarted rankd: start counting again.
  if (state.lastSeq !== null && tc.seq > state.lastSeq + 1) {
    state.gaps++;
    requestTop();
  }
  state.lastSeq = tc.seq;
  const prev = state.top;
  if (prev && sameTop(prev, tc)) { // a re-sync that changed nothing keeps its arrows
    state.top = tc;
    renderTop();
    return;
  }
  const before = new Map(prev ? prev.entries.map((e) => [e.user_id, e.rank]) : []);
  state.moves = new Map(tc.entries.map((e) => {
    const old = before.get(e.user_id);
    const move = !prev ? "same" : old === undefined ? "new" : e.rank < old ? "up" : e.rank > old ? "down" : "same";
    return [e.user_id, move];
  }));
  state.top = tc;
  renderTop(true);
}

function onFrame(data) {
  const bytes = new Uint8Array(data);
  const nul = bytes.indexOf(0);
  if (nul < 0 || !state.board) return;
  const topic = utf8.decode(bytes.subarray(0, nul));
  if (topic.startsWith(topicCounters())) {
    try {
      const ev = decodeEvent(bytes.subarray(nul + 1));
      if (ev.counter) onCounter(ev.counter);
    } catch (err) {
      console.warn("rankd: undecodable event on", topic, err);
    }
    return;
  }
  if (!topic.startsWith(topicBoard())) return; // not our board: rankd sends everything
  let ev;
  try {
    ev = decodeEvent(bytes.subarray(nul + 1));
  } catch (err) {
    console.warn("rankd: undecodable event on", topic, err);
    return;
  }
  if (ev.top && topic === topicTop()) onTop(ev.top);
  else if (ev.rank && topic.startsWith(topicBoard() + "player/")) tick(describeRank(ev.rank));
  else if (ev.rolled && WINDOWS[ev.rolled.window] === state.window) {
    tick(`${state.window} window ${ev.rolled.closed} closed; ${ev.rolled.opened} begins`);
    state.top = null;
    state.lastSeq = null;
    requestTop();
  }
}

// ---------------------------------------------------------------- network

function requestTop() {
  if (!state.board) return;
  const q = new URLSearchParams({ board: state.board.id, window: state.window });
  fetch("/api/top?" + q, { cache: "no-store" }).catch(() => {}); // the answer comes as an event
}

function connect() {
  clearTimeout(state.retryTimer);
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/events`;
  setConn("connecting", "connecting…");
  const ws = new WebSocket(url, "pub.sp.nanomsg.org");
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => {
    const again = state.opened;
    state.opened = true;
    state.retryMs = 0;
    state.lastSeq = null; // it may be another rankd process now
    setConn("live", "live");
    if (again || !state.board) loadBoards(); // boards may have come and gone meanwhile
    requestTop();
  };
  ws.onmessage = (m) => onFrame(m.data);
  ws.onclose = () => {
    if (state.ws === ws) retry();
  };
}

// Back-off: 0.5 s, doubling up to 10 s, with some jitter so a room full of
// screens does not come back all at once.
function retry() {
  state.ws = null;
  state.retryMs = Math.min(10000, state.retryMs ? state.retryMs * 2 : 500);
  const wait = state.retryMs * (0.8 + Math.random() * 0.4);
  setConn("offline", `offline, retrying in ${Math.ceil(wait / 1000)} s`);
  state.retryTimer = setTimeout(connect, wait);
}

// ---------------------------------------------------------------- pickers

function fillWindows() {
  const sel = $("window");
  const wins = state.board ? state.board.windows : ["all"];
  if (!wins.includes(state.window)) state.window = "all";
  sel.replaceChildren(...wins.map((w) => new Option(w === "all" ? "all time" : w, w)));
  sel.value = state.window;
  sel.disabled = wins.length < 2;
}

function pick(boardId, win) {
  state.board = state.boards.find((b) => b.id === boardId) || null;
  state.window = win || "all";
  fillWindows();
  $("board").value = state.board ? state.board.id : "";
  state.top = null;
  state.moves = new Map();
  state.lastSeq = null;
  renderBoardHead();
  renderTop();
  if (state.board) {
    const q = new URLSearchParams({ board: state.board.id });
    if (state.window !== "all") q.set("window", state.window);
    history.replaceState(null, "", "?" + q);
    document.title = `${state.board.title} · rankd live`;
  }
  requestTop();
  loadCounters();
}

// (Re)loads the board list. Keeps the board on screen if it still exists;
// otherwise picks the URL's board, else the first real one.
async function loadBoards() {
  try {
    const res = await fetch("/api/boards", { cache: "no-store" });
    state.boards = (await res.json()).boards || [];
  } catch (err) {
    if (!state.board) $("title").textContent = "Cannot load the boards";
    return;
  }
  $("board").replaceChildren(...state.boards.map((b) => new Option(b.title === b.id ? b.id : `${b.title} (${b.id})`, b.id)));
  if (state.board && state.boards.some((b) => b.id === state.board.id)) {
    $("board").value = state.board.id;
    return;
  }
  const params = new URLSearchParams(location.search);
  const wanted = params.get("board");
  const first = state.boards.find((b) => b.id !== "global") || state.boards[0];
  const initial = state.boards.some((b) => b.id === wanted) ? wanted : first && first.id;
  pick(initial, params.get("window"));
  if (wanted && initial !== wanted) tick(`board ${wanted} not found`);
}

async function start() {
  $("board").addEventListener("change", (e) => pick(e.target.value, state.window));
  $("window").addEventListener("change", (e) => pick(state.board.id, e.target.value));
  await loadBoards();
  connect();
}

// For tests and debugging from the console: feed a frame, decode bytes.
window.rankdLive = { state, onFrame, decodeEvent };

document.addEventListener("DOMContentLoaded", start);
