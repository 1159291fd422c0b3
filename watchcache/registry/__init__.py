"""The verbs over the log (kube-apiserver's generic registry): CAS writes with retries, reads
and lists from the replica's view, graceful deletion, and the controller that finishes it.
"""
