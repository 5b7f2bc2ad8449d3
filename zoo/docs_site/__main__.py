import sys

from zoo.docs_site import main

sys.exit(main())
