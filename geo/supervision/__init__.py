"""Precise supervision (精准执法, issue 14 items 3 and 4; domain.md §8): for every scored site, how often it is
inspected at its level, when it is next due and whether it is overdue, a red / yellow / green light, the measure
the rules allow for a site with an open major hidden danger, and whether it is a look-back (回头看) site; and
from the same frequencies, the inspector-days each county needs in a year.

``config`` reads the settings (``supervision.toml``), ``rules`` holds the pure rules, ``sites`` reads the sites
and their records from PostGIS, ``staffing`` computes the counties' needs.
"""
