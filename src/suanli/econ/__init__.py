"""Economics: cost per chip-hour and per million tokens, TCO, break-even (see :mod:`suanli.econ.cost`)."""
