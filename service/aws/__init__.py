"""The AWS calls the service makes itself (S3, IAM, STS, MWAA), with botocore's errors translated where they enter."""
