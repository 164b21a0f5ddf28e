from strangler.cli import main

raise SystemExit(main())
