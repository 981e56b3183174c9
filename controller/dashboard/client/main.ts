/// <reference lib="dom" />
/**
 * The dashboard page's script: wires the event stream to the page's views.
 * Bundled into one classic script by build_page_script.ts (into
 * page_script.gen.ts), which page.ts inlines; it uses no library.
 */
import { byId, setText } from "./dom.ts";
import { EventStream } from "./event_stream.ts";
import { HostsTable } from "./hosts_table.ts";
import { ProcCards } from "./proc_cards.ts";
import { RunCards } from "./run_cards.ts";
import { RunForm } from "./run_form.ts";

const hosts = new HostsTable();
const procs = new ProcCards();
const runs = new RunCards();
const form = new RunForm();
const conn = byId("conn");
const notes = byId("notes");
let snapshotSeen = false;

const stream = new EventStream();
stream.on("snapshot", (s) => {
  hosts.clear();
  procs.clear();
  runs.clear();
  // The default hosts fill the form once, and never over what the user typed.
  if (!snapshotSeen && !form.hosts.value) form.hosts.value = s.defaultHosts;
  snapshotSeen = true;
  setText(byId("prefix"), "prefix " + s.prefix);
  s.hosts.forEach((h) => hosts.update(h));
  s.procs.forEach((p) => procs.update(p));
  s.runs.forEach((r) => runs.add(r));
  setText(notes, s.notes);
  hosts.summary();
  procs.showEmpty();
});
stream.on("host", (h) => hosts.update(h));
stream.on("proc", (p) => procs.update(p));
stream.on("run", (m) => runs.apply(m));
stream.on("notes", (n) => setText(notes, n.notes));
stream.onState((live) => {
  setText(conn, live ? "live" : "reconnecting...");
  conn.className = live ? "conn" : "conn off";
});
