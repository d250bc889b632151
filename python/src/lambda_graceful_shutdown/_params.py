"""What a function's parameters are, for injection by name.

Plain functions (and bound methods) are read from their code object: importing
:mod:`inspect` costs over ten milliseconds at cold start, and the library is
imported by every function that uses it. Other callables go through
:func:`inspect.signature`.
"""

from __future__ import annotations

import types
from collections import namedtuple

#: ``typing.TYPE_CHECKING`` without importing :mod:`typing` (milliseconds at
#: cold start, and the runtime client does not load it); type checkers take
#: the name ``TYPE_CHECKING`` as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, List, NamedTuple

    class _Param(NamedTuple):
        name: str
        kind: str
        has_default: bool

    class _Handler(NamedTuple):
        name: str
        call: Callable[[], Any]
else:
    # collections.namedtuple, not typing.NamedTuple: the same classes without typing.
    _Param = namedtuple("Param", ("name", "kind", "has_default"))
    _Handler = namedtuple("Handler", ("name", "call"))

POSITIONAL_ONLY, NORMAL, KEYWORD_ONLY, VARIADIC = "positional-only", "normal", "keyword-only", "variadic"

_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


class Param(_Param):
    """One parameter: its name, its kind and whether it has a default."""

    __slots__ = ()

    @property
    def injectable(self) -> bool:
        return self.kind in (NORMAL, KEYWORD_ONLY)


class Handler(_Handler):
    """A registered handler: its name and what calls it (with its injected arguments)."""

    __slots__ = ()


def parameters(fn: Callable[..., Any]) -> List[Param]:
    target = fn.__func__ if isinstance(fn, types.MethodType) else fn
    code = getattr(target, "__code__", None)
    if isinstance(target, types.FunctionType) and isinstance(code, types.CodeType):
        names = code.co_varnames
        npos, nkw = code.co_argcount, code.co_kwonlyargcount
        nposonly = code.co_posonlyargcount
        defaults = len(target.__defaults__ or ())
        kwdefaults = target.__kwdefaults__ or {}
        params = [Param(names[i], POSITIONAL_ONLY if i < nposonly else NORMAL, i >= npos - defaults)
                  for i in range(npos)]
        params += [Param(n, KEYWORD_ONLY, n in kwdefaults) for n in names[npos:npos + nkw]]
        if isinstance(fn, types.MethodType):
            params = params[1:]
        if code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS):
            params.append(Param("*", VARIADIC, True))
        return params
    import inspect

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: call it bare
        return []
    kinds = {inspect.Parameter.POSITIONAL_ONLY: POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD: NORMAL,
             inspect.Parameter.KEYWORD_ONLY: KEYWORD_ONLY}
    return [Param(p.name, kinds.get(p.kind, VARIADIC), p.default is not p.empty)
            for p in signature.parameters.values()]


def isawaitable(value: Any) -> bool:
    """Whether ``value`` can be awaited (as :func:`inspect.isawaitable` says)."""
    return (isinstance(value, (types.CoroutineType, types.GeneratorType)) and (
        isinstance(value, types.CoroutineType) or bool(value.gi_code.co_flags & 0x100))) or \
        hasattr(type(value), "__await__")
