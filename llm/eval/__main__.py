import sys

from llm.eval.cli import main

sys.exit(main())
