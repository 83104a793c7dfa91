"""mwaa-sp: a Witboost Specific Provisioner that deploys Airflow DAGs to Amazon MWAA through Terraform."""

__version__ = "0.1.0"
