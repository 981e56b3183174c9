"""A front server: relays each client's requests to the store over its own connection."""
import asyncio
import sys


async def relay(reader, writer, store_host, store_port):
    store_r, store_w = await asyncio.open_connection(store_host, store_port)
    while line := await reader.readline():
        store_w.write(line)
        await store_w.drain()
        writer.write(await store_r.readline())
        await writer.drain()
    store_w.close()
    writer.close()


async def main(port, store):
    host, store_port = store.rsplit(":", 1)
    server = await asyncio.start_server(
        lambda r, w: relay(r, w, host, int(store_port)), "127.0.0.1", port
    )
    print(f"listening on {port}, store {store}", flush=True)
    await server.serve_forever()


asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
