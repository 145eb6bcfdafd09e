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
//
// The player view (a name searched, or a row of the top clicked) asks
// /api/player, /api/history and /api/distribution, and asks again when an
// event says the player's rank may have moved: at most once per
// REFRESH_MS, however many events come. The charts are inline SVG drawn
// here, at the width the page has.
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
  meta: new Map(),     // user_id -> the entry's metadata, from events or /api/top
  player: null,        // the player view: { name, info, history, error } or null
  dist: null,          // the board's distribution (/api/distribution), or null
  refreshTimer: 0,     // a coalesced refresh of the player view and distribution
  refreshDue: 0,       // when it runs (performance.now())
  lastRefresh: 0,
  refreshes: 0,        // how many were made, for tests
  asks: 0,             // numbers the player view's loads: only the latest is shown
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
    const meta = e.meta || state.meta.get(e.user_id);
    if (meta && Object.keys(meta).length) {
      const line = document.createElement("span");
      line.className = "entry-meta";
      line.textContent = Object.entries(meta).map(([k, v]) => `${k}: ${metaText(v)}`).join(" · ");
      tr.lastChild.append(line);
      tr.dataset.meta = "1";
    }
    if (e.username) {
      tr.tabIndex = 0;
      tr.title = `${e.username}: rank, history and standing`;
    }
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

// ---------------------------------------------------------------- the player view

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 1000;      // the player view follows their moves this often at most
const DIST_REFRESH_MS = 5000; // the histogram alone, with nobody searched: it moves slowly

const metaText = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v));

// "top 4%" for 4.0175, "top 0.1%" for the leader of 1000, "top 100%" for the last.
function topPercent(p) {
  if (!(p > 0)) return "";
  if (p < 1) return `top ${Math.max(p, 0.01).toFixed(p < 0.1 ? 2 : 1).replace(/\.?0+$/, "")}%`;
  return `top ${Math.min(100, Math.round(p))}%`;
}

function svgEl(parent, name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  parent.append(el);
  return el;
}

// Sizes an SVG to its box's width (in CSS pixels, so its text stays
// readable on a phone) and empties it; returns [width, height].
function svgStart(svg, height) {
  const width = Math.max(200, Math.floor(svg.parentElement.clientWidth));
  svg.replaceChildren();
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  return [width, height];
}

