variable "bucket" {
  description = "The MWAA environment's S3 bucket."
  type        = string
}

variable "dag_key" {
  description = "Key the DAG is deployed under (inside the MWAA DAG folder)."
  type        = string
}

variable "dag_kind" {
  description = "text (a .py file, uploaded as content) or binary (a .zip, uploaded from dag_source)."
  type        = string
  validation {
    condition     = contains(["text", "binary"], var.dag_kind)
    error_message = "dag_kind must be text or binary."
  }
}

variable "dag_content" {
  description = "The DAG's source code, for text DAGs."
  type        = string
  default     = null
}

variable "dag_source" {
  description = "Path of the packaged DAG file, for binary DAGs."
  type        = string
  default     = null
}

variable "dag_source_md5" {
  description = "MD5 of the packaged DAG file, so a changed package is uploaded again."
  type        = string
  default     = null
}

variable "descriptor_key" {
  description = "Key of the data product descriptor deployed next to the DAG."
  type        = string
}

variable "descriptor_content" {
  description = "The data product descriptor (YAML)."
  type        = string
}

variable "opaque_etags" {
  description = "S3's ETag is not the MD5 of the bytes (SSE-KMS, DSSE-KMS or SSE-C): track changes with source_hash."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags of every deployed object (component and data product ids)."
  type        = map(string)
  default     = {}
}
