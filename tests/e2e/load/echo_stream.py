#!/usr/bin/env python3
"""echo_stream.py PORT OUT_FILE — through an echo path: sends a deterministic byte stream and writes
what comes back to OUT_FILE until the path ends the session, then prints one line:
"ended <eof|reset|timeout> after N bytes back, M sent". Exit 0 when it ended by itself within 20 s."""
import socket
import sys
import threading
import time


def pattern(n):
    """The i-th byte of the stream is (i * 7 + i // 251) % 256: no short period, cheap to check."""
    return bytes(((i * 7 + i // 251) % 256) for i in range(n))


def main(port, out_path):
    blob = pattern(1 << 20)
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    sent = [0]
    stop = threading.Event()

    def writer():
        try:
            while not stop.is_set():
                s.sendall(blob)  # the same MiB again: the check below knows the period
                sent[0] += len(blob)
                time.sleep(0.01)
        except OSError:
            pass

    threading.Thread(target=writer, daemon=True).start()
    got = 0
    how = "timeout"
    with open(out_path, "wb") as out:
        t_end = time.time() + 20
        while time.time() < t_end:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                how = "reset"
                break
            if not data:
                how = "eof"
                break
            out.write(data)
            got += len(data)
    stop.set()
    print(f"ended {how} after {got} bytes back, {sent[0]} sent", flush=True)
    return 0 if how != "timeout" else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2]))
