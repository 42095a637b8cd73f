import multiprocessing
import sys

if __name__ == "__main__":
    # In the PyInstaller bundle, worker processes (spawned, not forked) start this same
    # executable: freeze_support() turns such a start into the worker instead of the CLI.
    multiprocessing.freeze_support()
    from mixbook_desktop.cli import main

    sys.exit(main())
