"""cephflow.tasks"""
