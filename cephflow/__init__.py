"""cephflow: Ceph maintenance runbooks as workflows on Celery.

Layers (each a sub-package; a layer imports only those below it, which the import-linter
contract in ``pyproject.toml`` checks on every ``make test``):

    cli -> operations -> tasks -> engine -> lab -> runbook | ceph | monitoring | notify
        -> settings -> settings_sources
        -> errors | tries | sandbox | hints | task_names | masking | suggest

``runbook`` turns YAML into a concrete DAG, ``engine`` runs a DAG on Celery with its state in
Redis, ``tasks`` holds the domain tasks, ``ceph`` talks to a cluster, ``operations`` is what a
user can do (the CLI and a web API both call it). ``docs/architecture.md`` says more.
"""

__version__ = "0.1.0"
