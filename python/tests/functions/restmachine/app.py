"""RestMachine's documented example (a database opened by @app.on_startup, closed
by @app.on_shutdown, behind AwsApiGatewayAdapter), with this package's adapter.
The "database" records what happens to it in RESTMACHINE_OUTPUT, with its id,
so the tests can tell the startup connection from a fresh one."""

import os
import time

from restmachine import RestApplication
from restmachine_aws import AwsApiGatewayAdapter

from lambda_graceful_shutdown.restmachine import install

OUTPUT = os.environ.get("RESTMACHINE_OUTPUT", "")


def record(text):
    if OUTPUT:
        with open(OUTPUT, "a") as f:
            f.write(text + "\n")


class Database:
    def __init__(self):
        self.id = f"{os.getpid()}-{id(self)}"
        self.open = True
        record(f"open {self.id}")

    def get_user(self, user_id):
        record(f"query {self.id} {user_id}")
        return {"id": user_id, "name": f"user {user_id}"}

    def close(self):
        time.sleep(0.005)  # a network round trip, say
        self.open = False
        record(f"close {self.id}")


app = RestApplication()


@app.on_startup
def database():
    return Database()


@app.on_shutdown
def close_database(database):
    database.close()


@app.get("/users/{user_id}")
def get_user(user_id, database):
    return database.get_user(user_id)


adapter = AwsApiGatewayAdapter(app, enable_metrics=False)
shutdown = install(app)


def handler(event, context):
    return adapter.handle_event(event, context)
