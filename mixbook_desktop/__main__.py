import sys

from mixbook_desktop.cli import main

sys.exit(main())
