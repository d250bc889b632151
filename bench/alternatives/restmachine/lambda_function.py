"""The smallest application restmachine-aws's extension can serve: its
extension imports `lambda_function.app` (a RestApplication) at start-up and
calls `app.shutdown_sync()` on SHUTDOWN. One shutdown handler, like the
probe function the other extensions are measured with."""

from restmachine import RestApplication

app = RestApplication()


@app.get("/")
def index():
    return {"ok": True}


@app.on_shutdown
def flush():
    print("restmachine shutdown handler ran", flush=True)
