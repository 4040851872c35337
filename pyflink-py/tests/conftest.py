"""Shared fixtures: a real Kafka-protocol broker (tansu) for the Kafka tests, and real MariaDB and
PostgreSQL servers for the JDBC tests (`databases.py`)."""

import os
import pathlib
import socket
import subprocess
import time

import pytest

from databases import Server


class Broker:
    """A tansu broker on 127.0.0.1:`port`, with in-memory storage."""

    def __init__(self, binary, port):
        self.binary = binary
        self.port = port
        self.bootstrap = f"localhost:{port}"
        url = f"tcp://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert self.process.poll() is None, "tansu exited before it listened"
                assert time.monotonic() < deadline, f"tansu did not listen on port {port}"
                time.sleep(0.05)

    def create_topic(self, name, partitions=1):
        subprocess.run(
            [self.binary, "topic", "create", name, "--partitions", str(partitions), "--broker",
             f"tcp://127.0.0.1:{self.port}"],
            check=True,
            capture_output=True,
        )

    def stop(self):
        self.process.kill()
        self.process.wait()


def tansu_binary():
    path = pathlib.Path(os.environ.get("TANSU_BIN", pathlib.Path.home() / ".cache" / "pyflink-tansu" / "tansu"))
    assert path.exists(), f"no tansu broker at {path}: run .ci/run, or set TANSU_BIN"
    return str(path)


@pytest.fixture(scope="session")
def kafka_broker():
    """A broker on port 9092, where PyFlink's Kafka examples look for one (`localhost:9092`)."""
    with socket.socket() as probe:
        in_use = probe.connect_ex(("127.0.0.1", 9092)) == 0
    assert not in_use, "port 9092 is taken: the Kafka tests start their own broker there"
    broker = Broker(tansu_binary(), 9092)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def mariadb():
    server = Server("mariadb")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres():
    server = Server("postgres")
    yield server
    server.stop()


@pytest.fixture(params=["mariadb", "postgres"])
def database_server(request):
    """Each of the two database servers in turn."""
    return request.getfixturevalue(request.param)
