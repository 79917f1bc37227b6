"""Failure drills (``make drills``): the desk against its dependencies failing.

``servers`` starts private PostgreSQL and Redis servers on spare loopback ports
under a temporary directory (the test suite reuses it); ``__main__`` runs the
drills against them and prints PASS or FAIL per line.
"""
