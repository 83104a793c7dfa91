# One Witboost workload component: its Airflow DAG and the data product descriptor next to it.
# Every value arrives as a variable; nothing here is derived from a descriptor by text substitution.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

locals {
  is_text = var.dag_kind == "text"
}

# Text DAGs travel as `content`, so a plan shows the code diff. Where S3's ETag is the MD5 of the
# bytes, `etag` is set from the same bytes so the plan knows the new etag, and an object overwritten
# behind Terraform's back (etag drift) is uploaded again on the next apply instead of being silently
# accepted. Under SSE-KMS, DSSE-KMS or SSE-C the ETag is opaque and a configured MD5 would never
# match (a re-upload on every apply): `source_hash` tracks the content instead, and drift shows as
# the refreshed ETag moving (a reconcile replaces the object).
resource "aws_s3_object" "dag_text" {
  count        = local.is_text ? 1 : 0
  bucket       = var.bucket
  key          = var.dag_key
  content      = var.dag_content
  etag         = var.opaque_etags ? null : md5(var.dag_content)
  source_hash  = var.opaque_etags ? md5(var.dag_content) : null
  content_type = "text/x-python"
  tags         = var.tags
}

# Packaged DAGs are binary: uploaded from a file, re-uploaded when its hash changes.
resource "aws_s3_object" "dag_binary" {
  count        = local.is_text ? 0 : 1
  bucket       = var.bucket
  key          = var.dag_key
  source       = var.dag_source
  source_hash  = var.dag_source_md5
  content_type = "application/zip"
  tags         = var.tags
}

resource "aws_s3_object" "descriptor" {
  bucket       = var.bucket
  key          = var.descriptor_key
  content      = var.descriptor_content
  etag         = var.opaque_etags ? null : md5(var.descriptor_content)
  source_hash  = var.opaque_etags ? md5(var.descriptor_content) : null
  content_type = "application/yaml"
  tags         = var.tags
}
