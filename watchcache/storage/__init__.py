"""The only code that talks to Redis: the write transaction, the log's entry format, group
commit, and retention (kine's log-structured backend).
"""
