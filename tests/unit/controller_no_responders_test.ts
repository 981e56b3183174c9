// The server's "no responders" status, told apart from a reply (even an empty one).
import assert from "node:assert/strict";
import { headers, type Msg } from "@nats-io/transport-node";
import { isNoRespondersMsg } from "../../controller/connection.ts";

function msg(data: Uint8Array, code?: number): Msg {
  return {
    subject: "tutti.reply.x.ping",
    data,
    headers: code ? headers(code, "Status") : undefined,
  } as Msg;
}

Deno.test("isNoRespondersMsg: an empty message with status 503, nothing else", () => {
  assert.ok(isNoRespondersMsg(msg(new Uint8Array(), 503)));
  assert.ok(!isNoRespondersMsg(msg(new Uint8Array([1]), 503)), "a body");
  assert.ok(!isNoRespondersMsg(msg(new Uint8Array(), 408)), "another status");
  assert.ok(!isNoRespondersMsg(msg(new Uint8Array())), "no headers");
});
