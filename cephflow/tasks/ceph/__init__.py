"""The Ceph tasks: OSDs, weights, flags, config values, waits and checks, one module each.

They reach the cluster only through ``cephflow.ceph`` (the client and the host operations)
and share the step helpers of ``common`` and the pacing rule of ``pace``.
"""
