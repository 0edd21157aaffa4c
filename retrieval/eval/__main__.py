from retrieval.eval.cli import main

raise SystemExit(main())
