"""Plan: open a runbook, then compile it with params into the DAG that would be submitted.

Two steps because a front end needs the runbook before its params: the CLI builds one option
per declared param, a web form one field. ``open_runbook`` loads and checks the file (a
broken param would otherwise hide among the options); ``plan`` compiles it with the values
given. Nothing here talks to Redis; the compiler asks the cluster only where the runbook's
``discover`` lookups need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cephflow import tasks
from cephflow.errors import RunbookError
from cephflow.runbook.compiler import Compiler
from cephflow.runbook.dag import REDACTED, Dag
from cephflow.runbook.library import Loaded
from cephflow.runbook.model import RunbookDecl
from cephflow.settings import cluster_scope, get_settings
from cephflow.settings import use_cluster as settings_use_cluster


@dataclass(frozen=True)
class Runbook:
    """A runbook loaded and checked, ready to be compiled with params."""

    compiler: Compiler
    loaded: Loaded

    @property
    def decl(self) -> RunbookDecl:
        return self.loaded.decl

    @property
    def file(self) -> str:
        """The runbook's path as messages show it."""
        return self.loaded.file


@dataclass(frozen=True)
class Plan:
    """A compiled runbook: the DAG to submit and what a plan shows of it."""

    dag: Dag
    """The DAG as the engine gets it (secret params in place)."""
    cluster: str
    """The name of the cluster it would run on (``settings.cluster_name``)."""
    given: dict[str, object] = field(default_factory=dict)
    """The params as the caller gave them (``1h30m``, ``["1", "2"]``), secret ones
    ``REDACTED``: what a header shows of the run, in place of every resolved value."""

    @property
    def shown(self) -> Dag:
        """The DAG with secret params redacted: what a plan prints or returns."""
        return self.dag.redacted()


def search_path() -> list[Path]:
    """Where runbook names are looked up (the shipped runbooks, then ``runbook_dirs``)."""
    return get_settings().runbook_search_path()


def open_runbook(name: str | Path) -> Runbook:
    """Load and check the runbook ``name`` (a name or a file).

    Raises RunbookNotFound, or RunbookError with every static problem of the file.
    """
    tasks.load_all()  # the task catalog the checker holds steps against
    compiler = Compiler(search_path=search_path())
    loaded = compiler.load(name, strict=False)
    problems = compiler.check(loaded)
    if problems:
        raise RunbookError(problems)
    return Runbook(compiler, loaded)


def plan(runbook: Runbook, params: Mapping[str, object], *, cluster: str | None = None) -> Plan:
    """Compile ``runbook`` with ``params`` (values as text or typed; absent ones default)
    against ``cluster`` (None: the one chosen, ``use_cluster``, or the default): its
    ``discover`` lookups ask that cluster, and the plan is that cluster's.

    Raises ConfigError for an unknown cluster (or none named among several), ParamError for
    a value that does not fit, RunbookError for what only compiling finds, and CephError
    when a ``discover`` lookup cannot ask the cluster.
    """
    with cluster_scope(cluster) as chosen:
        dag = runbook.compiler.compile(runbook.loaded, params)
    declared = runbook.decl.params
    given = {name: REDACTED if declared[name].secret else value
             for name, value in params.items() if name in declared}
    return Plan(dag=dag, cluster=chosen, given=given)


def use_cluster(name: str | None) -> str:
    """Work on cluster ``name`` (None: the default) for the rest of this command: every
    setting read from now on is that cluster's (``cephflow.settings.use_cluster``); returns
    its name. Raises ConfigError for an unknown name, or for none among several clusters
    without a default."""
    return settings_use_cluster(name)


def clusters() -> list[str]:
    """The clusters the settings know (the configured ones, or the one cluster)."""
    return get_settings().cluster_names()
