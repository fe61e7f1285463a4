"""What tests share: sample data, report builds, real services, test stacks, faults.

Test modules import from here and never from one another; ``conftest.py`` files hold only
fixtures and hooks, built on these helpers.
"""
