import sys

from litelens.cli import main

sys.exit(main())
