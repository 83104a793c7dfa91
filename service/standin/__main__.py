"""``python -m service.standin``: serve the stand-in ``hashicorp/aws`` provider to Terraform."""

import os
import sys

from service.standin.server import serve

if __name__ == "__main__":
    code = serve(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Every Terraform command starts (and stops) the provider several times: skipping the
    # interpreter teardown (gRPC's threads, module finalisation) saves ~50 ms per stop.
    os._exit(code)
