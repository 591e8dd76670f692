import sys

from iftkit.cli import main

sys.exit(main())
