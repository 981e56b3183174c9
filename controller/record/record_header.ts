/**
 * The header every kind of record shares, made the same way whoever writes
 * it (a run's recorder, a plan, the work queue): the controller that
 * recorded, the selector as given, the node set reached, and the facts of
 * each host from its ping answer.
 */
import { TUTTI_VERSION } from "../../protocol/codec.ts";
import type { PingReply } from "../../protocol/messages.ts";
import { compareHosts } from "../../protocol/nodeset.ts";
import { fold } from "../../protocol/selector.ts";
import type { HostReply } from "../events.ts";
import type { HostSpec } from "../target.ts";
import {
  type HostFacts,
  RECORD_FORMAT,
  type RecorderInfo,
  type RecordHeader,
  type RecordSelector,
} from "./record_types.ts";

export interface HeaderParts {
  kind: string;
  id: string;
  /** ms since the epoch. */
  started: number;
  ended: number;
  /** What the user selected. */
  selector: HostSpec;
  /** The hosts the operation reached. */
  hosts: string[];
  /** The hosts' answers to a ping (those of other hosts, and errors, are left out). */
  pings: HostReply<PingReply>[];
}

export function recordHeader(p: HeaderParts): RecordHeader {
  const hosts = [...new Set(p.hosts)].sort(compareHosts);
  const facts = new Map(p.pings.flatMap((r) => r.ok ? [[r.host, hostFacts(r.host, r)]] : []));
  return {
    format: RECORD_FORMAT,
    kind: p.kind,
    id: p.id,
    started: new Date(p.started).toISOString(),
    ended: new Date(p.ended).toISOString(),
    controller: recorderInfo(),
    selector: recordSelector(p.selector),
    nodeset: fold(hosts),
    facts: hosts.flatMap((h) => facts.get(h) ?? []),
  };
}

/** What a ping answer says of a host and its machine. */
export function hostFacts(host: string, r: PingReply): HostFacts {
  return {
    host,
    version: r.version,
    os: r.os,
    arch: r.arch,
    ...(r.kernel === undefined ? {} : { kernel: r.kernel }),
    ...(r.cpu === undefined ? {} : { cpu: r.cpu }),
    cores: r.cores,
    memory: r.memory,
    boot: r.boot,
    labels: r.labels,
  };
}

/** This controller: its version, machine and process. */
export function recorderInfo(): RecorderInfo {
  let host = "";
  try {
    host = Deno.hostname();
  } catch {
    // no permission to ask: the record says so by an empty name
  }
  return { version: TUTTI_VERSION, host, pid: Deno.pid };
}

function recordSelector(s: HostSpec): RecordSelector {
  return {
    ...(s.hosts === undefined ? {} : { hosts: s.hosts }),
    ...(s.exclude === undefined ? {} : { exclude: s.exclude }),
    ...(s.where === undefined ? {} : { where: s.where }),
  };
}
