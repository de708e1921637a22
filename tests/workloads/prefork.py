"""prefork.py [WORKERS] [REQUESTS] -- a pre-fork HTTP server under load.

The shape of gunicorn's sync workers, from the standard library: the parent
listens on a loopback port, forks WORKERS (default 2) workers that accept
and serve requests (each does a little CPU work in Python), then sends
REQUESTS (default 200) requests from 4 client threads, stops the workers and
prints how many answers came back.
"""
import http.client
import http.server
import os
import signal
import socket
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = str(sum(i % 7 for i in range(20000))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(sock):
    server = http.server.HTTPServer(sock.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    server.serve_forever()


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    pids = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            serve(sock)
            os._exit(0)
        pids.append(pid)
    answers = []

    def client(n):
        for _ in range(n):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/")
            answers.append(c.getresponse().read())
            c.close()

    clients = [threading.Thread(target=client, args=(requests // 4,), name="client-%d" % i)
               for i in range(4)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    print(len(answers))


if __name__ == "__main__":
    main()
