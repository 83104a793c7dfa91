# try(): during a refresh-only plan an object deleted behind Terraform's back has no instance left,
# and drift detection must still be able to read the rest of the plan.
locals {
  dag = one(concat(aws_s3_object.dag_text, aws_s3_object.dag_binary))
}

output "bucket" {
  value = var.bucket
}

output "dag_key" {
  value = try(local.dag.key, null)
}

output "dag_etag" {
  value = try(local.dag.etag, null)
}

output "dag_version_id" {
  value = try(local.dag.version_id, null)
}

output "descriptor_key" {
  value = try(aws_s3_object.descriptor.key, null)
}

output "descriptor_etag" {
  value = try(aws_s3_object.descriptor.etag, null)
}
