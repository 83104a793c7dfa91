"""``python -m mwaa_sp_standin``: serve the stand-in ``hashicorp/aws`` provider to Terraform.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

import os
import sys

from mwaa_sp_standin.server import serve

if __name__ == "__main__":
    code = serve(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Every Terraform command starts (and stops) the provider several times: skipping the
    # interpreter teardown (gRPC's threads, module finalisation) saves ~50 ms per stop.
    os._exit(code)
