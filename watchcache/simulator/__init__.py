"""``watchcache simulate`` (a KWOK-like cluster of fake nodes, a scheduler and kubelets) and
``watchcache load`` (a clusterloader2-style density run), both API clients of any server.

The simulator talks to any server (watchcache or a kube-apiserver) as a client: it registers
Node objects and keeps their status fresh, binds unscheduled pods to them through ``pods/binding``, and plays
each bound pod's kubelet — Running with the status a kubelet writes, log lines through the
log ingestion API, completion for pods that are meant to finish, graceful deletion finished.

``cluster`` holds the pure rules (what a node, a placement and a pod status look like);
``client`` the HTTP client; ``simulate`` the loop that watches pods and acts on them; ``load``
the density run and its report.
"""
