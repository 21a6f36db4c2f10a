"""A DNS server that answers every query NXDOMAIN and writes its name to a file.

`.ci/no-dns` runs it in the tests' network namespace on the resolver addresses of
/etc/resolv.conf, so that a test asking DNS for any name is seen (tests may resolve only
`localhost`, which never reaches DNS). Usage: dns-sink.py LOG ADDR [ADDR ...]
"""
import socket
import struct
import sys
import threading

log = open(sys.argv[1], "a", buffering=1)


def answer(query: bytes) -> bytes:
    i, labels = 12, []
    while i < len(query) and query[i]:
        n = query[i]
        labels.append(query[i + 1 : i + 1 + n].decode("latin-1"))
        i += 1 + n
    qtype = struct.unpack(">H", query[i + 1 : i + 3])[0] if i + 3 <= len(query) else 0
    log.write(f"{'.'.join(labels)} (type {qtype})\n")
    # The question back, flags: response, recursion desired and available, NXDOMAIN.
    return query[:2] + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + query[12 : i + 5]


def udp(family: int, addr: str) -> None:
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        query, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(query), peer)
        except Exception as e:  # a malformed query is logged, never fatal
            log.write(f"malformed query from {peer}: {e}\n")


def tcp(family: int, addr: str) -> None:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 53))
    s.listen(16)
    while True:
        c, peer = s.accept()
        try:
            (n,) = struct.unpack(">H", c.recv(2))
            reply = answer(c.recv(n))
            c.sendall(struct.pack(">H", len(reply)) + reply)
        except Exception as e:
            log.write(f"malformed query from {peer}: {e}\n")
        c.close()


for addr in sys.argv[2:]:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for serve in (udp, tcp):
        threading.Thread(target=serve, args=(family, addr), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
