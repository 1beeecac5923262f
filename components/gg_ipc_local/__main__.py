import sys

from gg_ipc_local.cli import main

sys.exit(main())
