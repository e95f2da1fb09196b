"""cephflow.monitoring"""
