/**
 * What every operation shares on one connection: the link, the known-hosts
 * cache, the expectation times, the one presence tracker and the
 * diagnostics of ignored messages. `Controller` makes one per connection.
 */
import type { Link } from "../connection.ts";
import type { KnownHosts } from "../known_hosts.ts";
import { Diagnostics } from "./diagnostics.ts";
import type { ExpectationTimes } from "./expectation.ts";
import { PresenceTracker } from "./presence.ts";

export interface Scope {
  link: Link;
  known: KnownHosts;
  times: ExpectationTimes;
  presence: PresenceTracker;
  diagnostics: Diagnostics;
}

export function newScope(link: Link, known: KnownHosts, times: ExpectationTimes): Scope {
  const diagnostics = new Diagnostics();
  const presence = new PresenceTracker(link, known, diagnostics);
  return { link, known, times, presence, diagnostics };
}
