"""cephflow.engine"""
