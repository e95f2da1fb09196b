"""cephflow.cli"""