const shortDate = (us) => new Date(us / 1000).toLocaleDateString("en", { month: "short", day: "numeric" });
const shortClock = (us) => new Date(us / 1000).toLocaleTimeString("en", { hour: "2-digit", minute: "2-digit" });
const longClock = (us) => new Date(us / 1000).toLocaleTimeString("en", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const shortTime = (us) => new Date(us / 1000).toLocaleString("en", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

// The score history: one dot per submission (hollow when it does not count),
// joined in time order, and the best so far as a step line.
function drawHistory(svg, hist) {
  const [w, h] = svgStart(svg, 180);
  const pts = hist.entries;
  const counted = pts.filter((e) => !e.removed && !e.held);
  if (pts.length === 0) {
    svgEl(svg, "text", { x: w / 2, y: h / 2, "text-anchor": "middle", class: "axis" }, "no submissions yet");
    return;
  }
  const pad = { l: 8, r: 8, t: 14, b: 22 };
  const t0 = pts[0].at_us, t1 = pts[pts.length - 1].at_us;
  let lo = Math.min(...pts.map((e) => e.score)), hi = Math.max(...pts.map((e) => e.score));
  if (lo === hi) { lo -= 1; hi += 1; }
  const x = (t) => (t1 === t0 ? (pad.l + w - pad.r) / 2 : pad.l + ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r));
  const y = (v) => pad.t + (1 - (v - lo) / (hi - lo)) * (h - pad.t - pad.b);
  svgEl(svg, "line", { x1: pad.l, x2: w - pad.r, y1: h - pad.b, y2: h - pad.b, class: "grid" });
  svgEl(svg, "text", { x: pad.l, y: pad.t - 3, class: "axis" }, fmt.format(hi));
  svgEl(svg, "text", { x: pad.l, y: h - pad.b - 4, class: "axis" }, fmt.format(lo));
  // Within a day and a half the times say more than the dates, within an
  // hour the seconds too.
  const span = t1 - t0;
  const when = span < 3600e6 ? longClock : span < 36 * 3600e6 ? shortClock : shortDate;
  svgEl(svg, "text", { x: pad.l, y: h - 6, class: "axis" }, when(t0));
  if (t1 !== t0) svgEl(svg, "text", { x: w - pad.r, y: h - 6, class: "axis", "text-anchor": "end" }, when(t1));
  // Best so far, by the board's order: the score that ranks.
  const better = hist.order === "lower" ? (a, b) => a < b : (a, b) => a > b;
  let best = null, step = "";
  for (const e of counted) {
    if (best === null || better(e.score, best)) {
      step += best === null ? `M${x(e.at_us)},${y(e.score)}` : `H${x(e.at_us)}V${y(e.score)}`;
      best = e.score;
    }
  }
  if (step) svgEl(svg, "path", { d: step + `H${w - pad.r}`, class: "best" });
  if (counted.length > 1)
    svgEl(svg, "polyline", { points: counted.map((e) => `${x(e.at_us)},${y(e.score)}`).join(" "), class: "line" });
  for (const e of pts) {
    const dot = svgEl(svg, "circle", { cx: x(e.at_us), cy: y(e.score), r: 3.5, class: e.removed || e.held ? "dot off" : "dot" });
    svgEl(dot, "title", {}, `${fmt.format(e.score)} · ${shortTime(e.at_us)}${e.removed ? " (removed)" : e.held ? ` (${e.held})` : ""}`);
  }
}

// The board's histogram, lowest scores on the left; the player's bucket in
// the accent colour with their name over it.
function drawDist(svg, dist) {
  const [w, h] = svgStart(svg, 160);
  const bs = dist.buckets;
  if (bs.length === 0) {
    svgEl(svg, "text", { x: w / 2, y: h / 2, "text-anchor": "middle", class: "axis" }, "no scores yet");
    return;
  }
  const pad = { l: 4, r: 4, t: 18, b: 20 };
  const top = Math.max(...bs.map((b) => b.count), 1);
  const bw = (w - pad.l - pad.r) / bs.length;
  const mark = dist.player && dist.player.bucket !== undefined ? dist.player.bucket : -1;
  bs.forEach((b, i) => {
    const bh = b.count ? Math.max(2, (b.count / top) * (h - pad.t - pad.b)) : 0;
    const bar = svgEl(svg, "rect", {
      x: pad.l + i * bw + 1, y: h - pad.b - bh, width: Math.max(1, bw - 2), height: bh, rx: 2,
      class: i === mark ? "bar mark" : "bar", "data-bucket": i, "data-min": b.min, "data-max": b.max, "data-count": b.count,
    });
    svgEl(bar, "title", {}, `${fmt.format(b.min)} – ${fmt.format(b.max)}: ${fmt.format(b.count)} ${b.count === 1 ? "player" : "players"}`);
  });
  svgEl(svg, "line", { x1: pad.l, x2: w - pad.r, y1: h - pad.b, y2: h - pad.b, class: "grid" });
  svgEl(svg, "text", { x: pad.l, y: h - 5, class: "axis" }, fmt.format(bs[0].min));
  svgEl(svg, "text", { x: w - pad.r, y: h - 5, class: "axis", "text-anchor": "end" }, fmt.format(bs[bs.length - 1].max));
  if (mark >= 0) {
    const b = bs[mark];
    const cx = pad.l + (mark + 0.5) * bw;
    const bh = b.count ? Math.max(2, (b.count / top) * (h - pad.t - pad.b)) : 0;
    const anchor = cx < w * 0.2 ? "start" : cx > w * 0.8 ? "end" : "middle";
    svgEl(svg, "text", { x: cx, y: Math.max(12, h - pad.b - bh - 5), class: "you", "text-anchor": anchor }, `▼ ${dist.player.username}`);
  }
}

function renderDist() {
  const d = state.dist;
  $("dist-card").hidden = !d;
  if (!d) return;
  drawDist($("dist-chart"), d);
  const n = d.board_size;
  let text = `${fmt.format(n)} ${n === 1 ? "player" : "players"} in ${d.buckets.length} score ${d.buckets.length === 1 ? "range" : "ranges"}`;
  if (d.player && d.player.bucket >= 0) text += `; ${d.player.username} is in the marked one`;
  $("dist-caption").textContent = text;
}

function renderPlayer() {
  const p = state.player;
  $("player").hidden = !p;
  if (!p) return;
  const info = p.info;
  $("player-name").textContent = info ? info.username : p.name;
  $("player").dataset.player = info ? info.username : p.name;
  $("player-msg").hidden = !p.error;
  $("player-msg").textContent = p.error || "";
  $("player-stats").hidden = !info;
  if (info) {
    const rank = $("player-rank");
    // Only the same player's rank moving is highlighted, not another's view.
    const old = rank.dataset.user === info.username ? rank.dataset.rank : undefined;
    rank.dataset.user = info.username;
    rank.dataset.rank = info.rank;
    rank.textContent = `#${fmt.format(info.rank)}`;
    const of = document.createElement("span");
    of.className = "of";
    of.textContent = ` of ${info.board_size >= 10000 ? compact.format(info.board_size) : fmt.format(info.board_size)}`;
    rank.append(of);
    $("player-score").textContent = fmt.format(info.score);
    $("player-pct").textContent = topPercent(info.percentile);
    $("player-pct").dataset.percentile = info.percentile;
    if (old && old !== String(info.rank)) {
      $("player-stats").classList.remove("flash");
      void $("player-stats").offsetWidth; // restart the highlight
      $("player-stats").classList.add("flash");
    }
  }
  const hist = p.history;
  $("history-fig").hidden = !hist;
  if (hist) {
    const n = hist.entries.length;
    $("history-caption").textContent = n === hist.total
      ? `Score history: ${fmt.format(n)} ${n === 1 ? "submission" : "submissions"}`
      : `Score history: the latest ${fmt.format(n)} of ${fmt.format(hist.total)} submissions`;
    drawHistory($("history-chart"), hist);
  }
  const meta = (info && info.meta) || (info && state.meta.get(info.user_id)) || null;
  const keys = meta ? Object.keys(meta) : [];
  $("player-meta-box").hidden = keys.length === 0;
  $("player-meta").replaceChildren(...keys.flatMap((k) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = metaText(meta[k]);
    return [dt, dd];
  }));
}

