// glass timeline: draws the run embedded in #data. Only what is visible is drawn: the lanes in
// view, and in each lane only the polls and wakes in the visible time, at most one per pixel, so
// a run of thousands of tasks stays as quick to move around as a small one.
'use strict';
(function () {
  // ---- The data (see console/src/timeline/page.rs) ------------------------------------------
  // lanes: [kind (0 the executor thread, 1 another thread, 2 a task), task id, name (an index
  //        into names, -1: none), start, end (-1: never ended), run (a later block_on: 2, 3...)]
  // polls: 6 numbers each: lane, start (delta from the previous poll's), duration, the wake that
  //        queued it (-1: none), ready (1/0), what it waits on (a string's index, -1: not said)
  // wakes: 5 numbers each: woken lane, time (delta), cause, lane it was made on, what the task
  //        was waiting on (a string's index: `fd 7 readable`, `task 5`, a thread's name)
  // sleeps: 3 numbers each: start (delta), duration, events returned by epoll_wait
  // Times are in ticks of tick_ns nanoseconds. poll_lines, wake_lines: the readable trace's
  // lines as [shape (a string's index), values...]: in the shape, U+0001 stands for the task's
  // name, U+0002 for its id, U+0003 for the next value.
  const D = JSON.parse(document.getElementById('data').textContent);
  const TICK_NS = D.tick_ns;
  const ROW = 18;
  const COLOR = { busy: '#1a365d', scheduled: '#f6ad55', idle: '#e2e8f0', asleep: '#c6f6d5',
    warning: '#e53e3e', selected: '#e53e3e' };
  const CAUSE_COLOR = ['#3182ce', '#b7791f', '#38a169', '#718096', '#805ad5', '#d53f8c', '#1a202c'];
  const CAUSE_TEXT = ['io: a socket was ready', 'timer', 'task: another task woke it',
    'self: it woke itself', 'thread: another thread', 'spawn', 'other'];

  const laneLabel = (kind, id, name) => kind === 0 ? 'executor thread: polls, and asleep in epoll_wait'
    : kind === 1 ? `thread ${name}: its wakes`
    : name !== null ? `task ${id}: ${name}` : id === 0 ? "task 0: block_on's future" : `task ${id}`;
  const lanes = D.lanes.map(([kind, id, n, start, end, run]) => {
    const name = n < 0 ? null : D.names[n];
    const label = (run > 1 ? `run ${run}, ` : '') + laneLabel(kind, id, name);
    return { kind, id, name, start, end, label };
  });
  const NP = D.polls.length / 6, NW = D.wakes.length / 5, NS = D.sleeps.length / 3;
  const pLane = new Int32Array(NP), pStart = new Float64Array(NP), pEnd = new Float64Array(NP);
  const pWake = new Int32Array(NP), pReady = new Uint8Array(NP), pWaiting = new Int32Array(NP);
  for (let i = 0, t = 0; i < NP; i++) {
    const o = i * 6;
    t += D.polls[o + 1];
    pLane[i] = D.polls[o]; pStart[i] = t; pEnd[i] = t + D.polls[o + 2];
    pWake[i] = D.polls[o + 3]; pReady[i] = D.polls[o + 4]; pWaiting[i] = D.polls[o + 5];
  }
  const wLane = new Int32Array(NW), wAt = new Float64Array(NW), wCause = new Uint8Array(NW);
  const wFrom = new Int32Array(NW), wWhat = new Int32Array(NW), wPoll = new Int32Array(NW).fill(-1);
  for (let i = 0, t = 0; i < NW; i++) {
    const o = i * 5;
    t += D.wakes[o + 1];
    wLane[i] = D.wakes[o]; wAt[i] = t; wCause[i] = D.wakes[o + 2];
    wFrom[i] = D.wakes[o + 3]; wWhat[i] = D.wakes[o + 4];
  }
  for (let i = 0; i < NP; i++) if (pWake[i] >= 0) wPoll[pWake[i]] = i;
  const sStart = new Float64Array(NS), sEnd = new Float64Array(NS), sEvents = new Int32Array(NS);
  for (let i = 0, t = 0; i < NS; i++) {
    const o = i * 3;
    t += D.sleeps[o];
    sStart[i] = t; sEnd[i] = t + D.sleeps[o + 1]; sEvents[i] = D.sleeps[o + 2];
  }
  // Per lane: its polls, the wakes that woke it, the wakes made on it (indices, in time order).
  const group = (n, laneOf) => {
    const lists = lanes.map(() => []);
    for (let i = 0; i < n; i++) lists[laneOf(i)].push(i);
    return lists.map((l) => Int32Array.from(l));
  };
  const lanePolls = group(NP, (i) => pLane[i]);
  const laneWakes = group(NW, (i) => wLane[i]);
  const laneMade = group(NW, (i) => wFrom[i]);
  const allPolls = Int32Array.from({ length: NP }, (_, i) => i);
  // The steps: every poll (at its end, when its event was emitted) and wake, in time order.
  const steps = new Int32Array(NP + NW);
  for (let s = 0, p = 0, w = 0; s < steps.length; s++) {
    steps[s] = (w >= NW || (p < NP && pEnd[p] <= wAt[w])) ? 2 * p++ : 2 * w++ + 1;
  }
  const runEnd = Math.max(D.end, 1);
  performance.mark('glass-timeline-parsed');

  // ---- Text ---------------------------------------------------------------------------------
  const ms = (t) => t * TICK_NS / 1e6;
  function duration(t) {
    const s = t * TICK_NS / 1e9;
    if (s >= 1) return s.toFixed(3) + ' s';
    if (s >= 1e-3) return (s * 1e3).toFixed(3) + ' ms';
    return (s * 1e6).toFixed(1) + ' µs';
  }
  // A line as the readable trace prints it: the time the event was emitted, its target, the rest.
  function traceLine(t, [shape, ...values], lane) {
    let text = '', next = 0;
    for (const c of D.strings[shape]) {
      if (c === '\u0001') text += lanes[lane].name;
      else if (c === '\u0002') text += lanes[lane].id;
      else if (c === '\u0003') text += values[next++];
      else text += c;
    }
    return (t * TICK_NS / 1e9).toFixed(6).padStart(11) + 's glass::executor: ' + text;
  }
  // What a wake says the task was waiting on.
  function waitedFor(w) {
    const what = D.strings[wWhat[w]];
    switch (D.causes[wCause[w]]) {
      case 'io': return what;
      case 'timer': return 'a timer';
      case 'task': return `${what} (a JoinHandle, a channel: whatever ${what} woke it through)`;
      case 'self': return 'itself (it woke itself: a yield, or its I/O budget ran out)';
      case 'thread': return `another thread, ${what} (the blocking pool, a channel)`;
      case 'spawn': return 'its first poll (it was just spawned)';
      default: return 'a wake made outside any task';
    }
  }
  const pollLine = (i) => traceLine(pEnd[i], D.poll_lines[i], pLane[i]);
  const wakeLine = (w) => traceLine(wAt[w], D.wake_lines[w], wLane[w]);

  // ---- The page's parts -----------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const scroller = $('scroller'), plot = $('plot'), canvas = $('canvas'), axis = $('axis');
  const ctx = canvas.getContext('2d'), actx = axis.getContext('2d');
  const detail = $('detail'), slider = $('step'), stepLabel = $('step-label');

  // The labels, as text, in chunks the browser lays out only when they scroll into view.
  const labels = $('labels'), fragment = document.createDocumentFragment(), CHUNK = 200;
  for (let first = 0; first < lanes.length; first += CHUNK) {
    const chunk = document.createElement('div'), n = Math.min(CHUNK, lanes.length - first);
    chunk.className = 'chunk';
    chunk.style.containIntrinsicSize = `auto ${n * ROW}px`;
    for (let i = first; i < first + n; i++) {
      const div = document.createElement('div'), lane = lanes[i];
      div.className = 'lane' + (lane.kind === 2 ? ' task' : ' thread');
      div.textContent = lane.label;
      div.title = lane.label;
      div.dataset.lane = i;
      chunk.appendChild(div);
    }
    fragment.appendChild(chunk);
  }
  labels.appendChild(fragment);
  performance.mark('glass-timeline-labelled');
  plot.style.height = lanes.length * ROW + 'px';

  const legend = $('legend');
  const swatch = (color, text) => {
    const item = document.createElement('span'), box = document.createElement('span');
    box.className = 'swatch';
    box.style.background = color;
    item.append(box, text);
    legend.appendChild(item);
  };
  swatch(COLOR.busy, 'busy (in poll)');
  swatch(COLOR.scheduled, 'scheduled (woken, waiting for the thread)');
  swatch(COLOR.idle, 'idle (waiting for an event)');
  swatch(COLOR.asleep, 'thread asleep in epoll_wait');
  CAUSE_TEXT.forEach((text, c) => swatch(CAUSE_COLOR[c], 'wake → poll, ' + text));

  let busy = 0, asleep = 0;
  for (let i = 0; i < NP; i++) busy += pEnd[i] - pStart[i];
  for (let i = 0; i < NS; i++) asleep += sEnd[i] - sStart[i];
  const tasks = lanes.filter((l) => l.kind === 2).length;
  $('summary').textContent = `${tasks} tasks, ${NP} polls, ${NW} wakes, ${NS} epoll_waits ` +
    `over ${duration(runEnd)}: the thread was busy in polls ${(100 * busy / runEnd).toFixed(1)}%` +
    ` of the time and asleep ${(100 * asleep / runEnd).toFixed(1)}%; ` +
    `${D.warnings.length} warning(s).`;

  // ---- The view -------------------------------------------------------------------------------
  let t0 = 0, scale = 1;            // the left edge (ticks) and pixels per tick
  let width = 1, height = 1;
  let selected = null;              // { kind: 'poll' | 'wake' | 'sleep' | 'warning', i }
  let step = -1;
  function fit() { t0 = 0; scale = width / runEnd; }
  function clampView() {
    scale = Math.min(Math.max(scale, width / (runEnd * 4)), 50); // at most 50 px per 100 ns
    const span = width / scale;
    t0 = Math.min(Math.max(t0, -span / 2), runEnd - span / 2);
  }
  function zoom(factor, x) {
    const t = t0 + x / scale;
    scale *= factor;
    clampView();
    t0 = t - x / scale;
    clampView();
    redraw();
  }
  function resize() {
    const dpr = window.devicePixelRatio || 1;
    width = Math.max(plot.clientWidth, 1);
    height = Math.max(scroller.clientHeight, 1);
    for (const [c, h] of [[canvas, height], [axis, 22]]) {
      c.width = Math.round(width * dpr); c.height = Math.round(h * dpr);
      c.style.height = h + 'px';
      c.getContext('2d').setTransform(dpr, 0, 0, dpr, 0, 0);
    }
  }

  // The first index k in [0, n) with key(k) >= x (keys ascending).
  function lowerBound(n, key, x) {
    let lo = 0, hi = n;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (key(mid) < x) lo = mid + 1; else hi = mid; }
    return lo;
  }
  const X = (t) => (t - t0) * scale;

  // Spans [start, end) of `list` (indices, in time order) that overlap the view, one per pixel.
  function eachSpan(list, startOf, endOf, draw) {
    const n = list.length, right = t0 + width / scale;
    let k = lowerBound(n, (k) => endOf(list[k]), t0);
    while (k < n) {
      const i = list[k];
      if (startOf(i) > right) break;
      const x1 = X(startOf(i)), x2 = Math.max(X(endOf(i)), x1 + 1);
      draw(i, x1, x2);
      // Whatever starts under the pixel just painted is hidden by it: skip it.
      const next = t0 + (Math.floor(x2) + 1) / scale;
      k = Math.max(k + 1, lowerBound(n, (k) => startOf(list[k]), next));
    }
  }
  function eachPoint(list, at, draw) {
    const n = list.length, right = t0 + width / scale;
    let k = lowerBound(n, (k) => at(list[k]), t0 - 2 / scale);
    while (k < n) {
      const i = list[k];
      if (at(i) > right) break;
      draw(i, X(at(i)));
      k = Math.max(k + 1, lowerBound(n, (k) => at(list[k]), t0 + (Math.floor(X(at(i))) + 2) / scale));
    }
  }
  const hue = (lane) => `hsl(${(lane * 47) % 360},55%,38%)`;
  const sleepList = Int32Array.from({ length: NS }, (_, i) => i);

  function drawLane(lane, y) {
    const l = lanes[lane];
    ctx.fillStyle = lane % 2 ? '#ffffff' : '#fafbfc';
    ctx.fillRect(0, y, width, ROW);
    if (l.kind === 0) {
      ctx.fillStyle = COLOR.asleep;
      eachSpan(sleepList, (i) => sStart[i], (i) => sEnd[i], (i, x1, x2) =>
        ctx.fillRect(x1, y + 2, x2 - x1, ROW - 5));
      eachSpan(allPolls, (i) => pStart[i], (i) => pEnd[i], (i, x1, x2) => {
        ctx.fillStyle = hue(pLane[i]);
        ctx.fillRect(x1, y + 2, x2 - x1, ROW - 5);
      });
    } else if (l.kind === 2) {
      const end = l.end >= 0 ? l.end : runEnd;
      ctx.fillStyle = COLOR.idle;
      ctx.fillRect(X(l.start), y + 2, Math.max(X(end) - X(l.start), 1), ROW - 5);
      const polls = lanePolls[lane];
      ctx.fillStyle = COLOR.scheduled;
      eachSpan(polls, (i) => (pWake[i] >= 0 ? wAt[pWake[i]] : pStart[i]), (i) => pStart[i],
        (i, x1, x2) => { if (pWake[i] >= 0) ctx.fillRect(x1, y + 2, x2 - x1, ROW - 5); });
      ctx.fillStyle = COLOR.busy;
      eachSpan(polls, (i) => pStart[i], (i) => pEnd[i], (i, x1, x2) =>
        ctx.fillRect(x1, y + 2, x2 - x1, ROW - 5));
      // Each wake: a tick at the top of the lane, in its cause's colour.
      eachPoint(laneWakes[lane], (w) => wAt[w], (w, x) => {
        ctx.fillStyle = CAUSE_COLOR[wCause[w]];
        ctx.fillRect(x - 1, y, 2, 5);
      });
    }
    // Where wakes were made on this lane: a dot where each arrow starts.
    eachPoint(laneMade[lane], (w) => wAt[w], (w, x) => {
      ctx.fillStyle = CAUSE_COLOR[wCause[w]];
      ctx.fillRect(x - 1.5, y + ROW - 5, 3, 3);
    });
  }

  const laneY = (lane) => lane * ROW - scroller.scrollTop;
  function arrow(w, emphasis) {
    const p = wPoll[w];
    if (p < 0) return;
    const x1 = X(wAt[w]), y1 = laneY(wFrom[w]) + ROW - 4;
    const x2 = X(pStart[p]), y2 = laneY(wLane[w]) + ROW / 2;
    ctx.strokeStyle = ctx.fillStyle = CAUSE_COLOR[wCause[w]];
    ctx.lineWidth = emphasis ? 2.5 : 1;
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    if (wFrom[w] === wLane[w]) ctx.quadraticCurveTo((x1 + x2) / 2, y1 - ROW, x2, y2);
    else ctx.bezierCurveTo(x1 + 12, y1, x2 - 12, y2, x2, y2);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(x2, y2); ctx.lineTo(x2 - 6, y2 - 3.5); ctx.lineTo(x2 - 6, y2 + 3.5);
    ctx.fill();
  }
  // Arrows whose wake is in view or up to a screen to its left, and that touch a lane in view.
  function drawArrows(first, last) {
    const span = width / scale, right = t0 + span;
    let k = lowerBound(NW, (k) => wAt[k], t0 - span);
    const end = lowerBound(NW, (k) => wAt[k], right);
    if (end - k > 5000) return false; // too many to tell apart: zoom in
    ctx.globalAlpha = 0.75;
    let drawn = 0;
    for (; k < end && drawn < 4000; k++) {
      const p = wPoll[k];
      if (p < 0 || pStart[p] < t0) continue;
      const a = wFrom[k], b = wLane[k];
      if ((a < first || a > last) && (b < first || b > last)) continue;
      arrow(k, false);
      drawn++;
    }
    ctx.globalAlpha = 1;
    return true;
  }

  // `120 ms`, `1.5 s`, `850 µs`: as short as the axis's step allows.
  function tickLabel(t) {
    const s = t * TICK_NS / 1e9, a = Math.abs(s);
    const [v, unit] = a >= 1 ? [s, 's'] : a >= 1e-3 ? [s * 1e3, 'ms'] : [s * 1e6, 'µs'];
    return Number(v.toPrecision(6)) + ' ' + unit;
  }
  function drawAxis(arrows) {
    actx.clearRect(0, 0, width, 22);
    actx.fillStyle = '#f7fafc';
    actx.fillRect(0, 0, width, 22);
    const span = width / scale;
    const raw = span / (width / 90);
    const pow = Math.pow(10, Math.floor(Math.log10(raw)));
    const stepT = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
    actx.fillStyle = '#4a5568';
    actx.font = '11px system-ui, sans-serif';
    for (let t = Math.ceil(t0 / stepT) * stepT; t < t0 + span; t += stepT) {
      const x = X(t);
      actx.fillRect(x, 14, 1, 8);
      actx.fillText(tickLabel(t), x + 3, 12);
    }
    if (!arrows) {
      const note = 'zoom in to see the arrows', w = actx.measureText(note).width + 12;
      actx.fillStyle = '#fefcbf';
      actx.fillRect(width - w, 0, w, 22);
      actx.fillStyle = '#4a5568';
      actx.fillText(note, width - w + 6, 14);
    }
  }

  function drawSelection() {
    if (!selected) return;
    const { kind, i } = selected;
    ctx.strokeStyle = COLOR.selected;
    ctx.lineWidth = 2;
    if (kind === 'poll') {
      for (const lane of [pLane[i], 0]) {
        const x1 = X(pStart[i]);
        ctx.strokeRect(x1 - 2, laneY(lane) + 1, Math.max(X(pEnd[i]) - x1, 1) + 4, ROW - 3);
      }
      if (pWake[i] >= 0) arrow(pWake[i], true);
    } else if (kind === 'wake') {
      arrow(i, true);
      ctx.strokeRect(X(wAt[i]) - 3, laneY(wLane[i]), 6, ROW - 1);
    } else if (kind === 'sleep') {
      ctx.strokeRect(X(sStart[i]), laneY(0) + 1, Math.max(X(sEnd[i]) - X(sStart[i]), 1), ROW - 3);
    }
    // The step's cursor: a line down the whole view at the event's time.
    const t = kind === 'poll' ? pEnd[i] : kind === 'wake' ? wAt[i] : kind === 'sleep' ? sEnd[i]
      : D.warnings[i][0];
    ctx.fillStyle = 'rgba(229,62,62,0.5)';
    ctx.fillRect(X(t), 0, 1, height);
  }

  function drawWarnings(first, last) {
    ctx.fillStyle = COLOR.warning;
    D.warnings.forEach(([t, lane]) => {
      const l = lane < 0 ? 0 : lane;
      if (l < first || l > last) return;
      const x = X(t), y = laneY(l);
      ctx.beginPath(); ctx.moveTo(x, y + 1); ctx.lineTo(x - 5, y + 10); ctx.lineTo(x + 5, y + 10);
      ctx.fill();
    });
  }

  let firstDraw = true;
  function draw() {
    pending = false;
    ctx.clearRect(0, 0, width, height);
    const top = scroller.scrollTop;
    const first = Math.floor(top / ROW);
    const last = Math.min(lanes.length - 1, Math.floor((top + height) / ROW));
    for (let lane = first; lane <= last; lane++) drawLane(lane, lane * ROW - top);
    const arrows = drawArrows(first, last);
    drawWarnings(first, last);
    drawSelection();
    drawAxis(arrows);
    if (firstDraw) {
      firstDraw = false;
      performance.mark('glass-timeline-drawn');
    }
  }
  let pending = false;
  function redraw() {
    if (!pending) { pending = true; requestAnimationFrame(draw); }
  }

  // ---- What a click shows ---------------------------------------------------------------------
  const at = (t) => ms(t).toFixed(3) + ' ms';
  const waitedOn = (lane, after) => {
    // What woke the task next: the first wake of its lane after `after`.
    const list = laneWakes[lane];
    const k = lowerBound(list.length, (k) => wAt[list[k]], after);
    return k < list.length ? list[k] : -1;
  };
  function describePoll(i) {
    const lane = pLane[i], out = [];
    out.push(`poll of ${lanes[lane].label}, ${at(pStart[i])} to ${at(pEnd[i])} ` +
      `(${duration(pEnd[i] - pStart[i])}), returned ${pReady[i] ? 'Ready: the task is done' : 'Pending'}`);
    out.push('  ' + pollLine(i));
    const w = pWake[i];
    if (w >= 0) {
      out.push(`woken by (scheduled for ${duration(pStart[i] - wAt[w])} before this poll):`);
      out.push('  ' + wakeLine(w));
      out.push(`before this poll it was waiting on: ${waitedFor(w)}`);
    }
    if (!pReady[i]) {
      if (pWaiting[i] >= 0) {
        out.push(`after this poll it waits on: ${D.strings[pWaiting[i]]}`);
      } else {
        const next = waitedOn(lane, pEnd[i]);
        out.push(next >= 0
          ? `after this poll it waits on: ${waitedFor(next)} (what woke it next, at ${at(wAt[next])})`
          : 'after this poll nothing woke it again before the end of the run');
      }
    }
    return out.join('\n');
  }
  function describeWake(w) {
    const out = [`wake of ${lanes[wLane[w]].label} at ${at(wAt[w])}, cause ${D.causes[wCause[w]]}, ` +
      `made on the lane "${lanes[wFrom[w]].label}"`];
    out.push('  ' + wakeLine(w));
    out.push(`the task was waiting on: ${waitedFor(w)}`);
    const p = wPoll[w];
    out.push(p >= 0 ? `it caused this poll, ${duration(pStart[p] - wAt[w])} later:\n  ${pollLine(p)}`
      : 'the poll it caused was not traced (the run ended first)');
    return out.join('\n');
  }
  function describe(sel) {
    const { kind, i } = sel;
    if (kind === 'poll') return describePoll(i);
    if (kind === 'wake') return describeWake(i);
    if (kind === 'sleep') {
      return `the thread asleep in epoll_wait from ${at(sStart[i])} for ${duration(sEnd[i] - sStart[i])}; ` +
        `it returned ${sEvents[i]} event(s)`;
    }
    const [t, lane, text] = D.warnings[i];
    return `warning at ${at(t)}${lane >= 0 ? ' (' + lanes[lane].label + ')' : ''}:\n  ${text}`;
  }
  function select(sel) {
    selected = sel;
    detail.textContent = sel ? describe(sel) : '';
    redraw();
  }

  // What is under the pointer: a warning, a wake tick, a poll, a sleep.
  function hit(x, y) {
    const lane = Math.floor((y + scroller.scrollTop) / ROW);
    if (lane < 0 || lane >= lanes.length) return null;
    const t = t0 + x / scale, slack = 4 / scale;
    const warning = D.warnings.findIndex(([wt, wl]) => (wl < 0 ? 0 : wl) === lane && Math.abs(wt - t) <= slack);
    if (warning >= 0) return { kind: 'warning', i: warning };
    const near = (list) => {
      const k = lowerBound(list.length, (k) => wAt[list[k]], t - slack);
      return k < list.length && wAt[list[k]] <= t + slack ? list[k] : -1;
    };
    for (const list of [laneWakes[lane], laneMade[lane]]) {
      const w = near(list);
      if (w >= 0) return { kind: 'wake', i: w };
    }
    const polls = lanes[lane].kind === 0 ? allPolls : lanePolls[lane];
    const k = lowerBound(polls.length, (k) => pEnd[polls[k]], t - slack);
    if (k < polls.length && pStart[polls[k]] <= t + slack) return { kind: 'poll', i: polls[k] };
    if (lanes[lane].kind === 0) {
      const s = lowerBound(NS, (k) => sEnd[k], t);
      if (s < NS && sStart[s] <= t) return { kind: 'sleep', i: s };
    }
    return null;
  }

  // ---- Steps ----------------------------------------------------------------------------------
  slider.max = Math.max(steps.length - 1, 0);
  function goTo(s) {
    if (steps.length === 0) return;
    step = Math.min(Math.max(s, 0), steps.length - 1);
    slider.value = step;
    const e = steps[step], i = e >> 1, isPoll = (e & 1) === 0;
    stepLabel.textContent = `event ${step + 1} of ${steps.length}`;
    const t = isPoll ? pEnd[i] : wAt[i], lane = isPoll ? pLane[i] : wLane[i];
    const span = width / scale;
    if (t < t0 || t > t0 + span) t0 = t - span / 2;
    const y = lane * ROW;
    if (y < scroller.scrollTop || y + ROW > scroller.scrollTop + height) {
      scroller.scrollTop = y - height / 2;
    }
    select({ kind: isPoll ? 'poll' : 'wake', i });
  }
  stepLabel.textContent = `${steps.length} events`;

  // ---- Input ----------------------------------------------------------------------------------
  let drag = null;
  canvas.addEventListener('mousedown', (e) => {
    drag = { x: e.clientX, t0, moved: false };
    canvas.style.cursor = 'grabbing';
  });
  window.addEventListener('mousemove', (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (drag.moved) { t0 = drag.t0 - dx / scale; clampView(); redraw(); }
  });
  window.addEventListener('mouseup', (e) => {
    if (!drag) return;
    const moved = drag.moved;
    drag = null;
    canvas.style.cursor = 'grab';
    if (!moved) {
      const r = canvas.getBoundingClientRect();
      select(hit(e.clientX - r.left, e.clientY - r.top));
    }
  });
  canvas.addEventListener('wheel', (e) => {
    const r = canvas.getBoundingClientRect();
    if (e.ctrlKey || e.metaKey || e.altKey) {
      e.preventDefault();
      zoom(Math.exp(-e.deltaY / 300), e.clientX - r.left);
    } else if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      e.preventDefault();
      t0 += e.deltaX / scale; clampView(); redraw();
    }
  }, { passive: false });
  labels.addEventListener('click', (e) => {
    const lane = Number(e.target.dataset.lane);
    if (Number.isNaN(lane)) return;
    const polls = lanes[lane].kind === 0 ? allPolls : lanePolls[lane];
    if (polls.length) select({ kind: 'poll', i: polls[0] });
  });
  scroller.addEventListener('scroll', redraw);
  window.addEventListener('resize', () => { resize(); clampView(); redraw(); });
  $('zoom-in').addEventListener('click', () => zoom(2, width / 2));
  $('zoom-out').addEventListener('click', () => zoom(0.5, width / 2));
  $('fit').addEventListener('click', () => { fit(); redraw(); });
  $('prev').addEventListener('click', () => goTo(step - 1));
  $('next').addEventListener('click', () => goTo(step + 1));
  slider.addEventListener('input', () => goTo(Number(slider.value)));
  window.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement && e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const keys = {
      w: () => zoom(1.5, width / 2), s: () => zoom(1 / 1.5, width / 2),
      a: () => { t0 -= width / 4 / scale; clampView(); redraw(); },
      d: () => { t0 += width / 4 / scale; clampView(); redraw(); },
      0: () => { fit(); redraw(); },
      ArrowLeft: () => goTo(step - 1), ArrowRight: () => goTo(step + 1),
    };
    const act = keys[e.key];
    if (act) { e.preventDefault(); act(); }
  });

  // `page.html#event=40&span=5`: open at event 40 (as the step control counts), showing 5 ms
  // around it; for links to one moment of a run, and for the screenshot in the README.
  function fromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const span = Number(params.get('span')), event = Number(params.get('event'));
    if (span > 0) scale = width / (span * 1e6 / TICK_NS);
    clampView();
    if (event > 0) {
      t0 = -Infinity; // off screen, so that goTo centres the event
      goTo(event - 1);
    }
  }

  resize();
  performance.mark('glass-timeline-laid-out');
  fit();
  fromHash();
  draw();
})();
