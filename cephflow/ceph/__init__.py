"""cephflow.ceph"""
