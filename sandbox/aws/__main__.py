from sandbox.aws.server import main

raise SystemExit(main())
