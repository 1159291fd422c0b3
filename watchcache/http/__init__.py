"""The HTTP edge (kube-apiserver's endpoints/handlers): routing, content negotiation, the verb
handlers, watch and log streaming, discovery and metrics. It translates requests into registry
calls and results into responses; the rules live below it.
"""
