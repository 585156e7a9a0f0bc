"`python -m genbook ...`: the `genbook` command line, as `accelerate launch -m genbook` runs it."
from genbook.cli import _entry

if __name__ == '__main__': _entry()
