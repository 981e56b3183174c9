/**
 * The dashboard page's script, inlined in the page: plain browser
 * JavaScript, no build step, no library. One EventSource (`/events`) brings
 * a snapshot and then every change (hub.ts has the messages); the run form
 * posts to `/api/run` with the page's token.
 *
 * Every piece of text from the cluster (host names, commands, output) goes
 * into the page through `textContent` or an SVG attribute, never as HTML.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  "use strict";
  var token = document.querySelector('meta[name="tutti-token"]').getAttribute("content");
  var HISTORY = 120;
  var hosts = new Map();
  var procs = new Map();
  var runs = new Map();
  var snapshotSeen = false;

  var tbody = document.querySelector("#hosts tbody");
  var procBox = document.getElementById("procs");
  var runBox = document.getElementById("runs");
  var form = document.getElementById("run-form");
  var runError = document.getElementById("run-error");
  var conn = document.getElementById("conn");

  // ---------------------------------------------------------------- small helpers

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function byHost(a, b) {
    return a.localeCompare(b, undefined, { numeric: true });
  }
  /** Inserts child into parent before the first sibling whose key sorts after it. */
  function insertSorted(parent, child, key, cmp) {
    child.dataset.sortKey = key;
    var next = null;
    for (var i = 0; i < parent.children.length; i++) {
      var c = parent.children[i];
      if (c !== child && cmp(c.dataset.sortKey || "", key) > 0) { next = c; break; }
    }
    parent.insertBefore(child, next);
  }
  var UNITS = ["", "K", "M", "G", "T", "P"];
  function bytes(n) {
    if (n === null || n === undefined) return "-";
    var u = 0;
    while (n >= 1024 && u < UNITS.length - 1) { n /= 1024; u++; }
    if (u === 0) return String(Math.round(n));
    return (n < 10 ? n.toFixed(1) : String(Math.round(n))) + UNITS[u];
  }
  function pct(n) {
    return n === null || n === undefined ? "-" : n.toFixed(1);
  }
  function seconds(ms) {
    return ms < 60000 ? (ms / 1000).toFixed(1) + "s"
      : Math.floor(ms / 60000) + "m" + String(Math.floor(ms / 1000) % 60).padStart(2, "0") + "s";
  }
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  // ---------------------------------------------------------------- charts

  var W = 120, H = 28;
  function spark(kind) {
    var s = svg("svg", { "class": "spark", width: W, height: H, viewBox: "0 0 " + W + " " + H,
      role: "img" });
    s.appendChild(svg("rect", { "class": "frame", x: 0.5, y: 0.5, width: W - 1, height: H - 1 }));
    s.appendChild(svg("path", { "class": "area-" + kind, d: "" }));
    s.appendChild(svg("path", { "class": "line-" + kind, d: "" }));
    return s;
  }
  /** values: numbers 0-100 or null (a gap), oldest first. */
  function drawSpark(s, values, label) {
    var line = "", area = "", run = [];
    var step = W / (HISTORY - 1);
    var x0 = W - (values.length - 1) * step;
    function closeRun() {
      if (run.length > 0) {
        area += "M" + run[0][0] + " " + H + "L" + run.map(function (p) { return p.join(" "); })
          .join("L") + "L" + run[run.length - 1][0] + " " + H + "Z";
      }
      run = [];
    }
    values.forEach(function (v, i) {
      if (v === null) { closeRun(); return; }
      var x = +(x0 + i * step).toFixed(1);
      var y = +(H - 1 - Math.min(100, Math.max(0, v)) / 100 * (H - 2)).toFixed(1);
      line += (run.length === 0 ? "M" : "L") + x + " " + y;
      run.push([x, y]);
    });
    closeRun();
    s.children[1].setAttribute("d", area);
    s.children[2].setAttribute("d", line);
    s.setAttribute("aria-label", label);
  }

  // ---------------------------------------------------------------- hosts

  var COLS = ["host", "state", "cpu", "cpuChart", "load", "mem", "memChart", "rx", "tx", "procs"];
  var NUM = { cpu: 1, load: 1, mem: 1, rx: 1, tx: 1, procs: 1 };

  function host(h) {
    var rec = hosts.get(h.host);
    if (!rec) {
      var tr = el("tr");
      tr.dataset.host = h.host;
      var cells = {};
      COLS.forEach(function (k) {
        var td = el("td", k + (NUM[k] ? " num" : ""));
        cells[k] = td;
        tr.appendChild(td);
      });
      cells.host.textContent = h.host;
      var cpu = spark("cpu"), mem = spark("mem");
      cells.cpuChart.appendChild(cpu);
      cells.memChart.appendChild(mem);
      rec = { tr: tr, cells: cells, cpu: cpu, mem: mem, history: [] };
      hosts.set(h.host, rec);
      insertSorted(tbody, tr, h.host, byHost);
    }
    var last = rec.history.length ? rec.history[rec.history.length - 1][0] : -Infinity;
    h.points.forEach(function (p) { if (p[0] > last) rec.history.push(p); });
    if (rec.history.length > HISTORY) rec.history.splice(0, rec.history.length - HISTORY);
    var c = rec.cells;
    rec.tr.className = h.up ? "up" : "down";
    setText(c.state, h.state);
    c.state.className = "state " + (h.up ? "state-up" : "state-down");
    setText(c.cpu, pct(h.cpu));
    c.cpu.title = h.cpuParts === null ? "" : "user " + pct(h.cpuParts[0]) + " · system " +
      pct(h.cpuParts[1]) + " · iowait " + pct(h.cpuParts[2]) + " · steal " + pct(h.cpuParts[3]) +
      (h.cores ? " (" + h.cores + " cores)" : "");
    if (h.sampled !== null) c.cpu.dataset.sampled = String(h.sampled);
    setText(c.load, h.load === null ? "-" : h.load.toFixed(2));
    setText(c.mem, h.memUsed === null ? "-" : bytes(h.memUsed) + " / " + bytes(h.memTotal));
    setText(c.rx, h.rx === null ? "-" : bytes(h.rx) + "/s");
    setText(c.tx, h.tx === null ? "-" : bytes(h.tx) + "/s");
    setText(c.procs, h.procs === null ? "-" : String(h.procs));
    var cpuValues = rec.history.map(function (p) { return p[1]; });
    var memValues = rec.history.map(function (p) { return p[2]; });
    drawSpark(rec.cpu, cpuValues, h.host + " CPU, last " + cpuValues.length + " samples");
    drawSpark(rec.mem, memValues, h.host + " memory, last " + memValues.length + " samples");
    summary();
  }

  function summary() {
    var all = 0, up = 0;
    hosts.forEach(function (r) { all++; if (r.tr.className === "up") up++; });
    setText(document.getElementById("summary"),
      all + " host" + (all === 1 ? "" : "s") + " · " + up + " up" +
      (all > up ? " · " + (all - up) + " not answering" : ""));
    setText(document.getElementById("no-hosts"), all === 0 ? "No host has answered yet." : "");
  }

  // ---------------------------------------------------------------- processes

  function proc(p) {
    var key = p.host + "/" + p.id;
    var rec = procs.get(key);
    if (!rec) {
      var card = el("div", "proc");
      card.dataset.host = p.host;
      card.dataset.proc = p.id;
      var title = el("div", "title");
      var id = el("span", "id", p.id), where = el("span", "host", "on " + p.host);
      var state = el("span", "pstate"), figures = el("span", "figures");
      title.append(id, where, state, figures);
      var cmd = el("div", "cmd"), out = el("pre", "lines");
      card.append(title, cmd, out);
      rec = { card: card, state: state, figures: figures, cmd: cmd, out: out, seen: "" };
      procs.set(key, rec);
    }
    var running = p.state !== "exited";
    rec.card.className = "proc " + (running ? "running" : "exited");
    setText(rec.state, running ? (p.state === "running" ? "running" : "") : p.exit);
    rec.state.className = "pstate " + (running ? "" : (p.ok ? "state-up" : "state-down"));
    setText(rec.figures, p.cpu === null ? "" : pct(p.cpu) + "% CPU · " + bytes(p.rss) + " RSS");
    setText(rec.cmd, p.command);
    rec.cmd.title = p.command;
    var text = p.lines.map(function (l) { return l.stream + l.text; }).join("\n");
    if (text !== rec.seen) {
      rec.seen = text;
      rec.out.textContent = "";
      p.lines.forEach(function (l, i) {
        var span = el("span", l.stream, l.text + (i < p.lines.length - 1 ? "\n" : ""));
        rec.out.appendChild(span);
      });
      rec.out.scrollTop = rec.out.scrollHeight;
    }
    // Running ones first, then by host and id.
    insertSorted(procBox, rec.card, (running ? "0" : "1") + " " + p.host + " " + p.id, byHost);
    setText(document.getElementById("no-procs"), procs.size === 0 ? "No managed process." : "");
  }

  // ---------------------------------------------------------------- runs

  function newRun(r) {
    if (runs.has(r.id)) return runs.get(r.id);
    var card = el("div", "run-card");
    card.dataset.run = r.id;
    var head = el("div", "run-head");
    var cmd = el("code", "", r.command);
    var where = el("span", "", "on " + r.hosts);
    var id = el("span", "elapsed", r.id);
    var elapsed = el("span", "elapsed run-elapsed");
    head.append(cmd, where, id, elapsed);
    var list = el("div", "run-hosts");
    var done = el("div", "run-summary");
    card.append(head, list, done);
    runBox.insertBefore(card, runBox.firstChild);
    var rec = { json: r, card: card, elapsed: elapsed, list: list, done: done, hosts: new Map(),
      timer: null };
    runs.set(r.id, rec);
    r.results.forEach(function (h) {
      runHost(rec, h.host, h.status, h.ok);
      runText(rec, h.host, h.text);
    });
    if (r.done) finish(rec, r.took, r.done.ok, r.done.summary);
    else {
      tick(rec);
      rec.timer = setInterval(function () { tick(rec); }, 100);
    }
    return rec;
  }
  function tick(rec) {
    setText(rec.elapsed, "running " + seconds(Math.max(0, Date.now() - rec.json.started)));
  }
  function runHost(rec, name, status, ok) {
    var h = rec.hosts.get(name);
    if (!h) {
      var div = el("div", "run-host");
      div.dataset.host = name;
      var who = el("span", "who", name + ": ");
      var st = el("span", "status");
      var out = el("pre", "output");
      div.append(who, st, out);
      h = { div: div, status: st, out: out };
      rec.hosts.set(name, h);
      insertSorted(rec.list, div, name, byHost);
    }
    if (status !== undefined) {
      setText(h.status, status);
      h.status.className = "status " + (ok === true ? "ok" : ok === false ? "bad" : "");
    }
    return h;
  }
  function runText(rec, name, text) {
    if (!text) return;
    var h = runHost(rec, name);
    h.out.appendChild(document.createTextNode(text));
    h.out.scrollTop = h.out.scrollHeight;
  }
  function finish(rec, took, ok, text) {
    if (rec.timer) clearInterval(rec.timer);
    rec.timer = null;
    setText(rec.elapsed, "done in " + seconds(took));
    setText(rec.done, text);
    rec.done.className = "run-summary " + (ok ? "ok" : "bad");
  }
  function runMessage(m) {
    if (m.kind === "new") { newRun(m.run); return; }
    var rec = runs.get(m.id);
    if (!rec) return;
    if (m.kind === "host") runHost(rec, m.host, m.status, m.ok);
    else if (m.kind === "output") runText(rec, m.host, m.text);
    else if (m.kind === "done") finish(rec, m.took, m.ok, m.summary);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var data = { hosts: form.elements.hosts.value, command: form.elements.command.value };
    setText(runError, "");
    fetch("/api/run", {
      method: "POST",
      headers: { "content-type": "application/json", "x-tutti-token": token },
      body: JSON.stringify(data),
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) setText(runError, body.error || ("error " + res.status));
      });
    }).catch(function (e) {
      setText(runError, "could not reach the controller: " + e.message);
    });
  });

  // ---------------------------------------------------------------- the stream

  function reset() {
    hosts.clear();
    procs.clear();
    runs.forEach(function (r) { if (r.timer) clearInterval(r.timer); });
    runs.clear();
    tbody.textContent = "";
    procBox.textContent = "";
    runBox.textContent = "";
  }

  var source = new EventSource("/events");
  function on(name, fn) {
    source.addEventListener(name, function (ev) { fn(JSON.parse(ev.data)); });
  }
  on("snapshot", function (s) {
    reset();
    if (!snapshotSeen && !form.elements.hosts.value) form.elements.hosts.value = s.defaultHosts;
    snapshotSeen = true;
    setText(document.getElementById("prefix"), "prefix " + s.prefix);
    s.hosts.forEach(host);
    s.procs.forEach(proc);
    s.runs.forEach(newRun);
    setText(document.getElementById("notes"), s.notes);
    summary();
    setText(document.getElementById("no-procs"), procs.size === 0 ? "No managed process." : "");
  });
  on("host", host);
  on("proc", proc);
  on("run", runMessage);
  on("notes", function (n) { setText(document.getElementById("notes"), n.notes); });
  source.onopen = function () { setText(conn, "live"); conn.className = "conn"; };
  source.onerror = function () { setText(conn, "reconnecting..."); conn.className = "conn off"; };
})();
`;
