"""Parameters for injection, read without importing inspect for plain functions."""

from __future__ import annotations

import asyncio
import functools
import inspect

from lambda_graceful_shutdown._params import isawaitable, parameters


def plain(db, cache=None, *, flag, other=1):  # type: ignore[no-untyped-def]
    pass


def posonly(a, /, b):  # type: ignore[no-untyped-def]
    pass


class Thing:
    def method(self, db):  # type: ignore[no-untyped-def]
        pass

    def __call__(self, pool):  # type: ignore[no-untyped-def]
        pass


def described(fn):  # type: ignore[no-untyped-def]
    return [(p.name, p.kind, p.has_default) for p in parameters(fn)]


def test_the_fast_path_agrees_with_inspect() -> None:
    assert described(plain) == [("db", "normal", False), ("cache", "normal", True),
                                ("flag", "keyword-only", False), ("other", "keyword-only", True)]
    assert described(posonly) == [("a", "positional-only", False), ("b", "normal", False)]
    assert described(Thing().method) == [("db", "normal", False)]
    assert described(lambda *a, **k: None) == [("*", "variadic", True)]
    for fn in (plain, posonly, Thing().method):
        assert [p.name for p in parameters(fn)] == list(inspect.signature(fn).parameters)


def test_other_callables_go_through_inspect() -> None:
    assert described(Thing()) == [("pool", "normal", False)]
    assert described(functools.partial(plain, 1)) == [("cache", "normal", True), ("flag", "keyword-only", False),
                                                      ("other", "keyword-only", True)]
    assert described(len) == [("obj", "positional-only", False)]


def test_isawaitable_as_inspect_says() -> None:
    async def coro() -> None: ...

    c = coro()
    fut = asyncio.new_event_loop().create_future()
    for value in (c, fut, 1, None, (x for x in ()), "x"):
        assert isawaitable(value) == inspect.isawaitable(value), value
    c.close()
