"""RestMachine adapter: the app's own ``@app.on_shutdown`` handlers run on SIGTERM in
the function process, with the values RestMachine injects (the startup values).

::

    from restmachine import RestApplication
    from restmachine_aws import AwsApiGatewayAdapter
    from lambda_graceful_shutdown.restmachine import install

    app = RestApplication()

    @app.on_startup
    def database():
        return connect()

    @app.on_shutdown
    def close_database(database):
        database.close()

    adapter = AwsApiGatewayAdapter(app)   # runs the startup handlers
    install(app)                          # last, once every handler is registered

RestMachine's own ``shutdown()`` injects through ``app._resolve_dependency``
(with no request) and keeps the handlers in ``app._shutdown_handlers``; this
adapter uses the same two, so each handler gets exactly what RestMachine would
give it, and is reported under its own name. RestMachine is not imported: the
package has no dependencies.
"""

from __future__ import annotations

from ._core import GracefulShutdown

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any, Callable, Optional


def add_app_handlers(app: Any, shutdown: GracefulShutdown) -> GracefulShutdown:
    """Register ``app``'s shutdown handlers, in its order, on ``shutdown``."""
    handlers = getattr(app, "_shutdown_handlers", None)
    resolve_dependency = getattr(app, "_resolve_dependency", None)
    if not isinstance(handlers, list) or not callable(resolve_dependency):
        raise TypeError(
            f"lambda_graceful_shutdown.restmachine: expected a restmachine RestApplication, got {app!r} "
            "(it has no _shutdown_handlers list and _resolve_dependency method)"
        )
    for handler in handlers:
        name = getattr(handler, "__name__", None) or repr(handler)
        shutdown.add_handler(name, handler, resolve=_resolver(resolve_dependency, handler))
    return shutdown


def install(app: Any, shutdown: Optional[GracefulShutdown] = None, *, concurrent: bool = False) -> GracefulShutdown:
    """Run ``app``'s ``@app.on_shutdown`` handlers on SIGTERM in this process, then exit.

    ``shutdown``: an instance to add them to (with handlers of its own, say);
    by default one from the environment. Call it once, at init, after every
    handler is registered and the startup handlers have run."""
    target = shutdown if shutdown is not None else GracefulShutdown.from_env(concurrent=concurrent)
    return add_app_handlers(app, target).install()


def _resolver(resolve_dependency: Callable[..., Any], handler: Callable[..., Any]) -> Callable[[str], Any]:
    import inspect  # RestMachine itself has imported it

    try:
        parameters = inspect.signature(handler).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]

    def resolve(name: str) -> Any:
        p = parameters.get(name)
        annotation = p.annotation if p is not None and p.annotation is not inspect.Parameter.empty else None
        try:
            return resolve_dependency(name, annotation, None, None)
        except ValueError as e:  # RestMachine's "Unable to resolve dependency"
            raise TypeError(f"RestMachine cannot inject {name!r}: {e}") from e

    return resolve
