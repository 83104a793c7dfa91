# Rendered by mwaa-sp 0.1.0 for one workload; do not edit (the next provision rewrites it).
# Values come from terraform.tfvars.json; backend settings from backend.json.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # bucket, key and region arrive through backend.json (terraform init -backend-config).
  backend "s3" {
    use_lockfile                = true
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }
}

provider "aws" {
  region      = var.aws_region
  max_retries = var.aws_max_retries

  # Emulator mode (MWAA_SP_EMULATOR: sandbox, tests): path-style addressing,
  # and no STS/IMDS/account calls that only AWS answers.
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = "true"
  skip_region_validation      = true
}

variable "aws_region" {
  type = string
}

variable "aws_max_retries" {
  description = "Retries of AWS API calls; null keeps the provider's default."
  type        = number
  default     = null
}

variable "workload" {
  description = "Everything the workload module needs; see modules/workload/variables.tf."
  type = object({
    bucket             = string
    dag_key            = string
    dag_kind           = string
    dag_content        = optional(string)
    dag_source         = optional(string)
    dag_source_md5     = optional(string)
    descriptor_key     = string
    descriptor_content = string
    opaque_etags       = optional(bool, false)
    tags               = map(string)
  })
}

variable "adopt" {
  description = "Objects already at the deployed keys, imported by the first provision instead of created: resource (dag_text, dag_binary, descriptor) => import id (<bucket>/<key>)."
  type        = map(string)
  default     = {}
}

import {
  for_each = { for name, id in var.adopt : name => id if name == "dag_text" }
  to       = module.workload.aws_s3_object.dag_text[0]
  id       = each.value
}

import {
  for_each = { for name, id in var.adopt : name => id if name == "dag_binary" }
  to       = module.workload.aws_s3_object.dag_binary[0]
  id       = each.value
}

import {
  for_each = { for name, id in var.adopt : name => id if name == "descriptor" }
  to       = module.workload.aws_s3_object.descriptor
  id       = each.value
}

module "workload" {
  source = "./modules/workload"

  bucket             = var.workload.bucket
  dag_key            = var.workload.dag_key
  dag_kind           = var.workload.dag_kind
  dag_content        = var.workload.dag_content
  dag_source         = var.workload.dag_source
  dag_source_md5     = var.workload.dag_source_md5
  descriptor_key     = var.workload.descriptor_key
  descriptor_content = var.workload.descriptor_content
  opaque_etags       = var.workload.opaque_etags
  tags               = var.workload.tags
}

output "bucket" {
  value = module.workload.bucket
}

output "dag_key" {
  value = module.workload.dag_key
}

output "dag_etag" {
  value = module.workload.dag_etag
}

output "dag_version_id" {
  value = module.workload.dag_version_id
}

output "descriptor_key" {
  value = module.workload.descriptor_key
}

output "descriptor_etag" {
  value = module.workload.descriptor_etag
}
