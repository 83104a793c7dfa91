"""Driving Terraform: pure argv builders, a runner that owns the environment, typed results."""
