"""The web front end: the REST API (``/api/v1``) served by ``cephflow serve``.

A second front end beside the CLI, on the same layer: it parses a request, calls the same
``cephflow.operations`` functions the CLI calls, and renders their results as JSON. Nothing
here decides anything about workflows; who may call what is ``auth``.
"""
