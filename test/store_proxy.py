#!/usr/bin/env python3
"""A TCP proxy in front of the document store that can lose writes on the
wire, for the fault tests: the driver sends an insert and the connection
drops before the store sees it, as when the store or the network dies
between a request and its reply.

    store_proxy.py LISTEN_PORT STORE_PORT CONTROL_DIR

Each connection is forwarded to 127.0.0.1:STORE_PORT.  While the file
CONTROL_DIR/drop_inserts holds a number N > 0, the next insert command
(OP_MSG whose command is "insert", into the collection named in
CONTROL_DIR/drop_collection if that file exists) is not forwarded: both
sides of its connection are closed and N is decremented.  Dropped commands
are appended to CONTROL_DIR/dropped, one line each (command and
collection).  The proxy writes CONTROL_DIR/ready once it listens.
"""
import os
import socket
import struct
import sys
import threading

OP_MSG = 2013


def read_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data.extend(chunk)
    return bytes(data)


def command_of(message):
    """(command, collection) of an OP_MSG, or (None, None)."""
    op_code = struct.unpack_from('<i', message, 12)[0]
    if op_code != OP_MSG or len(message) < 21 or message[20] != 0:
        return None, None
    body = message[21:]
    # the section's document: int32 length, then elements; the first is
    # the command, its value the collection's name
    element_type = body[4]
    end = body.index(b'\x00', 5)
    command = body[5:end].decode('utf-8', 'replace')
    collection = None
    if element_type == 0x02:
        length = struct.unpack_from('<i', body, end + 1)[0]
        collection = body[end + 5:end + 4 + length].decode('utf-8', 'replace')
    return command, collection


class Control:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()

    def path(self, name):
        return os.path.join(self.directory, name)

    def should_drop(self, command, collection):
        if command != 'insert':
            return False
        with self.lock:
            try:
                with open(self.path('drop_inserts')) as f:
                    remaining = int(f.read().strip() or '0')
            except (FileNotFoundError, ValueError):
                return False
            if remaining <= 0:
                return False
            try:
                with open(self.path('drop_collection')) as f:
                    if f.read().strip() != collection:
                        return False
            except FileNotFoundError:
                pass
            with open(self.path('drop_inserts') + '.tmp', 'w') as f:
                f.write(str(remaining - 1))
            os.replace(self.path('drop_inserts') + '.tmp', self.path('drop_inserts'))
            with open(self.path('dropped'), 'a') as f:
                f.write(f'{command} {collection}\n')
            return True


def close_both(a, b):
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def pump_replies(store, client):
    try:
        while True:
            data = store.recv(65536)
            if not data:
                break
            client.sendall(data)
    except OSError:
        pass
    close_both(store, client)


def serve(client, store_port, control):
    try:
        store = socket.create_connection(('127.0.0.1', store_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pump_replies, args=(store, client), daemon=True).start()
    try:
        while True:
            header = read_exact(client, 16)
            if header is None:
                break
            length = struct.unpack_from('<i', header, 0)[0]
            rest = read_exact(client, length - 16)
            if rest is None:
                break
            message = header + rest
            if control.should_drop(*command_of(message)):
                break
            store.sendall(message)
    except OSError:
        pass
    close_both(client, store)


def main():
    listen_port, store_port, directory = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    control = Control(directory)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('127.0.0.1', listen_port))
    server.listen(64)
    with open(control.path('ready'), 'w') as f:
        f.write(str(os.getpid()))
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client, store_port, control), daemon=True).start()


if __name__ == '__main__':
    main()
