"""A throwaway PostgreSQL cluster for the Python tests (tests/support/pg_cluster.sh).

    from pg_cluster import PostgresCluster
    with PostgresCluster() as pg:     # initdb + start on a free loopback port, about 2 s
        env["PIT_DURABILITY_POSTGRES_URL"] = pg.url
        pg.down(); pg.up()           # stop the server and start it again (same port, same data)
    # stopped and removed here, and at exit if the test dies first

Raises unittest.SkipTest when the PostgreSQL binaries are missing (the script exits 77)."""

import atexit
import os
import shutil
import subprocess
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pg_cluster.sh")


class PostgresCluster:
    def __init__(self):
        self.parent = tempfile.mkdtemp(prefix="pit-pg-")
        os.chmod(self.parent, 0o755)  # as root, the server runs as user postgres
        self.dir = os.path.join(self.parent, "cluster")
        self.url = None
        atexit.register(self.destroy)

    def _run(self, command, capture=False):
        return subprocess.run([SCRIPT, command, self.dir], check=False, timeout=60,
                              stdout=subprocess.PIPE if capture else None, text=True)

    def start(self):
        done = self._run("start", capture=True)
        if done.returncode == 77:
            self.destroy()
            raise unittest.SkipTest("no PostgreSQL binaries (scripts/deps.sh installs postgresql)")
        if done.returncode != 0:
            self.destroy()
            raise RuntimeError("pg_cluster.sh start failed")
        self.url = done.stdout.strip()
        return self

    def down(self):
        if self._run("down").returncode != 0:
            raise RuntimeError("pg_cluster.sh down failed")

    def up(self):
        if self._run("up").returncode != 0:
            raise RuntimeError("pg_cluster.sh up failed")

    def destroy(self):
        if os.path.isdir(self.parent):
            self._run("destroy")
            shutil.rmtree(self.parent, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()
        return False
