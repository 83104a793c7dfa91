"""The domain: descriptor rules, naming, the workload model, principals, DAG checks; pure where it can be."""
