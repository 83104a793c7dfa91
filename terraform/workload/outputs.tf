locals {
  dag = local.is_text ? aws_s3_object.dag_text[0] : aws_s3_object.dag_binary[0]
}

output "bucket" {
  value = var.bucket
}

output "dag_key" {
  value = local.dag.key
}

output "dag_etag" {
  value = local.dag.etag
}

output "dag_version_id" {
  value = local.dag.version_id
}

output "descriptor_key" {
  value = aws_s3_object.descriptor.key
}

output "descriptor_etag" {
  value = aws_s3_object.descriptor.etag
}
