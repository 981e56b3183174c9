"""A tiny key-value store: one line per request, `SET k v` or `GET k`."""
import asyncio
import sys

data = {}


async def serve(reader, writer):
    while line := await reader.readline():
        words = line.decode().split(maxsplit=2)
        if len(words) == 3 and words[0] == "SET":
            data[words[1]] = words[2].strip()
            writer.write(b"OK\n")
        elif len(words) == 2 and words[0] == "GET":
            writer.write((data.get(words[1], "NIL") + "\n").encode())
        else:
            writer.write(b"ERR\n")
        await writer.drain()
    writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    print(f"listening on {port}", flush=True)
    await server.serve_forever()


asyncio.run(main(int(sys.argv[1])))
