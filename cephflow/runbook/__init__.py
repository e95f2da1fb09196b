"""cephflow.runbook"""
