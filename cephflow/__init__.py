"""cephflow: Ceph maintenance runbooks as workflows on Celery.

Layers (each a sub-package, dependencies point one way):

    cli  ->  engine / tasks  ->  runbook / ceph / monitoring / notify

``runbook`` turns YAML into a concrete DAG, ``engine`` runs a DAG on Celery with its
state in Redis, ``tasks`` holds the domain tasks, ``ceph`` talks to a cluster.
"""

__version__ = "0.1.0"
