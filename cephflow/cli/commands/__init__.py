"""One module per command group; each has ``register(app)``. Listed here in help order.

Every command parses its arguments, calls ``cephflow.operations`` and renders the answer.
The operations that compile runbooks or talk to the engine are imported inside the commands
(marked ``# lazy``): the compiler (jinja2) and the engine (celery, redis, paramiko) would
add about 0.1 s and 0.3 s of CPU to every start-up, ``cephflow --help`` and shell completion
included, while each command needs at most one of them.
"""

from __future__ import annotations

from types import ModuleType

from cephflow.cli.commands import (
    control,
    history,
    lab,
    plan,
    run,
    runbooks,
    schedules,
    serve,
    services,
    status,
    worker,
)

MODULES: list[ModuleType] = [runbooks, plan, run, status, control, history, schedules, worker,
                             services, serve, lab]
