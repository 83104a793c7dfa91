"""Persistence: tasks behind status tokens, and the registry of workloads the service manages."""
