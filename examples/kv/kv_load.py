"""A client load: N writes then reads spread over the front servers; writes a JSON result."""
import json
import socket
import sys
import time

servers, ops, out, me = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3], sys.argv[4]
conns = []
for s in servers:
    host, port = s.rsplit(":", 1)
    c = socket.create_connection((host, int(port)))
    conns.append((c, c.makefile("rb")))

start = time.time()
errors = 0
for i in range(ops):
    c, f = conns[i % len(conns)]
    c.sendall(f"SET {me}-{i} v{i}\n".encode())
    errors += f.readline() != b"OK\n"
for i in range(ops):
    c, f = conns[(i + 1) % len(conns)]
    c.sendall(f"GET {me}-{i}\n".encode())
    errors += f.readline() != f"v{i}\n".encode()
took = time.time() - start
result = {"client": me, "ops": 2 * ops, "errors": errors, "seconds": round(took, 3), "start": start}
with open(out, "w") as f:
    json.dump(result, f)
print(json.dumps(result))
sys.exit(1 if errors else 0)
