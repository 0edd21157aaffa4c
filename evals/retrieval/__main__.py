from evals.retrieval.cli import main

raise SystemExit(main())
