"""The kinds served, each a package of pure rules (schema, defaults, validation, update rules,
printer) over the generic machinery.
"""
