from outlit_cli.main import main

raise SystemExit(main())