// GET a JSON route: { status, body } (body null when it is not JSON).
async function getJSON(route, params) {
  const res = await fetch(`${route}?${new URLSearchParams(params)}`, { cache: "no-store" });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, body };
}

const errorOf = (r) => (r.body && r.body.error) || `rankd answered ${r.status}`;

// Asks for the player's standing, history and the board's distribution
// (with their bucket), all at once; a later call wins over an earlier one.
async function loadPlayer() {
  const p = state.player;
  if (!state.board) return;
  if (!p) return loadDist();
  const ask = ++state.asks;
  const base = { board: state.board.id };
  const win = state.window !== "all" ? { window: state.window } : {};
  const asks = [
    getJSON("/api/player", { ...base, ...win, name: p.name }),
    state.board.id === "global" ? Promise.resolve(null) : getJSON("/api/history", { ...base, name: p.name }),
    getJSON("/api/distribution", { ...base, ...win, name: p.name }),
  ];
  let got;
  try {
    got = await Promise.all(asks);
  } catch {
    return; // offline: the reconnect asks again
  }
  if (state.player !== p || ask !== state.asks) return; // a later load is on its way
  const [pl, hi, di] = got;
  p.info = pl.status === 200 ? pl.body : null;
  p.error = pl.status === 200 ? "" : errorOf(pl);
  p.history = hi && hi.status === 200 ? hi.body : null;
  if (!p.error && hi && hi.status !== 200) p.error = errorOf(hi);
  // A name rankd does not know marks nothing: the plain histogram, then.
  state.dist = di.status === 200 ? di.body : state.dist;
  if (di.status !== 200 && di.status === 404 && !state.dist) loadDist();
  renderPlayer();
  renderDist();
}

async function loadDist() {
  if (!state.board) return;
  const q = { board: state.board.id };
  if (state.window !== "all") q.window = state.window;
  const p = state.player, board = state.board;
  try {
    const r = await getJSON("/api/distribution", q);
    if (state.player !== p || state.board !== board) return; // the view changed meanwhile
    state.dist = r.status === 200 ? r.body : null;
  } catch {
    return;
  }
  renderDist();
}

function showPlayer(name) {
  name = (name || "").trim();
  state.player = name ? { name, info: null, history: null, error: "" } : null;
  const q = new URLSearchParams(location.search);
  if (name) q.set("player", name);
  else q.delete("player");
  history.replaceState(null, "", "?" + q);
  if (name) $("name").value = name;
  renderPlayer();
  if (state.player) {
    $("player-msg").hidden = false;
    $("player-msg").textContent = "looking…";
  }
  loadPlayer();
}

// Whether a RankChanged may have moved the player: their own score, or a
// player who went from behind them (or nowhere) to their rank or better.
// Other windows than all-time rank differently: any change may move them.
function movesPlayer(rc) {
  const p = state.player;
  if (!p) return false;
  if (!p.info) return rc.username === p.name;
  if (rc.user_id === p.info.user_id || state.window !== "all") return true;
  const mine = p.info.rank;
  return rc.new_rank <= mine && (rc.old_rank === 0 || rc.old_rank > mine);
}

