import sys

from evals.answers.cli import main

sys.exit(main())
