"""cephflow.notify"""
