"""`python -m trainer.rate <command>`: the organiser commands of trainer.rate.cli."""
import sys

from trainer.rate.cli import main

sys.exit(main())
