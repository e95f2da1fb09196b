"""The routers of ``/api/v1``: one module per resource."""