// Coalesces refreshes: at most one per REFRESH_MS (DIST_REFRESH_MS with
// nobody searched), the last change always followed by one.
function scheduleRefresh() {
  const now = performance.now();
  const spacing = state.player ? REFRESH_MS : DIST_REFRESH_MS;
  const due = Math.max(now, state.lastRefresh + spacing);
  // One pending is enough, unless it was set for the slower pace of the
  // histogram alone and a player has been searched since.
  if (state.refreshTimer && state.refreshDue <= due) return;
  clearTimeout(state.refreshTimer);
  state.refreshDue = due;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = 0;
    // Offline: rankd is away, and the reconnect refreshes anyway.
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return;
    state.lastRefresh = performance.now();
    state.refreshes++;
    loadPlayer();
  }, due - now);
}

function onRank(rc) {
  // Without a player the histogram follows every change, as slowly.
  if (!state.player || movesPlayer(rc)) scheduleRefresh();
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
  for (const e of tc.entries) if (e.meta) state.meta.set(e.user_id, e.meta);
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
  else if (ev.rank && topic.startsWith(topicBoard() + "player/")) {
    tick(describeRank(ev.rank));
    onRank(ev.rank);
  }
  else if (ev.rolled && WINDOWS[ev.rolled.window] === state.window) {
    tick(`${state.window} window ${ev.rolled.closed} closed; ${ev.rolled.opened} begins`);
    state.top = null;
    state.lastSeq = null;
    requestTop();
    scheduleRefresh();
  }
}

// ---------------------------------------------------------------- network

function requestTop() {
  if (!state.board) return;
  const q = new URLSearchParams({ board: state.board.id, window: state.window });
  // The top comes as an event; entries the answer lists with metadata
  // lend it to the rows of that event.
  fetch("/api/top?" + q, { cache: "no-store" })
    .then((res) => res.json())
    .then((body) => {
      let fresh = false;
      for (const e of (body && body.entries) || []) {
        if (e.meta && typeof e.meta === "object" && e.user_id !== undefined) {
          state.meta.set(Number(e.user_id), e.meta);
          fresh = true;
        }
      }
      if (fresh) {
        renderTop();
        renderPlayer();
      }
    })
    .catch(() => {});
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
    if (again) scheduleRefresh(); // changes while away were not seen
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
  state.meta = new Map();
  state.lastSeq = null;
  state.dist = null;
  renderBoardHead();
  renderTop();
  renderDist();
  if (state.board) {
    const q = new URLSearchParams({ board: state.board.id });
    if (state.window !== "all") q.set("window", state.window);
    if (state.player) q.set("player", state.player.name);
    history.replaceState(null, "", "?" + q);
    document.title = `${state.board.title} · rankd live`;
  }
  requestTop();
  loadCounters();
  if (state.player) {
    state.player = { name: state.player.name, info: null, history: null, error: "" };
    renderPlayer();
  }
  loadPlayer();
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
  const who = params.get("player");
  if (who && !state.player) {
    state.player = { name: who, info: null, history: null, error: "" };
    $("name").value = who;
  }
  pick(initial, params.get("window"));
  if (wanted && initial !== wanted) tick(`board ${wanted} not found`);
}

async function start() {
  $("board").addEventListener("change", (e) => pick(e.target.value, state.window));
  $("window").addEventListener("change", (e) => pick(state.board.id, e.target.value));
  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    showPlayer($("name").value);
  });
  $("player-close").addEventListener("click", () => showPlayer("")); // the histogram loses its mark
  // A row of the top opens its player's view (Enter too, for the keyboard).
  const openRow = (e) => {
    const tr = e.target.closest("#rows tr");
    if (tr && tr.dataset.user) {
      showPlayer(tr.dataset.user);
      $("player").scrollIntoView({ block: "nearest" });
    }
  };
  $("rows").addEventListener("click", openRow);
  $("rows").addEventListener("keydown", (e) => e.key === "Enter" && openRow(e));
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      renderPlayer();
      renderDist();
    }, 100);
  });
  await loadBoards();
  connect();
}

// For tests and debugging from the console: feed a frame, decode bytes.
window.rankdLive = { state, onFrame, decodeEvent, showPlayer, topPercent };

document.addEventListener("DOMContentLoaded", start);
